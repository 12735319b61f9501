//! Rebuilds (`replay`), backfills and `verify`: folding the whole log into the spare slot of
//! a projection while the live slot keeps answering, then swapping in one transaction.

use mailshot_projections::{Projection, ProjectionWriter, RecordView};
use mailshot_replay::Digest;

use crate::catch_up::catch_up_all_but;
use crate::{EmbeddedError, Writer, catch_up, rebuild_batch_size};
use mailshot_engine::progress::Progress;
use mailshot_engine::report::VerifyReport;
use mailshot_store::{Runs, WriteOnlyRows};

/// Rebuilds `projections` from offset 0 into their spare slots, then makes each live.
/// A kill at any point leaves the live slots untouched; running it again starts over and
/// completes. Never runs reactors: it has none to run.
pub fn rebuild(writer: &Writer, projections: &[Projection]) -> Result<u64, EmbeddedError> {
    let (log, store) = (&writer.log, &writer.store);
    // The other live projections (and the dedup index) first reach the end of the log, so the
    // swap loses nothing; the live slots of those rebuilt are replaced, so not caught up.
    catch_up_all_but(log, store, projections)?;
    for &p in projections {
        store.reset_rebuild(p)?;
    }
    // The spare slots fill with about as much as the live ones hold: reserve it up front, so a
    // full disk stops the rebuild before it writes (see `store::space`).
    store.reserve_beyond_used(store.live_bytes(projections)?)?;
    let folded = fold_all_into_spare(writer, projections, "replaying")?;
    let started = std::time::Instant::now();
    for &p in projections {
        store.swap_rebuilt(p)?;
    }
    store.sync()?;
    mailshot_engine::progress::note(&format!(
        "replaying: made live and flushed in {:.2}s",
        started.elapsed().as_secs_f64()
    ));
    Ok(folded)
}

/// A parsed log record on its way from the reading thread to the folding one.
struct Parsed {
    offset: u64,
    identities: Vec<mailshot_domain::FactId>,
    input: mailshot_domain::Input<'static>,
}

/// Rows put per transaction when the write-only tables are loaded from the runs.
const APPEND_BATCH: usize = 262_144;

/// Rows handed from the merging thread to the appending one at a time.
const APPEND_CHUNK: usize = 4_096;

/// Records the reading thread hands to the folding one at a time. Much smaller than a
/// transaction, so the folding thread starts after a few milliseconds instead of waiting for a
/// whole batch to be parsed, and the two threads stay busy together to the end.
const PARSED_CHUNK: usize = 8_192;

/// Chunks the channel between the reading and folding threads holds: about one transaction's
/// worth of parsed records.
fn chunks_in_flight(batch_size: usize) -> usize {
    batch_size.div_ceil(PARSED_CHUNK)
}

/// Folds the whole log, parsing each record once, into the spare slots of `projections`.
///
/// One thread reads and parses the log and runs the write-only folds there (the event rows
/// and the subscribers' history: most of the rows, and they read nothing), sorting each
/// batch's rows into a run file ([`Runs`]); this thread runs the stateful folds, committing
/// every `batch_size` records. At the end the runs are merged into their tables, each row
/// appended at the end of its table.
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
    let runs = Runs::create(&writer.dir.join(RUNS_DIR))?;
    let batch_size = rebuild_batch_size();
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Result<Vec<Parsed>, EmbeddedError>>(
        chunks_in_flight(batch_size),
    );
    let mut folded = 0;
    let runs = std::thread::scope(|scope| -> Result<Option<Runs>, EmbeddedError> {
        let reading = std::thread::Builder::new()
            .name("rebuild-read".into())
            .spawn_scoped(scope, move || {
                read_and_parse(log, projections, batch_size, runs, sender)
            })
            .map_err(|e| EmbeddedError::Fold(format!("cannot start the reading thread: {e}")))?;
        let mut batch = store.begin_rebuild(projections)?;
        let mut in_batch = 0;
        for chunk in receiver {
            let chunk = chunk?;
            let n = chunk.len();
            fold_chunk(projections, chunk, &mut batch)?;
            folded += n as u64;
            in_batch += n;
            progress.inc(n as u64);
            if in_batch >= batch_size {
                commit(batch, projections, folded)?;
                batch = store.begin_rebuild(projections)?;
                in_batch = 0;
            }
        }
        // Also when the log is empty or ends on a batch boundary: the checkpoint and version
        // of every slot are recorded.
        commit(batch, projections, folded)?;
        reading
            .join()
            .map_err(|_| EmbeddedError::Fold("the log reading thread panicked".into()))
    })?;
    progress.finish();
    // The reading thread hands back no runs only after sending an error, which ended the loop
    // above; never load a table short of its rows.
    let runs = runs.ok_or_else(|| {
        EmbeddedError::Fold("the log reading thread stopped before the end".into())
    })?;
    load_runs(store, projections, runs, label)?;
    Ok(folded)
}

