//! The nine MCP tools (docs/design.md §6): names, descriptions written for an assistant choosing a
//! tool to call, and the JSON Schema of each tool's arguments.

use mailshot_domain::EventType;
use mailshot_projections::query::{DEFAULT_LIMIT, MAX_LIMIT};
use serde_json::{Map, Value, json};

/// One tool: its name (the query contract's name), description and argument schema.
pub struct ToolSpec {
    /// The tool name, which is also the query name `run_query` answers.
    pub name: &'static str,
    /// A short human-readable title.
    pub title: &'static str,
    /// When an assistant should use the tool, and what it answers.
    pub description: String,
    /// The JSON Schema (an object schema) of the tool's arguments.
    pub schema: Map<String, Value>,
}

impl ToolSpec {
    /// Whether `name` is one of the tool's declared arguments.
    pub fn has_argument(&self, name: &str) -> bool {
        self.schema
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(|p| p.contains_key(name))
    }
}

const DATE_PATTERN: &str = r"^\d{4}-\d{2}-\d{2}$";

fn date(what: &str) -> Value {
    json!({
        "type": "string",
        "pattern": DATE_PATTERN,
        "description": format!("{what} date, YYYY-MM-DD, inclusive, UTC. Omit for an open range."),
    })
}

fn string(description: &str) -> Value {
    json!({"type": "string", "minLength": 1, "description": description})
}

fn email() -> Value {
    json!({"type": "string", "minLength": 3, "description": "The subscriber's email address (case-insensitive)."})
}

fn event_type() -> Value {
    let names: Vec<&str> = EventType::ALL.iter().map(|t| t.camel_name()).collect();
    json!({
        "type": "string",
        "enum": names,
        "description": "Only events of this type. Omit for every type.",
    })
}

fn limit() -> Value {
    json!({
        "type": "integer",
        "minimum": 1,
        "maximum": MAX_LIMIT,
        "default": DEFAULT_LIMIT,
        "description": format!("Page size, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})."),
    })
}

fn next_token() -> Value {
    json!({
        "type": "string",
        "minLength": 1,
        "description": "The `nextToken` of the previous page, to fetch the next one. Pass it back unchanged \
                        with the same other arguments.",
    })
}

fn object(properties: Value, required: &[&str]) -> Map<String, Value> {
    let Value::Object(schema) = json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    }) else {
        unreachable!("json! of an object literal is an object")
    };
    schema
}

fn events_schema(key: &'static str, key_schema: Value) -> Map<String, Value> {
    let mut properties = Map::new();
    properties.insert(key.into(), key_schema);
    properties.insert("eventType".into(), event_type());
    properties.insert("startDate".into(), date("First"));
    properties.insert("endDate".into(), date("Last"));
    properties.insert("limit".into(), limit());
    properties.insert("nextToken".into(), next_token());
    object(Value::Object(properties), &[key])
}

const EVENTS_ANSWER: &str = "Answers {\"items\": [...], \"nextToken\": string|null}: events newest first, each with \
     eventId, eventType, timestamp, email, templateKey, sequenceId and the type's details (bounce type, clicked \
     link, ...). Filters apply before the limit; when nextToken is not null, call again with it for older events.";

