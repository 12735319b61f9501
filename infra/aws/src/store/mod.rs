//! The DynamoDB projection store: [`DynamoReader`] answers the query contract with Query,
//! GetItem and BatchGetItem (never Scan); [`RecordWriter`] buffers one record's fold and turns
//! it into the items of one `TransactWriteItems` (see the exactly-once scheme in the module
//! doc of [`crate`]).
//!
//! Keys (every table has a string `pk` and `sk`, except rollups whose `sk` is a number):
//!
//! | table | pk | sk | attributes |
//! |---|---|---|---|
//! | events | `SUB#<email>` | `EVT#<ts>#<type>#<id8>` | the event row fields (camelCase), `ttl` |
//! | events GSI `TemplateIndex` | `templateKey` | `sk` | all (rows with an empty template key are not indexed) |
//! | events GSI `SequenceIndex` | `sequenceId` | `sk` | all |
//! | subscribers | `SUB#<email>` | `PROFILE` | `doc` (subscriber JSON), `ver` |
//! | subscribers | `SUB#<email>` | `HIST#<offset, 20 digits>` | the audit trail index |
//! | subscribers | `SUPPRESSED` | `<email>` | the suppressed list (one partition, email order) |
//! | rollups | `R#<level>#<scope>` | period (number) | `c0`…`c11` counters (ADD) |
//! | aux | `FE#<kind>#<hash of subject, email>` | `-` | earliest engagement `at`, `templateKey`, `sequenceId`, `ver` |
//! | aux | `LINK#T#<template>` / `LINK#ALL` | `<day>#<hash>` | `templateKey`, `url`, `day`, `clicks`, `uniq` (ADD) |
//! | aux | `ROW#<table>#<partition>` | hex of the sort key (`-` for none) | `v` (binary value), `ver` (rows of stateful folds) |
//! | aux | `CKPT` | projection name | `offset`, `version` |
//!
//! The first rows are the specialised layouts of the events, subscribers, rollups and links
//! projections; `ROW#` items are the generic rows of any other registered projection
//! ([`mailshot_projections::Layout::Rows`]), which this store keeps without knowing them.
//!
//! `nextToken` positions are the same bytes as the embedded store's keys, so both runtimes
//! answer identical JSON, tokens included.
//!
//! Files: `items` (the key and item layouts above, rows ↔ items), `reader` ([`DynamoReader`]),
//! `writer` ([`RecordWriter`], [`RowCache`], [`CacheUpdate`]); this one holds the low-level
//! DynamoDB calls they share.

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};

use super::item::Item;
use super::{Aws, AwsError};

mod items;
mod reader;
mod writer;

pub use items::{
    CHECKPOINT_PK, NO_SK, PROFILE_SK, ROW_PK_PREFIX, SUPPRESSED_PK, event_item, rollup_pk,
    subscriber_pk,
};
pub use reader::DynamoReader;
pub use writer::{CacheUpdate, RecordWriter, RowCache};

// ---------------------------------------------------------------------------------------------
// Low-level calls shared by reader and writer

impl Aws {
    /// A consistent GetItem.
    pub(crate) fn get_item(&self, table: &str, key: Item) -> Result<Option<Item>, AwsError> {
        self.count_reads(1);
        self.block(
            self.ddb
                .get_item()
                .table_name(table)
                .set_key(Some(key))
                .consistent_read(true)
                .send(),
        )
        .map(|out| out.item)
        .map_err(|e| AwsError::sdk("GetItem", table, e))
    }

    /// Puts `item` unconditionally; `op` names the operation in errors, e.g.
    /// `"PutItem (dead letter)"`.
    pub(crate) fn put_item(
        &self,
        table: &str,
        item: Item,
        op: &'static str,
    ) -> Result<(), AwsError> {
        self.block(
            self.ddb
                .put_item()
                .table_name(table)
                .set_item(Some(item))
                .send(),
        )
        .map(|_| ())
        .map_err(|e| AwsError::sdk(op, table, e))
    }

    /// Every page of a Query, calling `visit` on each item until it returns false.
    pub(crate) fn query_each(
        &self,
        build: impl Fn() -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
        table: &str,
        mut visit: impl FnMut(Item) -> Result<bool, AwsError>,
    ) -> Result<(), AwsError> {
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .block(build().set_exclusive_start_key(start.take()).send())
                .map_err(|e| AwsError::sdk("Query", table, e))?;
            let items = out.items.unwrap_or_default();
            self.count_reads((items.len() as u64).max(1));
            for item in items {
                if !visit(item)? {
                    return Ok(());
                }
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(()),
            }
        }
    }

    /// Every item of partition `pk` with a sort key from `a` to `b` inclusive (consistent
    /// reads, all pages), calling `visit` on each until it returns false.
    pub(crate) fn query_between(
        &self,
        table: &str,
        pk: &str,
        (a, b): (AttributeValue, AttributeValue),
        visit: impl FnMut(Item) -> Result<bool, AwsError>,
    ) -> Result<(), AwsError> {
        self.query_each(
            || {
                self.ddb
                    .query()
                    .table_name(table)
                    .key_condition_expression("pk = :p AND sk BETWEEN :a AND :b")
                    .expression_attribute_values(":p", AttributeValue::S(pk.to_string()))
                    .expression_attribute_values(":a", a.clone())
                    .expression_attribute_values(":b", b.clone())
                    .consistent_read(true)
            },
            table,
            visit,
        )
    }

    /// BatchGetItem of any number of keys (100 per call, unprocessed keys retried), consistent.
    pub(crate) fn batch_get(&self, table: &str, keys: Vec<Item>) -> Result<Vec<Item>, AwsError> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(100) {
            self.count_reads(chunk.len() as u64);
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| AwsError::Other(format!("BatchGetItem on {table}: {e}")))?,
            );
            let mut attempt = 0u32;
            while let Some(request) = pending.take() {
                let out = self
                    .block(
                        self.ddb
                            .batch_get_item()
                            .request_items(table, request)
                            .send(),
                    )
                    .map_err(|e| AwsError::sdk("BatchGetItem", table, e))?;
                if let Some(mut r) = out.responses {
                    found.extend(r.remove(table).unwrap_or_default());
                }
                if let Some(mut u) = out.unprocessed_keys
                    && let Some(rest) = u.remove(table)
                    && !rest.keys.is_empty()
                {
                    attempt += 1;
                    self.backoff(attempt);
                    pending = Some(rest);
                }
            }
        }
        Ok(found)
    }

    /// Sleeps 25 ms × 2^attempt (capped at 2 s) before a retry.
    pub(crate) fn backoff(&self, attempt: u32) {
        let ms = 25u64.saturating_mul(1 << attempt.min(7)).min(2_000);
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}
