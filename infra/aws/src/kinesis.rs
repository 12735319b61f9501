//! Kinesis: the appender (PutRecords, retrying only the failed entries with backoff) and the
//! shard consumer that drains the stream through the processor exactly as the Lambda event
//! source mapping would (`mailshot --backend aws process`).

use std::ops::ControlFlow;

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use base64::Engine;
use serde_json::json;

use super::processor::{ProcessSummary, Processor};
use super::{Aws, AwsError, Outgoing};

/// Entries per PutRecords call (the Kinesis limit).
pub const PUT_BATCH: usize = 500;
/// Records per GetRecords call: the Lambda event source mapping's default batch size.
pub const GET_BATCH: i32 = 100;
/// Overrides [`GET_BATCH`] for `process` (a positive number up to 10,000, the GetRecords
/// limit): tests use small batches to check that nothing depends on batch boundaries.
pub const GET_BATCH_ENV: &str = "MAILSHOT_PROCESS_BATCH";
/// Attempts at putting one entry before giving up.
const PUT_ATTEMPTS: u32 = 10;

impl Aws {
    /// Puts records to the stream. Entries that Kinesis refused (throttling, internal errors)
    /// are retried alone, with exponential backoff; returns once every entry is acknowledged.
    pub fn put_records(&self, records: &[Outgoing]) -> Result<(), AwsError> {
        let stream = self.names.stream();
        for chunk in records.chunks(PUT_BATCH) {
            let mut pending: Vec<&Outgoing> = chunk.iter().collect();
            let mut attempt = 0;
            while !pending.is_empty() {
                let entries = pending
                    .iter()
                    .map(|r| {
                        // Kinesis limits partition keys to 256 characters.
                        let pk: String = r.partition_key.chars().take(256).collect();
                        let pk = if pk.is_empty() { "-".to_string() } else { pk };
                        PutRecordsRequestEntry::builder()
                            .partition_key(pk)
                            .data(Blob::new(r.data.as_bytes()))
                            .build()
                            .map_err(|e| AwsError::Other(format!("PutRecords entry: {e}")))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let out = self
                    .block(
                        self.kinesis
                            .put_records()
                            .stream_name(&stream)
                            .set_records(Some(entries))
                            .send(),
                    )
                    .map_err(|e| AwsError::sdk("PutRecords", &stream, e))?;
                if out.failed_record_count.unwrap_or(0) == 0 {
                    break;
                }
                let mut last_error = String::new();
                pending = pending
                    .into_iter()
                    .zip(out.records)
                    .filter(|(_, result)| {
                        if let Some(code) = &result.error_code {
                            last_error = format!(
                                "{code}: {}",
                                result.error_message.as_deref().unwrap_or("")
                            );
                            true
                        } else {
                            false
                        }
                    })
                    .map(|(r, _)| r)
                    .collect();
                attempt += 1;
                if attempt >= PUT_ATTEMPTS {
                    return Err(AwsError::Other(format!(
                        "PutRecords on {stream}: {} entries still refused after {attempt} attempts ({last_error})",
                        pending.len()
                    )));
                }
                self.backoff(attempt);
            }
        }
        Ok(())
    }

    /// The shard ids of the stream.
    pub fn shards(&self) -> Result<Vec<String>, AwsError> {
        let stream = self.names.stream();
        let mut shards = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let req = match &token {
                Some(t) => self.kinesis.list_shards().next_token(t),
                None => self.kinesis.list_shards().stream_name(&stream),
            };
            let out = self
                .block(req.send())
                .map_err(|e| AwsError::sdk("ListShards", &stream, e))?;
            shards.extend(
                out.shards
                    .unwrap_or_default()
                    .into_iter()
                    .map(|s| s.shard_id),
            );
            match out.next_token {
                Some(t) => token = Some(t),
                None => return Ok(shards),
            }
        }
    }

    /// A shard iterator after `after` (or at the start of the shard).
    fn iterator(&self, shard: &str, after: Option<&str>, at: bool) -> Result<String, AwsError> {
        let stream = self.names.stream();
        let mut req = self
            .kinesis
            .get_shard_iterator()
            .stream_name(&stream)
            .shard_id(shard);
        req = match after {
            Some(seq) if at => req
                .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
                .starting_sequence_number(seq),
            Some(seq) => req
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .starting_sequence_number(seq),
            None => req.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        self.block(req.send())
            .map_err(|e| AwsError::sdk("GetShardIterator", &stream, e))?
            .shard_iterator
            .ok_or_else(|| AwsError::Other(format!("no shard iterator for {stream}/{shard}")))
    }

    /// One GetRecords call as a Lambda Kinesis event (the payload the event source mapping
    /// would deliver), with the next iterator and whether the shard is caught up.
    pub fn get_event(
        &self,
        shard: &str,
        iterator: &str,
        limit: i32,
    ) -> Result<(KinesisEvent, Option<String>, bool), AwsError> {
        let stream = self.names.stream();
        let out = self
            .block(
                self.kinesis
                    .get_records()
                    .shard_iterator(iterator)
                    .limit(limit)
                    .send(),
            )
            .map_err(|e| AwsError::sdk("GetRecords", &stream, e))?;
        let arn = format!("arn:aws:kinesis:us-east-1:000000000000:stream/{stream}");
        let records: Vec<serde_json::Value> = out
            .records
            .iter()
            .map(|r| {
                let arrival = r
                    .approximate_arrival_timestamp
                    .map(|t| t.as_secs_f64())
                    .unwrap_or(0.0);
                json!({
                    "kinesis": {
                        "kinesisSchemaVersion": "1.0",
                        "partitionKey": r.partition_key,
                        "sequenceNumber": r.sequence_number,
                        "data": base64::engine::general_purpose::STANDARD.encode(r.data.as_ref()),
                        "approximateArrivalTimestamp": arrival,
                    },
                    "eventSource": "aws:kinesis",
                    "eventVersion": "1.0",
                    "eventID": format!("{shard}:{}", r.sequence_number),
                    "eventName": "aws:kinesis:record",
                    "invokeIdentityArn": "arn:aws:iam::000000000000:role/mailshot-processor",
                    "awsRegion": "us-east-1",
                    "eventSourceARN": arn,
                })
            })
            .collect();
        let event: KinesisEvent = serde_json::from_value(json!({ "Records": records }))
            .map_err(|e| AwsError::Other(format!("building a Kinesis event: {e}")))?;
        let caught_up = out.records.is_empty() && out.millis_behind_latest.unwrap_or(0) == 0;
        Ok((event, out.next_shard_iterator, caught_up))
    }

    /// Drains every shard through `processor`, from each shard's saved position, in batches
    /// of [`GET_BATCH`] (or [`GET_BATCH_ENV`]). A batch item failure is redelivered from the failed record (as the
    /// event source mapping does) up to 3 times, then `process` stops with an error.
    /// `on_batch` sees the running total after each batch; when it answers `Break`, draining
    /// stops once that batch's shard position is saved.
    pub fn drain(
        &self,
        processor: &mut Processor,
        mut on_batch: impl FnMut(&ProcessSummary) -> ControlFlow<()>,
    ) -> Result<ProcessSummary, AwsError> {
        let mut total = ProcessSummary::default();
        let batch = mailshot_engine::report::batch_size(GET_BATCH_ENV, GET_BATCH as usize)
            .min(10_000) as i32;
        for shard in self.shards()? {
            let mut position = self.shard_position(&shard)?;
            let mut iterator = self.iterator(&shard, position.as_deref(), false)?;
            let mut retries = 0;
            loop {
                let (event, next, caught_up) = self.get_event(&shard, &iterator, batch)?;
                if event.records.is_empty() {
                    match next {
                        Some(n) if !caught_up => {
                            iterator = n;
                            continue;
                        }
                        _ => break,
                    }
                }
                let (response, summary) = processor.process_event(&event);
                total.add(&summary);
                let flow = on_batch(&total);
                let failed = response
                    .batch_item_failures
                    .first()
                    .and_then(|f| f.item_identifier.as_deref().map(|s| s.to_string()));
                match failed {
                    None => {
                        let last = event
                            .records
                            .last()
                            .map(|r| r.kinesis.sequence_number.clone());
                        if let Some(seq) = &last {
                            self.set_shard_position(&shard, seq)?;
                        }
                        position = last;
                        retries = 0;
                        if flow.is_break() {
                            return Ok(total);
                        }
                        match next {
                            Some(n) => iterator = n,
                            None => break,
                        }
                    }
                    Some(seq) => {
                        retries += 1;
                        if retries > 3 {
                            return Err(AwsError::Other(format!(
                                "shard {shard}: record {seq} failed {retries} times; stopping (position kept at {})",
                                position.as_deref().unwrap_or("the start")
                            )));
                        }
                        // Commit up to the record before the failed one, redeliver from it.
                        let done: Vec<_> = event
                            .records
                            .iter()
                            .take_while(|r| r.kinesis.sequence_number != seq)
                            .map(|r| r.kinesis.sequence_number.clone())
                            .collect();
                        if let Some(last) = done.last() {
                            self.set_shard_position(&shard, last)?;
                            position = Some(last.clone());
                        }
                        self.backoff(retries);
                        iterator = self.iterator(&shard, Some(&seq), true)?;
                    }
                }
            }
        }
        Ok(total)
    }
}
