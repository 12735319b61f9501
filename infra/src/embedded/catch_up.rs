//! Bringing the dedup index and the live projections up to the end of the log, from their
//! checkpoints: how a restart after a crash recovers by itself.

use mailshot_domain::log::Offset;
use mailshot_projections::{Projection, ProjectionWriter};
use mailshot_replay::fold_record;

use super::{EmbeddedError, fold_batch_size};
use crate::log::SegmentLog;
use crate::progress::Progress;
use crate::store::LmdbStore;

/// Folds every record past each checkpoint into the dedup index and the live projections.
/// Returns the number of records folded.
pub fn catch_up(log: &SegmentLog, store: &LmdbStore) -> Result<u64, EmbeddedError> {
    let end = log.end_offset()?;
    let ids_from = store.ids_checkpoint()?;
    let mut from: Vec<(Projection, Offset)> = Vec::new();
    for p in Projection::ALL {
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
            if offset >= ids_from {
                batch.put_ids(&record.identities, offset)?;
            }
            let due: Vec<Projection> = from
                .iter()
                .filter(|(_, o)| offset >= *o)
                .map(|(p, _)| *p)
                .collect();
            fold_record(&record, &due, &mut batch)
                .map_err(|e| EmbeddedError::Fold(e.to_string()))?;
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
