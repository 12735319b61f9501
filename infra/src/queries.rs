//! The one entry point of the query contract for every front end (CLI, MCP): projection
//! queries from `projections::query`, and `trace_subscriber` from the log.

use std::time::{SystemTime, UNIX_EPOCH};

use mailshot_domain::Timestamp;
use mailshot_projections::query::{self, Args, QueryError};
use serde_json::Value;

use crate::embedded::Reader;

/// The current time, which hides expired event rows (folds never read it).
pub fn now() -> Timestamp {
    Timestamp(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0),
    )
}

/// Answers `tool` with `args` from the data dir, exactly as docs/design.md §6 specifies its JSON.
pub fn run_query(
    reader: &Reader,
    tool: &str,
    args: &Value,
    now: Timestamp,
) -> Result<Value, QueryError> {
    let snapshot = reader
        .store
        .snapshot()
        .map_err(|e| QueryError::Store(e.to_string()))?;
    if tool == "trace_subscriber" {
        let email = Args::new(args)?.email("email")?;
        return mailshot_replay::trace(&reader.log, &snapshot, &email).map_err(|e| match e {
            mailshot_replay::TraceError::NotFound(m) => {
                QueryError::NotFound(format!("no subscriber {m}"))
            }
            other => QueryError::Store(other.to_string()),
        });
    }
    query::run(&snapshot, tool, args, now)
}
