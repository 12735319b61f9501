//! The log table `<prefix>-log`: the durable archive of every record (history past Kinesis
//! retention), the dedupe index, the offsets counter, the dead letters, the per-shard
//! positions of `process`, and the pointer to the live projection generation.
//!
//! | pk | sk | what |
//! |---|---|---|
//! | `LOG#<offset / 1024, 12 digits>` | `<offset, 20 digits>` | one archived record: `raw`, `ids` (hex, comma-separated), `ingestTime` (ms), `rec` (hash of `raw`) |
//! | `ID#<fact id hex>` | `-` | dedupe marker: `offset` and `rec` of the record that introduced it |
//! | `COUNTER` | `-` | `next`: the next offset to reserve (`UpdateItem ADD`) |
//! | `DLQ` | `<ms, 13 digits>#<hash>` | a rejected input: `source`, `line`, `reason`, `input`, `at` |
//! | `GEN` | `-` | `generation`: the live projection generation |
//! | `SHARD#<stream>#<shard id>` | `-` | `seq`: the last sequence number `process` committed |
//! | `SIGNING_KEY` | `-` | `key`: the hex signing key of mailshot's own stream records ([`super::signing`]) |
//!
//! Offsets: reserved in blocks by one atomic `ADD` per batch, so they are unique, increasing in
//! reservation order and never reused. The archive is read by Query, block partition by block
//! partition; a reserved offset that was never committed (see [`crate`]) is a hole the
//! reader skips.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{Put, ReturnValue, TransactWriteItem};
use mailshot_domain::log::{LogReader, LogRecord, Offset, Records};
use mailshot_domain::{FactId, Timestamp};

use super::item::{Item, get_i64, get_s, hash_hex, n, s};
use super::store::NO_SK;
use super::{Aws, AwsError};

/// Offsets per archive partition.
pub const BLOCK: u64 = 1024;

fn key(pk: String, sk: String) -> Item {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

fn log_key(offset: Offset) -> Item {
    key(
        format!("LOG#{:012}", offset / BLOCK),
        format!("{offset:020}"),
    )
}

fn marker_key(id: &FactId) -> Item {
    key(format!("ID#{}", id.to_hex()), NO_SK.into())
}

/// The hash that ties a dedupe marker to the record that wrote it.
pub fn record_hash(raw: &str) -> String {
    hash_hex(&[raw])
}

/// Where a known identity was introduced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub offset: Offset,
    /// [`record_hash`] of that record.
    pub rec: String,
}

/// One dead letter as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub at: String,
    pub source: String,
    pub line: u64,
    pub reason: String,
    pub input: String,
}

impl Aws {
    /// The live projection generation (`None` before `init`).
    pub fn generation(&self) -> Result<Option<u64>, AwsError> {
        let table = self.names.log_table();
        match self.get_item(&table, key("GEN".into(), NO_SK.into()))? {
            Some(item) => Ok(Some(get_i64(&item, "generation", &table)? as u64)),
            None => Ok(None),
        }
    }

    /// The live projection tables; fails with a hint when `init` has not run.
    pub fn live_tables(&self) -> Result<super::Tables, AwsError> {
        let generation = self.generation()?.ok_or_else(|| {
            AwsError::Other(format!(
                "no mailshot deployment with prefix {:?} (run `mailshot --backend aws init`)",
                self.names.prefix
            ))
        })?;
        Ok(self.names.tables(generation))
    }

    /// Points the live generation at `generation` (only if it is still `expected`).
    pub fn set_generation(&self, expected: Option<u64>, generation: u64) -> Result<(), AwsError> {
        let table = self.names.log_table();
        let mut req = self.ddb.put_item().table_name(&table).set_item(Some({
            let mut item = key("GEN".into(), NO_SK.into());
            item.insert("generation".into(), n(generation));
            item
        }));
        req = match expected {
            Some(g) => req
                .condition_expression("generation = :g")
                .expression_attribute_values(":g", n(g)),
            None => req.condition_expression("attribute_not_exists(pk)"),
        };
        self.block(req.send())
            .map(|_| ())
            .map_err(|e| AwsError::sdk("PutItem (generation pointer)", &table, e))
    }

