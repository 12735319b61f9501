//! `get_delivery_stats`: counts, uniques and rates from at most five rollup range reads.

use mailshot_domain::EventType;
use serde_json::{Map, Value, json};

use super::{QueryError, StatsQuery};
use crate::ProjectionReader;
use crate::rollups::{Counts, MAX_DAY, MIN_DAY, Scope, UNIQUE_CLICK, UNIQUE_OPEN, plan};

/// Delivery stats over `[startDate, endDate]` (open bounds allowed) for all mail, a template, a
/// sequence, or both. Cost: at most five ordered range reads of rollup rows (see
/// [`crate::rollups`]), whatever the number of events.
pub(super) fn delivery_stats<R: ProjectionReader>(
    reader: &R,
    query: &StatsQuery,
) -> Result<Value, QueryError> {
    let (start, end) = (query.range.start(), query.range.end());
    let scope = Scope::of_query(query.template_key.as_deref(), query.sequence_id.as_deref());
    let mut total = Counts::default();
    for run in plan(start.unwrap_or(MIN_DAY), end.unwrap_or(MAX_DAY)) {
        total.add(
            &reader
                .sum_counts(&scope, run.level, run.from, run.to)
                .map_err(QueryError::store)?,
        );
    }
    Ok(stats_json(
        &total,
        start.map(|d| d.to_string()),
        end.map(|d| d.to_string()),
    ))
}

/// The answer's JSON for summed counts.
pub fn stats_json(total: &Counts, start: Option<String>, end: Option<String>) -> Value {
    let mut counts = Map::new();
    let mut sum = 0;
    for t in EventType::ALL {
        counts.insert(t.camel_name().to_string(), json!(total.of(t)));
        sum += total.of(t);
    }
    let delivered = total.of(EventType::Delivery);
    let rate = |n: i64| {
        if delivered == 0 {
            0.0
        } else {
            n as f64 / delivered as f64
        }
    };
    json!({
        "period": {"startDate": start, "endDate": end},
        "counts": counts,
        "unique": {"open": total.0[UNIQUE_OPEN], "click": total.0[UNIQUE_CLICK]},
        "rates": {
            "open": rate(total.0[UNIQUE_OPEN]),
            "click": rate(total.0[UNIQUE_CLICK]),
            "bounce": rate(total.of(EventType::Bounce)),
            "complaint": rate(total.of(EventType::Complaint)),
        },
        "total": sum,
    })
}
