//! The query contract (docs/design.md §6): one typed [`Query`] per call, answered as JSON by
//! [`answer`], behind the CLI's `--json` and the MCP tools alike.
//!
//! A query is built from an MCP tool call ([`Query::from_tool`]) or from the strings a user
//! typed (the constructors of [`Query`]); either way its arguments are checked on the way in,
//! with errors that name the argument. Answers are built only from projections
//! (`trace_subscriber`, which reads the log, lives in the `replay` crate). [`run`] does both
//! steps for a tool call.

mod args;
pub(crate) mod error;
pub(crate) mod events;
mod links;
mod stats;
mod subscriber;
mod token;
mod typed;

use mailshot_domain::Timestamp;
use serde_json::Value;

use crate::ProjectionReader;

pub use args::{Args, DEFAULT_LIMIT, MAX_LIMIT};
pub use error::QueryError;

pub use typed::{DateRange, EventList, EventsQuery, Limit, Query, StatsQuery};

/// The names of the tools of the contract, as MCP lists them. Each is answered from one
/// projection ([`crate::Projection::answering`]).
pub const TOOLS: [&str; 9] = [
    "get_subscriber_events",
    "get_template_events",
    "get_sequence_events",
    "get_delivery_stats",
    "get_subscriber",
    "list_suppressed",
    "get_link_stats",
    "trace_subscriber",
    "get_message",
];

/// Answers one projection-backed query. `now` hides expired event rows.
///
/// A `nextToken` is checked here, against the query's own list, before anything is read.
/// [`Query::Trace`] is not answered here (it reads the log): it is refused naming `tool`.
pub fn answer<R: ProjectionReader>(
    reader: &R,
    query: &Query,
    now: Timestamp,
) -> Result<Value, QueryError> {
    match query {
        Query::Events(q) => events::events(reader, q, now),
        Query::DeliveryStats(q) => stats::delivery_stats(reader, q),
        Query::Subscriber { email } => subscriber::subscriber(reader, email, now),
        Query::Trace { .. } => Err(QueryError::invalid(
            "tool",
            "trace_subscriber is answered from the log (mailshot_replay::trace), \
             not from the projections",
        )),
        Query::Suppressed { limit, next_token } => {
            subscriber::list_suppressed(reader, *limit, next_token.as_deref())
        }
        Query::LinkStats {
            template_key,
            range,
        } => links::link_stats(reader, template_key.as_deref(), *range),
        Query::Message { message_id } => {
            crate::projection::messages::answer(reader, message_id, now)
        }
    }
}

/// Answers one projection-backed query by tool name and JSON arguments:
/// [`Query::from_tool`], then [`answer`]. `now` hides expired event rows.
/// `trace_subscriber` is not answered here (it reads the log).
pub fn run<R: ProjectionReader>(
    reader: &R,
    tool: &str,
    args: &Value,
    now: Timestamp,
) -> Result<Value, QueryError> {
    answer(reader, &Query::from_tool(tool, args)?, now)
}
