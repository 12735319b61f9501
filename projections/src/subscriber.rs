//! The subscribers projection: profile, suppression with its cause, unsubscription, executions.

use std::collections::BTreeMap;

use mailshot_domain::Timestamp;
use serde::{Deserialize, Serialize};

/// One subscriber (`SUB#<email>`). Every field is a pure function of which events arrived,
/// not of their order: profile fields are last-writer-wins by (event time, event id), and
/// suppression keeps every suppressing cause so the earliest can always be chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Subscriber {
    pub email: String,
    pub first_name: Option<String>,
    /// Attributes from the latest profile event (a JSON object).
    pub attributes: serde_json::Value,
    /// Event time of the earliest profile event.
    pub created_at: Option<String>,
    /// Event time of the latest profile event.
    pub updated_at: Option<String>,
    /// Version of the profile fields: (event time ms, event id) of the event that set them.
    pub profile_version: Option<(i64, String)>,
    /// Every suppressing cause seen, sorted by (time, event id), deduplicated.
    pub suppression_causes: Vec<SuppressionCause>,
    /// Latest `suppression.removed` (time ms, event id, reason): causes at or before it no
    /// longer count.
    pub suppression_removed: Option<(i64, String, String)>,
    pub unsubscribed: Option<Unsubscription>,
    /// Executions by ARN.
    pub executions: BTreeMap<String, Execution>,
}

/// One event that suppresses (a permanent bounce or a complaint).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SuppressionCause {
    /// Event time, ms since epoch (first: causes sort by time).
    pub at_ms: i64,
    /// Fact identity (hex).
    pub event_id: String,
    /// `bounce` or `complaint`.
    pub reason: String,
    pub bounce_type: Option<String>,
    pub ses_message_id: String,
    /// Log offset of the record that carried it.
    pub offset: u64,
}

/// The suppression in force: the earliest cause after the latest removal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Suppression {
    pub reason: String,
    pub bounce_type: Option<String>,
    pub at: String,
    pub event_id: String,
    pub ses_message_id: String,
    pub offset: u64,
}

/// Why and when a subscriber unsubscribed (the earliest such event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Unsubscription {
    pub at: String,
    pub via: String,
    pub event_id: String,
}

/// A Step Functions execution started for this subscriber.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    pub sequence_id: String,
    pub started_at: String,
    /// `RUNNING` or `STOPPED`.
    pub status: String,
    pub stopped_at: Option<String>,
}

impl Subscriber {
    /// A subscriber with only its key.
    pub fn new(email: &str) -> Subscriber {
        Subscriber {
            email: email.to_string(),
            attributes: serde_json::Value::Object(Default::default()),
            ..Subscriber::default()
        }
    }

    /// The suppression in force, if any: the earliest cause later than the latest removal.
    pub fn suppression(&self) -> Option<Suppression> {
        let lifted_until = self.suppression_removed.as_ref().map(|(at, _, _)| *at);
        self.suppression_causes
            .iter()
            .find(|c| lifted_until.is_none_or(|until| c.at_ms > until))
            .map(|c| Suppression {
                reason: c.reason.clone(),
                bounce_type: c.bounce_type.clone(),
                at: Timestamp(c.at_ms).to_string(),
                event_id: c.event_id.clone(),
                ses_message_id: c.ses_message_id.clone(),
                offset: c.offset,
            })
    }

    /// ARNs of executions still running.
    pub fn running_executions(&self) -> Vec<String> {
        self.executions
            .iter()
            .filter(|(_, e)| e.status == "RUNNING")
            .map(|(arn, _)| arn.clone())
            .collect()
    }
}
