//! Ingest: NDJSON lines → parsed inputs → dedup → durable append → every projection, one
//! transaction per batch. Rejected inputs go to the quarantine, with their line and reason.

use std::io::Read;
use std::time::{SystemTime, UNIX_EPOCH};

use mailshot_domain::compact;
use mailshot_domain::log::NewRecord;
use mailshot_domain::{FactId, Input, InputError, Timestamp, parse_external_line, parse_line};
use mailshot_processors::{RecordView, fold};
use mailshot_projections::{Projection, ProjectionWriter};
use serde::Serialize;

use super::{EmbeddedError, Writer};
use crate::lines::{LineSource, NdjsonLines};
use crate::progress::Progress;
use crate::quarantine::RejectedInput;

/// Lines parsed, appended and folded per transaction. Bigger batches amortise the two fsyncs
/// (log, store) and sort better in LMDB; memory stays bounded by the batch.
pub const INGEST_BATCH_LINES: usize = 16_384;

/// What an ingest did: `inputs = accepted + duplicates + rejected`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct IngestSummary {
    pub inputs: u64,
    /// Inputs newly appended to the log.
    pub accepted: u64,
    /// Inputs all of whose facts the log already held.
    pub duplicates: u64,
    pub rejected: u64,
}

impl IngestSummary {
    fn add(&mut self, other: IngestSummary) {
        self.inputs += other.inputs;
        self.accepted += other.accepted;
        self.duplicates += other.duplicates;
        self.rejected += other.rejected;
    }
}

/// One rejected input as reported to the caller (the CLI prints it on stderr).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub source: String,
    pub line: u64,
    pub reason: String,
}

fn now() -> Timestamp {
    Timestamp(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0),
    )
}

/// Lines per batch: `MAILSHOT_INGEST_BATCH` overrides the default (tests use small batches to
/// exercise batch boundaries).
fn batch_lines() -> usize {
    super::batch_size("MAILSHOT_INGEST_BATCH", INGEST_BATCH_LINES)
}

impl Writer {
    /// Ingests every line of every source, in order. Calls `on_reject` for each rejected input
    /// (after it is safely quarantined) and `on_batch` after each durable batch.
    ///
    /// Two threads share the work: one reads and parses the next batch while this one
    /// deduplicates, appends and folds the current one (parsing is about half of the cost).
    pub fn ingest(
        &mut self,
        sources: &[LineSource],
        mut on_reject: impl FnMut(&Rejection),
        mut on_batch: impl FnMut(&IngestSummary),
    ) -> Result<IngestSummary, EmbeddedError> {
        let mut total = IngestSummary::default();
        for source in sources {
            let name = source.name();
            let (reader, size) = source.open().map_err(|e| EmbeddedError::Input {
                path: name.clone(),
                reason: e.to_string(),
            })?;
            let (sender, receiver) =
                std::sync::mpsc::sync_channel::<Result<ParsedBatch, EmbeddedError>>(2);
            let batch_lines = batch_lines();
            std::thread::scope(|scope| -> Result<(), EmbeddedError> {
                let producer_name = name.clone();
                scope.spawn(move || {
                    read_and_parse(reader, size, &producer_name, batch_lines, sender)
                });
                for parsed in receiver {
                    let s = self.ingest_parsed(&name, parsed?, &mut on_reject)?;
                    self.run_reactors()?;
                    total.add(s);
                    on_batch(&total);
                }
                Ok(())
            })?;
        }
        self.store.sync()?;
        Ok(total)
    }

    /// Appends inputs that mailshot itself produced (admin commands, reactor outcomes).
    pub fn ingest_raw(&mut self, lines: &[String]) -> Result<IngestSummary, EmbeddedError> {
        let batch = parse_batch(
            lines
                .iter()
                .enumerate()
                .map(|(i, l)| (i as u64 + 1, l.as_bytes().to_vec()))
                .collect(),
        );
        let mut rejected = Vec::new();
        let s = self.ingest_parsed("mailshot", batch, &mut |r: &Rejection| {
            rejected.push(r.reason.clone())
        })?;
        if let Some(reason) = rejected.first() {
            return Err(EmbeddedError::Fold(format!(
                "internal input rejected: {reason}"
            )));
        }
        Ok(s)
    }

