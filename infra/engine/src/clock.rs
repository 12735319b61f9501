//! The wall clock. Folds never read it: time comes from the events. It hides expired event
//! rows from queries, signs unsubscribe tokens, and stamps admin actions.

use std::time::{SystemTime, UNIX_EPOCH};

use mailshot_domain::Timestamp;

/// The current time, in milliseconds since the Unix epoch.
pub fn now() -> Timestamp {
    Timestamp(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0),
    )
}
