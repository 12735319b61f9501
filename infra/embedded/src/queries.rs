//! The query contract answered from a data dir: projection queries from a store snapshot
//! ([`mailshot_projections::query::answer`]), `trace_subscriber` from the log.

use mailshot_domain::Timestamp;
use mailshot_log::SegmentLog;
use mailshot_projections::query::{self, Query, QueryError};
use mailshot_store::Snapshot;
use serde_json::Value;

use crate::Reader;

/// Answers `query` from the data dir, exactly as docs/design.md §6 specifies its JSON.
pub fn run_query(reader: &Reader, query: &Query, now: Timestamp) -> Result<Value, QueryError> {
    let snapshot = reader
        .store
        .snapshot()
        .map_err(|e| QueryError::Store(e.to_string()))?;
    answer(&reader.log, &snapshot, query, now)
}

/// Answers `query` from one snapshot of the store and the log it was folded from.
pub fn answer(
    log: &SegmentLog,
    snapshot: &Snapshot<'_>,
    query: &Query,
    now: Timestamp,
) -> Result<Value, QueryError> {
    if let Query::Trace { email } = query {
        return mailshot_replay::trace(log, snapshot, email).map_err(|e| match e {
            mailshot_replay::TraceError::NotFound(m) => {
                QueryError::NotFound(format!("no subscriber {m}"))
            }
            other => QueryError::Store(other.to_string()),
        });
    }
    query::answer(snapshot, query, now)
}
