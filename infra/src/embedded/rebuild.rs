//! Rebuilds (`replay`), backfills and `verify`: folding the whole log into the spare slot of
//! a projection while the live slot keeps answering, then swapping in one transaction.

use mailshot_projections::{Projection, ProjectionWriter};
use mailshot_replay::{Digest, fold_record};
use serde::Serialize;

use super::{EmbeddedError, FOLD_BATCH, Writer, catch_up};
use crate::progress::Progress;

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
    Ok(folded)
}

/// Folds the whole log, parsing each record once, into the spare slots of `projections`.
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
    let mut records = log.read_from(0)?;
    let mut folded = 0;
    loop {
        let mut batch = store.begin_rebuild(projections)?;
        let mut n = 0;
        for record in records.by_ref() {
            let record = record?;
            fold_record(&record, projections, &mut batch)
                .map_err(|e| EmbeddedError::Fold(e.to_string()))?;
            n += 1;
            if n == FOLD_BATCH {
                break;
            }
        }
        // Every batch (even an empty log's only one) records the checkpoint and version.
        for &p in projections {
            batch.set_checkpoint(p, folded + n as u64)?;
        }
        batch.commit()?;
        progress.inc(n as u64);
        folded += n as u64;
        if n < FOLD_BATCH {
            break;
        }
    }
    progress.finish();
    Ok(folded)
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
        let mut live = Vec::new();
        let mut rebuilt = Vec::new();
        let (mut dl, mut dr) = (Digest::default(), Digest::default());
        store.for_each_row(p, false, |t, k, v| {
            dl.row(t.name(), k, v);
            live.push((t.name(), k.to_vec(), xxhash_rust::xxh3::xxh3_64(v)));
        })?;
        store.for_each_row(p, true, |t, k, v| {
            dr.row(t.name(), k, v);
            rebuilt.push((t.name(), k.to_vec(), xxhash_rust::xxh3::xxh3_64(v)));
        })?;
        let (live_digest, rows) = dl.finish();
        let (rebuilt_digest, _) = dr.finish();
        let first_difference = live
            .iter()
            .zip(rebuilt.iter())
            .find(|(a, b)| a != b)
            .map(|(a, b)| {
                if a.0 != b.0 || a.1 != b.1 {
                    a.min(b)
                } else {
                    a
                }
            })
            .or_else(|| live.get(rebuilt.len()).or_else(|| rebuilt.get(live.len())))
            .map(|(t, k, _)| format!("{t}/{}", String::from_utf8_lossy(k).escape_debug()));
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
