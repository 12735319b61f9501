//! The DynamoDB projection store: [`DynamoReader`] answers the query contract with Query,
//! GetItem and BatchGetItem (never Scan); [`RecordWriter`] buffers one record's fold and turns
//! it into the items of one `TransactWriteItems` (see the exactly-once scheme in the module
//! doc of [`crate::aws`]).
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
//! | aux | `CKPT` | projection name | `offset`, `version` |
//!
//! `nextToken` positions are the same bytes as the embedded store's keys, so both runtimes
//! answer identical JSON, tokens included.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, KeysAndAttributes, Put, TransactWriteItem, Update,
};
use mailshot_domain::Timestamp;
use mailshot_domain::log::Offset;
use mailshot_projections::rollups::{Counts, Level, RollupKey, SLOTS, Scope};
use mailshot_projections::{
    EngagementKey, EngagementKind, EventKey, EventRow, EventScan, FirstEngagement, LinkCount,
    LinkKey, Page, Partition, Projection, ProjectionReader, ProjectionWriter, Subscriber,
};
use serde_json::Value;

use super::item::{Item, from_json, get_i64, get_s, hash_hex, n, opt_i64, s, to_json};
use super::{Aws, AwsError, Tables};

// ---------------------------------------------------------------------------------------------
// Keys

fn push_part(out: &mut Vec<u8>, part: &str) {
    let len = u16::try_from(part.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&part.as_bytes()[..usize::from(len)]);
}

/// The embedded store's key of an event row in `partition` (the `nextToken` position).
fn position(partition: &Partition, row: &EventRow) -> Vec<u8> {
    let mut out = Vec::new();
    match partition {
        Partition::Subscriber(_) => {
            push_part(&mut out, &row.email);
            out.extend_from_slice(row.sort_key.as_bytes());
        }
        Partition::Template(p) | Partition::Sequence(p) => {
            push_part(&mut out, p);
            out.extend_from_slice(row.sort_key.as_bytes());
            out.push(0);
            out.extend_from_slice(row.email.as_bytes());
        }
    }
    out
}

fn partition_prefix(partition: &Partition) -> Vec<u8> {
    let mut out = Vec::new();
    match partition {
        Partition::Subscriber(p) | Partition::Template(p) | Partition::Sequence(p) => {
            push_part(&mut out, p)
        }
    }
    out
}

/// `SUB#<email>`.
pub fn subscriber_pk(email: &str) -> String {
    format!("SUB#{email}")
}

/// The sort key of a profile item.
pub const PROFILE_SK: &str = "PROFILE";
/// The partition of the suppressed list.
pub const SUPPRESSED_PK: &str = "SUPPRESSED";

fn history_sk(offset: Offset) -> String {
    format!("HIST#{offset:020}")
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Day => "d",
        Level::Month => "m",
        Level::Year => "y",
    }
}

/// The partition of one scope's rollup rows at one level; the period is the (numeric) sort key.
pub fn rollup_pk(scope: &Scope, level: Level) -> String {
    let scope = match scope {
        Scope::All => "all".to_string(),
        Scope::Template(t) => format!("t{}:{t}", t.len()),
        Scope::Sequence(q) => format!("s{}:{q}", q.len()),
        Scope::TemplateSequence(t, q) => format!("x{}:{t}{}:{q}", t.len(), q.len()),
    };
    format!("R#{}#{scope}", level_name(level))
}

fn engagement_pk(key: &EngagementKey) -> String {
    let kind = match key.kind {
        EngagementKind::Open => "o",
        EngagementKind::Click => "c",
        EngagementKind::LinkClick => "l",
    };
    format!("FE#{kind}#{}", hash_hex(&[&key.subject, &key.email]))
}

fn day_part(day: i32) -> String {
    format!("{:09}", i64::from(day) + 100_000_000)
}

fn link_items(key: &LinkKey) -> [(String, String); 2] {
    let day = day_part(key.day);
    [
        (
            format!("LINK#T#{}", key.template_key),
            format!("{day}#{}", hash_hex(&[&key.url])),
        ),
        (
            "LINK#ALL".to_string(),
            format!("{day}#{}", hash_hex(&[&key.template_key, &key.url])),
        ),
    ]
}

