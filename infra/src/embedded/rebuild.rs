//! Rebuilds (`replay`), backfills and `verify`: folding the whole log into the spare slot of
//! a projection while the live slot keeps answering, then swapping in one transaction.

use mailshot_processors::{RecordView, fold};
use mailshot_projections::{Projection, ProjectionWriter};
use mailshot_replay::Digest;
use serde::Serialize;

use super::{EmbeddedError, Writer, catch_up, parse_logged, rebuild_batch_size};
use crate::progress::Progress;
use crate::store::{EventRows, Runs};

/// Rebuilds `projections` from offset 0 into their spare slots, then makes each live.
/// A kill at any point leaves the live slots untouched; running it again starts over and
/// completes. Never runs reactors: it has none to run.
pub fn rebuild(writer: &Writer, projections: &[Projection]) -> Result<u64, EmbeddedError> {
    let (log, store) = (&writer.log, &writer.store);
    // Live projections first reach the end of the log, so the swap loses nothing.
    catch_up(log, store)?;
    for &p in projections {
        store.reset_rebuild(p)?;
    }
    let folded = fold_all_into_spare(writer, projections, "replaying")?;
    for &p in projections {
        store.swap_rebuilt(p)?;
    }
    store.sync()?;
    Ok(folded)
}

/// A parsed log record on its way from the reading thread to the folding one.
struct Parsed {
    offset: u64,
    identities: Vec<mailshot_domain::FactId>,
    input: mailshot_domain::Input<'static>,
}

/// Rows put per transaction when the events tables are loaded from the runs.
const APPEND_BATCH: usize = 262_144;

/// Rows handed from the merging thread to the appending one at a time.
const APPEND_CHUNK: usize = 4_096;

/// Folds the whole log, parsing each record once, into the spare slots of `projections`.
///
/// One thread reads and parses the next batch and folds the events projection there (it only
/// writes, and writes the most), sorting each batch's rows into a run file ([`Runs`]); this
/// thread folds the other projections and commits. At the end the runs are merged into the
/// events tables, each row appended at the end of its table.
fn fold_all_into_spare(
    writer: &Writer,
    projections: &[Projection],
    label: &str,
) -> Result<u64, EmbeddedError> {
    let (log, store) = (&writer.log, &writer.store);
    let end = log.end_offset()?;
    let names: Vec<_> = projections.iter().map(|p| p.name()).collect();
    let mut progress = Progress::new(
        &format!("{label} {}", names.join(", ")),
        Some(end),
        "records",
    );
    let with_events = projections.contains(&Projection::Events);
    let runs = match with_events {
        true => Some(Runs::create(&writer.dir.join(RUNS_DIR))?),
        false => None,
    };
    let others: Vec<Projection> = projections
        .iter()
        .copied()
        .filter(|&p| p != Projection::Events)
        .collect();
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Result<Vec<Parsed>, EmbeddedError>>(1);
    let mut folded = 0;
    let runs = std::thread::scope(|scope| -> Result<Option<Runs>, EmbeddedError> {
        let batch_size = rebuild_batch_size();
        let reading = scope.spawn(move || read_and_parse(log, batch_size, runs, sender));
        let mut last_batch = 0;
        for batch in receiver {
            let batch = batch?;
            last_batch = batch.len();
            fold_batch(store, projections, &others, batch, &mut folded)?;
            progress.inc(last_batch as u64);
        }
        if last_batch == 0 || last_batch == batch_size {
            // An empty log, or one ending on a batch boundary: still record the checkpoint and
            // version of every slot.
            fold_batch(store, projections, &others, Vec::new(), &mut folded)?;
        }
        reading
            .join()
            .map_err(|_| EmbeddedError::Fold("the log reading thread panicked".into()))
    })?;
    progress.finish();
    match runs {
        Some(runs) => load_event_runs(store, runs, label)?,
        // The reading thread hands back no runs only after sending an error, which ended the
        // loop above; never load an events table short of its rows.
        None if with_events => {
            return Err(EmbeddedError::Fold(
                "the log reading thread stopped before the end".into(),
            ));
        }
        None => {}
    }
    Ok(folded)
}

/// Where a rebuild keeps its run files, inside the data dir.
const RUNS_DIR: &str = "rebuild-runs";

/// Merges the runs into the spare slot's events tables, then deletes them. One thread merges
/// while this one appends.
fn load_event_runs(
    store: &crate::store::LmdbStore,
    runs: Runs,
    label: &str,
) -> Result<(), EmbeddedError> {
    let mut progress = Progress::new(
        &format!("{label} events: loading sorted rows"),
        Some(runs.rows()),
        "rows",
    );
    let mut merged = runs.merged()?;
    let (sender, receiver) = std::sync::mpsc::sync_channel(4);
    std::thread::scope(|scope| -> Result<(), EmbeddedError> {
        scope.spawn(move || {
            loop {
                let rows = merged.next_rows(APPEND_CHUNK);
                let last = rows.as_ref().map_or(true, |r| r.len() < APPEND_CHUNK);
                if sender.send(rows).is_err() || last {
                    return;
                }
            }
        });
        let mut writer = store.begin_rebuild(&[Projection::Events])?;
        let mut in_txn = 0;
        for rows in receiver {
            let rows = rows?;
            let n = rows.len();
            writer.append_rows(rows)?;
            progress.inc(n as u64);
            in_txn += n;
            if in_txn >= APPEND_BATCH {
                writer.commit()?;
                writer = store.begin_rebuild(&[Projection::Events])?;
                in_txn = 0;
            }
        }
        writer.commit()?;
        Ok(())
    })?;
    progress.finish();
    runs.remove()?;
    Ok(())
}

