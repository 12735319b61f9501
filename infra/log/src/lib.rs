//! The embedded append-only log: segment files in `<data dir>/log/`.
//!
//! Invariants:
//! - Records have dense offsets from 0. Segment `<base>.seg` (base zero-padded to 20 digits)
//!   holds `base, base+1, …`; the next segment starts where it ends. Nothing is rewritten in
//!   place (a direct append writes whole blocks, so it writes the partly filled block a
//!   segment ends in again, with the same bytes); only an unacknowledged torn tail is ever
//!   cut off, by the writer on open.
//! - Appends and scans use direct I/O where the file system allows it ([`direct`]).
//! - [`SegmentLog::append`] returns `Ok` only after the batch is on disk (`fdatasync`): a
//!   `kill -9` or power loss afterwards cannot lose it.
//! - One writer per data dir (an exclusive `flock` on `log/LOCK`); any number of read-only
//!   handles, in any process, which see only whole, CRC-valid records.
//! - Damage is never skipped: a bad frame followed by valid ones is [`LogError::Corrupt`].
//!
//! Frame layout: see [`frame`](self::frame) (`u32 len | u32 crc32c | payload`).
//!
//! Beside the log, this crate keeps the data dir's other append-only files: the
//! [`quarantine`] of rejected inputs, and the [`owner_only`] permissions of everything in it.

mod direct;
mod error;
mod frame;
mod gaps;
mod index;
mod lock;
pub mod owner_only;
pub mod quarantine;
mod records;
mod recovery;
mod segment;

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use mailshot_domain::log::{LogAppender, LogReader, LogRecord, NewRecord, Offset};

pub use error::LogError;
pub use frame::{MAX_PAYLOAD_LEN, encoded_len};
pub use gaps::Gap;
pub use records::Records;

use error::corrupt;
use recovery::{recover_tail, resume_point, roll, verify_sealed};

use segment::{idx_name, seg_name};

/// Default size at which a segment is closed and a new one started.
pub const DEFAULT_SEGMENT_BYTES: u64 = 256 * 1024 * 1024;

/// How much of the log the writer checks when it opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyOnOpen {
    /// Read every frame of every segment (CRC, offsets, density) and rebuild any index that
    /// disagrees. Costs one sequential read of the log; finds damage anywhere.
    All,
    /// Check sealed segments through their index (first and last frame, sizes) and scan only
    /// the tail of the last segment. Damage inside a sealed segment is then found when it is
    /// read (an `Err(Corrupt)` item), not at open.
    LastSegment,
}

/// Options of the writer.
#[derive(Debug, Clone)]
pub struct LogOptions {
    /// A batch that would take a non-empty segment past this size goes to a new segment. A
    /// batch is never split, so one larger batch makes one larger segment.
    pub segment_bytes: u64,
    /// Open-time verification.
    pub verify_on_open: VerifyOnOpen,
    /// Append (and scan) with direct I/O, bypassing the page cache (see [`direct`]): the
    /// default. `false` writes through the cache, as file systems without direct I/O do anyway.
    pub direct_io: bool,
    /// What the writer does with a whole record at the end of the log that fails its checks.
    pub damaged_tail: DamagedTail,
}

/// What the writer does on open with a damaged last record: a frame that lies whole in the
/// file (a plausible length and all its bytes) but fails its checksum or carries the wrong
/// offset. A torn write never looks like that (it leaves a partial frame, or zeros), so such
/// a record was written whole and changed since: it may have been acknowledged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum DamagedTail {
    /// Refuse to open with [`LogError::Corrupt`], changing nothing: the default.
    #[default]
    Refuse,
    /// Cut it off like a torn tail, first copying the bytes cut into a file in this
    /// directory (`mailshot repair`, the operator's explicit choice).
    CutKeepingBytesIn(PathBuf),
}

/// What the writer cut from the end of the last segment when it opened (see
/// [`SegmentLog::tail_cut`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailCut {
    /// The segment cut.
    pub segment: PathBuf,
    /// Where the cut was made: the end of the last whole, valid record.
    pub position: u64,
    /// The offset the first bytes cut would have carried.
    pub offset: Offset,
    /// How many bytes were cut.
    pub bytes: u64,
    /// What was wrong with them.
    pub reason: String,
    /// `true` for a damaged whole record ([`DamagedTail`]), `false` for a torn write.
    pub damaged: bool,
    /// Where the cut bytes were kept, for a damaged record.
    pub kept_in: Option<PathBuf>,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            verify_on_open: VerifyOnOpen::All,
            direct_io: true,
            damaged_tail: DamagedTail::Refuse,
        }
    }
}

