//! Opening the log: checking sealed segments, recovering the tail (cutting a torn write,
//! refusing to cut real damage), and starting new segments.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use mailshot_domain::log::Offset;

use super::segment::{self, idx_name, seg_name};
use super::{
    DamagedTail, LogError, LogOptions, State, Tail, TailCut, VerifyOnOpen, corrupt, index, open_rw,
    sync_dir, write_synced,
};

/// Where to resume scanning a segment: after its last index entry, when that entry points
/// at a whole valid frame carrying the right offset; else the segment start.
pub(super) fn resume_point(
    file: &File,
    path: &Path,
    len: u64,
    base: Offset,
    idx: Option<&File>,
    idx_path: &Path,
) -> Result<(Offset, u64), LogError> {
    let Some(idx) = idx else { return Ok((base, 0)) };
    let n = index::entries(idx, idx_path)?;
    if n == 0 {
        return Ok((base, 0));
    }
    if let Some(pos) = index::entry(idx, idx_path, n - 1)?
        && let Some((_, after)) = segment::read_frame_at(file, path, len, pos, base + n - 1)?
    {
        return Ok((base + n, after));
    }
    Ok((base, 0))
}

/// Checks a sealed segment `base` whose successor starts at `next_base`.
pub(super) fn verify_sealed(
    log_dir: &Path,
    base: Offset,
    next_base: Offset,
    mode: VerifyOnOpen,
) -> Result<(), LogError> {
    let path = log_dir.join(seg_name(base));
    let idx_path = log_dir.join(idx_name(base));
    let file = segment::open_read(&path)?;
    let len = segment::file_len(&file, &path)?;
    let idx = open_rw(&idx_path, false)?;
    let count = next_base - base;
    if mode == VerifyOnOpen::LastSegment
        && index::entries(&idx, &idx_path)? == count
        && index::entry(&idx, &idx_path, 0)?.unwrap_or(u64::MAX) == 0
        && resume_point(&file, &path, len, base, Some(&idx), &idx_path)? == (next_base, len)
    {
        return Ok(());
    }
    let mut positions = Vec::new();
    let scanned = segment::scan(&path, len, 0, base, Offset::MAX, |p| positions.push(p))?;
    if let Some(fault) = scanned.fault {
        return Err(corrupt(&path, scanned.pos, scanned.next_offset, fault));
    }
    if scanned.next_offset != next_base {
        return Err(corrupt(
            &path,
            scanned.pos,
            scanned.next_offset,
            format!(
                "segment holds offsets {base}..{} but the next segment starts at {next_base}: offsets must be dense",
                scanned.next_offset
            ),
        ));
    }
    index::ensure(&idx, &idx_path, 0, &positions)?;
    Ok(())
}

/// The last segment as recovered by [`recover_tail`].
pub(super) struct Recovered {
    pub tail: Tail,
    /// One past the last whole record.
    pub end: Offset,
    /// Byte length of the whole records.
    pub tail_pos: u64,
    /// What was cut, if anything.
    pub cut: Option<TailCut>,
}

