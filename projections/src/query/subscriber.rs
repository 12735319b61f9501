//! `get_subscriber` and `list_suppressed`.

use mailshot_domain::{EventType, Timestamp};
use serde_json::{Value, json};

use super::events::{event_item, sort_bounds};
use super::{Limit, QueryError, token};
use crate::{EventScan, Partition, ProjectionReader, Subscriber};

/// Sends listed by `get_subscriber`.
const RECENT_SENDS: usize = 10;

/// The subscriber's profile, suppression, unsubscription, executions and recent sends.
pub(super) fn subscriber<R: ProjectionReader>(
    reader: &R,
    email: &str,
    now: Timestamp,
) -> Result<Value, QueryError> {
    let sub = reader
        .subscriber(email)
        .map_err(QueryError::store)?
        .ok_or_else(|| QueryError::NotFound(format!("no subscriber {email}")))?;
    let (sort_from, sort_to) = sort_bounds(None, None);
    let partition = Partition::Subscriber(email.to_string());
    let sends = reader
        .scan_events(&EventScan {
            partition: &partition,
            sort_from,
            sort_to,
            event_type: Some(EventType::Send.camel_name()),
            limit: RECENT_SENDS,
            after: None,
            now,
        })
        .map_err(QueryError::store)?;
    Ok(subscriber_json(
        &sub,
        sends.items.iter().map(event_item).collect(),
    ))
}

fn subscriber_json(sub: &Subscriber, recent_sends: Vec<Value>) -> Value {
    let executions: Vec<Value> = sub
        .executions
        .iter()
        .map(|(arn, e)| {
            json!({"executionArn": arn, "sequenceId": e.sequence_id, "status": e.status,
                   "startedAt": e.started_at, "stoppedAt": e.stopped_at})
        })
        .collect();
    json!({
        "email": sub.email,
        "profile": {
            "firstName": sub.first_name,
            "attributes": sub.attributes,
            "createdAt": sub.created_at,
            "updatedAt": sub.updated_at,
        },
        "suppressed": sub.suppression(),
        "unsubscribed": sub.unsubscribed,
        "executions": executions,
        "recentSends": recent_sends,
    })
}

/// Suppressed subscribers in email order, with the cause in force.
pub(super) fn list_suppressed<R: ProjectionReader>(
    reader: &R,
    limit: Limit,
    next_token: Option<&str>,
) -> Result<Value, QueryError> {
    let after = match next_token {
        Some(t) => Some(token::decode("list_suppressed", t)?),
        None => None,
    };
    let page = reader
        .suppressed(limit.get(), after.as_deref())
        .map_err(QueryError::store)?;
    let items: Vec<Value> = page
        .items
        .iter()
        .filter_map(|sub| {
            sub.suppression().map(|s| {
                json!({"email": sub.email, "reason": s.reason, "bounceType": s.bounce_type,
                       "at": s.at, "eventId": s.event_id, "offset": s.offset})
            })
        })
        .collect();
    Ok(json!({
        "items": items,
        "nextToken": page.next.map(|p| token::encode("list_suppressed", &p)),
    }))
}