/// The sort key of a placeholder item (a partition with one item).
pub const NO_SK: &str = "-";
/// The partition of the checkpoint items.
pub const CHECKPOINT_PK: &str = "CKPT";

fn key(pk: String, sk: AttributeValue) -> Item {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), sk)])
}

// ---------------------------------------------------------------------------------------------
// Rows ↔ items

/// The item of an event row.
pub fn event_item(row: &EventRow) -> Item {
    let mut item = key(subscriber_pk(&row.email), s(&row.sort_key));
    if let Ok(Value::Object(map)) = serde_json::to_value(row) {
        for (k, v) in map {
            // GSI key attributes cannot be empty strings: such rows stay out of that index.
            let empty_key = (k == "templateKey" || k == "sequenceId") && v == "";
            if k == "sortKey" || v.is_null() || empty_key {
                continue;
            }
            item.insert(k, from_json(&v));
        }
    }
    item
}

fn event_row(item: &Item, table: &str) -> Result<EventRow, AwsError> {
    let mut map = serde_json::Map::new();
    for (k, v) in item {
        if k != "pk" && k != "sk" {
            map.insert(k.clone(), to_json(v));
        }
    }
    map.insert(
        "sortKey".into(),
        Value::String(get_s(item, "sk", table)?.into()),
    );
    for k in ["templateKey", "sequenceId"] {
        map.entry(k).or_insert_with(|| Value::String(String::new()));
    }
    serde_json::from_value(Value::Object(map)).map_err(|e| AwsError::Corrupt {
        table: table.to_string(),
        reason: format!("event row: {e}"),
    })
}

fn subscriber_doc(item: &Item, table: &str) -> Result<(Subscriber, i64), AwsError> {
    let doc = get_s(item, "doc", table)?;
    let sub = serde_json::from_str(doc).map_err(|e| AwsError::Corrupt {
        table: table.to_string(),
        reason: format!("subscriber doc: {e}"),
    })?;
    Ok((sub, opt_i64(item, "ver", table)?.unwrap_or(0)))
}

fn counts_of(item: &Item) -> Counts {
    let mut c = Counts::default();
    for (i, slot) in c.0.iter_mut().enumerate() {
        if let Some(AttributeValue::N(v)) = item.get(&format!("c{i}")) {
            *slot = v.parse().unwrap_or(0);
        }
    }
    c
}

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

// ---------------------------------------------------------------------------------------------
// Reader

/// Reads the projections of one generation. Every read is strongly consistent except Queries
/// on the GSIs (DynamoDB offers only eventual consistency there).
#[derive(Debug, Clone)]
pub struct DynamoReader {
    aws: Aws,
    tables: Tables,
}

impl DynamoReader {
    /// A reader of `tables`.
    pub fn new(aws: &Aws, tables: Tables) -> DynamoReader {
        DynamoReader {
            aws: aws.clone(),
            tables,
        }
    }

    /// The tables read.
    pub fn tables(&self) -> &Tables {
        &self.tables
    }
}

impl ProjectionReader for DynamoReader {
    type Error = AwsError;