    fn ingest_parsed(
        &mut self,
        source: &str,
        batch: ParsedBatch,
        on_reject: &mut impl FnMut(&Rejection),
    ) -> Result<IngestSummary, EmbeddedError> {
        let mut summary = IngestSummary::default();
        let mut writer = self.store.begin()?;
        // Accepted inputs get dense offsets from the log's end, in order; an identity is
        // claimed in the dedup index with the offset its input will have.
        let first = self.log.next_offset();
        let mut accepted: Vec<(Input<'static>, Vec<FactId>)> = Vec::new();
        let mut rejected: Vec<RejectedInput> = Vec::new();
        let mut rejections: Vec<Rejection> = Vec::new();
        for line in batch.lines {
            for result in line.results {
                summary.inputs += 1;
                match result {
                    Ok(input) => {
                        let offset = first + accepted.len() as u64;
                        let mut new_ids = Vec::new();
                        for (id, day) in input.identity_days() {
                            if writer.claim_id(&id, day, offset)? {
                                new_ids.push(id);
                            }
                        }
                        if new_ids.is_empty() {
                            summary.duplicates += 1;
                        } else {
                            accepted.push((input, new_ids));
                        }
                    }
                    Err(e) => {
                        summary.rejected += 1;
                        let reason = e.to_string();
                        rejected.push(RejectedInput {
                            source: source.to_string(),
                            line: line.line_no,
                            reason: reason.clone(),
                            input: line.text.clone().unwrap_or_default(),
                        });
                        rejections.push(Rejection {
                            source: source.to_string(),
                            line: line.line_no,
                            reason,
                        });
                    }
                }
            }
        }
        // Rejected inputs are made durable before anything is acknowledged.
        self.quarantine.append(&rejected)?;
        for r in &rejections {
            on_reject(r);
        }
        summary.accepted = accepted.len() as u64;
        if accepted.is_empty() {
            return Ok(summary);
        }
        let ingest_time = now();
        // The raw text moves into the log record: the folds read only the parsed input. Its
        // compact form goes with it, for replays to decode instead of parsing JSON again.
        let records: Vec<NewRecord> = accepted
            .iter_mut()
            .map(|(input, ids)| {
                let mut compact = Vec::new();
                NewRecord {
                    ingest_time,
                    identities: ids.clone(),
                    compact: compact::encode(input, &mut compact).then_some(compact),
                    raw: std::mem::take(&mut input.raw).into_owned(),
                }
            })
            .collect();
        // The log append (write + fdatasync) runs on its own thread while this one folds the
        // same records into the store transaction; the store commits only once the log has
        // acknowledged the batch. From then on the batch is the truth; the store is derived
        // and, if we crash before its commit, is caught up from the log on restart.
        let next = first + records.len() as u64;
        let log = &mut self.log;
        std::thread::scope(|scope| -> Result<(), EmbeddedError> {
            let appended = scope.spawn(move || log.append(&records));
            let folded = (|| -> Result<(), EmbeddedError> {
                for (i, (input, ids)) in accepted.into_iter().enumerate() {
                    let offset = first + i as u64;
                    let view = RecordView {
                        offset,
                        input,
                        new_ids: &ids,
                    };
                    for p in Projection::ALL {
                        fold(p, &view, &mut writer)?;
                    }
                }
                writer.set_ids_checkpoint(next)?;
                for p in Projection::ALL {
                    writer.set_checkpoint(p, next)?;
                }
                writer.flush_pending()?;
                Ok(())
            })();
            let appended_at = appended
                .join()
                .map_err(|_| EmbeddedError::Fold("the log append thread panicked".into()))??;
            folded?;
            if appended_at != first {
                return Err(EmbeddedError::Fold(format!(
                    "log appended at offset {appended_at}, folded as {first}"
                )));
            }
            // Only now, with the batch durable in the log, may its projections commit.
            writer.commit()?;
            Ok(())
        })?;
        Ok(summary)
    }
}

/// One parsed line: its number, its results (one per input), and its text when an input of it
/// was rejected (for the quarantine).
struct ParsedLine {
    line_no: u64,
    results: Vec<Result<Input<'static>, InputError>>,
    text: Option<String>,
}

/// A batch of parsed lines, ready to be deduplicated and appended.
struct ParsedBatch {
    lines: Vec<ParsedLine>,
}

/// Parses lines mailshot wrote itself: the only path by which `mailshot.*` events enter.
fn parse_batch(lines: Vec<(u64, Vec<u8>)>) -> ParsedBatch {
    let lines = lines
        .into_iter()
        .map(|(line_no, bytes)| parse_one(line_no, &bytes, parse_line))
        .collect();
    ParsedBatch { lines }
}

/// How a line is parsed: [`parse_external_line`] for inputs from outside (a reserved source is
/// a forgery), [`parse_line`] for mailshot's own.
type ParseFn = for<'a> fn(&'a [u8]) -> Vec<Result<Input<'a>, InputError>>;

/// Parses one line; its text is kept only when an input of it was rejected.
fn parse_one(line_no: u64, bytes: &[u8], parse: ParseFn) -> ParsedLine {
    let results: Vec<_> = parse(bytes)
        .into_iter()
        .map(|r| r.map(Input::into_owned))
        .collect();
    let text = results
        .iter()
        .any(Result::is_err)
        .then(|| String::from_utf8_lossy(bytes).into_owned());
    ParsedLine {
        line_no,
        results,
        text,
    }
}

/// The producer thread: reads lines, skips blank ones, parses batches and sends them on.
fn read_and_parse(
    reader: Box<dyn Read + Send>,
    size: Option<u64>,
    name: &str,
    batch_lines: usize,
    sender: std::sync::mpsc::SyncSender<Result<ParsedBatch, EmbeddedError>>,
) {
    let progress = Progress::new(&format!("ingesting {name}"), size, "bytes");
    let mut lines = NdjsonLines::new(reader, progress);
    let mut batch: Vec<ParsedLine> = Vec::with_capacity(batch_lines);
    loop {
        let (line_no, line) = match lines.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                let _ = sender.send(Err(EmbeddedError::Input {
                    path: name.to_string(),
                    reason: e.to_string(),
                }));
                return;
            }
        };
        // Each line is parsed where it was read: no copy of the raw batch is held.
        // Ingested lines come from outside: a `mailshot.*` source is refused.
        batch.push(parse_one(line_no, line, parse_external_line));
        if batch.len() == batch_lines {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_lines));
            if sender.send(Ok(ParsedBatch { lines: full })).is_err() {
                // The consumer stopped (it failed): nothing more to do.
                return;
            }
        }
    }
    if !batch.is_empty() {
        let _ = sender.send(Ok(ParsedBatch { lines: batch }));
    }
}
