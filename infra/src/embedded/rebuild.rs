//! Rebuilds (`replay`), backfills and `verify`: folding the whole log into the spare slot of
//! a projection while the live slot keeps answering, then swapping in one transaction.

use mailshot_processors::{RecordView, fold};
use mailshot_projections::{Projection, ProjectionWriter};
use mailshot_replay::Digest;
use serde::Serialize;

use super::{EmbeddedError, Writer, catch_up, parse_logged, rebuild_batch_size};
use crate::progress::Progress;
use crate::store::{EventRows, SortedRows};

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

/// A batch from the reading thread: its records, and the events projection's rows when that
/// projection is being rebuilt (folded and sorted there, see [`EventRows`]).
#[derive(Default)]
struct Batch {
    records: Vec<Parsed>,
    event_rows: SortedRows,
}

/// Folds the whole log, parsing each record once, into the spare slots of `projections`.
/// One thread reads and parses the next batch, and folds the events projection (it only
/// writes); this one folds the others and commits.
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
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Result<Batch, EmbeddedError>>(1);
    let with_events = projections.contains(&Projection::Events);
    let others: Vec<Projection> = projections
        .iter()
        .copied()
        .filter(|&p| p != Projection::Events)
        .collect();
    let mut folded = 0;
    std::thread::scope(|scope| -> Result<(), EmbeddedError> {
        let batch_size = rebuild_batch_size();
        scope.spawn(move || read_and_parse(log, batch_size, with_events, sender));
        let mut last_batch = 0;
        for batch in receiver {
            let batch = batch?;
            last_batch = batch.records.len();
            fold_batch(store, projections, &others, batch, &mut folded)?;
            progress.inc(last_batch as u64);
        }
        if last_batch == 0 || last_batch == batch_size {
            // An empty log, or one ending on a batch boundary: still record the checkpoint and
            // version of every slot.
            fold_batch(store, projections, &others, Batch::default(), &mut folded)?;
        }
        Ok(())
    })?;
    progress.finish();
    Ok(folded)
}

/// Folds `others` (the projections but events) over the batch's records, adds the events
/// rows the reading thread prepared, and commits with every projection's checkpoint.
fn fold_batch(
    store: &crate::store::LmdbStore,
    projections: &[Projection],
    others: &[Projection],
    batch: Batch,
    folded: &mut u64,
) -> Result<(), EmbeddedError> {
    let mut writer = store.begin_rebuild(projections)?;
    let n = batch.records.len() as u64;
    for record in batch.records {
        let view = RecordView {
            offset: record.offset,
            input: record.input,
            new_ids: &record.identities,
        };
        for &p in others {
            fold(p, &view, &mut writer)?;
        }
    }
    writer.put_sorted(batch.event_rows);
    *folded += n;
    for &p in projections {
        writer.set_checkpoint(p, *folded)?;
    }
    writer.commit()?;
    Ok(())
}

/// The reading thread: log records, parsed, in batches of `batch_size`, with the events
/// projection's rows when `with_events`.
fn read_and_parse(
    log: &crate::log::SegmentLog,
    batch_size: usize,
    with_events: bool,
    sender: std::sync::mpsc::SyncSender<Result<Batch, EmbeddedError>>,
) {
    let records = match log.read_from(0) {
        Ok(r) => r,
        Err(e) => {
            let _ = sender.send(Err(e.into()));
            return;
        }
    };
    let mut batch = Vec::with_capacity(batch_size);
    let mut event_rows = EventRows::default();
    for record in records {
        let parsed = record.map_err(EmbeddedError::from).and_then(|record| {
            let view = RecordView {
                offset: record.offset,
                input: parse_logged(&record)?,
                new_ids: &record.identities,
            };
            if with_events {
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
            Err(e) => {
                let _ = sender.send(Err(e));
                return;
            }
        }
        if batch.len() == batch_size {
            let full = Batch {
                records: std::mem::replace(&mut batch, Vec::with_capacity(batch_size)),
                event_rows: std::mem::take(&mut event_rows).into_sorted(),
            };
            if sender.send(Ok(full)).is_err() {
                return;
            }
        }
    }
    if !batch.is_empty() {
        let _ = sender.send(Ok(Batch {
            records: batch,
            event_rows: event_rows.into_sorted(),
        }));
    }
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
