//! Bringing the dedup index and the live projections up to the end of the log, from their
//! checkpoints: how a restart after a crash recovers by itself.

use mailshot_domain::log::{LogRecord, Offset};
use mailshot_domain::{Day, FactId, Input};
use mailshot_projections::{Projection, ProjectionWriter};

use crate::{EmbeddedError, fold_batch_size};
use mailshot_engine::progress::Progress;
use mailshot_log::SegmentLog;
use mailshot_store::LmdbStore;

/// Folds every record past each checkpoint into the dedup index and the live projections.
/// Returns the number of records folded.
pub fn catch_up(log: &SegmentLog, store: &LmdbStore) -> Result<u64, EmbeddedError> {
    catch_up_all_but(log, store, &[])
}

/// [`catch_up`], leaving out the live slots of `skipped` (projections about to be rebuilt,
/// whose live slot the rebuild replaces: a projection new to the data dir would otherwise be
/// folded from the whole log twice).
pub(crate) fn catch_up_all_but(
    log: &SegmentLog,
    store: &LmdbStore,
    skipped: &[Projection],
) -> Result<u64, EmbeddedError> {
    let end = log.end_offset()?;
    let ids_from = store.ids_checkpoint()?;
    let mut from: Vec<(Projection, Offset)> = Vec::new();
    for &p in Projection::all().iter().filter(|p| !skipped.contains(p)) {
        from.push((p, store.progress(p, false)?.checkpoint.unwrap_or(0)));
    }
    let start = from
        .iter()
        .map(|(_, o)| *o)
        .min()
        .unwrap_or(end)
        .min(ids_from);
    if start >= end {
        return Ok(0);
    }
    let mut progress = Progress::new("catching up", Some(end - start), "records");
    let mut records = log.read_from(start)?;
    let mut folded = 0;
    let batch_size = fold_batch_size();
    loop {
        let mut batch = store.begin()?;
        let mut n = 0;
        let mut next = start + folded;
        for record in records.by_ref() {
            let record = record?;
            let offset = record.offset;
            let view = mailshot_replay::view(&record)?;
            if offset >= ids_from {
                batch.put_ids(&logged_identity_days(&record, &view.input)?, offset)?;
            }
            let behind = from.iter().filter(|(_, from)| offset >= *from);
            mailshot_replay::fold(&view, behind.map(|(p, _)| *p), &mut batch)?;
            next = offset + 1;
            n += 1;
            if n == batch_size {
                break;
            }
        }
        if n == 0 {
            break;
        }
        batch.set_ids_checkpoint(next.max(ids_from))?;
        for (p, o) in &from {
            batch.set_checkpoint(*p, next.max(*o))?;
        }
        batch.commit()?;
        folded += n as u64;
        progress.inc(n as u64);
    }
    progress.finish();
    Ok(folded)
}

/// The identities a record introduced, each with its event's day (the dedup index's key).
/// The day comes from parsing the record: an identity the parsed input does not carry means
/// the record no longer parses as it did when it was appended, which is never skipped.
fn logged_identity_days(
    record: &LogRecord,
    input: &Input<'_>,
) -> Result<Vec<(FactId, Option<Day>)>, EmbeddedError> {
    let parsed = input.identity_days();
    record
        .identities
        .iter()
        .map(|id| {
            parsed
                .iter()
                .find(|(p, _)| p == id)
                .copied()
                .ok_or_else(|| {
                    EmbeddedError::Fold(format!(
                        "log record {}: identity {} is not among those its input parses to",
                        record.offset,
                        id.to_hex()
                    ))
                })
        })
        .collect()
}
