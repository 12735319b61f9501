//! The embedded runtime (docs/design.md §2.3): a data dir holding the segment log, the LMDB
//! projection store and the quarantine. One process writes (it holds the log's lock); any number of
//! processes read the projections at the same time.

pub mod backend;
mod catch_up;
mod ingest;
pub mod outbox;
pub mod queries;
pub mod reactor_runner;
mod rebuild;
mod repair;

use std::path::{Path, PathBuf};

use mailshot_domain::log::Offset;
use mailshot_projections::Projection;

use mailshot_log::quarantine::{Quarantine, QuarantineError};
use mailshot_log::{LogError, LogOptions, SegmentLog, VerifyOnOpen};
use mailshot_store::{LmdbStore, StoreError};

pub use catch_up::catch_up;
pub use mailshot_engine::lines::LineSource;
pub use mailshot_engine::report::{IngestSummary, Rejection, VerifyReport};
pub use rebuild::{rebuild, verify};
pub use repair::{LostRecords, RepairReport, repair};

/// Errors of the embedded runtime: every one names the data dir part that failed.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Quarantine(#[from] QuarantineError),
    #[error("{0}")]
    Fold(String),
    #[error(transparent)]
    Decode(#[from] mailshot_replay::DecodeError),
    #[error("reading {path}: {reason}")]
    Input { path: String, reason: String },
    /// The store was deleted while the log holds records, and a query could not open the
    /// writer to rebuild it (a read-only data dir, or another writer).
    #[error(
        "{path}: the store is missing and this query cannot rebuild it ({cause}): run any \
         writer command (`mailshot ingest /dev/null` or `mailshot replay`) with write access \
         to rebuild it from the log's {records} records"
    )]
    StoreMissing {
        path: String,
        records: u64,
        cause: String,
    },
    /// A `mailshot repair` stopped before it finished: the store may still hold records that
    /// the log lost.
    #[error(
        "a `mailshot repair` of {} stopped before it finished: run `mailshot repair` again to finish it",
        .dir.display()
    )]
    RepairPending { dir: PathBuf },
    /// The store has taken in records that the log no longer holds: log files were damaged
    /// or deleted after those records were acknowledged. Nothing is appended until an
    /// operator chooses between restoring the log and `mailshot repair`.
    #[error(
        "{missing} acknowledged records are missing from the log in {}: the log ends at offset {log_end}, but {part} has taken in records up to offset {store_end}. Nothing was appended. Restore the log files from a backup, or run `mailshot repair` to cut the store back to the log (the missing records are then lost, reported, and their offsets never reused)",
        .dir.display()
    )]
    StoreAheadOfLog {
        dir: PathBuf,
        log_end: Offset,
        store_end: Offset,
        missing: u64,
        /// The part of the store that is furthest ahead.
        part: String,
    },
}

/// Fails with [`EmbeddedError::StoreAheadOfLog`] when any part of `store` has taken in
/// records past the end of `log`.
pub(crate) fn check_store_within_log(
    dir: &Path,
    log: &SegmentLog,
    store: &LmdbStore,
) -> Result<(), EmbeddedError> {
    if repair::pending_path(dir).exists() {
        return Err(EmbeddedError::RepairPending {
            dir: dir.to_path_buf(),
        });
    }
    let log_end = log.end_offset()?;
    match store.high_water()? {
        Some((store_end, part)) if store_end > log_end => Err(EmbeddedError::StoreAheadOfLog {
            dir: dir.to_path_buf(),
            log_end,
            store_end,
            missing: store_end - log_end,
            part,
        }),
        _ => Ok(()),
    }
}

/// A data dir opened for writing: the single writer of its log.
pub struct Writer {
    pub(crate) dir: PathBuf,
    pub log: SegmentLog,
    pub store: LmdbStore,
    pub(crate) quarantine: Quarantine,
    /// The live reactors, if attached ([`Writer::attach_reactors`]); run after each ingest
    /// batch, never by replay, rebuild or verify.
    pub(crate) reactor: Option<reactor_runner::ReactorRunner>,
    /// The size limit of one input line ([`Writer::set_max_input_bytes`]).
    pub(crate) max_input_bytes: u64,
    /// The subscriber rows the reactors will plan on, as they were before the batch being
    /// ingested, and the offset of its first record: the base of the reactors' `AsOf`.
    pub(crate) reactor_base: Option<ReactorBase>,
}