    /// Reserves `count` consecutive offsets; returns the first.
    pub fn reserve_offsets(&self, count: u64) -> Result<Offset, AwsError> {
        let table = self.names.log_table();
        let out = self
            .block(
                self.ddb
                    .update_item()
                    .table_name(&table)
                    .set_key(Some(key("COUNTER".into(), NO_SK.into())))
                    .update_expression("ADD #n :c")
                    .expression_attribute_names("#n", "next")
                    .expression_attribute_values(":c", n(count))
                    .return_values(ReturnValue::UpdatedNew)
                    .send(),
            )
            .map_err(|e| AwsError::sdk("UpdateItem (offsets counter)", &table, e))?;
        let next = get_i64(&out.attributes.unwrap_or_default(), "next", &table)? as u64;
        Ok(next - count)
    }

    /// The dedupe markers of `ids` that exist.
    pub fn markers(&self, ids: &[FactId]) -> Result<HashMap<FactId, Marker>, AwsError> {
        let table = self.names.log_table();
        let mut unique: Vec<FactId> = ids.to_vec();
        unique.sort_unstable_by_key(|id| id.0);
        unique.dedup();
        let mut out = HashMap::new();
        for item in self.batch_get(&table, unique.iter().map(marker_key).collect())? {
            let pk = get_s(&item, "pk", &table)?;
            let Some(id) = pk.strip_prefix("ID#").and_then(FactId::from_hex) else {
                continue;
            };
            out.insert(
                id,
                Marker {
                    offset: get_i64(&item, "offset", &table)? as Offset,
                    rec: get_s(&item, "rec", &table)?.to_string(),
                },
            );
        }
        Ok(out)
    }

