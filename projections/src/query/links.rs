//! `get_link_stats`: clicks and unique clickers per link, from the links projection.

use serde_json::{Value, json};

use super::{Args, QueryError};
use crate::ProjectionReader;
use crate::rollups::{MAX_DAY, MIN_DAY};

/// Links of one template (or all) over a date range, most clicked first.
pub fn link_stats<R: ProjectionReader>(reader: &R, args: &Args<'_>) -> Result<Value, QueryError> {
    let (start, end) = args.date_range()?;
    let template = args.opt_str("templateKey")?;
    let mut rows = reader
        .link_counts(template, start.unwrap_or(MIN_DAY).0, end.unwrap_or(MAX_DAY).0)
        .map_err(QueryError::store)?;
    rows.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.1.cmp(&b.1)).then_with(|| a.0.cmp(&b.0)));
    let links: Vec<Value> = rows
        .into_iter()
        .filter(|r| r.2 != 0 || r.3 != 0)
        .map(|(url, t, clicks, unique)| json!({"url": url, "templateKey": t, "clicks": clicks, "uniqueClicks": unique}))
        .collect();
    Ok(json!({"links": links}))
}
