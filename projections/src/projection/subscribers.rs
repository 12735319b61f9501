//! The subscribers projection (docs/design.md §5.2): a row for every address seen, its
//! profile, suppression causes, unsubscription, executions, the suppressed list, and the
//! audit-trail index of the records that concern it (the history, written apart: it reads
//! nothing).

use mailshot_domain::profile::default_profile;
use mailshot_domain::{AppEvent, EventType, InputBody, SystemAction, SystemEvent, Timestamp};

use super::{Digest, ProjectionModule, TableSpec};
use crate::{
    Execution, ProjectionWriter, RecordView, RowSink, Subscriber, SuppressionCause,
    Unsubscription,
};

/// Subscribers: profile, suppression, unsubscription, executions, audit history index.
pub struct Subscribers;

impl ProjectionModule for Subscribers {
    const NAME: &'static str = "subscribers";
    const VERSION: u32 = 1;
    const TABLES: &'static [TableSpec] = &[
        TableSpec::specialised("subscribers", Digest::Exact),
        TableSpec::specialised("suppressed", Digest::Exact),
        TableSpec::specialised("history", Digest::Exact),
    ];
    const QUERIES: &'static [&'static str] =
        &["get_subscriber", "list_suppressed", "trace_subscriber"];

    fn fold_write_only<S: RowSink>(record: &RecordView<'_>, sink: &mut S) -> Result<(), S::Error> {
        fold_history(record, sink)
    }

    fn fold_stateful<W: ProjectionWriter>(
        record: &RecordView<'_>,
        writer: &mut W,
    ) -> Result<(), W::Error> {
        fold_state(record, writer)
    }
}

/// The audit trail: the record's offset under every address it concerns, once each. It reads
/// nothing, so a rebuild runs it apart from the store.
fn fold_history<S: RowSink>(record: &RecordView<'_>, w: &mut S) -> Result<(), S::Error> {
    match &record.input.body {
        InputBody::Ses(_) => {
            let mut noted: Vec<&str> = Vec::new();
            for fact in record.new_facts() {
                if !noted.contains(&&*fact.email) {
                    noted.push(&fact.email);
                    w.add_history(&fact.email, record.offset)?;
                }
            }
            Ok(())
        }
        InputBody::App(app) => match &app.email {
            Some(email) => w.add_history(email, record.offset),
            None => Ok(()),
        },
        InputBody::System(sys) => w.add_history(&sys.email, record.offset),
    }
}

/// Everything but the audit trail: subscriber rows, their profiles, suppression causes,
/// unsubscriptions and executions.
fn fold_state<W: ProjectionWriter>(
    record: &RecordView<'_>,
    w: &mut W,
) -> Result<(), W::Error> {
    match &record.input.body {
        InputBody::Ses(_) => {
            for fact in record.new_facts() {
                let unsubscribes = fact.event_type == EventType::Subscription
                    && fact.unsubscribe_all == Some(true);
                // Most facts (deliveries, opens, clicks) change nothing on a known subscriber.
                if !fact.suppresses() && !unsubscribes && w.has_subscriber(&fact.email)? {
                    continue;
                }
                let mut sub = load(w, &fact.email)?;
                let before = sub.clone();
                if fact.suppresses() {
                    let cause = SuppressionCause {
                        at_ms: fact.timestamp.0,
                        event_id: fact.id.to_hex(),
                        reason: if fact.event_type == EventType::Bounce {
                            "bounce"
                        } else {
                            "complaint"
                        }
                        .to_string(),
                        bounce_type: fact.bounce_type.as_deref().map(str::to_string),
                        ses_message_id: fact.ses_message_id.to_string(),
                        offset: record.offset,
                    };
                    if let Err(at) = sub.suppression_causes.binary_search(&cause) {
                        sub.suppression_causes.insert(at, cause);
                    }
                }
                if unsubscribes {
                    unsubscribe(
                        &mut sub,
                        fact.timestamp,
                        "ses-subscription",
                        &fact.id.to_hex(),
                    );
                }
                if sub != before || before.email.is_empty() {
                    save(w, sub, &fact.email)?;
                }
            }
            Ok(())
        }
        InputBody::App(app) => fold_app(app, w),
        InputBody::System(sys) => fold_system(sys, w),
    }
}

/// Loads a subscriber; a new one has an empty `email` until saved, so the caller knows to
/// write it even when nothing else changed.
fn load<W: ProjectionWriter>(w: &mut W, email: &str) -> Result<Subscriber, W::Error> {
    Ok(match w.subscriber(email)? {
        Some(s) => s,
        None => Subscriber {
            email: String::new(),
            ..Subscriber::new(email)
        },
    })
}

