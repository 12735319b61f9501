//! `get_subscriber_events`, `get_template_events`, `get_sequence_events`.

use mailshot_domain::{Day, Timestamp};
use serde_json::{Value, json};

use super::{EventsQuery, QueryError, token};
use crate::{EventScan, ProjectionReader};

/// Sort-key bounds of a date range: `EVT#<start>` inclusive to `EVT#<end + 1 day>` exclusive.
pub(crate) fn sort_bounds(start: Option<Day>, end: Option<Day>) -> (String, String) {
    let from = start.map_or_else(|| "EVT#".to_string(), |d| format!("EVT#{d}"));
    // '$' sorts right after '#': past every `EVT#…` key.
    let to = end.map_or_else(|| "EVT$".to_string(), |d| format!("EVT#{}", Day(d.0 + 1)));
    (from, to)
}

/// An event list, newest first, filtered by type and dates before the limit.
pub(super) fn events<R: ProjectionReader>(
    reader: &R,
    query: &EventsQuery,
    now: Timestamp,
) -> Result<Value, QueryError> {
    let scope = format!("{}:{:?}", query.list().tool(), query.partition);
    let after = match &query.next_token {
        Some(t) => Some(token::decode(&scope, t)?),
        None => None,
    };
    let (sort_from, sort_to) = sort_bounds(query.range.start(), query.range.end());
    let page = reader
        .scan_events(&EventScan {
            partition: &query.partition,
            sort_from,
            sort_to,
            event_type: query.event_type.map(|t| t.camel_name()),
            limit: query.limit.get(),
            after: after.as_deref(),
            now,
        })
        .map_err(QueryError::store)?;
    let items: Vec<Value> = page.items.iter().map(event_item).collect();
    Ok(json!({
        "items": items,
        "nextToken": page.next.map(|p| token::encode(&scope, &p)),
    }))
}

/// The JSON of one event item: the events-table fields plus `email` (the sort key is internal).
pub fn event_item(row: &crate::EventRow) -> Value {
    let mut v = serde_json::to_value(row).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        map.remove("sortKey");
    }
    v
}
