//! The query contract of DESIGN §5: one set of functions, taking JSON arguments and answering
//! JSON, behind the CLI's `--json`, the MCP tools and HTTP alike.
//!
//! Arguments are validated here, with errors that name the argument; answers are built only
//! from projections (`trace_subscriber`, which reads the log, lives in the `replay` crate).

mod args;
mod events;
mod links;
mod stats;
mod subscriber;
mod token;

use mailshot_domain::Timestamp;
use serde_json::Value;

use crate::ProjectionReader;

pub use args::{Args, DEFAULT_LIMIT, MAX_LIMIT};
pub use events::events;
pub use links::link_stats;
pub use stats::delivery_stats;
pub use subscriber::{list_suppressed, subscriber};

/// Why a query could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// An argument is missing or invalid; `name` is the argument as the caller spelled it.
    #[error("invalid argument `{name}`: {reason}")]
    InvalidArgument {
        /// The argument (`startDate`, `limit`, …), or `arguments` or `tool`.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The subscriber (or other entity) does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The store failed.
    #[error("store error: {0}")]
    Store(String),
}

impl QueryError {
    pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> QueryError {
        QueryError::InvalidArgument {
            name,
            reason: reason.into(),
        }
    }

    pub(crate) fn store(e: impl std::error::Error) -> QueryError {
        QueryError::Store(e.to_string())
    }
}

/// The names of the projection-backed tools, as MCP lists them.
pub const TOOLS: [&str; 8] = [
    "get_subscriber_events",
    "get_template_events",
    "get_sequence_events",
    "get_delivery_stats",
    "get_subscriber",
    "list_suppressed",
    "get_link_stats",
    "trace_subscriber",
];

/// Answers one projection-backed query by tool name. `now` hides expired event rows.
/// `trace_subscriber` is not answered here (it reads the log).
pub fn run<R: ProjectionReader>(
    reader: &R,
    tool: &str,
    args: &Value,
    now: Timestamp,
) -> Result<Value, QueryError> {
    let args = Args::new(args)?;
    match tool {
        "get_subscriber_events" | "get_template_events" | "get_sequence_events" => {
            events(reader, tool, &args, now)
        }
        "get_delivery_stats" => delivery_stats(reader, &args),
        "get_subscriber" => subscriber(reader, &args, now),
        "list_suppressed" => list_suppressed(reader, &args),
        "get_link_stats" => link_stats(reader, &args),
        other => Err(QueryError::invalid(
            "tool",
            format!("unknown tool {other:?}"),
        )),
    }
}
