//! The dense sidecar index of a segment: entry `i` (8 bytes, u64 LE) is the file position of
//! record `base + i`. It is never fsynced and never trusted: whatever it says is checked
//! against the frame (which carries its offset), and the writer rebuilds it on open when it
//! disagrees with the segment.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use mailshot_domain::log::Offset;

use super::LogError;

/// Bytes per index entry.
pub const ENTRY: u64 = 8;

/// Entry `i` of the index, or `None` when the index is shorter than that. One `pread`.
pub fn entry(idx: &File, path: &Path, i: u64) -> Result<Option<u64>, LogError> {
    let mut b = [0u8; 8];
    match idx.read_exact_at(&mut b, i * ENTRY) {
        Ok(()) => Ok(Some(u64::from_le_bytes(b))),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(LogError::io(path, e)),
    }
}

/// Number of whole entries in the index.
pub fn entries(idx: &File, path: &Path) -> Result<u64, LogError> {
    Ok(idx.metadata().map_err(|e| LogError::io(path, e))?.len() / ENTRY)
}

/// Encodes positions as index bytes.
pub fn encode(positions: &[u64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(positions.len() * ENTRY as usize);
    for p in positions {
        out.extend_from_slice(&p.to_le_bytes());
    }
    out
}

/// Makes entries `first..` of the index hold exactly `positions` (and nothing after them),
/// rewriting only what differs. Entries before `first` are left alone. Written in place (same
/// inode) so that readers holding the file open see the repaired entries.
pub fn ensure(idx: &File, path: &Path, first: u64, positions: &[u64]) -> Result<bool, LogError> {
    let want = encode(positions);
    let from = first * ENTRY;
    let len = idx.metadata().map_err(|e| LogError::io(path, e))?.len();
    if len == from + want.len() as u64 {
        let mut have = vec![0u8; want.len()];
        idx.read_exact_at(&mut have, from)
            .map_err(|e| LogError::io(path, e))?;
        if have == want {
            return Ok(false);
        }
    }
    idx.set_len(from + want.len() as u64)
        .map_err(|e| LogError::io(path, e))?;
    idx.write_all_at(&want, from)
        .map_err(|e| LogError::io(path, e))?;
    Ok(true)
}

/// Writes the entries of records `first..` (relative to the segment base) after an append.
pub fn append(idx: &File, path: &Path, first: Offset, positions: &[u64]) -> Result<(), LogError> {
    idx.write_all_at(&encode(positions), first * ENTRY)
        .map_err(|e| LogError::io(path, e))
}
