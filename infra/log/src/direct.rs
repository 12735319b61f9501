//! Direct I/O (`O_DIRECT`): log appends and sequential scans that bypass the page cache.
//!
//! The log is written once and read back rarely (replay, verify, recovery), so caching it
//! only costs. On this project's machines, writing 2.4 GB through the page cache took 2.5–5.9 s
//! of system CPU (the kernel copies every byte into freshly allocated cache pages), the same
//! write done directly from a reused buffer 0.4 s; a cold buffered read of it took 4 s of system
//! CPU, a direct one 0.1 s (`dd`, see BENCHMARKS.md). Where the file system refuses direct I/O
//! (at open, or with `EINVAL` on a read or write), both fall back to ordinary reads and writes.
//!
//! Direct I/O needs the buffer address, the file position and the length aligned to the
//! device's logical block: [`ALIGN`] (4 KiB) covers every common device.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};

/// Alignment of direct I/O buffers, positions and lengths.
pub const ALIGN: usize = 4096;

/// Bytes per direct read of a sequential scan.
const READ_CHUNK: usize = 4 * 1024 * 1024;

/// Opens `path` for direct I/O (`write`: for appends too); `None` when the file system
/// does not support it.
pub fn open(path: &Path, write: bool) -> Option<File> {
    OpenOptions::new()
        .read(true)
        .write(write)
        .custom_flags(libc::O_DIRECT)
        .open(path)
        .ok()
}

/// Whether an I/O error means "no direct I/O here" rather than a failure of the device.
pub fn unsupported(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EINVAL)
}

/// `pos` rounded down to [`ALIGN`].
pub fn align_down(pos: u64) -> u64 {
    pos - pos % ALIGN as u64
}

/// A reusable byte buffer whose contents start on an [`ALIGN`] boundary of memory.
#[derive(Debug, Default)]
pub struct AlignedBuf {
    bytes: Vec<u8>,
    /// Where the contents start in `bytes`.
    start: usize,
}

impl AlignedBuf {
    /// Empties the buffer, with room for `len` bytes and their padding: appending up to
    /// `len` bytes then calling [`AlignedBuf::padded`] never moves it.
    pub fn reset(&mut self, len: usize) {
        let need = len + 2 * ALIGN;
        if self.bytes.capacity() < need {
            self.bytes = Vec::with_capacity(need);
        }
        self.bytes.clear();
        // An allocation of `need` bytes always has an aligned address within its first ALIGN.
        self.start = self.bytes.as_ptr().align_offset(ALIGN).min(ALIGN);
        self.bytes.resize(self.start, 0);
    }

    /// A buffer of `len` zero bytes, on an aligned address.
    pub fn zeroed(len: usize) -> AlignedBuf {
        let mut buf = AlignedBuf::default();
        buf.reset(len);
        buf.push_zeros(len);
        buf
    }

    /// Appends `n` zero bytes to the contents.
    pub fn push_zeros(&mut self, n: usize) {
        self.bytes.resize(self.bytes.len() + n, 0);
    }

    /// The contents so far.
    pub fn contents(&self) -> &[u8] {
        &self.bytes[self.start..]
    }

    /// Number of content bytes.
    pub fn len(&self) -> usize {
        self.bytes.len() - self.start
    }

    /// True when there are no contents.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The contents, writable.
    pub fn contents_mut(&mut self) -> &mut [u8] {
        &mut self.bytes[self.start..]
    }

    /// The vector to append contents to (its first `start` bytes are alignment filler).
    pub fn vec(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }

    /// Pads the contents with zeros to a multiple of [`ALIGN`] and returns them, or `None`
    /// when they do not start on an aligned address (the buffer grew past its reservation).
    pub fn padded(&mut self) -> Option<&[u8]> {
        let padded = self.len().next_multiple_of(ALIGN);
        self.bytes.resize(self.start + padded, 0);
        let contents = &self.bytes[self.start..];
        (contents.as_ptr() as usize)
            .is_multiple_of(ALIGN)
            .then_some(contents)
    }
}

