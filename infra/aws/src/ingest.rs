//! Ingest on AWS: parse and validate locally, quarantine rejected inputs in the dead letters,
//! put accepted inputs to Kinesis (partition key = `Input::partition_key()`).
//!
//! What the summary's counts mean here: `accepted` inputs were acknowledged by Kinesis;
//! `rejected` inputs are in the dead letters with their reason; `duplicates` are inputs all of
//! whose identities were already known *when ingest ran*: repeated earlier in the same ingest,
//! or already in the dedupe index (processed). Those are not sent. An input duplicating a
//! record that is still in the stream, unprocessed, is counted as accepted; the processor
//! then recognises it and it changes nothing (its `process` summary counts it as a duplicate).

use std::collections::HashSet;

use mailshot_domain::{FactId, parse_external_line};

use super::{Aws, AwsError};
use crate::Outgoing;
use mailshot_engine::lines::{Line, LineSource, NdjsonLines, too_large_reason};
use mailshot_engine::progress::Progress;
use mailshot_engine::report::{IngestSummary, Rejection};

/// Lines per ingest batch (one marker lookup, one or more PutRecords).
pub const INGEST_BATCH: usize = 500;

/// Ingests numbered lines (each may hold several inputs, e.g. a Lambda SNS event).
/// `seen` carries identities across calls of one ingest.
pub fn ingest_lines(
    aws: &Aws,
    source: &str,
    lines: &[(u64, Vec<u8>)],
    seen: &mut HashSet<FactId>,
    on_reject: &mut dyn FnMut(&Rejection),
) -> Result<IngestSummary, AwsError> {
    let mut summary = IngestSummary::default();
    let mut candidates = Vec::new();
    for (line_no, line) in lines {
        // Inputs from outside: a reserved (`mailshot.*`) source is rejected as a forgery.
        for result in parse_external_line(line) {
            summary.inputs += 1;
            match result {
                Ok(input) => {
                    let ids = input.identities();
                    candidates.push((input.partition_key(), input.raw.into_owned(), ids));
                }
                Err(e) => {
                    summary.rejected += 1;
                    let reason = e.to_string();
                    let input = String::from_utf8_lossy(line);
                    aws.dead_letter(source, *line_no, &reason, &input)?;
                    on_reject(&Rejection {
                        source: source.to_string(),
                        line: *line_no,
                        reason,
                    });
                }
            }
        }
    }
    let all: Vec<FactId> = candidates
        .iter()
        .flat_map(|(_, _, ids)| ids.iter().copied())
        .collect();
    let known = aws.markers(&all)?;
    let mut outgoing = Vec::new();
    for (partition_key, raw, ids) in candidates {
        let new: Vec<FactId> = ids
            .into_iter()
            .filter(|id| !known.contains_key(id) && !seen.contains(id))
            .collect();
        if new.is_empty() {
            summary.duplicates += 1;
            continue;
        }
        seen.extend(new);
        outgoing.push(Outgoing {
            partition_key,
            data: raw,
        });
    }
    aws.put_records(&outgoing)?;
    summary.accepted = outgoing.len() as u64;
    Ok(summary)
}

fn add(total: &mut IngestSummary, s: &IngestSummary) {
    total.inputs += s.inputs;
    total.accepted += s.accepted;
    total.duplicates += s.duplicates;
    total.rejected += s.rejected;
}

/// `mailshot --backend aws ingest FILE…`: every line of every source, in order. A line over
/// `max_input_bytes` (without its line ending) goes to the dead letters as `too large`, with
/// its first bytes only; it is never held in memory whole.
pub fn ingest_sources(
    aws: &Aws,
    sources: &[LineSource],
    max_input_bytes: u64,
    on_reject: &mut dyn FnMut(&Rejection),
) -> Result<IngestSummary, AwsError> {
    let mut total = IngestSummary::default();
    let mut seen = HashSet::new();
    for source in sources {
        let name = source.name();
        let (reader, size) = source
            .open()
            .map_err(|e| AwsError::Other(format!("reading {name}: {e}")))?;
        let progress = Progress::new(&format!("ingesting {name} to Kinesis"), size, "bytes");
        let mut lines = NdjsonLines::new(reader, progress, max_input_bytes);
        let mut batch = Vec::with_capacity(INGEST_BATCH);
        while let Some(line) = lines
            .next_line()
            .map_err(|e| AwsError::Other(format!("reading {name}: {e}")))?
        {
            let (line_no, line) = match line {
                Line::Whole { line_no, text } => (line_no, text),
                Line::TooLarge {
                    line_no,
                    head,
                    size,
                } => {
                    // The lines before it go first: dead letters and reports stay in order.
                    if !batch.is_empty() {
                        let s = ingest_lines(aws, &name, &batch, &mut seen, on_reject)?;
                        add(&mut total, &s);
                        batch.clear();
                    }
                    let reason = too_large_reason(size, max_input_bytes);
                    aws.dead_letter(&name, line_no, &reason, &String::from_utf8_lossy(head))?;
                    on_reject(&Rejection {
                        source: name.clone(),
                        line: line_no,
                        reason,
                    });
                    total.inputs += 1;
                    total.rejected += 1;
                    continue;
                }
            };
            batch.push((line_no, line.to_vec()));
            if batch.len() == INGEST_BATCH {
                let s = ingest_lines(aws, &name, &batch, &mut seen, on_reject)?;
                add(&mut total, &s);
                batch.clear();
            }
        }
        if !batch.is_empty() {
            let s = ingest_lines(aws, &name, &batch, &mut seen, on_reject)?;
            add(&mut total, &s);
        }
    }
    Ok(total)
}

/// The ingest Lambda's work: one SNS or EventBridge event (as delivered) → Kinesis.
pub fn ingest_event(aws: &Aws, event: &serde_json::Value) -> Result<IngestSummary, AwsError> {
    let text = serde_json::to_vec(event).map_err(|e| AwsError::Other(e.to_string()))?;
    ingest_lines(
        aws,
        "lambda",
        &[(1, text)],
        &mut HashSet::new(),
        &mut |r: &Rejection| {
            tracing::warn!("rejected input: {}", r.reason);
            eprintln!("mailshot: rejected input: {}", r.reason);
        },
    )
}