/// Recovers the last segment: finds its last whole record, cuts a torn tail, repairs the
/// index. A whole record that fails its checks at the very end is damage, not a torn write:
/// [`LogError::Corrupt`] unless `options.damaged_tail` says to cut it (keeping its bytes).
/// Returns the open tail (with a direct-I/O handle if `options.direct_io`), the end offset,
/// the byte length of whole records and what was cut.
pub(super) fn recover_tail(
    log_dir: &Path,
    base: Offset,
    options: &LogOptions,
) -> Result<Recovered, LogError> {
    let path = log_dir.join(seg_name(base));
    let idx_path = log_dir.join(idx_name(base));
    let file = open_rw(&path, false)?;
    let idx = open_rw(&idx_path, false)?;
    let len = segment::file_len(&file, &path)?;
    let (start_offset, start_pos) = match options.verify_on_open {
        VerifyOnOpen::All => (base, 0),
        VerifyOnOpen::LastSegment => resume_point(&file, &path, len, base, Some(&idx), &idx_path)?,
    };
    let mut positions = Vec::new();
    let scanned = segment::scan(&path, len, start_pos, start_offset, Offset::MAX, |p| {
        positions.push(p)
    })?;
    let mut cut = None;
    if let Some(fault) = &scanned.fault {
        if let Some((at, found)) =
            segment::valid_frame_after(&file, &path, len, scanned.pos, scanned.next_offset)?
        {
            return Err(corrupt(
                &path,
                scanned.pos,
                scanned.next_offset,
                format!(
                    "{fault}, yet a valid record (offset {found}) follows at byte {at}: not a torn tail, refusing to cut"
                ),
            ));
        }
        let kept_in = match (&options.damaged_tail, scanned.whole) {
            (_, false) => None,
            (DamagedTail::Refuse, true) => {
                return Err(corrupt(
                    &path,
                    scanned.pos,
                    scanned.next_offset,
                    format!(
                        "{fault} in a whole record at the end of the log: damage, not a torn write; nothing was changed (restore the segment from a backup, or run `mailshot repair` to cut the log back to offset {} and the store with it)",
                        scanned.next_offset
                    ),
                ));
            }
            (DamagedTail::CutKeepingBytesIn(dir), true) => {
                Some(keep_bytes(&file, &path, scanned.pos, len, dir)?)
            }
        };
        // Nothing valid after the damage: the remains of a write that was never
        // acknowledged (or, under `CutKeepingBytesIn`, a damaged record the operator chose
        // to cut). Cut them and make the cut durable before appending after it.
        file.set_len(scanned.pos)
            .and_then(|()| file.sync_all())
            .map_err(|e| LogError::io(&path, e))?;
        cut = Some(TailCut {
            segment: path.clone(),
            position: scanned.pos,
            offset: scanned.next_offset,
            bytes: len - scanned.pos,
            reason: fault.clone(),
            damaged: scanned.whole,
            kept_in,
        });
    }
    index::ensure(&idx, &idx_path, start_offset - base, &positions)?;
    let tail = Tail::for_writer(base, path, file, idx_path, idx, options.direct_io);
    Ok(Recovered {
        tail,
        end: scanned.next_offset,
        tail_pos: scanned.pos,
        cut,
    })
}

/// Copies bytes `from..len` of the segment into `<dir>/<segment name>.<from>.damaged`
/// (owner-only, fsynced) before they are cut, and returns that path.
fn keep_bytes(
    file: &File,
    path: &Path,
    from: u64,
    len: u64,
    dir: &Path,
) -> Result<std::path::PathBuf, LogError> {
    std::fs::create_dir_all(dir).map_err(|e| LogError::io(dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let kept = dir.join(format!("{name}.{from}.damaged"));
    let mut bytes = vec![0u8; (len - from) as usize];
    file.read_exact_at(&mut bytes, from)
        .map_err(|e| LogError::io(path, e))?;
    write_synced(&kept, &bytes)?;
    sync_dir(dir)?;
    Ok(kept)
}

/// Starts segment `<end>`: created, fsynced, and its directory entry fsynced before any
/// record goes in, so that a reader or a recovery never finds records in a file that may
/// vanish. The new tail gets a direct-I/O handle if `direct_io`.
pub(super) fn roll(log_dir: &Path, st: &mut State, direct_io: bool) -> Result<(), LogError> {
    let base = st.end;
    let path = log_dir.join(seg_name(base));
    let idx_path = log_dir.join(idx_name(base));
    let file = open_rw(&path, true)?;
    file.sync_all().map_err(|e| LogError::io(&path, e))?;
    let idx = open_rw(&idx_path, false)?;
    idx.set_len(0).map_err(|e| LogError::io(&idx_path, e))?;
    sync_dir(log_dir)?;
    st.bases.push(base);
    st.tail = Some(Tail::for_writer(base, path, file, idx_path, idx, direct_io));
    st.tail_pos = 0;
    Ok(())
}