fn save<W: ProjectionWriter>(w: &mut W, mut sub: Subscriber, email: &str) -> Result<(), W::Error> {
    sub.email = email.to_string();
    w.put_subscriber(&sub)
}

/// Applies a profile version if it is newer than the one held: (event time, event id) order.
fn upsert_profile(
    sub: &mut Subscriber,
    time: Timestamp,
    event_id: &str,
    first_name: Option<String>,
    attributes: serde_json::Value,
) {
    let at = time.to_string();
    if sub.created_at.as_deref().is_none_or(|c| at.as_str() < c) {
        sub.created_at = Some(at.clone());
    }
    if sub.updated_at.as_deref().is_none_or(|u| at.as_str() > u) {
        sub.updated_at = Some(at);
    }
    let version = (time.0, event_id.to_string());
    if sub.profile_version.as_ref().is_none_or(|v| &version > v) {
        sub.profile_version = Some(version);
        sub.first_name = first_name;
        sub.attributes = attributes;
    }
}

fn unsubscribe(sub: &mut Subscriber, at: Timestamp, via: &str, event_id: &str) {
    let candidate = Unsubscription {
        at: at.to_string(),
        via: via.to_string(),
        event_id: event_id.to_string(),
    };
    let earlier = match &sub.unsubscribed {
        None => true,
        Some(u) => {
            (candidate.at.as_str(), candidate.event_id.as_str())
                < (u.at.as_str(), u.event_id.as_str())
        }
    };
    if earlier {
        sub.unsubscribed = Some(candidate);
    }
}

/// App events carrying `detail.email` update the profile with the default mapping
/// ([`mailshot_domain::profile::default_profile`], the same one the reactors' default
/// `subscriberMapping` upserts): `firstName` from `detail.firstName`, attributes = `detail`.
fn fold_app<W: ProjectionWriter>(app: &AppEvent<'_>, w: &mut W) -> Result<(), W::Error> {
    let Some(email) = &app.email else {
        return Ok(());
    };
    let detail: serde_json::Value = serde_json::from_str(&app.detail)
        .unwrap_or_else(|_| serde_json::Value::Object(Default::default()));
    let (first_name, attributes) = default_profile(&detail);
    let mut sub = load(w, email)?;
    upsert_profile(&mut sub, app.time, &app.event_id, first_name, attributes);
    save(w, sub, email)
}

fn fold_system<W: ProjectionWriter>(sys: &SystemEvent, w: &mut W) -> Result<(), W::Error> {
    let mut sub = load(w, &sys.email)?;
    let at = sys.time.to_string();
    match &sys.action {
        SystemAction::SuppressionRemoved { reason, .. } => {
            let removal = (sys.time.0, sys.event_id.clone(), reason.clone());
            if sub
                .suppression_removed
                .as_ref()
                .is_none_or(|r| (r.0, &r.1) < (removal.0, &removal.1))
            {
                sub.suppression_removed = Some(removal);
            }
        }
        SystemAction::SubscriberUnsubscribed { via, .. } => {
            unsubscribe(&mut sub, sys.time, via, &sys.event_id)
        }
        SystemAction::SubscriberUpserted {
            first_name,
            attributes,
        } => upsert_profile(
            &mut sub,
            sys.time,
            &sys.event_id,
            first_name.clone(),
            attributes.clone(),
        ),
        SystemAction::SequenceStarted {
            sequence_id,
            execution_arn,
            ..
        } => {
            // A stop may have been folded first: fill in what the start knows, keep the status.
            let entry = sub
                .executions
                .entry(execution_arn.clone())
                .or_insert(Execution {
                    sequence_id: String::new(),
                    started_at: String::new(),
                    status: "RUNNING".into(),
                    stopped_at: None,
                });
            entry.sequence_id = sequence_id.clone();
            if entry.started_at.is_empty() || at < entry.started_at {
                entry.started_at = at;
            }
        }
        SystemAction::ExecutionsStopped { execution_arns, .. } => {
            for arn in execution_arns {
                let entry = sub.executions.entry(arn.clone()).or_insert(Execution {
                    sequence_id: String::new(),
                    started_at: String::new(),
                    status: "STOPPED".into(),
                    stopped_at: None,
                });
                entry.status = "STOPPED".into();
                if entry.stopped_at.as_deref().is_none_or(|s| at.as_str() < s) {
                    entry.stopped_at = Some(at.clone());
                }
            }
        }
        SystemAction::EmailSent { .. } | SystemAction::EmailSkipped { .. } => {}
    }
    save(w, sub, &sys.email)
}
