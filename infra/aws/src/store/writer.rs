//! [`RecordWriter`] (one record's fold as transaction items), [`RowCache`] and [`CacheUpdate`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use mailshot_domain::Timestamp;
use mailshot_domain::log::Offset;
use mailshot_projections::rollups::{Counts, RollupKey, SLOTS};
use mailshot_projections::{
    EngagementKey, EventRow, FirstEngagement, LinkKey, Projection, ProjectionWriter, RowKey,
    RowSink, Subscriber, Table,
};

use super::items::{
    CHECKPOINT_PK, NO_SK, PROFILE_SK, SUPPRESSED_PK, engagement_pk, event_item, history_sk, key,
    link_items, rollup_pk, row_key, row_value, subscriber_doc, subscriber_pk,
};
use crate::item::{Item, get_i64, get_s, n, opt_i64, s};
use crate::{Aws, AwsError, Tables};

/// Rows read from DynamoDB with the version they had, kept across the records of a batch so
/// that a subscriber touched by many records is read once. Cleared whenever a transaction is
/// rejected (a concurrent writer may have changed what it holds).
#[derive(Debug, Default)]
pub struct RowCache {
    subscribers: HashMap<String, (Option<i64>, Option<Subscriber>)>,
    first: HashMap<EngagementKey, (Option<i64>, Option<FirstEngagement>)>,
    rows: HashMap<GenericKey, (Option<i64>, Option<Vec<u8>>)>,
}

/// A generic row's key, owned: (table, partition, sort key).
type GenericKey = (Table, String, Vec<u8>);

fn generic_key(table: Table, key: RowKey<'_>) -> GenericKey {
    (table, key.partition.to_string(), key.sort.to_vec())
}

/// Above this many cached rows the cache starts over (memory stays bounded).
const CACHE_ROWS: usize = 200_000;

impl RowCache {
    /// Forgets everything.
    pub fn clear(&mut self) {
        self.subscribers.clear();
        self.first.clear();
        self.rows.clear();
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
    /// Generic rows of write-only folds: put unconditionally.
    rows: BTreeMap<GenericKey, Vec<u8>>,
    /// Generic rows of stateful folds: put only if still at the version read.
    state_rows: BTreeMap<GenericKey, Vec<u8>>,
    checkpoints: BTreeMap<Projection, Offset>,
}

impl<'a> RecordWriter<'a> {
    /// An empty buffer over `tables`.
    pub fn new(aws: &'a Aws, tables: &'a Tables, cache: &'a mut RowCache) -> Self {
        if cache.subscribers.len() + cache.first.len() + cache.rows.len() > CACHE_ROWS {
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
            rows: BTreeMap::new(),
            state_rows: BTreeMap::new(),
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
            + self.rows.len()
            + self.state_rows.len()
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
        for ((table, partition, sort), value) in &self.rows {
            let mut item = row_key(*table, RowKey { partition, sort });
            item.insert("v".into(), AttributeValue::B(Blob::new(value.clone())));
            items.push(put(&t.aux, item, None)?);
        }
        for (k, value) in &self.state_rows {
            let ver = self.cache.rows.get(k).and_then(|(ver, _)| *ver);
            let (table, partition, sort) = k;
            let mut item = row_key(*table, RowKey { partition, sort });
            item.insert("v".into(), AttributeValue::B(Blob::new(value.clone())));
            let new_ver = ver.unwrap_or(0) + 1;
            item.insert("ver".into(), n(new_ver));
            items.push(put(&t.aux, item, Some((String::new(), ver)))?);
            update.rows.push((k.clone(), new_ver, value.clone()));
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
    rows: Vec<(GenericKey, i64, Vec<u8>)>,
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
        for (k, ver, v) in self.rows {
            cache.rows.insert(k, (Some(ver), Some(v)));
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

impl RowSink for RecordWriter<'_> {
    type Error = AwsError;

    fn put_event(&mut self, row: &EventRow) -> Result<(), AwsError> {
        self.events
            .insert((row.email.clone(), row.sort_key.clone()), row.clone());
        Ok(())
    }

    fn add_history(&mut self, email: &str, offset: Offset) -> Result<(), AwsError> {
        self.history.insert((email.to_string(), offset));
        Ok(())
    }

    fn put_row(&mut self, table: Table, key: RowKey<'_>, value: &[u8]) -> Result<(), AwsError> {
        self.rows.insert(generic_key(table, key), value.to_vec());
        Ok(())
    }
}

impl ProjectionWriter for RecordWriter<'_> {
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

    fn add_link_counts(&mut self, k: &LinkKey, clicks: i64, unique: i64) -> Result<(), AwsError> {
        let e = self.links.entry(k.clone()).or_default();
        e.0 += clicks;
        e.1 += unique;
        Ok(())
    }

    fn get_row(&mut self, table: Table, k: RowKey<'_>) -> Result<Option<Vec<u8>>, AwsError> {
        let (aws, aux) = (self.aws, &self.tables.aux);
        let owned = generic_key(table, k);
        read_through(
            self.state_rows.get(&owned),
            &mut self.cache.rows,
            &owned,
            || {
                let Some(item) = aws.get_item(aux, row_key(table, k))? else {
                    return Ok((None, None));
                };
                Ok((opt_i64(&item, "ver", aux)?, Some(row_value(&item, aux)?)))
            },
        )
    }

    fn set_row(&mut self, table: Table, k: RowKey<'_>, value: &[u8]) -> Result<(), AwsError> {
        let owned = generic_key(table, k);
        if !self.cache.rows.contains_key(&owned) {
            // Learn the stored version, so the conditional put can check it.
            ProjectionWriter::get_row(self, table, k)?;
        }
        self.state_rows.insert(owned, value.to_vec());
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