/// The tools, in the order `tools/list` shows them.
pub fn all() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "get_subscriber_events",
            title: "Subscriber events",
            description: format!(
                    "The email engagement events (send, delivery, open, click, bounce, complaint, ...) of one \
                     subscriber. Use it to see what a given person received and did: whether an email reached \
                     them, when they opened or clicked, why they bounced. {EVENTS_ANSWER}"
                ),
            schema: events_schema("email", email()),
        },
        ToolSpec {
            name: "get_template_events",
            title: "Template events",
            description: format!(
                    "The engagement events of every email sent from one template (by template key). Use it to \
                     inspect individual sends, bounces or clicks of a particular email; for totals and rates use \
                     get_delivery_stats instead. {EVENTS_ANSWER}"
                ),
            schema: events_schema("templateKey", string("The template key, e.g. \"welcome-1\".")),
        },
        ToolSpec {
            name: "get_sequence_events",
            title: "Sequence events",
            description: format!(
                    "The engagement events of every email sent by one email sequence (by sequence id). Use it \
                     to inspect individual events of a drip campaign; for totals and rates use \
                     get_delivery_stats with sequenceId instead. {EVENTS_ANSWER}"
                ),
            schema: events_schema("sequenceId", string("The sequence id.")),
        },
        ToolSpec {
            name: "get_delivery_stats",
            title: "Delivery stats",
            description: "Aggregate email performance over a date range, for everything or scoped to one template \
                          or one sequence: counts per event type, unique opens and clicks, and open, click, \
                          bounce and complaint rates (over deliveries). Use it for questions like \"how did the \
                          welcome email do last week?\" or \"what is our bounce rate?\". Cheap whatever the \
                          range. Answers {\"period\": {startDate, endDate}, \"counts\": {delivery, open, click, \
                          bounce, complaint, ...}, \"unique\": {open, click}, \"rates\": {open, click, bounce, \
                          complaint}, \"total\"} where total is the sum of counts."
                .into(),
            schema: object(
                json!({
                    "startDate": date("First"),
                    "endDate": date("Last"),
                    "templateKey": string("Only emails of this template."),
                    "sequenceId": string("Only emails of this sequence."),
                }),
                &[],
            ),
        },
        ToolSpec {
            name: "get_subscriber",
            title: "Subscriber profile",
            description: "One subscriber's current state: profile, whether they are suppressed (and why: hard \
                          bounce, complaint, ...), whether they unsubscribed, their sequence executions and their \
                          most recent sends. Use it first when asked about a specific person; it fails with a \
                          not-found error for an unknown address."
                .into(),
            schema: object(json!({"email": email()}), &["email"]),
        },
        ToolSpec {
            name: "trace_subscriber",
            title: "Subscriber audit trace",
            description: "A subscriber's whole history from the append-only log, oldest first: each input with \
                          its log offset and the state change it caused. Use it to explain *why* a subscriber is \
                          in their current state (e.g. why they were suppressed or stopped receiving a sequence), \
                          or for an audit. Larger than get_subscriber; prefer that for the current state."
                .into(),
            schema: object(json!({"email": email()}), &["email"]),
        },
        ToolSpec {
            name: "list_suppressed",
            title: "Suppressed subscribers",
            description: "The subscribers who are suppressed (no email will be sent to them), each with the \
                          reason, the bounce type, when it happened and the event that caused it. Use it to \
                          review the suppression list. Answers {\"items\": [{email, reason, bounceType, at, \
                          eventId, offset}], \"nextToken\": string|null}; call again with nextToken for more."
                .into(),
            schema: object(json!({"limit": limit(), "nextToken": next_token()}), &[]),
        },
        ToolSpec {
            name: "get_link_stats",
            title: "Link click stats",
            description: "Clicks per link over a date range, for all emails or one template. Use it to find \
                          which links in an email people click, and how often. Answers {\"links\": [{url, templateKey, \
                          clicks, uniqueClicks}]}, most clicked first."
                .into(),
            schema: object(
                json!({
                    "templateKey": string("Only links of this template."),
                    "startDate": date("First"),
                    "endDate": date("Last"),
                }),
                &[],
            ),
        },
        ToolSpec {
            name: "get_message",
            title: "Message history",
            description: "What happened to one email: an SES message (by its message id, the sesMessageId of \
                          event items) with the template and sequence it was sent from, when SES accepted it, \
                          and for each recipient every event (send, delivery, open, click, bounce, complaint, \
                          ...) oldest first. Use it for support questions like \"what happened to this email?\" \
                          or \"did this message bounce?\". Answers {\"messageId\", \"templateKey\", \
                          \"sequenceId\", \"sentAt\", \"recipients\": [{email, events: [...]}]} with events as \
                          get_subscriber_events returns them (events expire after 365 days; the message and its \
                          recipients stay); fails with a not-found error for an unknown message id."
                .into(),
            schema: object(
                json!({"messageId": string("The SES message id, e.g. \"010f018fd5a3b7c1-5e2a9c3d-...-000000\".")}),
                &["messageId"],
            ),
        },
    ]
}
