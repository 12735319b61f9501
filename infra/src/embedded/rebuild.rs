//! Rebuilds (`replay`), backfills and `verify`: folding the whole log into the spare slot of
//! a projection while the live slot keeps answering, then swapping in one transaction.

use mailshot_processors::{RecordView, fold};
use mailshot_projections::{Projection, ProjectionWriter};
use mailshot_replay::Digest;
use serde::Serialize;

use super::{EmbeddedError, Writer, catch_up, fold_batch_size, parse_logged};
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
    store.sync()?;
    Ok(folded)
}

/// A parsed log record on its way from the reading thread to the folding one.
struct Parsed {
    offset: u64,
    identities: Vec<mailshot_domain::FactId>,
    input: mailshot_domain::Input<'static>,
}

/// Folds the whole log, parsing each record once, into the spare slots of `projections`.
/// One thread reads and parses the next batch while this one folds and commits.
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
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Result<Vec<Parsed>, EmbeddedError>>(2);
    let mut folded = 0;
    std::thread::scope(|scope| -> Result<(), EmbeddedError> {
        let batch_size = fold_batch_size();
        scope.spawn(move || read_and_parse(log, batch_size, sender));
        let mut last_batch = 0;
        for parsed in receiver {
            let parsed = parsed?;
            last_batch = parsed.len();
            fold_batch(store, projections, parsed, &mut folded)?;
            progress.inc(last_batch as u64);
        }
        if last_batch == 0 || last_batch == batch_size {
            // An empty log, or one ending on a batch boundary: still record the checkpoint and
            // version of every slot.
            fold_batch(store, projections, Vec::new(), &mut folded)?;
        }
        Ok(())
    })?;
    progress.finish();
    Ok(folded)
}

fn fold_batch(
    store: &crate::store::LmdbStore,
    projections: &[Projection],
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
        for &p in projections {
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

/// The reading thread: log records, parsed, in batches of `batch_size`.
fn read_and_parse(
    log: &crate::log::SegmentLog,
    batch_size: usize,
    sender: std::sync::mpsc::SyncSender<Result<Vec<Parsed>, EmbeddedError>>,
) {
    let records = match log.read_from(0) {
        Ok(r) => r,
        Err(e) => {
            let _ = sender.send(Err(e.into()));
            return;
        }
    };
    let mut batch = Vec::with_capacity(batch_size);
    for record in records {
        let parsed = record.map_err(EmbeddedError::from).and_then(|record| {
            let mut input = parse_logged(&record)?;
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
        if batch.len() == batch_size && sender.send(Ok(std::mem::take(&mut batch))).is_err() {
            return;
        }
    }
    if !batch.is_empty() {
        let _ = sender.send(Ok(batch));
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