/// The last segment, kept open. Sealed segments are opened when read, so the number of
/// open files does not grow with history.
#[derive(Debug)]
struct Tail {
    base: Offset,
    path: PathBuf,
    file: Arc<File>,
    idx_path: PathBuf,
    idx: Option<Arc<File>>,
    /// The writer's direct-I/O handle of the segment (see [`direct`]); `None` for readers
    /// and where the file system refuses direct I/O.
    direct: Option<File>,
}

impl Tail {
    /// The writer's tail: the segment and its index open for writing, with a direct-I/O
    /// handle if `direct_io` and the file system allows it.
    fn for_writer(
        base: Offset,
        path: PathBuf,
        file: File,
        idx_path: PathBuf,
        idx: File,
        direct_io: bool,
    ) -> Tail {
        Tail {
            base,
            direct: direct_io.then(|| direct::open(&path, true)).flatten(),
            path,
            file: Arc::new(file),
            idx_path,
            idx: Some(Arc::new(idx)),
        }
    }

    /// Empties `buf` for a batch of `frames_len` bytes that goes at `start`, and returns how
    /// many bytes before the frames it holds: a direct append rewrites the partly filled
    /// block the segment ends in, so the buffer starts with that block's bytes.
    fn start_batch(
        &self,
        buf: &mut direct::AlignedBuf,
        start: u64,
        frames_len: usize,
    ) -> io::Result<usize> {
        let prefix = if self.direct.is_some() {
            (start - direct::align_down(start)) as usize
        } else {
            0
        };
        buf.reset(prefix + frames_len);
        if prefix > 0 {
            buf.push_zeros(prefix);
            self.file
                .read_exact_at(buf.contents_mut(), start - prefix as u64)?;
        }
        Ok(prefix)
    }

    /// Writes the frames in `buf` (after its `prefix` bytes) at `start`, not yet synced:
    /// directly in whole blocks when possible, cutting the padding off again, else through
    /// the page cache (for good, once direct I/O was refused).
    fn write_batch(
        &mut self,
        buf: &mut direct::AlignedBuf,
        prefix: usize,
        start: u64,
    ) -> io::Result<()> {
        let frames_len = buf.len() - prefix;
        let end = start + frames_len as u64;
        if let Some(file) = &self.direct {
            let block_start = start - prefix as u64;
            if let Some(blocks) = buf.padded() {
                match file.write_all_at(blocks, block_start) {
                    Ok(()) if block_start + blocks.len() as u64 > end => {
                        return self.file.set_len(end);
                    }
                    Ok(()) => return Ok(()),
                    Err(e) if !direct::unsupported(&e) => return Err(e),
                    Err(_) => {}
                }
            }
            self.direct = None;
        }
        self.file
            .write_all_at(&buf.contents()[prefix..prefix + frames_len], start)
    }
}

#[derive(Debug)]
struct State {
    /// Bases of all segments, ascending; the last is `tail.base`.
    bases: Vec<Offset>,
    /// The recorded gaps ([`gaps`]), by `from`: offsets that exist nowhere.
    gaps: Vec<Gap>,
    tail: Option<Tail>,
    /// One past the last whole record known (exact for the writer).
    end: Offset,
    /// Byte length of the whole records of the tail segment.
    tail_pos: u64,
    /// Recently read sealed segments, kept open so that `read_at` costs preads, not opens.
    /// Bounded: history can hold any number of segments.
    sealed: Vec<SealedHandles>,
}

/// Open handles of a sealed segment (it no longer changes, so its length is fixed).
#[derive(Debug, Clone)]
struct SealedHandles {
    base: Offset,
    file: Arc<File>,
    len: u64,
    idx: Option<Arc<File>>,
}

/// How many sealed segments stay open for reads.
const SEALED_CACHE: usize = 8;