    fn scan_events(&self, scan: &EventScan<'_>) -> Result<Page<EventRow>, AwsError> {
        let table = &self.tables.events;
        let (index, pk_attr, pk) = match scan.partition {
            Partition::Subscriber(e) => (None, "pk", subscriber_pk(e)),
            Partition::Template(t) => (Some("TemplateIndex"), "templateKey", t.clone()),
            Partition::Sequence(q) => (Some("SequenceIndex"), "sequenceId", q.clone()),
        };
        let empty = || Page {
            items: vec![],
            next: None,
        };
        if pk.is_empty() {
            return Ok(empty());
        }
        let prefix = partition_prefix(scan.partition);
        let mut upper = scan.sort_to.clone();
        if let Some(after) = scan.after {
            if !after.starts_with(&prefix) {
                return Ok(empty());
            }
            let rest = &after[prefix.len()..];
            let sk = match scan.partition {
                Partition::Subscriber(_) => rest,
                _ => rest.split(|&b| b == 0).next().unwrap_or(rest),
            };
            let sk = String::from_utf8_lossy(sk).into_owned();
            if sk < upper {
                upper = sk;
            }
        }
        if scan.sort_from > upper {
            return Ok(empty());
        }
        let mut items = Vec::new();
        let mut last: Option<Vec<u8>> = None;
        let mut next: Option<Vec<u8>> = None;
        let page_size = (scan.limit as i32).saturating_add(1).clamp(1, 1000);
        self.aws.query_each(
            || {
                self.aws
                    .ddb
                    .query()
                    .table_name(table)
                    .set_index_name(index.map(str::to_string))
                    .key_condition_expression("#p = :p AND sk BETWEEN :a AND :b")
                    .expression_attribute_names("#p", pk_attr)
                    .expression_attribute_values(":p", s(&pk))
                    .expression_attribute_values(":a", s(&scan.sort_from))
                    .expression_attribute_values(":b", s(&upper))
                    .scan_index_forward(false)
                    .consistent_read(index.is_none())
                    .limit(page_size)
            },
            table,
            |item| {
                let row = event_row(&item, table)?;
                if row.sort_key >= scan.sort_to {
                    return Ok(true);
                }
                let pos = position(scan.partition, &row);
                if scan.after.is_some_and(|a| pos.as_slice() >= a) {
                    return Ok(true);
                }
                if let Some(t) = scan.event_type
                    && row.sort_key.split('#').nth(2) != Some(t)
                {
                    return Ok(true);
                }
                if row.expired(scan.now) {
                    return Ok(true);
                }
                if items.len() == scan.limit {
                    next = last.take();
                    return Ok(false);
                }
                last = Some(pos);
                items.push(row);
                Ok(true)
            },
        )?;
        Ok(Page { items, next })
    }

    fn event(&self, k: &EventKey) -> Result<Option<EventRow>, AwsError> {
        let table = &self.tables.events;
        self.aws
            .get_item(table, key(subscriber_pk(&k.email), s(&k.sort_key)))?
            .map(|item| event_row(&item, table))
            .transpose()
    }

    fn sum_counts(
        &self,
        scope: &Scope,
        level: Level,
        from: i32,
        to: i32,
    ) -> Result<Counts, AwsError> {
        let table = &self.tables.rollups;
        let mut total = Counts::default();
        if from > to {
            return Ok(total);
        }
        let pk = rollup_pk(scope, level);
        self.aws.query_each(
            || {
                self.aws
                    .ddb
                    .query()
                    .table_name(table)
                    .key_condition_expression("pk = :p AND sk BETWEEN :a AND :b")
                    .expression_attribute_values(":p", s(&pk))
                    .expression_attribute_values(":a", n(from))
                    .expression_attribute_values(":b", n(to))
                    .consistent_read(true)
            },
            table,
            |item| {
                total.add(&counts_of(&item));
                Ok(true)
            },
        )?;
        Ok(total)
    }

    fn subscriber(&self, email: &str) -> Result<Option<Subscriber>, AwsError> {
        let table = &self.tables.subscribers;
        self.aws
            .get_item(table, key(subscriber_pk(email), s(PROFILE_SK)))?
            .map(|item| subscriber_doc(&item, table).map(|(sub, _)| sub))
            .transpose()
    }

