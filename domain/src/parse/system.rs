//! mailshot's own events: EventBridge events with a `mailshot.*` source, written by the admin
//! API and the reactors, read back like any other input.

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::lenient::wrong;
use crate::{FactId, InputError, SystemAction, SystemEvent, Timestamp, normalise_email};

/// The source of operators' commands.
pub const ADMIN_SOURCE: &str = "mailshot.admin";
/// The source of reactors' outcomes.
pub const REACTOR_SOURCE: &str = "mailshot.reactor";

impl SystemAction {
    /// The EventBridge `source` mailshot writes this action with (`mailshot.admin` or
    /// `mailshot.reactor`).
    pub fn source(&self) -> &'static str {
        match self {
            SystemAction::SuppressionRemoved { .. }
            | SystemAction::SubscriberUnsubscribed { .. } => ADMIN_SOURCE,
            _ => REACTOR_SOURCE,
        }
    }
}

impl SystemEvent {
    /// A system event with its identity derived from `event_id`. `email` is normalised; it
    /// must be a valid address (and `SubscriberUpserted::attributes` a JSON object) for
    /// [`SystemEvent::to_json`] to parse back.
    pub fn new(
        event_id: impl Into<String>,
        time: Timestamp,
        email: impl AsRef<str>,
        action: SystemAction,
    ) -> SystemEvent {
        let event_id = event_id.into();
        let email = email.as_ref();
        // An invalid address is kept (trimmed, lower-cased) rather than lost; parsing the
        // JSON back will then reject it with a clear reason.
        let email = normalise_email(email).unwrap_or_else(|| email.trim().to_lowercase());
        SystemEvent {
            id: FactId::of_event_id(&event_id),
            event_id,
            time,
            email,
            action,
        }
    }

    /// The EventBridge-shaped JSON of this event (one line), as mailshot writes it to its log.
    /// [`crate::parse_input`] reads it back to an equal `SystemEvent`.
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Wire<'a> {
            version: &'static str,
            id: &'a str,
            #[serde(rename = "detail-type")]
            detail_type: &'static str,
            source: &'static str,
            account: &'static str,
            time: String,
            region: &'static str,
            resources: [&'static str; 0],
            detail: Value,
        }
        let email = &self.email;
        let detail = match &self.action {
            SystemAction::SuppressionRemoved { reason, actor } => {
                let mut d = json!({"email": email, "reason": reason});
                if let Some(actor) = actor {
                    d["actor"] = json!(actor);
                }
                d
            }
            SystemAction::SubscriberUnsubscribed { via, actor } => {
                let mut d = json!({"email": email, "via": via});
                if let Some(actor) = actor {
                    d["actor"] = json!(actor);
                }
                d
            }
            SystemAction::SubscriberUpserted {
                first_name,
                attributes,
            } => {
                let mut d = json!({"email": email, "attributes": attributes});
                if let Some(first_name) = first_name {
                    d["firstName"] = json!(first_name);
                }
                d
            }
            SystemAction::EmailSent {
                template_key,
                sequence_id,
                subject,
                ses_message_id,
                trigger_event_id,
            } => json!({
                "email": email,
                "templateKey": template_key,
                "sequenceId": sequence_id,
                "subject": subject,
                "sesMessageId": ses_message_id,
                "triggerEventId": trigger_event_id,
            }),
            SystemAction::EmailSkipped {
                template_key,
                reason,
                trigger_event_id,
            } => json!({
                "email": email,
                "templateKey": template_key,
                "reason": reason,
                "triggerEventId": trigger_event_id,
            }),
            SystemAction::SequenceStarted {
                sequence_id,
                execution_arn,
                trigger_event_id,
            } => {
                json!({
                    "email": email,
                    "sequenceId": sequence_id,
                    "executionArn": execution_arn,
                    "triggerEventId": trigger_event_id,
                })
            }
            SystemAction::ExecutionsStopped {
                execution_arns,
                reason,
            } => json!({
                "email": email,
                "executionArns": execution_arns,
                "reason": reason,
            }),
        };
        let wire = Wire {
            version: "0",
            id: &self.event_id,
            detail_type: self.action.detail_type(),
            source: self.action.source(),
            account: "000000000000",
            time: self.time.to_string(),
            region: "local",
            resources: [],
            detail,
        };
        serde_json::to_string(&wire).expect("a system event always serialises")
    }
}

