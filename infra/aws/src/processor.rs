//! The processor: Kinesis records → the archive and the DynamoDB projections, exactly once in
//! effect (the scheme is in the module doc of [`crate`]). The Lambda handler and
//! `mailshot --backend aws process` both go through [`Processor::process_event`]; `replay`
//! folds the archive into a fresh generation through the same commit path.

use std::collections::HashSet;

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::KinesisEventResponse;
use aws_sdk_dynamodb::types::TransactWriteItem;
use mailshot_domain::log::{LogReader, LogRecord, Offset};
use mailshot_domain::{FactId, Input, InputError, Timestamp, parse_external_input, parse_input};
use mailshot_projections::{Projection, ProjectionReader, ProjectionWriter};
use mailshot_replay::{FoldError, fold_record};
use serde::Serialize;

use super::archive::{ArchiveReader, record_hash};
use super::reactors::{AwsReactors, Reactable, ReactorBase};
use super::signing::Opened;
use super::store::{DynamoReader, RecordWriter, RowCache};
use super::{Aws, AwsError, Tables};
use mailshot_engine::progress::Progress;
use mailshot_engine::reactions::reaction_emails;

/// DynamoDB's limit on the items of one transaction.
pub const MAX_TRANSACTION_ITEMS: usize = 100;
/// Attempts at one record before the batch reports it as failed.
const ATTEMPTS: u32 = 8;
/// The dead letter's reason for a signed wrapper whose signature does not verify.
const BAD_SIGNATURE: &str =
    "bad signature: a signed mailshot event whose HMAC does not verify with this deployment's key";

