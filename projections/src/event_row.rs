//! Rows of the events table (`SUB#<email>` / `EVT#<ts>#<type>#<id>`) and its indexes.

use mailshot_domain::{EngagementFact, Timestamp};
use serde::{Deserialize, Serialize};

/// Event rows expire (are hidden from queries) this many days after their event time.
/// Rollups keep counting them.
pub const TTL_DAYS: i64 = 365;

/// One row of the events table: the item every event list returns (docs/design.md §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventRow {
    /// Normalised subscriber address (the partition).
    pub email: String,
    /// Lower-camel event type (`delivery`, `renderingFailure`, …).
    pub event_type: String,
    pub template_key: String,
    pub sequence_id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub subject: Option<String>,
    /// Event time, `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    pub timestamp: String,
    pub ses_message_id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub link_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub bounce_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub bounce_sub_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub diagnostic_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub feedback_type: Option<String>,
    /// Expiry, epoch seconds: event time + [`TTL_DAYS`].
    pub ttl: i64,
    /// The sort key `EVT#<ts>#<type>#<id>`; the id suffix (8 hex digits of the fact
    /// identity) keeps two events with the same time and type apart, whatever their order.
    pub sort_key: String,
}

impl EventRow {
    /// The row of one fact.
    pub fn from_fact(fact: &EngagementFact<'_>) -> EventRow {
        let timestamp = fact.timestamp.to_string();
        let event_type = fact.event_type.camel_name();
        let id = fact.id.to_hex();
        EventRow {
            email: fact.email.clone(),
            event_type: event_type.to_string(),
            template_key: fact.template_key.to_string(),
            sequence_id: fact.sequence_id.to_string(),
            subject: fact.subject.as_deref().map(str::to_string),
            sort_key: format!("EVT#{timestamp}#{event_type}#{}", &id[..8]),
            timestamp,
            ses_message_id: fact.ses_message_id.to_string(),
            link_url: fact.link_url.as_deref().map(str::to_string),
            user_agent: fact.user_agent.as_deref().map(str::to_string),
            bounce_type: fact.bounce_type.as_deref().map(str::to_string),
            bounce_sub_type: fact.bounce_sub_type.as_deref().map(str::to_string),
            diagnostic_code: fact.diagnostic_code.as_deref().map(str::to_string),
            feedback_type: fact.feedback_type.as_deref().map(str::to_string),
            ttl: fact.timestamp.plus_days(TTL_DAYS).as_secs(),
        }
    }

    /// The key of this row in the events table.
    pub fn key(&self) -> EventKey {
        EventKey {
            email: self.email.clone(),
            sort_key: self.sort_key.clone(),
        }
    }

    /// True when the row has expired at `now` and must be hidden from queries.
    pub fn expired(&self, now: Timestamp) -> bool {
        self.ttl <= now.as_secs()
    }
}

/// The primary key of an event row: partition `SUB#<email>`, sort key `EVT#…`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventKey {
    pub email: String,
    pub sort_key: String,
}

/// Which list an event query reads: a subscriber's rows, or an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Partition {
    /// `SUB#<email>` in the events table.
    Subscriber(String),
    /// `<templateKey>` in the template index.
    Template(String),
    /// `<sequenceId>` in the sequence index.
    Sequence(String),
}
