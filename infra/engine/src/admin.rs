//! Admin actions, the same on every backend: each checks its arguments, builds the system
//! event that records it (with who did it and why), and appends it through the backend.

use mailshot_domain::{SystemAction, SystemEvent, normalise_email};
use mailshot_reactors::token;
use serde_json::{Value, json};

use crate::backend::{Backend, BackendError};
use crate::clock::now;
use crate::config::Loaded;
use crate::reactions::{outcome_event_id, uuid_form};

/// A fresh event id for inputs mailshot writes itself: time, process and a counter, hashed.
pub fn new_event_id(salt: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = now().0;
    uuid_form(xxhash_rust::xxh3::xxh3_128(
        format!("{t}/{}/{n}/{salt}", std::process::id()).as_bytes(),
    ))
}

fn invalid(name: &'static str, reason: impl Into<String>) -> BackendError {
    BackendError::Query(mailshot_projections::query::QueryError::InvalidArgument {
        name,
        reason: reason.into(),
    })
}

/// `unsuppress EMAIL --reason TEXT`: lifts a suppression by appending `suppression.removed`
/// with the actor and the reason. Refused for an invalid address, an empty reason, or an
/// address that is not suppressed. Answers `{"email","unsuppressed":true,"eventId"}`.
pub fn unsuppress(
    backend: &mut dyn Backend,
    email: &str,
    reason: &str,
) -> Result<Value, BackendError> {
    let Some(email) = normalise_email(email) else {
        return Err(invalid(
            "email",
            format!("{email:?} is not an email address"),
        ));
    };
    if reason.trim().is_empty() {
        return Err(invalid("reason", "must not be empty"));
    }
    if backend
        .subscriber(&email)?
        .and_then(|s| s.suppression())
        .is_none()
    {
        return Err(BackendError::Refused(format!("{email} is not suppressed")));
    }
    let event = SystemEvent::new(
        new_event_id(&email),
        now(),
        email.clone(),
        SystemAction::SuppressionRemoved {
            reason: reason.to_string(),
            actor: Some(backend.actor()?),
        },
    );
    backend.append_admin(std::slice::from_ref(&event))?;
    Ok(json!({"email": email, "unsuppressed": true, "eventId": event.event_id}))
}

/// `unsubscribe TOKEN`: verifies an unsubscribe link's token with the secret of `config` and
/// appends `subscriber.unsubscribed` (its event id derived from the token, so presenting it
/// again appends nothing new); the config's reactors then stop the subscriber's executions
/// (at once where ingest folds, else when the processor folds it).
/// A malformed, forged or expired token is refused with the reason. Answers
/// `{"email","unsubscribed":true}`.
pub fn unsubscribe(
    backend: &mut dyn Backend,
    config: &Loaded,
    token_text: &str,
) -> Result<Value, BackendError> {
    let at = now();
    let email = token::verify(token_text.trim(), &config.secret, at)
        .map_err(|e| BackendError::Refused(format!("unsubscribe refused: {e}")))?;
    let Some(email) = normalise_email(&email) else {
        return Err(BackendError::Refused(format!(
            "unsubscribe refused: the token's address {email:?} is not an email address"
        )));
    };
    let event = SystemEvent::new(
        outcome_event_id("subscriber.unsubscribed", token_text.trim(), ""),
        at,
        &email,
        SystemAction::SubscriberUnsubscribed {
            via: "unsubscribe-link".to_string(),
            actor: Some(backend.actor()?),
        },
    );
    if backend.folds_at_ingest() {
        backend.attach_reactors(config.reactor())?;
    }
    backend.append_admin(std::slice::from_ref(&event))?;
    Ok(json!({"email": event.email, "unsubscribed": true}))
}