/// Reads the `detail` of a `mailshot.*` event. Not on the hot path, so a plain `Value` map.
pub(crate) fn event(
    event_id: &str,
    source: &str,
    detail_type: &str,
    time: Timestamp,
    detail: &str,
) -> Result<SystemEvent, InputError> {
    let map: Map<String, Value> = serde_json::from_str(detail)
        .map_err(|e| InputError::Malformed(format!("in `detail`: {e}")))?;
    let d = Detail(&map);
    let email_raw = d.string("email")?;
    let email = normalise_email(&email_raw).ok_or_else(|| InputError::BadEmail {
        path: "detail.email".into(),
        value: email_raw.clone(),
    })?;
    let action = match (source, detail_type) {
        (ADMIN_SOURCE, "suppression.removed") => SystemAction::SuppressionRemoved {
            reason: d.string("reason")?,
            actor: d.opt_string("actor")?,
        },
        (ADMIN_SOURCE, "subscriber.unsubscribed") => SystemAction::SubscriberUnsubscribed {
            via: d.string("via")?,
            actor: d.opt_string("actor")?,
        },
        (REACTOR_SOURCE, "subscriber.upserted") => SystemAction::SubscriberUpserted {
            first_name: d.opt_string("firstName")?,
            attributes: match map.get("attributes") {
                Some(v @ Value::Object(_)) => v.clone(),
                None | Some(Value::Null) => {
                    return Err(InputError::MissingField {
                        path: "detail.attributes".into(),
                    });
                }
                Some(_) => return Err(wrong("detail.attributes", "an object")),
            },
        },
        (REACTOR_SOURCE, "email.sent") => SystemAction::EmailSent {
            template_key: d.string("templateKey")?,
            sequence_id: d.string("sequenceId")?,
            subject: d.string("subject")?,
            ses_message_id: d.string("sesMessageId")?,
            trigger_event_id: d.string("triggerEventId")?,
        },
        (REACTOR_SOURCE, "email.skipped") => SystemAction::EmailSkipped {
            template_key: d.string("templateKey")?,
            reason: d.string("reason")?,
            trigger_event_id: d.string("triggerEventId")?,
        },
        (REACTOR_SOURCE, "sequence.started") => SystemAction::SequenceStarted {
            sequence_id: d.string("sequenceId")?,
            execution_arn: d.string("executionArn")?,
            trigger_event_id: d.string("triggerEventId")?,
        },
        (REACTOR_SOURCE, "executions.stopped") => SystemAction::ExecutionsStopped {
            execution_arns: d.strings("executionArns")?,
            reason: d.string("reason")?,
        },
        _ => {
            return Err(InputError::UnknownSystemEvent {
                event_source: source.to_owned(),
                detail_type: detail_type.to_owned(),
            });
        }
    };
    Ok(SystemEvent {
        event_id: event_id.to_owned(),
        id: FactId::of_event_id(event_id),
        time,
        email,
        action,
    })
}

/// Path-aware accessors over a `detail` map.
struct Detail<'m>(&'m Map<String, Value>);

impl Detail<'_> {
    fn string(&self, key: &str) -> Result<String, InputError> {
        self.opt_string(key)?
            .ok_or_else(|| InputError::MissingField {
                path: format!("detail.{key}"),
            })
    }

    fn opt_string(&self, key: &str) -> Result<Option<String>, InputError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(wrong(&format!("detail.{key}"), "a string")),
        }
    }

    fn strings(&self, key: &str) -> Result<Vec<String>, InputError> {
        let path = || format!("detail.{key}");
        match self.0.get(key) {
            None | Some(Value::Null) => Err(InputError::MissingField { path: path() }),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(wrong(&format!("{}[{i}]", path()), "a string")),
                })
                .collect(),
            Some(_) => Err(wrong(&path(), "an array of strings")),
        }
    }
}
