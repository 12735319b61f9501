//! Key and item layouts of the projection tables (see the parent module doc); rows ↔ items.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use mailshot_domain::log::Offset;
use mailshot_projections::rollups::{Counts, Level, Scope};
use mailshot_projections::{
    EngagementKey, EngagementKind, EventRow, LinkKey, Partition, RowKey, Subscriber, Table,
};
use serde_json::Value;

use crate::AwsError;
use crate::item::{Item, from_json, get_s, hash_hex, opt_i64, s, to_json};

// ---------------------------------------------------------------------------------------------
// Keys

fn push_part(out: &mut Vec<u8>, part: &str) {
    let len = u16::try_from(part.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&part.as_bytes()[..usize::from(len)]);
}

/// The embedded store's key of an event row in `partition` (the `nextToken` position).
pub(super) fn position(partition: &Partition, row: &EventRow) -> Vec<u8> {
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

pub(super) fn partition_prefix(partition: &Partition) -> Vec<u8> {
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

pub(super) fn history_sk(offset: Offset) -> String {
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

pub(super) fn engagement_pk(key: &EngagementKey) -> String {
    let kind = match key.kind {
        EngagementKind::Open => "o",
        EngagementKind::Click => "c",
        EngagementKind::LinkClick => "l",
    };
    format!("FE#{kind}#{}", hash_hex(&[&key.subject, &key.email]))
}

pub(super) fn day_part(day: i32) -> String {
    format!("{:09}", i64::from(day) + 100_000_000)
}

pub(super) fn link_items(key: &LinkKey) -> [(String, String); 2] {
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

/// The prefix of the partitions of generic rows: `ROW#<table>#<partition>`.
pub const ROW_PK_PREFIX: &str = "ROW#";

/// The partition of the generic rows of `table` with partition `partition`.
pub(super) fn row_pk(table: Table, partition: &str) -> String {
    format!("{ROW_PK_PREFIX}{}#{partition}", table.name())
}

/// The sort key of a generic row: its bytes in lower-case hex (which sorts as the bytes do),
/// or [`NO_SK`] for none (before every hex text).
pub(super) fn row_sk(sort: &[u8]) -> String {
    if sort.is_empty() {
        NO_SK.to_string()
    } else {
        hex::encode(sort)
    }
}

/// The bytes of a generic row's sort key ([`row_sk`]).
pub(super) fn row_sort(sk: &str, table: &str) -> Result<Vec<u8>, AwsError> {
    if sk == NO_SK {
        return Ok(Vec::new());
    }
    hex::decode(sk).map_err(|_| AwsError::Corrupt {
        table: table.to_string(),
        reason: format!("generic row sort key {sk:?} is not hex"),
    })
}

/// The key of a generic row's item.
pub(super) fn row_key(table: Table, key: RowKey<'_>) -> Item {
    self::key(row_pk(table, key.partition), s(row_sk(key.sort)))
}

/// The value of a generic row's item (attribute `v`, binary).
pub(super) fn row_value(item: &Item, table: &str) -> Result<Vec<u8>, AwsError> {
    match item.get("v") {
        Some(AttributeValue::B(v)) => Ok(v.as_ref().to_vec()),
        _ => Err(AwsError::Corrupt {
            table: table.to_string(),
            reason: "generic row without a binary value `v`".into(),
        }),
    }
}
/// The partition of the checkpoint items.
pub const CHECKPOINT_PK: &str = "CKPT";

pub(super) fn key(pk: String, sk: AttributeValue) -> Item {
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

pub(super) fn event_row(item: &Item, table: &str) -> Result<EventRow, AwsError> {
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

pub(super) fn subscriber_doc(item: &Item, table: &str) -> Result<(Subscriber, i64), AwsError> {
    let doc = get_s(item, "doc", table)?;
    let sub = serde_json::from_str(doc).map_err(|e| AwsError::Corrupt {
        table: table.to_string(),
        reason: format!("subscriber doc: {e}"),
    })?;
    Ok((sub, opt_i64(item, "ver", table)?.unwrap_or(0)))
}

pub(super) fn counts_of(item: &Item) -> Counts {
    let mut c = Counts::default();
    for (i, slot) in c.0.iter_mut().enumerate() {
        if let Some(AttributeValue::N(v)) = item.get(&format!("c{i}")) {
            *slot = v.parse().unwrap_or(0);
        }
    }
    c
}
