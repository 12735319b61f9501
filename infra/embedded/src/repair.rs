//! `mailshot repair`: the operator's way out when the end of the log was damaged or deleted
//! after records were acknowledged.
//!
//! Opening a data dir refuses two states and changes nothing in them: a whole record at the
//! end of the log that fails its checksum (damage, not a torn write), and a store that has
//! taken in records past the end of its log (acknowledged records lost from the log). The
//! operator then chooses: restore the log files from a backup, or repair. Repair
//!
//! 1. cuts a damaged record (and anything after it) off the end of the log, keeping the bytes
//!    cut in `<data dir>/damaged/`;
//! 2. when the store is ahead of the log, records the lost offsets as a gap ([`Gap`]): they
//!    are never given out again, so an offset written down anywhere keeps naming the record
//!    it named or none;
//! 3. cuts the store back to the log by rebuilding the dedup index and every projection from
//!    the log (the reactors' checkpoint stays: a lost record is never reacted to again);
//! 4. reports exactly what was lost: the offsets, how many facts the dedup index forgot and
//!    how many subscribers had records among them.
//!
//! A repair is crash-safe: before it changes anything it makes the file `repair.pending`
//! durable in the data dir, and removes it only once the store is rebuilt and flushed. While
//! the file exists every writer and query refuses the data dir ([`EmbeddedError::RepairPending`])
//! and running `mailshot repair` again finishes the work.
//!
//! Because the dedup index forgets the lost records, ingesting their original input files
//! again restores them (under new offsets); everything still in the log counts as a
//! duplicate.

use std::path::Path;

use mailshot_domain::log::Offset;
use mailshot_projections::Projection;
use serde::Serialize;

use crate::{EmbeddedError, Writer, open_store, rebuild, tidy_locked};
use mailshot_log::{DamagedTail, Gap, LogOptions, SegmentLog, TailCut, VerifyOnOpen};

/// Acknowledged records lost from the end of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LostRecords {
    /// The first lost offset (where the log now ends, before the gap).
    pub from: Offset,
    /// One past the last offset the store had taken in.
    pub to: Offset,
    /// `to - from`.
    pub records: u64,
    /// Entries of the dedup index (facts) taken from them: now forgotten, so that their
    /// inputs are accepted again if ingested again.
    pub facts: u64,
    /// Subscribers who had records among them.
    pub subscribers: u64,
}

/// What `repair` found and did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RepairReport {
    /// The damaged (or torn) bytes cut off the end of the log, if any.
    pub cut: Option<CutReport>,
    /// Acknowledged records lost from the log, if the store was ahead of it.
    pub lost: Option<LostRecords>,
    /// Whether the dedup index and every projection were rebuilt from the log.
    pub rebuilt: bool,
    /// The records the log holds now.
    pub log_records: u64,
    /// Where the next record goes (past any gap).
    pub next_offset: Offset,
}

/// [`TailCut`] as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CutReport {
    pub segment: String,
    pub position: u64,
    pub offset: Offset,
    pub bytes: u64,
    pub reason: String,
    pub damaged: bool,
    pub kept_in: Option<String>,
}

impl From<&TailCut> for CutReport {
    fn from(cut: &TailCut) -> CutReport {
        CutReport {
            segment: cut.segment.display().to_string(),
            position: cut.position,
            offset: cut.offset,
            bytes: cut.bytes,
            reason: cut.reason.clone(),
            damaged: cut.damaged,
            kept_in: cut.kept_in.as_ref().map(|p| p.display().to_string()),
        }
    }
}

/// Repairs the data dir `dir` (see the module docs). Safe to run on a healthy data dir: it
/// then changes nothing and reports nothing lost.
///
/// # Errors
/// Damage in the middle of the log (followed by valid records) is not repaired: that needs
/// the segment restored from a backup, and the error names it.
pub fn repair(dir: &Path) -> Result<RepairReport, EmbeddedError> {
    let pending = pending_path(dir);
    let resumed = pending.exists();
    let options = LogOptions {
        verify_on_open: VerifyOnOpen::All,
        damaged_tail: DamagedTail::CutKeepingBytesIn(dir.join("damaged")),
        ..LogOptions::default()
    };
    let mut log = SegmentLog::open(dir, options)?;
    tidy_locked(dir)?;
    let cut = log.tail_cut().map(CutReport::from);
    let store = open_store(dir)?;
    let log_end = log.end_offset()?;
    let mut lost = None;
    if let Some((store_end, _)) = store.high_water()?
        && store_end > log_end
    {
        mark_pending(dir)?;
        let (facts, subscribers) = store.taken_in_from(log_end)?;
        let records = store_end - log_end;
        log.skip_to(
            store_end,
            &format!(
                "mailshot repair: {records} acknowledged records were missing from the log; the store was cut back to it"
            ),
        )?;
        lost = Some(LostRecords {
            from: log_end,
            to: store_end,
            records,
            facts,
            subscribers,
        });
    }
    let rebuilt = lost.is_some() || resumed;
    let writer = Writer::from_parts(dir, log, store)?;
    if rebuilt {
        writer.store.forget_ids()?;
        // Catches the dedup index up from offset 0 first, then rebuilds every projection.
        rebuild(&writer, Projection::all())?;
        writer.store.sync()?;
        std::fs::remove_file(&pending).map_err(|e| io_error(&pending, e))?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error(dir, e))?;
    }
    let next_offset = writer.log.end_offset()?;
    let gaps: u64 = writer.log.gaps().iter().map(|g: &Gap| g.to - g.from).sum();
    Ok(RepairReport {
        cut,
        lost,
        rebuilt,
        log_records: next_offset - gaps,
        next_offset,
    })
}

/// The marker of a repair under way: `<data dir>/repair.pending`.
pub(crate) fn pending_path(dir: &Path) -> std::path::PathBuf {
    dir.join("repair.pending")
}

/// Makes the marker durable before the repair changes the log or the store.
fn mark_pending(dir: &Path) -> Result<(), EmbeddedError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = pending_path(dir);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| io_error(&path, e))?;
    file.write_all(b"a mailshot repair is under way: run `mailshot repair` to finish it\n")
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error(&path, e))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(dir, e))
}

fn io_error(path: &Path, e: std::io::Error) -> EmbeddedError {
    EmbeddedError::Input {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}