/// The embedded append-only log (see the module docs for its invariants). A writer handle
/// from [`SegmentLog::open`] or a read-only one from [`SegmentLog::open_read_only`].
#[derive(Debug)]
pub struct SegmentLog {
    data_dir: PathBuf,
    log_dir: PathBuf,
    options: LogOptions,
    /// `Some` for the writer: dropping it releases the lock.
    writer: Option<lock::WriterLock>,
    poisoned: Option<String>,
    /// What the writer cut from the tail when it opened.
    tail_cut: Option<TailCut>,
    state: Mutex<State>,
    /// The frames of the batch being appended, kept between appends: a fresh buffer per batch
    /// would fault in (and zero) new memory every time.
    frames: direct::AlignedBuf,
}

fn sync_dir(dir: &Path) -> Result<(), LogError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| LogError::io(dir, e))
}

/// Writes `bytes` as the whole of a new owner-only file at `path` (0600: the log holds
/// personal data) and fsyncs it; the caller makes its directory entry durable.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), LogError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| LogError::io(path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| LogError::io(path, e))
}

fn open_rw(path: &Path, create_new: bool) -> Result<File, LogError> {
    let mut o = OpenOptions::new();
    o.read(true).write(true);
    if create_new {
        o.create_new(true);
    } else {
        o.create(true).truncate(false);
    }
    o.open(path).map_err(|e| LogError::io(path, e))
}

/// The index is a hint: if it cannot be opened, reads fall back to scanning.
fn open_idx_read(path: &Path) -> Option<Arc<File>> {
    File::open(path).ok().map(Arc::new)
}

impl SegmentLog {
    /// Opens the log in `data_dir` as its single writer, creating it if needed.
    ///
    /// Fails at once with [`LogError::Locked`] if another writer holds it. Recovers by
    /// itself from a crash: a torn tail (partial or invalid bytes after the last whole record
    /// of the last segment, with no valid record after them) is cut off and the cut fsynced.
    /// Damage followed by valid records, gaps between segments, or a bad sealed segment are
    /// [`LogError::Corrupt`], and nothing is modified. Stale indexes are rebuilt.
    pub fn open(data_dir: impl AsRef<Path>, options: LogOptions) -> Result<SegmentLog, LogError> {
        let data_dir = data_dir.as_ref().to_path_buf();
        let log_dir = data_dir.join("log");
        if !log_dir.is_dir() {
            std::fs::create_dir_all(&log_dir).map_err(|e| LogError::io(&log_dir, e))?;
            // Make the new directory entries themselves durable.
            sync_dir(&data_dir)?;
        }
        let writer = lock::acquire(&data_dir, &log_dir)?;

        let mut bases = segment::list_bases(&log_dir)?;
        if bases.is_empty() {
            let path = log_dir.join(seg_name(0));
            let file = open_rw(&path, true)?;
            file.sync_all().map_err(|e| LogError::io(&path, e))?;
            sync_dir(&log_dir)?;
            bases.push(0);
        }
        if bases[0] != 0 {
            return Err(corrupt(
                &log_dir.join(seg_name(bases[0])),
                0,
                0,
                format!(
                    "the first segment starts at offset {}: segments before it are missing",
                    bases[0]
                ),
            ));
        }
        let gaps = gaps::list(&log_dir)?;
        for pair in bases.windows(2) {
            let end = gaps::end_before(&gaps, pair[1]);
            verify_sealed(&log_dir, pair[0], end, options.verify_on_open)?;
        }
        let base = bases[bases.len() - 1];
        let recovered = recover_tail(&log_dir, base, &options)?;
        let mut state = State {
            bases,
            gaps,
            tail: Some(recovered.tail),
            end: recovered.end,
            tail_pos: recovered.tail_pos,
            sealed: Vec::new(),
        };
        if let Some(to) = state
            .gaps
            .iter()
            .find(|g| g.from == state.end)
            .map(|g| g.to)
        {
            // A gap was recorded but the process stopped before the segment after it was
            // started: start it now, so that no record ever takes an offset of the gap.
            state.end = to;
            roll(&log_dir, &mut state, options.direct_io)?;
        }
        Ok(SegmentLog {
            data_dir,
            log_dir,
            options,
            writer: Some(writer),
            poisoned: None,
            tail_cut: recovered.cut,
            frames: direct::AlignedBuf::default(),
            state: Mutex::new(state),
        })
    }

