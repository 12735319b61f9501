//! Ingest: NDJSON lines → parsed inputs → dedup → durable append → every projection, one
//! transaction per batch. Rejected inputs go to the quarantine, with their line and reason.

use std::collections::HashMap;
use std::io::Read;

use mailshot_domain::compact;
use mailshot_domain::log::NewRecord;
use mailshot_domain::{Input, InputError, parse_external_line, parse_line};
use mailshot_projections::{Projection, ProjectionReader, ProjectionWriter, RecordView};

use mailshot_engine::clock::now;
use mailshot_engine::lines::{Line, LineSource, NdjsonLines, too_large_reason};
use mailshot_engine::progress::Progress;
use mailshot_engine::reactions::reaction_emails;
use mailshot_engine::report::{IngestSummary, Rejection};
use mailshot_log::quarantine::RejectedInput;
use mailshot_log::{MAX_PAYLOAD_LEN, encoded_len};

use crate::{EmbeddedError, ReactorBase, Writer};

/// Lines parsed, appended and folded per transaction. Bigger batches amortise the two fsyncs
/// (log, store) and sort better in LMDB; memory stays bounded by the batch.
pub const INGEST_BATCH_LINES: usize = 16_384;

/// Lines per batch: `MAILSHOT_INGEST_BATCH` overrides the default (tests use small batches to
/// exercise batch boundaries).
fn batch_lines() -> usize {
    mailshot_engine::report::batch_size("MAILSHOT_INGEST_BATCH", INGEST_BATCH_LINES)
}