/// A parsed stream record as the processor plans it: the raw input kept in the archive
/// (`raw`, the inner event of a signed record) and its identities, or why it is rejected.
fn decode(
    raw: &str,
    parsed: Result<Input<'_>, InputError>,
    reaction_rows: Option<&mut Vec<String>>,
) -> Result<(String, Vec<FactId>), String> {
    match parsed {
        Ok(input) => {
            if let Some(rows) = reaction_rows {
                rows.extend(reaction_emails(&input, None));
            }
            Ok((raw.to_string(), input.identities()))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// What processing did, summed over batches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessSummary {
    /// Records delivered.
    pub records: u64,
    /// Records folded into the projections (newly archived).
    pub folded: u64,
    /// Records all of whose identities were already known: no effect.
    pub duplicates: u64,
    /// Undecodable records sent to the dead letters.
    pub dead_lettered: u64,
    /// Records reported back as batch item failures (to be redelivered).
    pub failed: u64,
    /// `TransactWriteItems` calls that committed.
    pub transactions: u64,
    /// Items written by those transactions (each costs 2 write units per KB on AWS).
    pub item_writes: u64,
    /// Reactor outcomes put back to the stream (0 without reactors).
    pub outcomes: u64,
}

impl ProcessSummary {
    /// Adds `other` field by field.
    pub fn add(&mut self, other: &ProcessSummary) {
        self.records += other.records;
        self.folded += other.folded;
        self.duplicates += other.duplicates;
        self.dead_lettered += other.dead_lettered;
        self.failed += other.failed;
        self.transactions += other.transactions;
        self.item_writes += other.item_writes;
        self.outcomes += other.outcomes;
    }
}

/// One delivered record: its sequence number, bytes and arrival time.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub sequence_number: String,
    pub data: Vec<u8>,
    pub arrival: Timestamp,
}

impl Delivered {
    /// The records of a Lambda Kinesis event.
    pub fn from_event(event: &KinesisEvent) -> Vec<Delivered> {
        event
            .records
            .iter()
            .map(|r| Delivered {
                sequence_number: r.kinesis.sequence_number.clone(),
                data: r.kinesis.data.0.clone(),
                arrival: Timestamp(r.kinesis.approximate_arrival_timestamp.0.timestamp_millis()),
            })
            .collect()
    }
}

enum Plan {
    Dead(String),
    Duplicate {
        raw: String,
        ids: Vec<FactId>,
    },
    Fold {
        raw: String,
        new_ids: Vec<FactId>,
        /// The record's offset when an earlier delivery committed part of it.
        prior: Option<Offset>,
    },
}

/// A processor with its row cache (kept across batches; versions guard against staleness).
#[derive(Debug)]
pub struct Processor {
    aws: Aws,
    cache: RowCache,
    /// The sequence number of a record whose next commit fails once (feature `test-hooks`).
    #[cfg(feature = "test-hooks")]
    fail_before: Option<String>,
    /// Committed transactions and their items, since the last `process` call.
    committed: (u64, u64),
    /// The reactors, if attached (live processing only; replay never has them).
    reactors: Option<AwsReactors>,
    /// The records of the current batch to react to, by index in the batch.
    reactable: Vec<(usize, Reactable)>,
    /// The subscriber rows the current batch will be decided on, as they were before it
    /// committed (see [`crate::reactors`]).
    reactor_base: ReactorBase,
}

impl Processor {
    /// A processor over `aws`'s deployment.
    pub fn new(aws: &Aws) -> Processor {
        Processor {
            aws: aws.clone(),
            cache: RowCache::default(),
            #[cfg(feature = "test-hooks")]
            fail_before: None,
            committed: (0, 0),
            reactors: None,
            reactable: Vec::new(),
            reactor_base: ReactorBase::new(),
        }
    }

    /// Runs `reactors` on every batch after its records commit (see [`crate::reactors`]).
    pub fn with_reactors(mut self, reactors: AwsReactors) -> Processor {
        self.reactors = Some(reactors);
        self
    }

    /// The attached reactors.
    pub fn reactors(&self) -> Option<&AwsReactors> {
        self.reactors.as_ref()
    }

    /// Makes the next delivery of the record with this sequence number fail once before it
    /// commits, as a throttled or timed-out call would. For tests of partial failures: only
    /// in builds with the cargo feature `test-hooks`.
    #[cfg(feature = "test-hooks")]
    pub fn fail_once_before(&mut self, sequence_number: &str) {
        self.fail_before = Some(sequence_number.to_string());
    }

    /// Processes one Lambda Kinesis batch: returns the `batchItemFailures` response (at most
    /// one failure, the first record that could not be committed: Lambda redelivers from it,
    /// the records before it are done) and what happened.
    pub fn process_event(
        &mut self,
        event: &KinesisEvent,
    ) -> (KinesisEventResponse, ProcessSummary) {
        self.process(&Delivered::from_event(event))
    }

    /// Processes delivered records in order (see [`Processor::process_event`]).
    pub fn process(&mut self, records: &[Delivered]) -> (KinesisEventResponse, ProcessSummary) {
        let mut summary = ProcessSummary {
            records: records.len() as u64,
            ..ProcessSummary::default()
        };
        let mut response = KinesisEventResponse::default();
        self.reactable.clear();
        self.reactor_base.clear();
        let mut failed = self.try_process(records, &mut summary).err();
        if let Some((first, _)) = self.reactable.first()
            && let Some(reactors) = self.reactors.as_mut()
        {
            // Only the records before a failed one are committed; react to those.
            let first = *first;
            let upto = failed.as_ref().map_or(records.len(), |(i, _)| *i);
            let batch: Vec<Reactable> = std::mem::take(&mut self.reactable)
                .into_iter()
                .filter(|(i, _)| *i < upto)
                .map(|(_, r)| r)
                .collect();
            let base = std::mem::take(&mut self.reactor_base);
            let reacted = self
                .aws
                .live_tables()
                .and_then(|tables| reactors.react(&self.aws, &tables, &batch, base));
            match reacted {
                Ok(put) => summary.outcomes += put,
                // Redeliver from the first record reacted to: its records are duplicates
                // for the projections, and their reactions are retried (claims and
                // execution names keep them at most once).
                Err(e) if first < upto => failed = Some((first, e)),
                Err(_) => {}
            }
        }
        if let Some((index, e)) = failed {
            tracing::warn!(
                "record {} failed, reported for redelivery: {e}",
                records[index].sequence_number
            );
            eprintln!(
                "mailshot: record {} not processed (will be redelivered): {e}",
                records[index].sequence_number
            );
            response.add_failure(records[index].sequence_number.clone());
            summary.failed += 1;
        }
        let (transactions, items) = std::mem::take(&mut self.committed);
        summary.transactions = transactions;
        summary.item_writes = items;
        (response, summary)
    }

    fn try_process(
        &mut self,
        records: &[Delivered],
        summary: &mut ProcessSummary,
    ) -> Result<(), (usize, AwsError)> {
        if records.is_empty() {
            return Ok(());
        }
        let tables = self.aws.live_tables().map_err(|e| (0, e))?;
        // Decode everything, then look every identity up at once.
        let mut decoded = Vec::with_capacity(records.len());
        let mut all_ids = Vec::new();
        let mut reaction_rows = Vec::new();
        for r in records {
            // With reactors, the addresses whose rows they will decide on.
            let rows = self.reactors.is_some().then_some(&mut reaction_rows);
            let d = match std::str::from_utf8(&r.data) {
                Err(e) => Err(format!("record data is not UTF-8: {e}")),
                // mailshot's own events are signed; everything else came from outside and
                // may not claim a reserved source (see `signing`).
                Ok(text) => match self.aws.open_signed(text).map_err(|e| (0, e))? {
                    Opened::Own(event) => decode(event, parse_input(event), rows),
                    Opened::Unsigned => decode(text, parse_external_input(text), rows),
                    Opened::BadSignature => Err(BAD_SIGNATURE.to_string()),
                },
            };
            if let Ok((_, ids)) = &d {
                all_ids.extend(ids.iter().copied());
            }
            decoded.push(d);
        }
        let markers = self.aws.markers(&all_ids).map_err(|e| (0, e))?;
        let mut seen: HashSet<FactId> = HashSet::new();
        let mut plans = Vec::with_capacity(records.len());
        let mut fresh = 0u64;
        for d in decoded {
            let plan = match d {
                Err(reason) => Plan::Dead(reason),
                Ok((raw, ids)) => {
                    let rec = record_hash(&raw);
                    let prior = ids
                        .iter()
                        .filter_map(|id| markers.get(id))
                        .find(|m| m.rec == rec)
                        .map(|m| m.offset);
                    let mut new_ids = Vec::new();
                    for id in ids.iter().copied() {
                        if !markers.contains_key(&id) && seen.insert(id) {
                            new_ids.push(id);
                        }
                    }
                    if new_ids.is_empty() {
                        Plan::Duplicate { raw, ids }
                    } else {
                        if prior.is_none() {
                            fresh += 1;
                        }
                        Plan::Fold {
                            raw,
                            new_ids,
                            prior,
                        }
                    }
                }
            };
            plans.push(plan);
        }
        let mut next_fresh = if fresh > 0 {
            self.aws.reserve_offsets(fresh).map_err(|e| (0, e))?
        } else {
            0
        };
        // The rows the reactors decide on, before anything of the batch commits.
        if !reaction_rows.is_empty() {
            let reader = DynamoReader::new(&self.aws, tables.clone());
            for email in reaction_rows {
                if let std::collections::hash_map::Entry::Vacant(slot) =
                    self.reactor_base.entry(email)
                {
                    let row = reader.subscriber(slot.key()).map_err(|e| (0, e))?;
                    slot.insert(row);
                }
            }
        }
        // Consecutive new records are committed together (see `flush`); anything that can
        // fail at record i first commits the records before it.
        let mut group: Vec<(usize, LogRecord, bool)> = Vec::new();
        for (i, plan) in plans.into_iter().enumerate() {
            match plan {
                Plan::Dead(reason) => {
                    self.flush(&tables, &mut group, summary)?;
                    let input = String::from_utf8_lossy(&records[i].data);
                    self.aws
                        .dead_letter("kinesis", i as u64 + 1, &reason, &input)
                        .map_err(|e| (i, e))?;
                    summary.dead_lettered += 1;
                }
                Plan::Duplicate { raw, ids } => {
                    summary.duplicates += 1;
                    if self.reactors.is_some() {
                        let record = Reactable {
                            raw,
                            identities: ids,
                            folded_at: None,
                        };
                        self.reactable.push((i, record));
                    }
                }
                Plan::Fold {
                    raw,
                    new_ids,
                    prior,
                } => {
                    #[cfg(feature = "test-hooks")]
                    if self.fail_before.as_deref() == Some(records[i].sequence_number.as_str()) {
                        self.flush(&tables, &mut group, summary)?;
                        self.fail_before = None;
                        return Err((i, AwsError::Other("injected failure (test)".into())));
                    }
                    let offset = prior.unwrap_or_else(|| {
                        next_fresh += 1;
                        next_fresh - 1
                    });
                    if self.reactors.is_some() {
                        let record = Reactable {
                            raw: raw.clone(),
                            identities: new_ids.clone(),
                            folded_at: Some(offset),
                        };
                        self.reactable.push((i, record));
                    }
                    let record = LogRecord {
                        offset,
                        ingest_time: records[i].arrival,
                        identities: new_ids,
                        raw,
                        compact: None,
                    };
                    group.push((i, record, prior.is_none()));
                }
            }
        }
        self.flush(&tables, &mut group, summary)
    }

    /// Commits a run of new records, as many per transaction as fit in 100 items: their
    /// rollup, links and subscriber writes merge (one `ADD` per row for the whole run), and
    /// every record's archive item and markers are conditions of the same transaction, so the
    /// run is exactly-once as a whole. A rejected run falls back to one record at a time.
    fn flush(
        &mut self,
        tables: &Tables,
        group: &mut Vec<(usize, LogRecord, bool)>,
        summary: &mut ProcessSummary,
    ) -> Result<(), (usize, AwsError)> {
        self.flush_runs(tables, group, summary, true)
    }

    /// Like `flush`, for archived records folded into a fresh generation (no markers).
    fn flush_archived(
        &mut self,
        tables: &Tables,
        group: &mut Vec<(usize, LogRecord, bool)>,
        summary: &mut ProcessSummary,
    ) -> Result<(), (usize, AwsError)> {
        self.flush_runs(tables, group, summary, false)
    }

    fn flush_runs(
        &mut self,
        tables: &Tables,
        group: &mut Vec<(usize, LogRecord, bool)>,
        summary: &mut ProcessSummary,
        archive: bool,
    ) -> Result<(), (usize, AwsError)> {
        let group = std::mem::take(group);
        let mut start = 0;
        while start < group.len() {
            let mut take = (group.len() - start).min(MAX_TRANSACTION_ITEMS / 2);
            loop {
                let (i, record, log_needed) = &group[start];
                if take == 1 {
                    let folded = if archive {
                        self.commit_live(tables, record, *log_needed)
                    } else {
                        self.fold_archived(tables, record).map(|()| true)
                    }
                    .map_err(|e| (*i, e))?;
                    if folded {
                        summary.folded += 1;
                    } else {
                        summary.duplicates += 1;
                    }
                    start += 1;
                    break;
                }
                let run = &group[start..start + take];
                let mut writer = RecordWriter::new(&self.aws, tables, &mut self.cache);
                let mut extra = 0;
                for (_, r, log) in run {
                    fold_record(r, Projection::all(), &mut writer).map_err(|e| {
                        (
                            *i,
                            match e {
                                FoldError::Store(e) => e,
                                other => AwsError::Other(other.to_string()),
                            },
                        )
                    })?;
                    if archive {
                        extra += r.identities.len() + usize::from(*log);
                    }
                }
                if writer.item_count() + extra > MAX_TRANSACTION_ITEMS {
                    take /= 2;
                    continue;
                }
                let (items, update) = writer.into_items().map_err(|e| (*i, e))?;
                let mut all = Vec::with_capacity(items.len() + extra);
                for (_, r, log) in run.iter().filter(|_| archive) {
                    all.extend(
                        self.aws
                            .archive_items(r, &r.identities, *log)
                            .map_err(|e| (*i, e))?,
                    );
                }
                all.extend(items);
                match self.transact(all) {
                    Ok(()) => {
                        update.apply(&mut self.cache);
                        summary.folded += take as u64;
                        start += take;
                        break;
                    }
                    Err(AwsError::Conflict { .. }) => {
                        self.cache.clear();
                        take = 1;
                    }
                    Err(e) => return Err((*i, e)),
                }
            }
        }
        Ok(())
    }

    /// Commits one record (archive, markers, projections), retrying rejected transactions
    /// with fresh reads. Returns false when it turned out to be a duplicate.
    fn commit_live(
        &mut self,
        tables: &Tables,
        record: &LogRecord,
        log_needed: bool,
    ) -> Result<bool, AwsError> {
        let mut remaining = record.identities.clone();
        let mut log_needed = log_needed;
        let mut attempt = 0;
        loop {
            match self.commit_chunks(tables, record, &mut remaining, &mut log_needed, true) {
                Ok(()) => return Ok(true),
                Err(AwsError::Conflict { .. }) if attempt + 1 < ATTEMPTS => {
                    attempt += 1;
                    self.cache.clear();
                    let markers = self.aws.markers(&remaining)?;
                    remaining.retain(|id| !markers.contains_key(id));
                    if remaining.is_empty() {
                        // Someone committed it first (a redelivery racing this one).
                        return Ok(!log_needed);
                    }
                    self.aws.backoff(attempt);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Folds `remaining` identities of `record` in as few transactions of at most 100 items as
    /// possible, removing each committed chunk from `remaining`.
    fn commit_chunks(
        &mut self,
        tables: &Tables,
        record: &LogRecord,
        remaining: &mut Vec<FactId>,
        log_needed: &mut bool,
        archive: bool,
    ) -> Result<(), AwsError> {
        while !remaining.is_empty() {
            let mut take = remaining.len();
            let (items, update) = loop {
                let chunk = LogRecord {
                    identities: remaining[..take].to_vec(),
                    ..record.clone()
                };
                let mut writer = RecordWriter::new(&self.aws, tables, &mut self.cache);
                fold_record(&chunk, Projection::all(), &mut writer).map_err(|e| match e {
                    FoldError::Store(e) => e,
                    other => AwsError::Other(other.to_string()),
                })?;
                let extra = if archive {
                    take + usize::from(*log_needed)
                } else {
                    0
                };
                if writer.item_count() + extra <= MAX_TRANSACTION_ITEMS {
                    let (mut items, update) = writer.into_items()?;
                    if archive {
                        let mut archived =
                            self.aws
                                .archive_items(record, &remaining[..take], *log_needed)?;
                        archived.append(&mut items);
                        items = archived;
                    }
                    break (items, update);
                }
                if take == 1 {
                    return Err(AwsError::Other(format!(
                        "log record {}: one identity needs more than {MAX_TRANSACTION_ITEMS} items",
                        record.offset
                    )));
                }
                take /= 2;
            };
            self.transact(items)?;
            update.apply(&mut self.cache);
            remaining.drain(..take);
            *log_needed = false;
        }
        Ok(())
    }

    fn transact(&mut self, items: Vec<TransactWriteItem>) -> Result<(), AwsError> {
        if items.is_empty() {
            return Ok(());
        }
        let count = items.len() as u64;
        match self.aws.block(
            self.aws
                .ddb
                .transact_write_items()
                .set_transact_items(Some(items))
                .send(),
        ) {
            Ok(_) => {
                self.committed.0 += 1;
                self.committed.1 += count;
                Ok(())
            }
            Err(e)
                if e.as_service_error().is_some_and(|s| {
                    s.is_transaction_canceled_exception()
                        || s.meta().code() == Some("TransactionConflictException")
                }) =>
            {
                Err(AwsError::Conflict {
                    resource: "TransactWriteItems".into(),
                    message: aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string(),
                })
            }
            Err(e) => Err(AwsError::sdk("TransactWriteItems", "projection tables", e)),
        }
    }

    /// Folds archived records into `tables` (a fresh generation), with their checkpoints.
    fn fold_archived(&mut self, tables: &Tables, record: &LogRecord) -> Result<(), AwsError> {
        let mut remaining = record.identities.clone();
        let mut log_needed = false;
        let mut attempt = 0;
        loop {
            match self.commit_chunks(tables, record, &mut remaining, &mut log_needed, false) {
                Ok(()) => return Ok(()),
                Err(AwsError::Conflict { .. }) if attempt + 1 < ATTEMPTS => {
                    attempt += 1;
                    self.cache.clear();
                    self.aws.backoff(attempt);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// What `replay` did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ReplayReport {
    pub projections: Vec<&'static str>,
    pub records: u64,
    /// The generation now live.
    pub generation: u64,
    /// The generation it replaced (its tables are left for inspection; delete them when done).
    pub previous_generation: u64,
}

/// A generation built from the archive (not live yet).
#[derive(Debug, Clone)]
pub struct BuiltGeneration {
    /// Its tables.
    pub tables: Tables,
    /// Archived records folded.
    pub records: u64,
    /// The generation that was live when the build started.
    pub previous: u64,
}

/// Folds the whole archive into a fresh generation of tables (the first generation number
/// after the live one whose tables do not exist yet), with its checkpoints. Never runs
/// reactors. `label` names the work on the progress line.
pub fn build_generation(aws: &Aws, label: &str) -> Result<BuiltGeneration, AwsError> {
    let previous = aws.live_tables()?.generation;
    // A fresh generation: skip any left by an interrupted replay.
    let mut generation = previous + 1;
    loop {
        let tables = aws.names.tables(generation);
        if aws.create_generation(&tables)?.len() == tables.all().len() {
            break;
        }
        generation += 1;
    }
    let tables = aws.names.tables(generation);
    let reader = ArchiveReader::new(aws);
    let end = reader.end_offset()?;
    let mut progress = Progress::new(label, Some(end), "offsets");
    let mut processor = Processor::new(aws);
    let mut records = 0u64;
    let mut last = 0;
    let mut summary = ProcessSummary::default();
    let mut group = Vec::new();
    for record in reader.read_from(0)? {
        let record = record?;
        records += 1;
        progress.inc(record.offset + 1 - last);
        last = record.offset + 1;
        group.push((0, record, false));
        if group.len() == MAX_TRANSACTION_ITEMS / 2 {
            processor
                .flush_archived(&tables, &mut group, &mut summary)
                .map_err(|(_, e)| e)?;
        }
    }
    processor
        .flush_archived(&tables, &mut group, &mut summary)
        .map_err(|(_, e)| e)?;
    progress.finish();
    let mut cache = RowCache::default();
    let mut writer = RecordWriter::new(aws, &tables, &mut cache);
    for &p in Projection::all() {
        writer.set_checkpoint(p, end)?;
    }
    let (items, _) = writer.into_items()?;
    processor.transact(items)?;
    Ok(BuiltGeneration {
        tables,
        records,
        previous,
    })
}

/// Rebuilds every projection from the archive into a fresh generation of tables, then points
/// the live pointer at it. Pause processing (the event source mapping, or `process`) while it
/// runs: records folded into the old generation after the archive was read would be missing
/// from the new one until replayed again. Never runs reactors.
pub fn replay(aws: &Aws) -> Result<ReplayReport, AwsError> {
    let built = build_generation(aws, "replaying the archive")?;
    aws.set_generation(Some(built.previous), built.tables.generation)?;
    Ok(ReplayReport {
        projections: Projection::all().iter().map(|p| p.name()).collect(),
        records: built.records,
        generation: built.tables.generation,
        previous_generation: built.previous,
    })
}