    /// What the writer cut from the end of the last segment when it opened: a torn write,
    /// or a damaged record under [`DamagedTail::CutKeepingBytesIn`]. `None` when the tail was
    /// whole (and always for a read-only handle).
    pub fn tail_cut(&self) -> Option<&TailCut> {
        self.tail_cut.as_ref()
    }

    /// The recorded gaps: offsets lost from the log and never given out again.
    pub fn gaps(&self) -> Vec<Gap> {
        self.state().gaps.clone()
    }

    /// Skips the offsets from the current end up to `to`, which will never name a record:
    /// records a [`Gap`] with `reason`, then starts a new segment at `to`. For a repair after
    /// acknowledged records were lost from the end of the log, so that offsets recorded
    /// elsewhere never come to name other records. Nothing happens when `to` is not past the
    /// end.
    pub fn skip_to(&mut self, to: Offset, reason: &str) -> Result<(), LogError> {
        if self.writer.is_none() {
            return Err(LogError::ReadOnly {
                dir: self.data_dir.clone(),
            });
        }
        let st = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if to <= st.end {
            return Ok(());
        }
        let gap = Gap {
            from: st.end,
            to,
            reason: reason.to_owned(),
            recorded_at_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64),
        };
        gaps::write(&self.log_dir, &gap)?;
        st.gaps.push(gap);
        st.end = to;
        roll(&self.log_dir, st, self.options.direct_io)
    }

    /// Opens the log in `data_dir` for reading only, without a lock, while a writer (in this
    /// or another process) may be appending. Never modifies any file. The handle sees whole,
    /// CRC-valid records only: it stops at a partial tail, and [`SegmentLog::end_offset`]
    /// (and every `read_*`) picks up records appended since. A data dir without a log reads
    /// as an empty log.
    pub fn open_read_only(data_dir: impl AsRef<Path>) -> Result<SegmentLog, LogError> {
        let data_dir = data_dir.as_ref().to_path_buf();
        let log_dir = data_dir.join("log");
        let bases = if log_dir.is_dir() {
            segment::list_bases(&log_dir)?
        } else {
            Vec::new()
        };
        let gaps = gaps::list(&log_dir)?;
        let mut state = State {
            bases: Vec::new(),
            gaps: gaps.clone(),
            tail: None,
            end: 0,
            tail_pos: 0,
            sealed: Vec::new(),
        };
        if let Some(&base) = bases.last() {
            let tail = open_tail_read(&log_dir, base)?;
            let len = segment::file_len(&tail.file, &tail.path)?;
            let (end, pos) = resume_point(
                &tail.file,
                &tail.path,
                len,
                base,
                tail.idx.as_deref(),
                &tail.idx_path,
            )?;
            state = State {
                bases,
                gaps,
                tail: Some(tail),
                end,
                tail_pos: pos,
                sealed: Vec::new(),
            };
        }
        let log = SegmentLog {
            data_dir,
            log_dir,
            options: LogOptions::default(),
            writer: None,
            poisoned: None,
            tail_cut: None,
            frames: direct::AlignedBuf::default(),
            state: Mutex::new(state),
        };
        {
            let mut st = log.state();
            log.refresh(&mut st)?;
        }
        Ok(log)
    }

    /// The data dir this log lives in.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Whether this handle is the writer.
    pub fn is_writer(&self) -> bool {
        self.writer.is_some()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state is only replaced wholesale after successful I/O: a panic elsewhere while
        // it was locked cannot leave it half-updated.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends a batch with one `write` and one `fdatasync` (group commit) and returns the
    /// offset of its first record. On `Ok` the whole batch is durable; on `Err` none of it is
    /// acknowledged and the file is cut back to its previous end.
    pub fn append(&mut self, batch: &[NewRecord]) -> Result<Offset, LogError> {
        if self.writer.is_none() {
            return Err(LogError::ReadOnly {
                dir: self.data_dir.clone(),
            });
        }
        if let Some(reason) = &self.poisoned {
            return Err(LogError::Poisoned {
                dir: self.data_dir.clone(),
                reason: reason.clone(),
            });
        }
        let mut total = 0usize;
        for (i, record) in batch.iter().enumerate() {
            let Some(n) = frame::encoded_len(record) else {
                return Err(LogError::RecordTooLarge {
                    index: i,
                    size: record.raw.len() + 16 * record.identities.len(),
                    identities: record.identities.len(),
                });
            };
            total += n;
        }
        let st = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        let first = st.end;
        if batch.is_empty() {
            return Ok(first);
        }
        if st.tail_pos > 0 && st.tail_pos + total as u64 > self.options.segment_bytes {
            roll(&self.log_dir, st, self.options.direct_io)?;
        }
        let start = st.tail_pos;
        let Some(tail) = st.tail.as_mut() else {
            return Err(LogError::io(
                &self.log_dir,
                io::Error::other("writer has no tail segment"),
            ));
        };
        let buf = &mut self.frames;
        let prefix = tail
            .start_batch(buf, start, total)
            .map_err(|e| LogError::io(&tail.path, e))?;
        let mut positions = Vec::with_capacity(batch.len());
        for (i, record) in batch.iter().enumerate() {
            positions.push(start + (buf.len() - prefix) as u64);
            frame::encode_into(buf.vec(), first + i as u64, record);
        }
        let end = start + (buf.len() - prefix) as u64;
        if let Err(e) = tail.write_batch(buf, prefix, start) {
            // Cut the partial batch off so the log stays whole for the next append.
            if let Err(cut) = tail.file.set_len(start) {
                self.poisoned = Some(format!(
                    "write failed ({e}) and cutting back failed ({cut})"
                ));
            }
            return Err(LogError::io(&tail.path, e));
        }
        if let Err(e) = tail.file.sync_data() {
            // After a failed fdatasync the kernel may have dropped the dirty pages: whether
            // the batch is on disk is unknown, so stop appending until a reopen re-reads it.
            let _ = tail.file.set_len(start);
            self.poisoned = Some(format!("fdatasync failed: {e}"));
            return Err(LogError::io(&tail.path, e));
        }
        if let Some(idx) = &tail.idx {
            // Best effort: the index is a verified hint, rebuilt on open if it fell behind.
            let _ = index::append(idx, &tail.idx_path, first - tail.base, &positions);
        }
        st.end = first + batch.len() as u64;
        st.tail_pos = end;
        Ok(first)
    }

    /// The offset the next appended record gets (for a read-only handle: the end as last
    /// seen).
    pub fn next_offset(&self) -> Offset {
        self.state().end
    }

    /// One past the last whole record. A read-only handle re-reads the end of the log, so it
    /// sees what was appended after it opened.
    pub fn end_offset(&self) -> Result<Offset, LogError> {
        let mut st = self.state();
        self.refresh(&mut st)?;
        Ok(st.end)
    }

    /// The record at `offset`, or `None` past the end or inside a [`Gap`]: one index read
    /// and one frame read. A stale or missing index falls back to scanning that one segment;
    /// a record that is there but damaged is `Err(Corrupt)`.
    pub fn read_at(&self, offset: Offset) -> Result<Option<LogRecord>, LogError> {
        let located = {
            let mut st = self.state();
            if offset >= st.end {
                self.refresh(&mut st)?;
            }
            if offset >= st.end || gaps::skip(&st.gaps, offset) != offset {
                return Ok(None);
            }
            self.segment_of(&mut st, offset)?
        };
        // The common case: one index pread, then the frame itself (header and payload).
        if let Some(idx) = &located.idx
            && let Some(pos) = index::entry(idx, &located.idx_path, offset - located.base)?
            && let Some((record, _)) =
                segment::read_frame_at(&located.file, &located.path, located.len, pos, offset)?
        {
            return Ok(Some(record));
        }
        let pos = self.locate(&located, offset)?;
        match segment::read_frame_at(&located.file, &located.path, located.len, pos, offset)? {
            Some((record, _)) => Ok(Some(record)),
            None => Err(corrupt(
                &located.path,
                pos,
                offset,
                "record changed while read",
            )),
        }
    }

    /// The records from `offset` up to the end as of this call, oldest first, read
    /// sequentially with large buffered reads. A damaged record yields one `Err(Corrupt)` item
    /// and ends the iteration: records are never skipped.
    pub fn read_from(&self, offset: Offset) -> Result<Records, LogError> {
        let (located, bases, gaps, end, offset) = {
            let mut st = self.state();
            self.refresh(&mut st)?;
            let offset = gaps::skip(&st.gaps, offset);
            if offset >= st.end {
                return Ok(Records::empty());
            }
            let located = self.segment_of(&mut st, offset)?;
            (located, st.bases.clone(), st.gaps.clone(), st.end, offset)
        };
        let pos = self.locate(&located, offset)?;
        // A fresh open, not a dup: a dup would share its file position with other readers.
        let reader = direct::SequentialReader::open(&located.path, pos)
            .map_err(|e| LogError::io(&located.path, e))?;
        Ok(Records {
            log_dir: self.log_dir.clone(),
            bases,
            gaps,
            seg: located.index,
            seg_end: located.seg_end,
            path: located.path,
            reader: Some(reader),
            pos,
            next: offset,
            end,
            payload: Vec::new(),
            done: false,
        })
    }

    /// Brings a read-only handle's view of the end up to date: follows whole valid frames
    /// past the known end, and into the next segment once the writer has rolled.
    fn refresh(&self, st: &mut State) -> Result<(), LogError> {
        if self.writer.is_some() {
            return Ok(()); // The writer's end is exact.
        }
        if st.tail.is_none() {
            let path = self.log_dir.join(seg_name(0));
            if !path.exists() {
                return Ok(());
            }
            st.tail = Some(open_tail_read(&self.log_dir, 0)?);
            st.bases = vec![0];
            st.end = 0;
            st.tail_pos = 0;
        }
        loop {
            let Some(tail) = st.tail.as_ref() else {
                return Ok(());
            };
            let len = segment::file_len(&tail.file, &tail.path)?;
            let scanned = segment::scan(&tail.path, len, st.tail_pos, st.end, Offset::MAX, |_| {})?;
            st.end = scanned.next_offset;
            st.tail_pos = scanned.pos;
            // The writer creates segment `<end>` only once the current one is complete, so a
            // segment named after our end means there is nothing more to see in this one. A
            // gap recorded at our end moves the next segment to the gap's end.
            if st.end == tail.base && !st.gaps.iter().any(|g| g.from == st.end) {
                return Ok(());
            }
            let next_base = match st.gaps.iter().find(|g| g.from == st.end) {
                Some(gap) => gap.to,
                None => match gaps::find(&self.log_dir, st.end)? {
                    Some(gap) => {
                        let to = gap.to;
                        st.gaps.push(gap);
                        st.gaps.sort_by_key(|g| g.from);
                        to
                    }
                    None => st.end,
                },
            };
            if next_base == tail.base {
                return Ok(());
            }
            match File::open(self.log_dir.join(seg_name(next_base))) {
                Ok(_) => {
                    let next = open_tail_read(&self.log_dir, next_base)?;
                    st.bases.push(next_base);
                    st.tail = Some(next);
                    st.end = next_base;
                    st.tail_pos = 0;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(LogError::io(&self.log_dir.join(seg_name(next_base)), e)),
            }
        }
    }

    /// The segment holding `offset` (< end), with handles to read it.
    fn segment_of(&self, st: &mut State, offset: Offset) -> Result<Located, LogError> {
        let index = st.bases.partition_point(|&b| b <= offset).saturating_sub(1);
        let base = st.bases[index];
        let is_tail = index + 1 == st.bases.len();
        let seg_end = if is_tail {
            st.end
        } else {
            gaps::end_before(&st.gaps, st.bases[index + 1])
        };
        if let Some(tail) = st.tail.as_ref().filter(|t| is_tail && t.base == base) {
            let idx = tail.idx.clone().or_else(|| open_idx_read(&tail.idx_path));
            return Ok(Located {
                index,
                base,
                seg_end,
                path: tail.path.clone(),
                file: tail.file.clone(),
                idx_path: tail.idx_path.clone(),
                idx,
                len: st.tail_pos,
            });
        }
        let path = self.log_dir.join(seg_name(base));
        let idx_path = self.log_dir.join(idx_name(base));
        let handles = match st.sealed.iter().find(|h| h.base == base) {
            Some(h) => h.clone(),
            None => {
                let file = Arc::new(segment::open_read(&path)?);
                let len = segment::file_len(&file, &path)?;
                let h = SealedHandles {
                    base,
                    file,
                    len,
                    idx: open_idx_read(&idx_path),
                };
                if st.sealed.len() >= SEALED_CACHE {
                    st.sealed.remove(0);
                }
                st.sealed.push(h.clone());
                h
            }
        };
        Ok(Located {
            index,
            base,
            seg_end,
            // A missing index may have been rebuilt by a writer since.
            idx: handles.idx.or_else(|| open_idx_read(&idx_path)),
            path,
            file: handles.file,
            idx_path,
            len: handles.len,
        })
    }

    /// File position of `offset` in its segment: through the index when its entry checks
    /// out, else by scanning the segment (the index is not fsynced and may be behind).
    fn locate(&self, seg: &Located, offset: Offset) -> Result<u64, LogError> {
        let rel = offset - seg.base;
        if let Some(idx) = &seg.idx
            && let Some(pos) = index::entry(idx, &seg.idx_path, rel)?
            && segment::read_frame_at(&seg.file, &seg.path, seg.len, pos, offset)?.is_some()
        {
            return Ok(pos);
        }
        let mut last = 0;
        let scanned = segment::scan(&seg.path, seg.len, 0, seg.base, offset + 1, |p| last = p)?;
        if scanned.next_offset == offset + 1 {
            return Ok(last);
        }
        let reason = scanned
            .fault
            .unwrap_or_else(|| "segment ends before this committed record".to_owned());
        Err(corrupt(&seg.path, scanned.pos, scanned.next_offset, reason))
    }
}

/// A segment located for a read.
struct Located {
    index: usize,
    base: Offset,
    /// One past the last offset to read from this segment.
    seg_end: Offset,
    path: PathBuf,
    file: Arc<File>,
    idx_path: PathBuf,
    idx: Option<Arc<File>>,
    /// Bytes that may be read (whole records only, for the tail).
    len: u64,
}

fn open_tail_read(log_dir: &Path, base: Offset) -> Result<Tail, LogError> {
    let path = log_dir.join(seg_name(base));
    let idx_path = log_dir.join(idx_name(base));
    Ok(Tail {
        base,
        file: Arc::new(segment::open_read(&path)?),
        idx: open_idx_read(&idx_path),
        path,
        idx_path,
        direct: None,
    })
}

impl LogAppender for SegmentLog {
    type Error = LogError;

    fn append(&mut self, batch: &[NewRecord]) -> Result<Offset, LogError> {
        SegmentLog::append(self, batch)
    }

    fn next_offset(&self) -> Offset {
        SegmentLog::next_offset(self)
    }
}

impl LogReader for SegmentLog {
    type Error = LogError;

    fn read_from(
        &self,
        offset: Offset,
    ) -> Result<Box<dyn Iterator<Item = Result<LogRecord, LogError>> + '_>, LogError> {
        Ok(Box::new(SegmentLog::read_from(self, offset)?))
    }

    fn read_at(&self, offset: Offset) -> Result<Option<LogRecord>, LogError> {
        SegmentLog::read_at(self, offset)
    }

    fn end_offset(&self) -> Result<Offset, LogError> {
        SegmentLog::end_offset(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A direct write the file system refuses (here: an unaligned position, which ext4
    /// refuses with `EINVAL`) goes through the page cache instead, and so do later ones; on a
    /// file system that accepts it, it is written directly. The bytes are the same either way.
    #[test]
    fn a_refused_direct_write_falls_back_to_the_page_cache() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seg");
        std::fs::write(&path, b"hello").unwrap();
        let direct = direct::open(&path, true);
        let mut tail = Tail {
            base: 0,
            file: Arc::new(open_rw(&path, false).unwrap()),
            direct,
            idx_path: dir.path().join("idx"),
            idx: None,
            path: path.clone(),
        };
        let mut buf = direct::AlignedBuf::default();
        for (start, bytes) in [(5u64, &b", world"[..]), (12, b"!")] {
            buf.reset(bytes.len());
            buf.vec().extend_from_slice(bytes);
            // No prefix: the direct write would start at `start` itself, not at a block.
            tail.write_batch(&mut buf, 0, start).unwrap();
        }
        assert_eq!(std::fs::read(&path).unwrap(), b"hello, world!");
    }
}