    fn suppressed(&self, limit: usize, after: Option<&[u8]>) -> Result<Page<Subscriber>, AwsError> {
        let table = &self.tables.subscribers;
        let after = after.map(|a| String::from_utf8_lossy(a).into_owned());
        let mut emails = Vec::new();
        self.aws.query_each(
            || {
                let q = self
                    .aws
                    .ddb
                    .query()
                    .table_name(table)
                    .expression_attribute_values(":p", s(SUPPRESSED_PK))
                    .consistent_read(true)
                    .limit((limit as i32).saturating_add(1).clamp(1, 1000));
                match &after {
                    Some(a) => q
                        .key_condition_expression("pk = :p AND sk > :a")
                        .expression_attribute_values(":a", s(a)),
                    None => q.key_condition_expression("pk = :p"),
                }
            },
            table,
            |item| {
                emails.push(get_s(&item, "sk", table)?.to_string());
                Ok(emails.len() <= limit)
            },
        )?;
        let more = emails.len() > limit;
        emails.truncate(limit);
        let keys = emails
            .iter()
            .map(|e| key(subscriber_pk(e), s(PROFILE_SK)))
            .collect();
        let mut by_email = BTreeMap::new();
        for item in self.aws.batch_get(table, keys)? {
            let (sub, _) = subscriber_doc(&item, table)?;
            by_email.insert(sub.email.clone(), sub);
        }
        let items: Vec<Subscriber> = emails.iter().filter_map(|e| by_email.remove(e)).collect();
        let next = if more {
            emails.last().map(|e| e.as_bytes().to_vec())
        } else {
            None
        };
        Ok(Page { items, next })
    }

    fn history(&self, email: &str) -> Result<Vec<Offset>, AwsError> {
        let table = &self.tables.subscribers;
        let mut out = Vec::new();
        self.aws.query_each(
            || {
                self.aws
                    .ddb
                    .query()
                    .table_name(table)
                    .key_condition_expression("pk = :p AND begins_with(sk, :h)")
                    .expression_attribute_values(":p", s(subscriber_pk(email)))
                    .expression_attribute_values(":h", s("HIST#"))
                    .consistent_read(true)
            },
            table,
            |item| {
                let sk = get_s(&item, "sk", table)?;
                let offset = sk["HIST#".len()..].parse().map_err(|_| AwsError::Corrupt {
                    table: table.clone(),
                    reason: format!("history key {sk:?}"),
                })?;
                out.push(offset);
                Ok(true)
            },
        )?;
        Ok(out)
    }

    fn link_counts(
        &self,
        template_key: Option<&str>,
        from_day: i32,
        to_day: i32,
    ) -> Result<Vec<LinkCount>, AwsError> {
        let table = &self.tables.aux;
        if from_day > to_day {
            return Ok(vec![]);
        }
        let pk = match template_key {
            Some(t) => format!("LINK#T#{t}"),
            None => "LINK#ALL".to_string(),
        };
        let (a, b) = (
            format!("{}#", day_part(from_day)),
            format!("{}#~", day_part(to_day)),
        );
        let mut sums: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
        self.aws.query_each(
            || {
                self.aws
                    .ddb
                    .query()
                    .table_name(table)
                    .key_condition_expression("pk = :p AND sk BETWEEN :a AND :b")
                    .expression_attribute_values(":p", s(&pk))
                    .expression_attribute_values(":a", s(&a))
                    .expression_attribute_values(":b", s(&b))
                    .consistent_read(true)
            },
            table,
            |item| {
                let url = get_s(&item, "url", table)?.to_string();
                let t = get_s(&item, "templateKey", table)?.to_string();
                let e = sums.entry((url, t)).or_default();
                e.0 += get_i64(&item, "clicks", table)?;
                e.1 += get_i64(&item, "uniq", table)?;
                Ok(true)
            },
        )?;
        Ok(sums
            .into_iter()
            .map(|((url, template_key), (clicks, unique_clicks))| LinkCount {
                url,
                template_key,
                clicks,
                unique_clicks,
            })
            .collect())
    }