/// A forward-only reader of one file from a given position, with large direct reads (plain
/// reads where direct I/O is refused). Sees bytes appended while it reads. For long scans a
/// helper thread reads the next chunk while the current one is consumed, since direct reads
/// get no read-ahead from the kernel.
#[derive(Debug)]
pub struct SequentialReader {
    path: PathBuf,
    file: File,
    direct: bool,
    /// The read-ahead thread's chunks, until it stops at the end of the file.
    ahead: Option<ReadAhead>,
    buf: AlignedBuf,
    /// Bytes per read, a multiple of [`ALIGN`].
    chunk: usize,
    /// Position in the file of the next byte [`Read::read`] returns.
    pos: u64,
    /// Unread contents: `buf.contents()[lo..hi]`.
    lo: usize,
    hi: usize,
}

impl SequentialReader {
    /// A reader of `path` starting at byte `pos`. Its buffer is sized by the bytes the file
    /// holds past `pos` (up to 4 MiB), and it reads ahead on a thread only when they are many.
    pub fn open(path: &Path, pos: u64) -> io::Result<SequentialReader> {
        let (file, direct) = match open(path, false) {
            Some(file) => (file, true),
            None => (File::open(path)?, false),
        };
        let expected = file.metadata()?.len().saturating_sub(pos);
        // One block more than expected: a direct read starts at the block holding `pos`.
        let chunk = (expected.min(READ_CHUNK as u64) as usize + ALIGN)
            .next_multiple_of(ALIGN)
            .min(READ_CHUNK);
        let ahead = (direct && expected > 2 * READ_CHUNK as u64)
            .then(|| ReadAhead::start(&file, align_down(pos), chunk))
            .flatten();
        Ok(SequentialReader {
            path: path.to_path_buf(),
            file,
            direct,
            ahead,
            buf: AlignedBuf::default(),
            chunk,
            pos,
            lo: 0,
            hi: 0,
        })
    }

    /// Takes the next chunk from the read-ahead thread; `false` when there is none to take
    /// (the thread stopped, or direct reads were refused) and the caller should read itself.
    fn take_read_ahead(&mut self) -> io::Result<bool> {
        let Some(ahead) = &self.ahead else {
            return Ok(false);
        };
        match ahead.chunks.recv() {
            Ok(Ok((buf, from, n))) => {
                let used = std::mem::replace(&mut self.buf, buf);
                if used.len() == self.chunk {
                    let _ = ahead.spare.try_send(used);
                }
                if n < self.chunk {
                    // The thread reached the end of the file and stopped.
                    self.ahead = None;
                }
                self.mark_unread(from, n);
                Ok(true)
            }
            Ok(Err(e)) if !unsupported(&e) => Err(e),
            Ok(Err(_)) | Err(_) => {
                self.ahead = None;
                Ok(false)
            }
        }
    }

    /// Reads the next chunk at `pos` (from the block holding it, for direct reads).
    fn refill(&mut self) -> io::Result<()> {
        if self.take_read_ahead()? {
            return Ok(());
        }
        if self.buf.is_empty() {
            // The chunk is a multiple of ALIGN: the whole buffer suits direct reads.
            self.buf = AlignedBuf::zeroed(self.chunk);
        }
        let from = if self.direct {
            align_down(self.pos)
        } else {
            self.pos
        };
        let n = match read_at(&self.file, self.buf.contents_mut(), from) {
            Err(e) if self.direct && unsupported(&e) => {
                self.file = File::open(&self.path)?;
                self.direct = false;
                return self.refill();
            }
            r => r?,
        };
        self.mark_unread(from, n);
        Ok(())
    }

    /// After `n` bytes from file position `from` landed in the buffer: the unread ones are
    /// those from `pos` on.
    fn mark_unread(&mut self, from: u64, n: usize) {
        let skip = self.pos.saturating_sub(from) as usize;
        (self.lo, self.hi) = if n > skip { (skip, n) } else { (0, 0) };
    }
}

