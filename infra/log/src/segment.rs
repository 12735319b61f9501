//! Segment files: naming, listing, sequential scanning and positional frame reads.
//!
//! A segment `<base>.seg` holds the records `base, base+1, …` back to back, with no gaps; the
//! next segment's base is this one's base plus its record count. Its `.idx` sidecar (see
//! [`super::index`]) is only a hint: every frame found through it is checked again.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;

use mailshot_domain::log::{LogRecord, Offset};

use super::LogError;
use super::direct::SequentialReader;
use super::frame::{self, FrameFault, HEADER_LEN, Header, PAYLOAD_FIXED_LEN};

/// `00000000000000000042.seg` for base 42.
pub fn seg_name(base: Offset) -> String {
    format!("{base:020}.seg")
}

/// `00000000000000000042.idx` for base 42.
pub fn idx_name(base: Offset) -> String {
    format!("{base:020}.idx")
}

/// Bases of the segment files in `log_dir`, ascending. Other files are ignored.
pub fn list_bases(log_dir: &Path) -> Result<Vec<Offset>, LogError> {
    let entries = std::fs::read_dir(log_dir).map_err(|e| LogError::io(log_dir, e))?;
    let mut bases = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| LogError::io(log_dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(stem) = name.strip_suffix(".seg") else {
            continue;
        };
        if stem.len() == 20
            && stem.bytes().all(|b| b.is_ascii_digit())
            && let Ok(base) = stem.parse::<Offset>()
        {
            bases.push(base);
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

/// Where and why a scan stopped.
#[derive(Debug, Clone)]
pub struct ScanEnd {
    /// Byte position just after the last whole, valid frame.
    pub pos: u64,
    /// Offset the next frame would carry (= base + whole frames seen).
    pub next_offset: Offset,
    /// `None`: the scan reached the end of the file exactly on a frame boundary.
    /// `Some`: what was wrong with the bytes at `pos`.
    pub fault: Option<String>,
    /// The faulty frame lies whole in the file (a plausible length, all its bytes there) and
    /// fails its checks: damage to written bytes, which a torn write does not produce.
    pub whole: bool,
}

/// Walks the frames of the segment at `path` from `pos` (which must be a frame boundary carrying `offset`)
/// up to `file_len`, checking each (length, CRC, offset), and calls `on_frame(position)` for
/// each whole valid frame. Stops at the first frame that is partial or invalid, or cleanly
/// once the offset `until` is reached. A file found shorter than `file_len` ends the scan like
/// a partial frame: a reader may have seen the length while a direct append's padding was
/// there, before the writer cut it off again.
pub fn scan(
    path: &Path,
    file_len: u64,
    mut pos: u64,
    mut offset: Offset,
    until: Offset,
    mut on_frame: impl FnMut(u64),
) -> Result<ScanEnd, LogError> {
    let mut reader = SequentialReader::open(path, pos).map_err(|e| LogError::io(path, e))?;
    let mut payload = Vec::new();
    loop {
        let end = |fault: Option<String>| ScanEnd {
            pos,
            next_offset: offset,
            fault,
            whole: false,
        };
        let remaining = file_len.saturating_sub(pos);
        if remaining == 0 || offset >= until {
            return Ok(end(None));
        }
        if remaining < HEADER_LEN as u64 {
            return Ok(end(Some(format!(
                "partial frame header ({remaining} bytes)"
            ))));
        }
        let shorter = || Some(format!("the file ended before byte {file_len}"));
        let mut hb = [0u8; HEADER_LEN];
        if !read_whole(&mut reader, &mut hb).map_err(|e| LogError::io(path, e))? {
            return Ok(end(shorter()));
        }
        let Some(header) = Header::parse(&hb) else {
            return Ok(end(Some(FrameFault::BadLength.to_string())));
        };
        if header.frame_len() > remaining {
            return Ok(end(Some(format!(
                "partial frame ({remaining} of {} bytes)",
                header.frame_len()
            ))));
        }
        payload.resize(header.payload_len, 0);
        if !read_whole(&mut reader, &mut payload).map_err(|e| LogError::io(path, e))? {
            return Ok(end(shorter()));
        }
        if let Err(fault) = frame::check(&header, &payload, offset) {
            return Ok(ScanEnd {
                whole: true,
                ..end(Some(fault.to_string()))
            });
        }
        on_frame(pos);
        pos += header.frame_len();
        offset += 1;
    }
}

/// Fills `buf` from `reader`; `false` when the file ends first.
fn read_whole(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<bool> {
    match reader.read_exact(buf) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

/// Reads the frame at `pos` and returns it if it is whole, valid and carries `expected`.
/// `Ok(None)` means "not the record" (stale index entry, torn tail): the caller decides
/// whether that is corruption. One `pread` for frames up to 4 KiB (header and payload
/// together), two for larger ones.
pub fn read_frame_at(
    file: &File,
    path: &Path,
    file_len: u64,
    pos: u64,
    expected: Offset,
) -> Result<Option<(LogRecord, u64)>, LogError> {
    const FIRST_READ: u64 = 4096;
    if pos.saturating_add(HEADER_LEN as u64) > file_len {
        return Ok(None);
    }
    let mut buf = vec![0u8; (file_len - pos).min(FIRST_READ) as usize];
    file.read_exact_at(&mut buf, pos)
        .map_err(|e| LogError::io(path, e))?;
    let mut hb = [0u8; HEADER_LEN];
    hb.copy_from_slice(&buf[..HEADER_LEN]);
    let Some(header) = Header::parse(&hb) else {
        return Ok(None);
    };
    let frame_len = header.frame_len();
    if pos + frame_len > file_len {
        return Ok(None);
    }
    let have = buf.len();
    buf.resize(frame_len as usize, 0);
    if have < buf.len() {
        file.read_exact_at(&mut buf[have..], pos + have as u64)
            .map_err(|e| LogError::io(path, e))?;
    }
    let payload = &buf[HEADER_LEN..];
    if frame::check(&header, payload, expected).is_err() {
        return Ok(None);
    }
    match frame::decode(payload) {
        Ok(record) => Ok(Some((record, pos + frame_len))),
        Err(_) => Ok(None),
    }
}

/// Looks forward from `from` for any whole, CRC-valid frame (whatever offset it carries, up to
/// the largest that could still fit after `expected`). Used after a bad frame at the end of
/// the last segment: finding one means the damage is followed by records that were once
/// written after it, i.e. corruption in the middle of the log, not a torn tail. Reads the
/// region in windows; only candidates whose length and offset fields are plausible get
/// their CRC computed.
pub fn valid_frame_after(
    file: &File,
    path: &Path,
    file_len: u64,
    from: u64,
    expected: Offset,
) -> Result<Option<(u64, Offset)>, LogError> {
    const WINDOW: usize = 4 * 1024 * 1024;
    const PROBE: usize = HEADER_LEN + PAYLOAD_FIXED_LEN;
    // Each frame takes at least PROBE bytes, which bounds the offsets that can still follow.
    let max_offset = expected + file_len.saturating_sub(from) / PROBE as u64;
    let mut window = vec![0u8; WINDOW + PROBE];
    let mut start = from;
    while start + PROBE as u64 <= file_len {
        let want = ((file_len - start) as usize).min(window.len());
        file.read_exact_at(&mut window[..want], start)
            .map_err(|e| LogError::io(path, e))?;
        let last_probe = want - PROBE;
        for i in 0..=last_probe.min(WINDOW - 1) {
            let mut hb = [0u8; HEADER_LEN];
            hb.copy_from_slice(&window[i..i + HEADER_LEN]);
            let Some(header) = Header::parse(&hb) else {
                continue;
            };
            let p = start + i as u64;
            if p + header.frame_len() > file_len {
                continue;
            }
            let claimed = frame::payload_offset(&window[i + HEADER_LEN..i + PROBE]);
            if claimed > max_offset {
                continue;
            }
            if let Some((record, _)) = read_frame_at(file, path, file_len, p, claimed)? {
                return Ok(Some((p, record.offset)));
            }
        }
        start += WINDOW as u64;
    }
    Ok(None)
}

/// Opens `path` for reading, mapping the error to one naming the path.
pub fn open_read(path: &Path) -> Result<File, LogError> {
    File::open(path).map_err(|e| LogError::io(path, e))
}

/// Current length of a file.
pub fn file_len(file: &File, path: &Path) -> Result<u64, LogError> {
    file.metadata()
        .map(|m| m.len())
        .map_err(|e| LogError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader may have seen the length of a direct append's padding that the writer has
    /// cut off since: the scan ends there as at a partial frame, without an error.
    #[test]
    fn a_file_shorter_than_the_length_seen_ends_the_scan_like_a_partial_frame() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seg");
        std::fs::write(&path, [0u8; 3]).unwrap();
        let end = scan(&path, 4096, 0, 0, Offset::MAX, |_| {}).unwrap();
        assert_eq!((end.pos, end.next_offset), (0, 0));
        assert_eq!(
            end.fault.as_deref(),
            Some("the file ended before byte 4096")
        );
    }
}