    fn checkpoint(&self, projection: Projection) -> Result<Option<Offset>, AwsError> {
        let table = &self.tables.aux;
        match self
            .aws
            .get_item(table, key(CHECKPOINT_PK.into(), s(projection.name())))?
        {
            Some(item) => Ok(Some(get_i64(&item, "offset", table)? as Offset)),
            None => Ok(None),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Writer

/// Rows read from DynamoDB with the version they had, kept across the records of a batch so
/// that a subscriber touched by many records is read once. Cleared whenever a transaction is
/// rejected (a concurrent writer may have changed what it holds).
#[derive(Debug, Default)]
pub struct RowCache {
    subscribers: HashMap<String, (Option<i64>, Option<Subscriber>)>,
    first: HashMap<EngagementKey, (Option<i64>, Option<FirstEngagement>)>,
}

/// Above this many cached rows the cache starts over (memory stays bounded).
const CACHE_ROWS: usize = 200_000;

impl RowCache {
    /// Forgets everything.
    pub fn clear(&mut self) {
        self.subscribers.clear();
        self.first.clear();
    }
}

/// Buffers the writes of one record's fold. Reads go to the batch's cache, then to DynamoDB
/// (consistent reads). [`RecordWriter::into_items`] turns the buffer into transaction items.
pub struct RecordWriter<'a> {
    aws: &'a Aws,
    tables: &'a Tables,
    cache: &'a mut RowCache,
    events: BTreeMap<(String, String), EventRow>,
    counts: BTreeMap<RollupKey, Counts>,
    first: BTreeMap<EngagementKey, FirstEngagement>,
    subscribers: BTreeMap<String, Subscriber>,
    history: BTreeSet<(String, Offset)>,
    links: BTreeMap<LinkKey, (i64, i64)>,
    checkpoints: BTreeMap<Projection, Offset>,
}

impl<'a> RecordWriter<'a> {
    /// An empty buffer over `tables`.
    pub fn new(aws: &'a Aws, tables: &'a Tables, cache: &'a mut RowCache) -> Self {
        if cache.subscribers.len() + cache.first.len() > CACHE_ROWS {
            cache.clear();
        }
        RecordWriter {
            aws,
            tables,
            cache,
            events: BTreeMap::new(),
            counts: BTreeMap::new(),
            first: BTreeMap::new(),
            subscribers: BTreeMap::new(),
            history: BTreeSet::new(),
            links: BTreeMap::new(),
            checkpoints: BTreeMap::new(),
        }
    }

    /// How many transaction items [`RecordWriter::into_items`] will produce.
    pub fn item_count(&self) -> usize {
        let suppressed = self
            .subscribers
            .iter()
            .filter(|(email, sub)| sub.suppression().is_some() || self.was_suppressed(email))
            .count();
        self.events.len()
            + self.counts.values().filter(|c| !c.is_zero()).count()
            + self.first.len()
            + self.subscribers.len()
            + suppressed
            + self.history.len()
            + self.links.len() * 2
            + self.checkpoints.len()
    }

    fn was_suppressed(&self, email: &str) -> bool {
        matches!(self.cache.subscribers.get(email), Some((_, Some(s))) if s.suppression().is_some())
    }

    /// The transaction items, and what to remember in the cache once they are committed.
    pub fn into_items(self) -> Result<(Vec<TransactWriteItem>, CacheUpdate), AwsError> {
        let t = self.tables;
        let mut items = Vec::with_capacity(self.item_count());
        let put = |table: &str, item: Item, cond: Option<(String, Option<i64>)>| {
            let mut p = Put::builder().table_name(table).set_item(Some(item));
            if let Some((_, ver)) = cond {
                p = match ver {
                    Some(v) => p
                        .condition_expression("ver = :v")
                        .expression_attribute_values(":v", n(v)),
                    None => p.condition_expression("attribute_not_exists(pk)"),
                };
            }
            p.build()
                .map(|p| TransactWriteItem::builder().put(p).build())
                .map_err(|e| AwsError::Other(format!("building a put on {table}: {e}")))
        };
        for row in self.events.values() {
            items.push(put(&t.events, event_item(row), None)?);
        }
        for (k, c) in &self.counts {
            if c.is_zero() {
                continue;
            }
            let mut expr = Vec::new();
            let mut u = Update::builder()
                .table_name(&t.rollups)
                .set_key(Some(key(rollup_pk(&k.scope, k.level), n(k.period))));
            for (i, v) in c.0.iter().enumerate().take(SLOTS) {
                if *v != 0 {
                    expr.push(format!("c{i} :c{i}"));
                    u = u.expression_attribute_values(format!(":c{i}"), n(v));
                }
            }
            let u = u
                .update_expression(format!("ADD {}", expr.join(", ")))
                .build()
                .map_err(|e| AwsError::Other(format!("building a rollup update: {e}")))?;
            items.push(TransactWriteItem::builder().update(u).build());
        }
        let mut update = CacheUpdate::default();
        for (k, v) in &self.first {
            let ver = self.cache.first.get(k).and_then(|(ver, _)| *ver);
            let mut item = key(engagement_pk(k), s(NO_SK));
            item.insert("at".into(), n(v.at.0));
            item.insert("templateKey".into(), s(&v.template_key));
            item.insert("sequenceId".into(), s(&v.sequence_id));
            let new_ver = ver.unwrap_or(0) + 1;
            item.insert("ver".into(), n(new_ver));
            items.push(put(&t.aux, item, Some((String::new(), ver)))?);
            update.first.push((k.clone(), new_ver, v.clone()));
        }
        for (email, sub) in &self.subscribers {
            let cached = self.cache.subscribers.get(email);
            let ver = cached.and_then(|(ver, _)| *ver);
            let json = serde_json::to_string(sub).map_err(|e| AwsError::Other(e.to_string()))?;
            let mut item = key(subscriber_pk(email), s(PROFILE_SK));
            item.insert("doc".into(), s(json));
            let new_ver = ver.unwrap_or(0) + 1;
            item.insert("ver".into(), n(new_ver));
            items.push(put(&t.subscribers, item, Some((String::new(), ver)))?);
            let marker = key(SUPPRESSED_PK.into(), s(email));
            if let Some(sup) = sub.suppression() {
                let mut m = marker;
                m.insert("reason".into(), s(sup.reason));
                m.insert("at".into(), s(sup.at));
                items.push(put(&t.subscribers, m, None)?);
            } else if self.was_suppressed(email) {
                let d = Delete::builder()
                    .table_name(&t.subscribers)
                    .set_key(Some(marker))
                    .build()
                    .map_err(|e| AwsError::Other(format!("building a delete: {e}")))?;
                items.push(TransactWriteItem::builder().delete(d).build());
            }
            update
                .subscribers
                .push((email.clone(), new_ver, sub.clone()));
        }
        for (email, offset) in &self.history {
            items.push(put(
                &t.subscribers,
                key(subscriber_pk(email), s(history_sk(*offset))),
                None,
            )?);
        }
        for (k, (clicks, uniq)) in &self.links {
            for (pk, sk) in link_items(k) {
                let u = Update::builder()
                    .table_name(&t.aux)
                    .set_key(Some(key(pk, s(sk))))
                    .update_expression("SET #t = :t, #u = :u, #d = :d ADD #c :c, #q :q")
                    .expression_attribute_names("#t", "templateKey")
                    .expression_attribute_names("#u", "url")
                    .expression_attribute_names("#d", "day")
                    .expression_attribute_names("#c", "clicks")
                    .expression_attribute_names("#q", "uniq")
                    .expression_attribute_values(":t", s(&k.template_key))
                    .expression_attribute_values(":u", s(&k.url))
                    .expression_attribute_values(":d", n(k.day))
                    .expression_attribute_values(":c", n(clicks))
                    .expression_attribute_values(":q", n(uniq))
                    .build()
                    .map_err(|e| AwsError::Other(format!("building a links update: {e}")))?;
                items.push(TransactWriteItem::builder().update(u).build());
            }
        }
        for (p, offset) in &self.checkpoints {
            let mut item = key(CHECKPOINT_PK.into(), s(p.name()));
            item.insert("offset".into(), n(offset));
            item.insert("version".into(), n(p.version()));
            items.push(put(&t.aux, item, None)?);
        }
        Ok((items, update))
    }
}

/// The rows a committed transaction wrote, with their new versions, for the cache.
#[derive(Debug, Default)]
pub struct CacheUpdate {
    subscribers: Vec<(String, i64, Subscriber)>,
    first: Vec<(EngagementKey, i64, FirstEngagement)>,
}

impl CacheUpdate {
    /// Records the committed rows in `cache`.
    pub fn apply(self, cache: &mut RowCache) {
        for (email, ver, sub) in self.subscribers {
            cache.subscribers.insert(email, (Some(ver), Some(sub)));
        }
        for (k, ver, v) in self.first {
            cache.first.insert(k, (Some(ver), Some(v)));
        }
    }
}

/// A read through a record's own writes, then the batch cache, then `load` (whose answer,
/// with the stored version, is cached).
fn read_through<K, Q, V>(
    written: Option<&V>,
    cache: &mut HashMap<K, (Option<i64>, Option<V>)>,
    k: &Q,
    load: impl FnOnce() -> Result<(Option<i64>, Option<V>), AwsError>,
) -> Result<Option<V>, AwsError>
where
    K: std::borrow::Borrow<Q> + std::hash::Hash + Eq,
    Q: ToOwned<Owned = K> + std::hash::Hash + Eq + ?Sized,
    V: Clone,
{
    if let Some(v) = written {
        return Ok(Some(v.clone()));
    }
    if let Some((_, v)) = cache.get(k) {
        return Ok(v.clone());
    }
    let loaded = load()?;
    let value = loaded.1.clone();
    cache.insert(k.to_owned(), loaded);
    Ok(value)
}

impl ProjectionWriter for RecordWriter<'_> {
    type Error = AwsError;

    fn put_event(&mut self, row: &EventRow) -> Result<(), AwsError> {
        self.events
            .insert((row.email.clone(), row.sort_key.clone()), row.clone());
        Ok(())
    }

    fn add_counts(&mut self, key: &RollupKey, deltas: &Counts) -> Result<(), AwsError> {
        self.counts.entry(key.clone()).or_default().add(deltas);
        Ok(())
    }

    fn first_engagement(&mut self, k: &EngagementKey) -> Result<Option<FirstEngagement>, AwsError> {
        let (aws, table) = (self.aws, &self.tables.aux);
        read_through(self.first.get(k), &mut self.cache.first, k, || {
            let Some(item) = aws.get_item(table, key(engagement_pk(k), s(NO_SK)))? else {
                return Ok((None, None));
            };
            Ok((
                opt_i64(&item, "ver", table)?,
                Some(FirstEngagement {
                    at: Timestamp(get_i64(&item, "at", table)?),
                    template_key: get_s(&item, "templateKey", table)?.to_string(),
                    sequence_id: get_s(&item, "sequenceId", table)?.to_string(),
                }),
            ))
        })
    }

    fn set_first_engagement(
        &mut self,
        k: &EngagementKey,
        value: &FirstEngagement,
    ) -> Result<(), AwsError> {
        if !self.cache.first.contains_key(k) {
            // Learn the stored version, so the conditional put can check it.
            self.first_engagement(k)?;
        }
        self.first.insert(k.clone(), value.clone());
        Ok(())
    }

    fn subscriber(&mut self, email: &str) -> Result<Option<Subscriber>, AwsError> {
        let (aws, table) = (self.aws, &self.tables.subscribers);
        read_through(
            self.subscribers.get(email),
            &mut self.cache.subscribers,
            email,
            || {
                let Some(item) = aws.get_item(table, key(subscriber_pk(email), s(PROFILE_SK)))?
                else {
                    return Ok((None, None));
                };
                let (sub, ver) = subscriber_doc(&item, table)?;
                Ok((Some(ver), Some(sub)))
            },
        )
    }

    fn put_subscriber(&mut self, subscriber: &Subscriber) -> Result<(), AwsError> {
        if !self.cache.subscribers.contains_key(&subscriber.email) {
            ProjectionWriter::subscriber(self, &subscriber.email)?;
        }
        self.subscribers
            .insert(subscriber.email.clone(), subscriber.clone());
        Ok(())
    }

    fn add_history(&mut self, email: &str, offset: Offset) -> Result<(), AwsError> {
        self.history.insert((email.to_string(), offset));
        Ok(())
    }

    fn add_link_counts(&mut self, k: &LinkKey, clicks: i64, unique: i64) -> Result<(), AwsError> {
        let e = self.links.entry(k.clone()).or_default();
        e.0 += clicks;
        e.1 += unique;
        Ok(())
    }

    fn set_checkpoint(
        &mut self,
        projection: Projection,
        next_offset: Offset,
    ) -> Result<(), AwsError> {
        self.checkpoints.insert(projection, next_offset);
        Ok(())
    }
}