    /// The conditional puts that archive a record and mark its new identities (transaction
    /// items; the conditions make a second commit of the same record fail as a whole).
    pub(crate) fn archive_items(
        &self,
        record: &LogRecord,
        marked: &[FactId],
        with_log_item: bool,
    ) -> Result<Vec<TransactWriteItem>, AwsError> {
        let table = self.names.log_table();
        let rec = record_hash(&record.raw);
        let build = |item: Item| {
            Put::builder()
                .table_name(&table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map(|p| TransactWriteItem::builder().put(p).build())
                .map_err(|e| AwsError::Other(format!("building an archive put: {e}")))
        };
        let mut items = Vec::new();
        if with_log_item {
            let mut item = log_key(record.offset);
            item.insert("raw".into(), s(&record.raw));
            let ids: Vec<String> = record.identities.iter().map(FactId::to_hex).collect();
            item.insert("ids".into(), s(ids.join(",")));
            item.insert("ingestTime".into(), n(record.ingest_time.0));
            item.insert("rec".into(), s(&rec));
            items.push(build(item)?);
        }
        for id in marked {
            let mut item = marker_key(id);
            item.insert("offset".into(), n(record.offset));
            item.insert("rec".into(), s(&rec));
            items.push(build(item)?);
        }
        Ok(items)
    }

    /// Stores a rejected input with its reason.
    pub fn dead_letter(
        &self,
        source: &str,
        line: u64,
        reason: &str,
        input: &str,
    ) -> Result<(), AwsError> {
        let table = self.names.log_table();
        let now = mailshot_engine::clock::now();
        let mut item = key(
            "DLQ".into(),
            format!(
                "{:013}#{}",
                now.0,
                hash_hex(&[source, &line.to_string(), input])
            ),
        );
        item.insert("at".into(), s(now.to_string()));
        item.insert("source".into(), s(source));
        item.insert("line".into(), n(line));
        item.insert("reason".into(), s(reason.replace('\n', " ")));
        item.insert("input".into(), s(input));
        self.put_item(&table, item, "PutItem (dead letter)")
    }

    /// Every dead letter, oldest first.
    pub fn dead_letters(&self) -> Result<Vec<DeadLetter>, AwsError> {
        let table = self.names.log_table();
        let mut out = Vec::new();
        self.query_each(
            || {
                self.ddb
                    .query()
                    .table_name(&table)
                    .key_condition_expression("pk = :p")
                    .expression_attribute_values(":p", s("DLQ"))
                    .consistent_read(true)
            },
            &table,
            |item| {
                out.push(DeadLetter {
                    at: get_s(&item, "at", &table)?.to_string(),
                    source: get_s(&item, "source", &table)?.to_string(),
                    line: get_i64(&item, "line", &table)? as u64,
                    reason: get_s(&item, "reason", &table)?.to_string(),
                    input: get_s(&item, "input", &table)?.to_string(),
                });
                Ok(true)
            },
        )?;
        Ok(out)
    }

    /// The last sequence number `process` committed on a shard.
    pub fn shard_position(&self, shard: &str) -> Result<Option<String>, AwsError> {
        let table = self.names.log_table();
        let k = key(
            format!("SHARD#{}#{shard}", self.names.stream()),
            NO_SK.into(),
        );
        match self.get_item(&table, k)? {
            Some(item) => Ok(Some(get_s(&item, "seq", &table)?.to_string())),
            None => Ok(None),
        }
    }

    /// Records the last sequence number `process` committed on a shard.
    pub fn set_shard_position(&self, shard: &str, seq: &str) -> Result<(), AwsError> {
        let table = self.names.log_table();
        let mut item = key(
            format!("SHARD#{}#{shard}", self.names.stream()),
            NO_SK.into(),
        );
        item.insert("seq".into(), s(seq));
        self.put_item(&table, item, "PutItem (shard position)")
    }

    /// The offset one past the last reserved offset.
    pub fn end_offset(&self) -> Result<Offset, AwsError> {
        let table = self.names.log_table();
        match self.get_item(&table, key("COUNTER".into(), NO_SK.into()))? {
            Some(item) => Ok(get_i64(&item, "next", &table)? as Offset),
            None => Ok(0),
        }
    }
}

fn decode_record(item: &Item, table: &str) -> Result<LogRecord, AwsError> {
    let sk = get_s(item, "sk", table)?;
    let offset = sk.parse().map_err(|_| AwsError::Corrupt {
        table: table.to_string(),
        reason: format!("log key {sk:?}"),
    })?;
    let ids = get_s(item, "ids", table)?;
    let identities = ids
        .split(',')
        .filter(|x| !x.is_empty())
        .map(|h| {
            FactId::from_hex(h).ok_or_else(|| AwsError::Corrupt {
                table: table.to_string(),
                reason: format!("log record {offset}: identity {h:?}"),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(LogRecord {
        offset,
        ingest_time: Timestamp(get_i64(item, "ingestTime", table)?),
        identities,
        raw: get_s(item, "raw", table)?.to_string(),
        // The archive keeps the raw JSON only: AWS replays parse it.
        compact: None,
    })
}

/// The archive as a [`LogReader`]: what `replay` and `trace` read.
#[derive(Debug, Clone)]
pub struct ArchiveReader {
    aws: Aws,
}

impl ArchiveReader {
    /// A reader of `aws`'s log table.
    pub fn new(aws: &Aws) -> ArchiveReader {
        ArchiveReader { aws: aws.clone() }
    }

    fn block_records(&self, block: u64, from: Offset) -> Result<Vec<LogRecord>, AwsError> {
        let table = self.aws.names.log_table();
        let mut out = Vec::new();
        self.aws.query_each(
            || {
                self.aws
                    .ddb
                    .query()
                    .table_name(&table)
                    .key_condition_expression("pk = :p AND sk >= :s")
                    .expression_attribute_values(":p", s(format!("LOG#{block:012}")))
                    .expression_attribute_values(":s", s(format!("{from:020}")))
                    .consistent_read(true)
            },
            &table,
            |item| {
                out.push(decode_record(&item, &table)?);
                Ok(true)
            },
        )?;
        Ok(out)
    }
}

impl LogReader for ArchiveReader {
    type Error = AwsError;

    fn read_from(&self, offset: Offset) -> Result<Records<'_, AwsError>, AwsError> {
        let end = self.aws.end_offset()?;
        let mut block = offset / BLOCK;
        let mut pending: std::vec::IntoIter<LogRecord> = Vec::new().into_iter();
        let mut failed = false;
        // One block (≤ 1024 records) in memory at a time.
        Ok(Box::new(std::iter::from_fn(move || {
            loop {
                if failed {
                    return None;
                }
                if let Some(r) = pending.next() {
                    if r.offset >= end {
                        return None;
                    }
                    return Some(Ok(r));
                }
                if block * BLOCK >= end {
                    return None;
                }
                match self.block_records(block, offset) {
                    Ok(records) => pending = records.into_iter(),
                    Err(e) => {
                        failed = true;
                        return Some(Err(e));
                    }
                }
                block += 1;
            }
        })))
    }

    fn read_at(&self, offset: Offset) -> Result<Option<LogRecord>, AwsError> {
        let table = self.aws.names.log_table();
        self.aws
            .get_item(&table, log_key(offset))?
            .map(|item| decode_record(&item, &table))
            .transpose()
    }

    fn end_offset(&self) -> Result<Offset, AwsError> {
        self.aws.end_offset()
    }
}
