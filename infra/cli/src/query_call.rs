//! The query commands as typed queries of the contract (docs/design.md §6): built straight
//! from the command line's arguments, with the same checks and error texts as the MCP tools'
//! JSON arguments get (see [`mailshot_projections::query::Query`]).

use mailshot_projections::query::{EventList, Query, QueryError};

use super::Command;

/// A query command: its typed query (or why its arguments are wrong) and how to print it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryCall {
    /// The query, or the first argument that is wrong, named as the contract names it.
    pub query: Result<Query, QueryError>,
    /// `--json`: print the answer as JSON rather than as a table.
    pub json: bool,
}

impl Command {
    /// The query this command stands for; `Ok(None)` for commands that are not queries; an
    /// error for an `events` kind that does not exist.
    pub fn as_query(&self) -> anyhow::Result<Option<QueryCall>> {
        let (query, json) = match self {
            Command::Stats {
                from,
                to,
                template,
                sequence,
                json,
            } => (
                Query::delivery_stats(
                    from.as_deref(),
                    to.as_deref(),
                    template.as_deref(),
                    sequence.as_deref(),
                ),
                *json,
            ),
            Command::Events {
                kind,
                key,
                event_type,
                from,
                to,
                limit,
                next,
                json,
            } => {
                let Some(list) = EventList::from_name(kind) else {
                    anyhow::bail!(
                        "events: unknown kind {kind:?}: expected subscriber, template or sequence"
                    );
                };
                let query = Query::events(
                    list,
                    key,
                    event_type.as_deref(),
                    from.as_deref(),
                    to.as_deref(),
                    *limit,
                    next.as_deref(),
                );
                (query, *json)
            }
            Command::Subscriber { email, json } => (Query::subscriber(email), *json),
            Command::Trace { email, json } => (Query::trace(email), *json),
            Command::Suppressed { limit, next, json } => {
                (Query::suppressed(*limit, next.as_deref()), *json)
            }
            Command::Links {
                template,
                from,
                to,
                json,
            } => (
                Query::link_stats(template.as_deref(), from.as_deref(), to.as_deref()),
                *json,
            ),
            Command::Message { id, json } => (Query::message(id), *json),
            _ => return Ok(None),
        };
        Ok(Some(QueryCall { query, json }))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use serde_json::json;

    use super::*;
    use crate::Cli;

    fn call(args: &[&str]) -> anyhow::Result<Option<QueryCall>> {
        let cli = Cli::try_parse_from(std::iter::once("mailshot").chain(args.iter().copied()))
            .expect("valid command line");
        cli.command.as_query()
    }

    /// The query a command line builds, and the one the MCP tool builds from `args`.
    fn same_as_tool(line: &[&str], tool: &str, args: serde_json::Value) {
        let built = call(line).unwrap().expect("a query command").query;
        assert_eq!(built, Query::from_tool(tool, &args), "{line:?}");
    }

    #[test]
    fn query_commands_build_the_queries_the_tools_build() {
        same_as_tool(
            &[
                "stats",
                "--from",
                "2024-06-01",
                "--template",
                "a/b",
                "--json",
            ],
            "get_delivery_stats",
            json!({"startDate": "2024-06-01", "templateKey": "a/b"}),
        );
        same_as_tool(
            &[
                "events", "template", "a/b", "--type", "open", "--limit", "5",
            ],
            "get_template_events",
            json!({"templateKey": "a/b", "eventType": "open", "limit": 5}),
        );
        same_as_tool(
            &[
                "events",
                "subscriber",
                "A@Example.COM",
                "--from",
                "2024-06-01",
            ],
            "get_subscriber_events",
            json!({"email": "A@Example.COM", "startDate": "2024-06-01"}),
        );
        same_as_tool(
            &["events", "sequence", "onboarding", "--to", "2024-06-30"],
            "get_sequence_events",
            json!({"sequenceId": "onboarding", "endDate": "2024-06-30"}),
        );
        same_as_tool(
            &["suppressed", "--next", "t"],
            "list_suppressed",
            json!({"nextToken": "t"}),
        );
        same_as_tool(
            &["subscriber", "a@example.com"],
            "get_subscriber",
            json!({"email": "a@example.com"}),
        );
        same_as_tool(
            &["trace", "a@example.com"],
            "trace_subscriber",
            json!({"email": "a@example.com"}),
        );
        same_as_tool(
            &[
                "links",
                "--template",
                "a/b",
                "--from",
                "2024-06-01",
                "--to",
                "2024-06-02",
            ],
            "get_link_stats",
            json!({"templateKey": "a/b", "startDate": "2024-06-01", "endDate": "2024-06-02"}),
        );
        same_as_tool(
            &["message", "010f018fd5a3b7c1-5e2a9c3d", "--json"],
            "get_message",
            json!({"messageId": "010f018fd5a3b7c1-5e2a9c3d"}),
        );
        assert!(
            call(&["trace", "a@example.com", "--json"])
                .unwrap()
                .unwrap()
                .json
        );
        assert_eq!(call(&["verify"]).unwrap(), None);
    }

    #[test]
    fn bad_arguments_are_named_as_the_contract_names_them() {
        let bad = call(&["stats", "--from", "2024-13-01"]).unwrap().unwrap();
        assert_eq!(
            bad.query.unwrap_err().to_string(),
            "invalid argument `startDate`: \"2024-13-01\" is not a date (YYYY-MM-DD)"
        );
        let bad = call(&["suppressed", "--limit", "0"]).unwrap().unwrap();
        assert_eq!(
            bad.query.unwrap_err().to_string(),
            "invalid argument `limit`: must be an integer from 1 to 1000, got 0"
        );
        let bad = call(&["message", ""]).unwrap().unwrap();
        assert_eq!(
            bad.query.unwrap_err().to_string(),
            "invalid argument `messageId`: must not be empty"
        );
        let err = call(&["events", "campaign", "x"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "events: unknown kind \"campaign\": expected subscriber, template or sequence"
        );
    }
}
