//! The query contract (docs/design.md §6) answered from AWS: the live DynamoDB generation for the
//! projection queries, the archive for `trace_subscriber`.

use mailshot_domain::Timestamp;
use mailshot_projections::query::{self, Args, QueryError};
use serde_json::Value;

use super::Aws;
use super::archive::ArchiveReader;
use super::store::DynamoReader;

/// Answers one query tool from the live DynamoDB generation (and the archive for
/// `trace_subscriber`), exactly as the embedded runtime answers it.
pub fn run_query(aws: &Aws, tool: &str, args: &Value, now: Timestamp) -> Result<Value, QueryError> {
    let tables = aws
        .live_tables()
        .map_err(|e| QueryError::Store(e.to_string()))?;
    let reader = DynamoReader::new(aws, tables);
    if tool == "trace_subscriber" {
        let email = Args::new(args)?.email("email")?;
        return mailshot_replay::trace(&ArchiveReader::new(aws), &reader, &email).map_err(
            |e| match e {
                mailshot_replay::TraceError::NotFound(m) => {
                    QueryError::NotFound(format!("no subscriber {m}"))
                }
                other => QueryError::Store(other.to_string()),
            },
        );
    }
    query::run(&reader, tool, args, now)
}
