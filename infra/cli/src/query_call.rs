//! The query commands as calls of the query contract (docs/design.md §6): one mapping from the
//! command line to (tool, JSON arguments), shared by both backends and equal to what the MCP
//! tools take.

use serde_json::{Value, json};

use super::Command;

/// A query command as a call of the query contract.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryCall {
    /// The tool (MCP tool name): `get_delivery_stats`, `get_subscriber_events`, ….
    pub tool: &'static str,
    /// Its arguments, as the MCP tool takes them (absent options are `null`).
    pub args: Value,
    /// `--json`: print the answer as JSON rather than as a table.
    pub json: bool,
}

impl Command {
    /// The call of the query contract this command stands for; `Ok(None)` for commands that
    /// are not queries; an error for an `events` kind that does not exist.
    pub fn as_query(&self) -> anyhow::Result<Option<QueryCall>> {
        let (tool, args, json) = match self {
            Command::Stats {
                from,
                to,
                template,
                sequence,
                json,
            } => (
                "get_delivery_stats",
                json!({"startDate": from, "endDate": to, "templateKey": template, "sequenceId": sequence}),
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
                let (tool, arg) = match kind.as_str() {
                    "subscriber" => ("get_subscriber_events", "email"),
                    "template" => ("get_template_events", "templateKey"),
                    "sequence" => ("get_sequence_events", "sequenceId"),
                    other => anyhow::bail!(
                        "events: unknown kind {other:?}: expected subscriber, template or sequence"
                    ),
                };
                let mut args = json!({"eventType": event_type, "startDate": from, "endDate": to,
                                      "limit": limit, "nextToken": next});
                args[arg] = json!(key);
                (tool, args, *json)
            }
            Command::Subscriber { email, json } => {
                ("get_subscriber", json!({"email": email}), *json)
            }
            Command::Trace { email, json } => ("trace_subscriber", json!({"email": email}), *json),
            Command::Suppressed { limit, next, json } => (
                "list_suppressed",
                json!({"limit": limit, "nextToken": next}),
                *json,
            ),
            Command::Links {
                template,
                from,
                to,
                json,
            } => (
                "get_link_stats",
                json!({"templateKey": template, "startDate": from, "endDate": to}),
                *json,
            ),
            _ => return Ok(None),
        };
        Ok(Some(QueryCall { tool, args, json }))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::Cli;

    fn call(args: &[&str]) -> anyhow::Result<Option<QueryCall>> {
        let cli = Cli::try_parse_from(std::iter::once("mailshot").chain(args.iter().copied()))
            .expect("valid command line");
        cli.command.as_query()
    }

    #[test]
    fn query_commands_map_to_their_tools_and_arguments() {
        assert_eq!(
            call(&[
                "stats",
                "--from",
                "2024-06-01",
                "--template",
                "a/b",
                "--json"
            ])
            .unwrap(),
            Some(QueryCall {
                tool: "get_delivery_stats",
                args: json!({"startDate": "2024-06-01", "endDate": null, "templateKey": "a/b", "sequenceId": null}),
                json: true,
            })
        );
        assert_eq!(
            call(&[
                "events", "template", "a/b", "--type", "open", "--limit", "5"
            ])
            .unwrap(),
            Some(QueryCall {
                tool: "get_template_events",
                args: json!({"templateKey": "a/b", "eventType": "open", "startDate": null,
                             "endDate": null, "limit": 5, "nextToken": null}),
                json: false,
            })
        );
        assert_eq!(
            call(&["suppressed", "--next", "t"]).unwrap().unwrap().args,
            json!({"limit": null, "nextToken": "t"})
        );
        assert_eq!(
            call(&["trace", "a@example.com"]).unwrap().unwrap().tool,
            "trace_subscriber"
        );
        assert_eq!(call(&["verify"]).unwrap(), None);
        let err = call(&["events", "campaign", "x"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "events: unknown kind \"campaign\": expected subscriber, template or sequence"
        );
    }
}
