//! [`DynamoReader`]: the query contract ([`ProjectionReader`]) answered from DynamoDB.

use std::collections::BTreeMap;

use mailshot_domain::log::Offset;
use mailshot_projections::rollups::{Counts, Level, Scope};
use mailshot_projections::{
    EventKey, EventRow, EventScan, LinkCount, Page, Partition, Projection, ProjectionReader, Row,
    RowKey, Subscriber, Table,
};

use super::items::{
    CHECKPOINT_PK, PROFILE_SK, SUPPRESSED_PK, counts_of, day_part, event_row, key,
    partition_prefix, position, rollup_pk, row_key, row_pk, row_sk, row_sort, row_value,
    subscriber_doc, subscriber_pk,
};
use crate::item::{get_i64, get_s, n, s};
use crate::{Aws, AwsError, Tables};

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

    /// One BatchGetItem per 100 keys instead of a GetItem per key.
    fn events(&self, keys: &[EventKey]) -> Result<Vec<Option<EventRow>>, AwsError> {
        let table = &self.tables.events;
        let mut unique: Vec<&EventKey> = keys.iter().collect();
        unique.sort();
        unique.dedup();
        let requests = unique
            .iter()
            .map(|k| key(subscriber_pk(&k.email), s(&k.sort_key)))
            .collect();
        let mut found = BTreeMap::new();
        for item in self.aws.batch_get(table, requests)? {
            let row = event_row(&item, table)?;
            found.insert(row.key(), row);
        }
        Ok(keys.iter().map(|k| found.get(k).cloned()).collect())
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
        self.aws
            .query_between(table, &pk, (n(from), n(to)), |item| {
                total.add(&counts_of(&item));
                Ok(true)
            })?;
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
        self.aws.query_between(table, &pk, (s(&a), s(&b)), |item| {
            let url = get_s(&item, "url", table)?.to_string();
            let t = get_s(&item, "templateKey", table)?.to_string();
            let e = sums.entry((url, t)).or_default();
            e.0 += get_i64(&item, "clicks", table)?;
            e.1 += get_i64(&item, "uniq", table)?;
            Ok(true)
        })?;
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

    fn get_row(&self, table: Table, k: RowKey<'_>) -> Result<Option<Vec<u8>>, AwsError> {
        let aux = &self.tables.aux;
        self.aws
            .get_item(aux, row_key(table, k))?
            .map(|item| row_value(&item, aux))
            .transpose()
    }

    fn scan_rows(
        &self,
        table: Table,
        partition: &str,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Page<Row>, AwsError> {
        let aux = &self.tables.aux;
        let pk = row_pk(table, partition);
        let after = after.map(row_sk);
        let mut items = Vec::new();
        let mut more = false;
        self.aws.query_each(
            || {
                let q = self
                    .aws
                    .ddb
                    .query()
                    .table_name(aux)
                    .expression_attribute_values(":p", s(&pk))
                    .consistent_read(true)
                    .limit((limit as i32).saturating_add(1).clamp(1, 1000));
                match &after {
                    Some(a) => q
                        .key_condition_expression("pk = :p AND sk > :a")
                        .expression_attribute_values(":a", s(a)),
                    None => q.key_condition_expression("pk = :p"),
                }
            },
            aux,
            |item| {
                if items.len() == limit {
                    more = true;
                    return Ok(false);
                }
                items.push(Row {
                    sort: row_sort(get_s(&item, "sk", aux)?, aux)?,
                    value: row_value(&item, aux)?,
                });
                Ok(true)
            },
        )?;
        let next = if more {
            items.last().map(|r: &Row| r.sort.clone())
        } else {
            None
        };
        Ok(Page { items, next })
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