impl Writer {
    /// Sets the size limit of one input line, in bytes (without its line ending; default
    /// [`mailshot_engine::lines::DEFAULT_MAX_INPUT_BYTES`]). A longer line is quarantined as `too large`
    /// with only its first bytes, and never held in memory whole.
    pub fn set_max_input_bytes(&mut self, max: u64) {
        self.max_input_bytes = max;
    }

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
            let max_input_bytes = self.max_input_bytes;
            std::thread::scope(|scope| -> Result<(), EmbeddedError> {
                let producer_name = name.clone();
                scope.spawn(move || {
                    let read = Reading {
                        name: &producer_name,
                        size,
                        batch_lines,
                        max_input_bytes,
                    };
                    read_and_parse(reader, read, sender)
                });
                for parsed in receiver {
                    let parsed = parsed?;
                    self.reactor_base = self.reactor_base_of(&parsed)?;
                    let s = self.ingest_parsed(&name, parsed, &mut on_reject)?;
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

    /// With reactors attached, the subscriber rows they will plan `batch` on, read before
    /// it is folded (see [`mailshot_engine::reactions::AsOf`]).
    fn reactor_base_of(&self, batch: &ParsedBatch) -> Result<Option<ReactorBase>, EmbeddedError> {
        if self.reactor.is_none() {
            return Ok(None);
        }
        let snapshot = self.store.snapshot()?;
        let mut rows = HashMap::new();
        for input in batch.lines.iter().flat_map(|l| l.results.iter().flatten()) {
            for email in reaction_emails(input, None) {
                if let std::collections::hash_map::Entry::Vacant(slot) = rows.entry(email) {
                    let row = snapshot.subscriber(slot.key())?;
                    slot.insert(row);
                }
            }
        }
        Ok(Some((self.log.next_offset(), rows)))
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
        let ingest_time = now();
        // The raw text moves into the log record: the folds read only the parsed input. Its
        // compact form goes with it, for replays to decode instead of parsing JSON again.
        let mut accepted: Vec<(Input<'static>, NewRecord)> = Vec::new();
        let mut rejected: Vec<RejectedInput> = Vec::new();
        let mut rejections: Vec<Rejection> = Vec::new();
        for line in batch.lines {
            for result in line.results {
                summary.inputs += 1;
                // An input the log cannot frame is refused before any of its identities is
                // claimed: rejected, never an error that stops the batch.
                let result = result.and_then(|mut input| {
                    let record = NewRecord {
                        ingest_time,
                        identities: input.identities(),
                        compact: None,
                        raw: std::mem::take(&mut input.raw).into_owned(),
                    };
                    match unloggable(&record) {
                        None => Ok((input, record)),
                        Some(reason) => Err(Refusal {
                            reason,
                            input: Some(record.raw.into_bytes()),
                        }),
                    }
                });
                match result {
                    Ok((input, mut record)) => {
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
                            record.identities = new_ids;
                            accepted.push((input, record));
                        }
                    }
                    Err(refusal) => {
                        summary.rejected += 1;
                        rejected.push(RejectedInput {
                            source: source.to_string(),
                            line: line.line_no,
                            reason: refusal.reason.clone(),
                            input: refusal
                                .input
                                .or_else(|| line.text.clone())
                                .unwrap_or_default(),
                            input_size: line.size,
                        });
                        rejections.push(Rejection {
                            source: source.to_string(),
                            line: line.line_no,
                            reason: refusal.reason,
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
        let (accepted, records): (Vec<_>, Vec<_>) = accepted
            .into_iter()
            .map(|(input, mut record)| {
                // The compact form is optional: left out if it would make the record too
                // large to frame (the raw JSON alone was checked to fit).
                let mut compact = Vec::new();
                if compact::encode(&input, &mut compact) {
                    record.compact = Some(compact);
                    if encoded_len(&record).is_none() {
                        record.compact = None;
                    }
                }
                let ids = record.identities.clone();
                ((input, ids), record)
            })
            .unzip();
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
                    // The input parsed from the line: folded without being decoded again.
                    mailshot_replay::fold(&view, Projection::all(), &mut writer)?;
                }
                writer.set_ids_checkpoint(next)?;
                for &p in Projection::all() {
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

/// Why an input was refused, with its bytes when they are not its line's.
struct Refusal {
    reason: String,
    /// The refused input's own bytes (one input of a line holding several), else `None`:
    /// the line's text is quarantined.
    input: Option<Vec<u8>>,
}

impl From<mailshot_domain::InputError> for Refusal {
    fn from(e: mailshot_domain::InputError) -> Refusal {
        Refusal {
            reason: e.to_string(),
            input: None,
        }
    }
}

/// Why `record` cannot be framed in the log, or `None` when it can.
fn unloggable(record: &NewRecord) -> Option<String> {
    if encoded_len(record).is_some() {
        return None;
    }
    let identities = record.identities.len();
    Some(if identities > usize::from(u16::MAX) {
        format!(
            "cannot be logged: {identities} facts (recipients) in one input, over the log's limit of {}",
            u16::MAX
        )
    } else {
        format!(
            "cannot be logged: {} bytes of input, over the log's limit of {} bytes per record",
            record.raw.len(),
            MAX_PAYLOAD_LEN
        )
    })
}

/// One parsed line: its number, its results (one per input), and its bytes when an input of
/// it was refused (for the quarantine).
struct ParsedLine {
    line_no: u64,
    results: Vec<Result<Input<'static>, Refusal>>,
    text: Option<Vec<u8>>,
    /// The line's whole size when `text` holds only its first bytes (a line too large).
    size: Option<u64>,
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

/// Parses one line; its bytes are kept only when an input of it was rejected.
fn parse_one(line_no: u64, bytes: &[u8], parse: ParseFn) -> ParsedLine {
    let results: Vec<_> = parse(bytes)
        .into_iter()
        .map(|r| r.map(Input::into_owned).map_err(Refusal::from))
        .collect();
    let text = results.iter().any(Result::is_err).then(|| bytes.to_vec());
    ParsedLine {
        line_no,
        results,
        text,
        size: None,
    }
}

/// A line over the size limit: refused unparsed, with its first bytes and its size.
fn too_large(line_no: u64, head: &[u8], size: u64, max: u64) -> ParsedLine {
    ParsedLine {
        line_no,
        results: vec![Err(Refusal {
            reason: too_large_reason(size, max),
            input: None,
        })],
        text: Some(head.to_vec()),
        size: Some(size),
    }
}

/// What the producer thread reads: the source's name and size, and the batch and line limits.
struct Reading<'a> {
    name: &'a str,
    size: Option<u64>,
    batch_lines: usize,
    max_input_bytes: u64,
}

/// The producer thread: reads lines, skips blank ones, parses batches and sends them on.
fn read_and_parse(
    reader: Box<dyn Read + Send>,
    read: Reading<'_>,
    sender: std::sync::mpsc::SyncSender<Result<ParsedBatch, EmbeddedError>>,
) {
    let Reading {
        name,
        size,
        batch_lines,
        max_input_bytes,
    } = read;
    let progress = Progress::new(&format!("ingesting {name}"), size, "bytes");
    let mut lines = NdjsonLines::new(reader, progress, max_input_bytes);
    let mut batch: Vec<ParsedLine> = Vec::with_capacity(batch_lines);
    loop {
        let parsed = match lines.next_line() {
            // Each line is parsed where it was read: no copy of the raw batch is held.
            // Ingested lines come from outside: a `mailshot.*` source is refused.
            Ok(Some(Line::Whole { line_no, text })) => {
                parse_one(line_no, text, parse_external_line)
            }
            Ok(Some(Line::TooLarge {
                line_no,
                head,
                size,
            })) => too_large(line_no, head, size, max_input_bytes),
            Ok(None) => break,
            Err(e) => {
                let _ = sender.send(Err(EmbeddedError::Input {
                    path: name.to_string(),
                    reason: e.to_string(),
                }));
                return;
            }
        };
        batch.push(parsed);
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