/// Folds `others` (the projections but events) over the batch's records, and commits with
/// every projection's checkpoint (the events rows are loaded from the runs at the end).
fn fold_batch(
    store: &crate::store::LmdbStore,
    projections: &[Projection],
    others: &[Projection],
    batch: Vec<Parsed>,
    folded: &mut u64,
) -> Result<(), EmbeddedError> {
    let mut writer = store.begin_rebuild(projections)?;
    let n = batch.len() as u64;
    for record in batch {
        let view = RecordView {
            offset: record.offset,
            input: record.input,
            new_ids: &record.identities,
        };
        for &p in others {
            fold(p, &view, &mut writer)?;
        }
    }
    *folded += n;
    for &p in projections {
        writer.set_checkpoint(p, *folded)?;
    }
    writer.commit()?;
    Ok(())
}

/// The reading thread: log records, parsed, sent in batches of `batch_size`. With `runs`, it
/// folds the events projection too and writes each batch's rows as a run; it returns the runs
/// (`None` after an error, which it has sent).
fn read_and_parse(
    log: &crate::log::SegmentLog,
    batch_size: usize,
    mut runs: Option<Runs>,
    sender: std::sync::mpsc::SyncSender<Result<Vec<Parsed>, EmbeddedError>>,
) -> Option<Runs> {
    let fail = |e: EmbeddedError| {
        let _ = sender.send(Err(e));
        None
    };
    let records = match log.read_from(0) {
        Ok(r) => r,
        Err(e) => return fail(e.into()),
    };
    let mut batch = Vec::with_capacity(batch_size);
    let mut event_rows = EventRows::default();
    let mut records = records.peekable();
    while let Some(record) = records.next() {
        let parsed = record.map_err(EmbeddedError::from).and_then(|record| {
            let view = RecordView {
                offset: record.offset,
                input: parse_logged(&record)?,
                new_ids: &record.identities,
            };
            if runs.is_some() {
                fold(Projection::Events, &view, &mut event_rows)?;
            }
            let mut input = view.input;
            // The folds read the parsed input only: the verbatim text stays in the log
            // instead of being copied for every record.
            input.raw = std::borrow::Cow::Borrowed("");
            let input = input.into_owned();
            Ok(Parsed {
                offset: record.offset,
                identities: record.identities,
                input,
            })
        });
        match parsed {
            Ok(p) => batch.push(p),
            Err(e) => return fail(e),
        }
        if batch.len() == batch_size || records.peek().is_none() {
            if let Some(runs) = runs.as_mut() {
                let rows = std::mem::take(&mut event_rows).into_sorted();
                if let Err(e) = runs.write(&rows) {
                    return fail(e.into());
                }
            }
            let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
            if sender.send(Ok(full)).is_err() {
                return None;
            }
        }
    }
    runs
}

/// The outcome of `verify` for one projection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub projection: String,
    pub live_digest: String,
    pub rebuilt_digest: String,
    pub rows: u64,
    pub matches: bool,
    /// The first key (table and hex key) where live and rebuilt differ.
    pub first_difference: Option<String>,
}

/// Rebuilds every projection into its spare slot and compares digests with the live slot.
/// The live projections are not changed; the spare slots are emptied afterwards.
pub fn verify(writer: &Writer) -> Result<Vec<VerifyReport>, EmbeddedError> {
    let store = &writer.store;
    catch_up(&writer.log, store)?;
    for p in Projection::ALL {
        store.reset_rebuild(p)?;
    }
    fold_all_into_spare(writer, &Projection::ALL, "verifying")?;
    let mut reports = Vec::new();
    for p in Projection::ALL {
        let (mut dl, mut dr) = (Digest::default(), Digest::default());
        let first = store.compare_slots(
            p,
            |t, k, v| dl.row(t.name(), k, v),
            |t, k, v| dr.row(t.name(), k, v),
        )?;
        let (live_digest, rows) = dl.finish();
        let (rebuilt_digest, _) = dr.finish();
        let first_difference = first.map(|(t, k)| {
            format!(
                "{}/{}",
                t.name(),
                String::from_utf8_lossy(&k).escape_debug()
            )
        });
        reports.push(VerifyReport {
            projection: p.name().to_string(),
            matches: live_digest == rebuilt_digest,
            live_digest,
            rebuilt_digest,
            rows,
            first_difference,
        });
        store.reset_rebuild(p)?;
    }
    Ok(reports)
}
