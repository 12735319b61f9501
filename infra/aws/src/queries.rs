//! The query contract (docs/design.md §6) answered from AWS: the live DynamoDB generation for the
//! projection queries, the archive for `trace_subscriber`.

use mailshot_domain::Timestamp;
use mailshot_projections::query::{self, Query, QueryError};
use serde_json::Value;

use super::Aws;
use super::archive::ArchiveReader;
use super::store::DynamoReader;

/// Answers `query` from the live DynamoDB generation (and the archive for
/// `trace_subscriber`), exactly as the embedded runtime answers it.
pub fn run_query(aws: &Aws, query: &Query, now: Timestamp) -> Result<Value, QueryError> {
    let tables = aws
        .live_tables()
        .map_err(|e| QueryError::Store(e.to_string()))?;
    let reader = DynamoReader::new(aws, tables);
    if let Query::Trace { email } = query {
        return mailshot_replay::trace(&ArchiveReader::new(aws), &reader, email).map_err(
            |e| match e {
                mailshot_replay::TraceError::NotFound(m) => {
                    QueryError::NotFound(format!("no subscriber {m}"))
                }
                other => QueryError::Store(other.to_string()),
            },
        );
    }
    query::answer(&reader, query, now)
}
