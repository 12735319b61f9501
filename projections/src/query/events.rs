//! `get_subscriber_events`, `get_template_events`, `get_sequence_events`.

use mailshot_domain::{Day, Timestamp};
use serde_json::{Value, json};

use super::{Args, QueryError, token};
use crate::{EventScan, Partition, ProjectionReader};

/// Sort-key bounds of a date range: `EVT#<start>` inclusive to `EVT#<end + 1 day>` exclusive.
pub(crate) fn sort_bounds(start: Option<Day>, end: Option<Day>) -> (String, String) {
    let from = start.map_or_else(|| "EVT#".to_string(), |d| format!("EVT#{d}"));
    // '$' sorts right after '#': past every `EVT#…` key.
    let to = end.map_or_else(|| "EVT$".to_string(), |d| format!("EVT#{}", Day(d.0 + 1)));
    (from, to)
}

/// An event list, newest first, filtered by type and dates before the limit.
pub fn events<R: ProjectionReader>(
    reader: &R,
    tool: &str,
    args: &Args<'_>,
    now: Timestamp,
) -> Result<Value, QueryError> {
    let partition = match tool {
        "get_subscriber_events" => Partition::Subscriber(args.email("email")?),
        "get_template_events" => Partition::Template(args.str("templateKey")?.to_string()),
        _ => Partition::Sequence(args.str("sequenceId")?.to_string()),
    };
    let event_type = args.event_type("eventType")?;
    let (start, end) = args.date_range()?;
    let limit = args.limit()?;
    let scope = format!("{tool}:{partition:?}");
    let after = match args.opt_str("nextToken")? {
        Some(t) => Some(token::decode(&scope, t)?),
        None => None,
    };
    let (sort_from, sort_to) = sort_bounds(start, end);
    let page = reader
        .scan_events(&EventScan {
            partition: &partition,
            sort_from,
            sort_to,
            event_type: event_type.map(|t| t.camel_name()),
            limit,
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