/// A chunk read ahead: the buffer, the file position of its first byte, the bytes read.
type Chunk = (AlignedBuf, u64, usize);

/// The read-ahead thread's side of a [`SequentialReader`].
#[derive(Debug)]
struct ReadAhead {
    chunks: Receiver<io::Result<Chunk>>,
    /// Consumed buffers, handed back for reuse.
    spare: SyncSender<AlignedBuf>,
}

impl ReadAhead {
    /// Starts a thread reading `chunk`-byte pieces of `file` from `from` (aligned) until the
    /// end of the file, one chunk ahead of the reader. `None` if it cannot be started.
    fn start(file: &File, mut from: u64, chunk: usize) -> Option<ReadAhead> {
        let file = file.try_clone().ok()?;
        let (chunk_tx, chunks) = mpsc::sync_channel(1);
        let (spare, spare_rx) = mpsc::sync_channel::<AlignedBuf>(2);
        let thread = std::thread::Builder::new().name("log-read-ahead".into());
        thread
            .spawn(move || {
                loop {
                    let mut buf = spare_rx
                        .try_recv()
                        .unwrap_or_else(|_| AlignedBuf::zeroed(chunk));
                    let read = read_at(&file, buf.contents_mut(), from);
                    let n = *read.as_ref().unwrap_or(&0);
                    // Stop when the reader is gone, after an error, or at the end of the file.
                    let failed = read.is_err();
                    if chunk_tx.send(read.map(|n| (buf, from, n))).is_err() || failed || n < chunk {
                        return;
                    }
                    from += n as u64;
                }
            })
            .ok()?;
        Some(ReadAhead { chunks, spare })
    }
}

/// One `pread`, retried when interrupted.
fn read_at(file: &File, target: &mut [u8], from: u64) -> io::Result<usize> {
    loop {
        match file.read_at(target, from) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

impl Read for SequentialReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.lo == self.hi {
            self.refill()?;
            if self.lo == self.hi {
                return Ok(0);
            }
        }
        let n = out.len().min(self.hi - self.lo);
        out[..n].copy_from_slice(&self.buf.contents()[self.lo..self.lo + n]);
        self.lo += n;
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_buffer_pads_to_whole_blocks() {
        let mut buf = AlignedBuf::default();
        buf.reset(5000);
        buf.vec().extend_from_slice(&[7u8; 5000]);
        let padded = buf.padded().expect("aligned");
        assert_eq!(padded.len(), 8192);
        assert!((padded.as_ptr() as usize).is_multiple_of(ALIGN));
        assert_eq!(&padded[..5000], &[7u8; 5000][..]);
        assert!(padded[5000..].iter().all(|&b| b == 0));
    }

    #[test]
    fn sequential_reader_reads_from_an_unaligned_position_to_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..5 * READ_CHUNK as u32 / 2 + 123)
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::write(&path, &data).unwrap();
        // From the first starts more than two chunks remain: the reader reads ahead on a
        // thread. From the last ones it does not, with full chunks, then with a small one.
        let near_end = data.len() as u64 - 100;
        for start in [0u64, 1, 4095, 4096, 5000, READ_CHUNK as u64 + 17, near_end] {
            let mut reader = SequentialReader::open(&path, start).unwrap();
            assert_eq!(
                reader.ahead.is_some(),
                data.len() as u64 - start > 2 * READ_CHUNK as u64,
                "from {start}"
            );
            let mut got = Vec::new();
            reader.read_to_end(&mut got).unwrap();
            assert!(got == data[start as usize..], "from {start}");
        }
    }

    #[test]
    fn sequential_reader_sees_bytes_appended_after_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"hello").unwrap();
        let mut reader = SequentialReader::open(&path, 0).unwrap();
        let mut got = Vec::new();
        reader.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"hello");
        let file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all_at(b" world", 5).unwrap();
        got.clear();
        reader.read_to_end(&mut got).unwrap();
        assert_eq!(got, b" world");
    }
}