/// See [`Writer::reactor_base`].
pub(crate) type ReactorBase = (
    mailshot_domain::log::Offset,
    std::collections::HashMap<String, Option<mailshot_projections::Subscriber>>,
);

/// Records folded per store transaction during catch-up: as many as an ingest batch. Each
/// transaction copies every page it touches once, so bigger batches touch (and copy) fewer
/// pages per record: 4,096 took 16.5–18.0 s to replay 1M inputs, 16,384 11.3–13.3 s.
pub(crate) const FOLD_BATCH: usize = ingest::INGEST_BATCH_LINES;

/// Records per transaction in rebuilds. Their spare slots fill with every row of history, so
/// each batch touches (and copies) pages all over them: fewer, bigger batches copy less. The
/// bound is memory: about one batch of parsed records waits in the reading thread's channel,
/// and one batch of write-only rows in its arena; a replay of 1M inputs peaks at 214–300 MB
/// of anonymous memory.
pub(crate) const REBUILD_BATCH: usize = 131_072;

/// Records per transaction in catch-up: `MAILSHOT_FOLD_BATCH` overrides [`FOLD_BATCH`] (tests
/// use small batches so that a kill lands between commits).
pub(crate) fn fold_batch_size() -> usize {
    mailshot_engine::report::batch_size("MAILSHOT_FOLD_BATCH", FOLD_BATCH)
}

/// Records per transaction in rebuilds: `MAILSHOT_FOLD_BATCH` overrides [`REBUILD_BATCH`].
pub(crate) fn rebuild_batch_size() -> usize {
    mailshot_engine::report::batch_size("MAILSHOT_FOLD_BATCH", REBUILD_BATCH)
}

impl Writer {
    /// Opens `dir` as its writer: takes the log lock, recovers a torn log tail, rebuilds any
    /// projection whose fold version changed (or that is new), and catches every projection
    /// up with the log.
    ///
    /// The log is checked whole (every frame's CRC, offsets, density): one sequential read of
    /// the log, which finds damage anywhere before anything is appended.
    pub fn open(dir: &Path) -> Result<Writer, EmbeddedError> {
        Writer::open_checking(dir, VerifyOnOpen::All)
    }

    /// Opens `dir` as its writer for a rebuild (`replay`, `verify`), which reads every frame
    /// of the log anyway and fails on a damaged one: only the tail of the last segment is
    /// checked at open, so the log is read once instead of twice.
    pub fn open_for_rebuild(dir: &Path) -> Result<Writer, EmbeddedError> {
        Writer::open_checking(dir, VerifyOnOpen::LastSegment)
    }

    fn open_checking(dir: &Path, verify_on_open: VerifyOnOpen) -> Result<Writer, EmbeddedError> {
        std::fs::create_dir_all(dir).map_err(|e| EmbeddedError::Input {
            path: dir.display().to_string(),
            reason: e.to_string(),
        })?;
        let options = LogOptions {
            verify_on_open,
            ..LogOptions::default()
        };
        let log = SegmentLog::open(dir, options)?;
        tidy_locked(dir)?;
        let store = open_store(dir)?;
        // Before anything is written: a store ahead of its log means acknowledged records
        // were lost from the log, and appending now would give their offsets to new records.
        check_store_within_log(dir, &log, &store)?;
        let store_dir = dir.join("store");
        if store.upgrade_ids_layout()? {
            eprintln!(
                "{}: the dedup index has an older key layout: rebuilding it from the log",
                store_dir.display()
            );
        }
        let writer = Writer::from_parts(dir, log, store)?;
        let has_history = writer.log.end_offset()? > 0;
        let mut stale = Vec::new();
        for &p in Projection::all() {
            let progress = writer.store.progress(p, false)?;
            if progress.version != Some(p.version())
                && (progress.checkpoint.is_some() || has_history)
            {
                eprintln!(
                    "projection {p}: stored version {:?}, code version {}: rebuilding from the log",
                    progress.version,
                    p.version()
                );
                stale.push(p);
            }
        }
        if !stale.is_empty() {
            // One pass over the log rebuilds them all.
            rebuild(&writer, &stale)?;
        }
        catch_up(&writer.log, &writer.store)?;
        writer.store.sync()?;
        Ok(writer)
    }

