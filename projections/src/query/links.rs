//! `get_link_stats`: clicks and unique clickers per link, from the links projection.

use serde_json::{Value, json};

use super::{DateRange, QueryError};
use crate::ProjectionReader;
use crate::rollups::{MAX_DAY, MIN_DAY};

/// Links of one template (or all) over a date range, most clicked first.
pub(super) fn link_stats<R: ProjectionReader>(
    reader: &R,
    template_key: Option<&str>,
    range: DateRange,
) -> Result<Value, QueryError> {
    let mut rows = reader
        .link_counts(
            template_key,
            range.start().unwrap_or(MIN_DAY).0,
            range.end().unwrap_or(MAX_DAY).0,
        )
        .map_err(QueryError::store)?;
    rows.sort_by(|a, b| {
        b.clicks
            .cmp(&a.clicks)
            .then_with(|| a.template_key.cmp(&b.template_key))
            .then_with(|| a.url.cmp(&b.url))
    });
    let links: Vec<Value> = rows
        .into_iter()
        .filter(|r| r.clicks != 0 || r.unique_clicks != 0)
        .map(|r| {
            json!({"url": r.url, "templateKey": r.template_key, "clicks": r.clicks,
                   "uniqueClicks": r.unique_clicks})
        })
        .collect();
    Ok(json!({ "links": links }))
}
