//! Ingest: NDJSON lines → parsed inputs → dedup → durable append → every projection, one
//! transaction per batch. Rejected inputs go to the quarantine, with their line and reason.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use mailshot_domain::log::NewRecord;
use mailshot_domain::{FactId, Input, Timestamp, parse_line};
use mailshot_processors::{RecordView, fold};
use mailshot_projections::{Projection, ProjectionWriter};
use serde::Serialize;

use super::{EmbeddedError, Writer};
use crate::progress::Progress;
use crate::quarantine::RejectedInput;

/// Lines parsed, appended and folded per transaction. Bigger batches amortise the two fsyncs
/// (log, store) and sort better in LMDB; memory stays bounded by the batch.
pub const INGEST_BATCH_LINES: usize = 4096;

/// Where NDJSON comes from.
#[derive(Debug, Clone)]
pub enum LineSource {
    File(PathBuf),
    Stdin,
}

impl LineSource {
    /// `-` is stdin; anything else a file path.
    pub fn parse(arg: &str) -> LineSource {
        if arg == "-" {
            LineSource::Stdin
        } else {
            LineSource::File(PathBuf::from(arg))
        }
    }

    fn name(&self) -> String {
        match self {
            LineSource::File(p) => p.display().to_string(),
            LineSource::Stdin => "stdin".to_string(),
        }
    }
}

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

impl Writer {
    /// Ingests every line of every source, in order. Calls `on_reject` for each rejected input
    /// (after it is safely quarantined) and `on_batch` after each durable batch.
    pub fn ingest(
        &mut self,
        sources: &[LineSource],
        mut on_reject: impl FnMut(&Rejection),
        mut on_batch: impl FnMut(&IngestSummary),
    ) -> Result<IngestSummary, EmbeddedError> {
        let mut total = IngestSummary::default();
        for source in sources {
            let name = source.name();
            let (reader, size): (Box<dyn Read>, Option<u64>) = match source {
                LineSource::Stdin => (Box::new(std::io::stdin().lock()), None),
                LineSource::File(path) => {
                    let file = File::open(path).map_err(|e| EmbeddedError::Input {
                        path: name.clone(),
                        reason: e.to_string(),
                    })?;
                    let size = file.metadata().ok().map(|m| m.len());
                    (Box::new(file), size)
                }
            };
            let mut progress = Progress::new(&format!("ingesting {name}"), size, "bytes");
            let mut reader = BufReader::with_capacity(1 << 20, reader);
            let mut line_no = 0u64;
            let mut batch: Vec<(u64, Vec<u8>)> = Vec::with_capacity(INGEST_BATCH_LINES);
            loop {
                let mut line = Vec::new();
                let n = reader
                    .read_until(b'\n', &mut line)
                    .map_err(|e| EmbeddedError::Input {
                        path: name.clone(),
                        reason: e.to_string(),
                    })?;
                if n == 0 {
                    break;
                }
                line_no += 1;
                progress.inc(n as u64);
                while line.last().is_some_and(|b| matches!(b, b'\n' | b'\r')) {
                    line.pop();
                }
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                batch.push((line_no, line));
                if batch.len() == INGEST_BATCH_LINES {
                    let s = self.ingest_batch(&name, &batch, &mut on_reject)?;
                    self.run_reactors()?;
                    total.add(s);
                    on_batch(&total);
                    batch.clear();
                }
            }
            if !batch.is_empty() {
                let s = self.ingest_batch(&name, &batch, &mut on_reject)?;
                self.run_reactors()?;
                total.add(s);
                on_batch(&total);
            }
            progress.finish();
        }
        Ok(total)
    }

    /// Appends inputs that mailshot itself produced (admin commands, reactor outcomes).
    pub fn ingest_raw(&mut self, lines: &[String]) -> Result<IngestSummary, EmbeddedError> {
        let batch: Vec<(u64, Vec<u8>)> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| (i as u64 + 1, l.as_bytes().to_vec()))
            .collect();
        let mut rejected = Vec::new();
        let s = self.ingest_batch("mailshot", &batch, &mut |r: &Rejection| {
            rejected.push(r.reason.clone())
        })?;
        if let Some(reason) = rejected.first() {
            return Err(EmbeddedError::Fold(format!(
                "internal input rejected: {reason}"
            )));
        }
        Ok(s)
    }

    fn ingest_batch(
        &mut self,
        source: &str,
        lines: &[(u64, Vec<u8>)],
        on_reject: &mut impl FnMut(&Rejection),
    ) -> Result<IngestSummary, EmbeddedError> {
        let mut summary = IngestSummary::default();
        let mut writer = self.store.begin()?;
        let mut seen: HashSet<FactId> = HashSet::new();
        let mut accepted: Vec<(Input<'_>, Vec<FactId>)> = Vec::new();
        let mut rejected: Vec<RejectedInput> = Vec::new();
        let mut rejections: Vec<Rejection> = Vec::new();
        for (line_no, line) in lines {
            for result in parse_line(line) {
                summary.inputs += 1;
                match result {
                    Ok(input) => {
                        let mut new_ids = Vec::new();
                        for id in input.identities() {
                            if !seen.contains(&id) && !writer.has_id(&id)? {
                                new_ids.push(id);
                            }
                        }
                        if new_ids.is_empty() {
                            summary.duplicates += 1;
                        } else {
                            seen.extend(new_ids.iter().copied());
                            accepted.push((input, new_ids));
                        }
                    }
                    Err(e) => {
                        summary.rejected += 1;
                        let reason = e.to_string();
                        rejected.push(RejectedInput {
                            source: source.to_string(),
                            line: *line_no,
                            reason: reason.clone(),
                            input: String::from_utf8_lossy(line).into_owned(),
                        });
                        rejections.push(Rejection {
                            source: source.to_string(),
                            line: *line_no,
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
        let records: Vec<NewRecord> = accepted
            .iter()
            .map(|(input, ids)| NewRecord {
                ingest_time,
                identities: ids.clone(),
                raw: input.raw.to_string(),
            })
            .collect();
        // The log first (fsync): from here the batch is the truth; the store below is
        // derived and, if we crash before its commit, is caught up from the log on restart.
        let first = self.log.append(&records)?;
        let next = first + records.len() as u64;
        for (i, (input, ids)) in accepted.into_iter().enumerate() {
            let offset = first + i as u64;
            writer.put_ids(&ids, offset)?;
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
        writer.commit()?;
        Ok(summary)
    }
}