    /// A writer over a log and store already opened and checked, with the quarantine opened,
    /// no reactors and the default input size limit.
    pub(crate) fn from_parts(
        dir: &Path,
        log: SegmentLog,
        store: LmdbStore,
    ) -> Result<Writer, EmbeddedError> {
        Ok(Writer {
            dir: dir.to_path_buf(),
            log,
            store,
            quarantine: Quarantine::open(dir)?,
            reactor: None,
            max_input_bytes: mailshot_engine::lines::DEFAULT_MAX_INPUT_BYTES,
            reactor_base: None,
        })
    }

    /// The data dir.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// With the log's lock held: tightens a data dir written owner-readable by an older version,
/// and drops the run files of a rebuild that was killed.
fn tidy_locked(dir: &Path) -> Result<(), EmbeddedError> {
    mailshot_log::owner_only::tighten(dir).map_err(|e| EmbeddedError::Input {
        path: dir.display().to_string(),
        reason: format!("making the data dir owner-only: {e}"),
    })?;
    mailshot_store::Runs::discard(&dir.join(rebuild::RUNS_DIR))?;
    Ok(())
}

/// Opens the store of the writer of `dir`. A store that the machine may have torn (it went
/// down with commits not yet flushed) is derived from the log, so it is removed and rebuilt.
fn open_store(dir: &Path) -> Result<LmdbStore, EmbeddedError> {
    let store_dir = dir.join("store");
    if mailshot_store::needs_rebuild(&store_dir) {
        eprintln!(
            "{}: the machine stopped before the store was flushed: rebuilding the store from the log",
            store_dir.display()
        );
        std::fs::remove_dir_all(&store_dir).map_err(|e| EmbeddedError::Input {
            path: store_dir.display().to_string(),
            reason: format!("removing the unflushed store: {e}"),
        })?;
    }
    Ok(LmdbStore::open(dir)?)
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Flush what the last commits left in the page cache; an error here only means the
        // next open after a machine crash rebuilds the store from the log.
        let _ = self.store.sync();
    }
}

/// A data dir opened for reading only: never blocks or is blocked by the writer, and never
/// writes.
pub struct Reader {
    pub log: SegmentLog,
    pub store: LmdbStore,
}

impl Reader {
    /// Opens `dir` for queries: read-only (the log and the store), so it works on a read-only
    /// file system and never waits on the writer. Fails if the data dir has no data yet.
    ///
    /// A store that is missing while the log holds records (deleted by hand), or that the
    /// machine may have torn, is rebuilt from the log first by opening the writer, if no other
    /// process holds it; where the writer cannot be opened (a read-only data dir), a missing
    /// store is an error saying how to rebuild it.
    pub fn open(dir: &Path) -> Result<Reader, EmbeddedError> {
        let store_dir = dir.join("store");
        let missing = !store_dir.is_dir();
        if missing {
            let records = SegmentLog::open_read_only(dir)?.end_offset()?;
            if records == 0 {
                return Err(EmbeddedError::Input {
                    path: dir.display().to_string(),
                    reason:
                        "no mailshot data here (run `mailshot ingest` or `mailshot demo` first)"
                            .into(),
                });
            }
            match Writer::open(dir) {
                Ok(writer) => drop(writer),
                Err(e) => {
                    return Err(EmbeddedError::StoreMissing {
                        path: store_dir.display().to_string(),
                        records,
                        cause: e.to_string(),
                    });
                }
            }
            eprintln!(
                "{}: the store was missing: rebuilt it from the log's {records} records",
                store_dir.display()
            );
        } else if mailshot_store::needs_rebuild(&store_dir) {
            // Never read a store the machine may have torn: opening the writer rebuilds it
            // (if another process holds the writer, it did so when it opened).
            match Writer::open(dir) {
                Ok(writer) => drop(writer),
                Err(EmbeddedError::Log(LogError::Locked { .. })) => {}
                Err(e) => return Err(e),
            }
        }
        let reader = Reader {
            log: SegmentLog::open_read_only(dir)?,
            store: LmdbStore::open_read_only(dir)?,
        };
        // Answers from a store ahead of its log would count records the log has lost.
        check_store_within_log(dir, &reader.log, &reader.store)?;
        Ok(reader)
    }
}

/// Borrowed log and snapshot, for queries inside the writer's own process.
pub struct ReaderView<'a> {
    pub log: &'a SegmentLog,
    pub snapshot: &'a mailshot_store::Snapshot<'a>,
}

impl ReaderView<'_> {
    /// The audit trace of `email`.
    pub fn trace(&self, email: &str) -> Result<serde_json::Value, mailshot_replay::TraceError> {
        mailshot_replay::trace(self.log, self.snapshot, email)
    }
}