/// Where a rebuild keeps its run files, inside the data dir.
pub(crate) const RUNS_DIR: &str = "rebuild-runs";

/// Merges the runs into the spare slots' write-only tables, then deletes them. One thread
/// merges while this one appends.
fn load_runs(
    store: &mailshot_store::LmdbStore,
    projections: &[Projection],
    runs: Runs,
    label: &str,
) -> Result<(), EmbeddedError> {
    if runs.rows() == 0 {
        return Ok(runs.remove()?);
    }
    let mut progress = Progress::new(
        &format!("{label}: loading sorted rows"),
        Some(runs.rows()),
        "rows",
    );
    let maps = runs.map()?;
    let mut merged = maps.merged()?;
    let (sender, receiver) = std::sync::mpsc::sync_channel(4);
    std::thread::scope(|scope| -> Result<(), EmbeddedError> {
        std::thread::Builder::new()
            .name("rebuild-merge".into())
            .spawn_scoped(scope, move || {
                loop {
                    let rows = merged.next_rows(APPEND_CHUNK);
                    let last = rows.as_ref().map_or(true, |r| r.len() < APPEND_CHUNK);
                    if sender.send(rows).is_err() || last {
                        return;
                    }
                }
            })
            .map_err(|e| EmbeddedError::Fold(format!("cannot start the merging thread: {e}")))?;
        let mut writer = store.begin_rebuild(projections)?;
        let mut in_txn = 0;
        for rows in receiver {
            let rows = rows?;
            writer.append_rows(&rows)?;
            progress.inc(rows.len() as u64);
            in_txn += rows.len();
            if in_txn >= APPEND_BATCH {
                writer.commit()?;
                writer = store.begin_rebuild(projections)?;
                in_txn = 0;
            }
        }
        writer.commit()?;
        Ok(())
    })?;
    drop(maps);
    progress.finish();
    runs.remove()?;
    Ok(())
}

/// Runs the stateful folds of `projections` over a chunk of records.
fn fold_chunk(
    projections: &[Projection],
    chunk: Vec<Parsed>,
    writer: &mut mailshot_store::BatchWriter<'_>,
) -> Result<(), EmbeddedError> {
    for record in chunk {
        let view = RecordView {
            offset: record.offset,
            input: record.input,
            new_ids: &record.identities,
        };
        mailshot_replay::fold_stateful(&view, projections, writer)?;
    }
    Ok(())
}

/// Commits a batch with every projection's checkpoint at `folded` (the write-only rows are
/// loaded from the runs at the end).
fn commit(
    mut writer: mailshot_store::BatchWriter<'_>,
    projections: &[Projection],
    folded: u64,
) -> Result<(), EmbeddedError> {
    for &p in projections {
        writer.set_checkpoint(p, folded)?;
    }
    writer.commit()?;
    Ok(())
}

/// The reading thread: log records, parsed, sent in chunks of [`PARSED_CHUNK`]. It runs the
/// write-only folds of `projections` too, and writes their rows of every `batch_size` records,
/// sorted, as a run; it returns the runs (`None` after an error, which it has sent).
fn read_and_parse(
    log: &mailshot_log::SegmentLog,
    projections: &[Projection],
    batch_size: usize,
    mut runs: Runs,
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
    let chunk_size = PARSED_CHUNK.min(batch_size);
    let mut chunk = Vec::with_capacity(chunk_size);
    let mut in_run = 0;
    let mut rows = WriteOnlyRows::default();
    let mut records = records.peekable();
    while let Some(record) = records.next() {
        let parsed = record.map_err(EmbeddedError::from).and_then(|record| {
            let view = mailshot_replay::view(&record)?;
            mailshot_replay::fold_write_only(&view, projections, &mut rows)?;
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
            Ok(p) => chunk.push(p),
            Err(e) => return fail(e),
        }
        in_run += 1;
        let last = records.peek().is_none();
        if in_run == batch_size || last {
            let sorted = std::mem::take(&mut rows).into_sorted();
            if let Err(e) = runs.write(&sorted) {
                return fail(e.into());
            }
            rows = WriteOnlyRows::reusing(sorted);
            in_run = 0;
        }
        if chunk.len() == chunk_size || last {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(chunk_size));
            if sender.send(Ok(full)).is_err() {
                return None;
            }
        }
    }
    Some(runs)
}

/// Rebuilds every projection into its spare slot and compares digests with the live slot.
/// The live projections are not changed; the spare slots are emptied afterwards.
pub fn verify(writer: &Writer) -> Result<Vec<VerifyReport>, EmbeddedError> {
    let store = &writer.store;
    catch_up(&writer.log, store)?;
    let all = Projection::all();
    for &p in all {
        store.reset_rebuild(p)?;
    }
    store.reserve_beyond_used(store.live_bytes(all)?)?;
    fold_all_into_spare(writer, all, "verifying")?;
    let mut reports = Vec::new();
    for &p in all {
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
