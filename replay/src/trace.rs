//! The audit trace of one subscriber: every log record that concerns them, oldest first, with
//! the state change each caused, recomputed by folding just those records.

use mailshot_domain::log::LogReader;
use mailshot_domain::{Envelope, InputBody, SystemAction};
use mailshot_projections::{Projection, ProjectionReader, Subscriber};
use serde_json::{Map, Value, json};

use crate::{MemoryWriter, fold, view};

/// Why a trace failed.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("no subscriber {0}")]
    NotFound(String),
    #[error("log: {0}")]
    Log(String),
    #[error("store: {0}")]
    Store(String),
    #[error("log record {offset} listed in the history index is missing from the log")]
    Missing { offset: u64 },
}

/// The visible state of a subscriber, as the trace compares it before and after each record.
fn visible(sub: Option<&Subscriber>) -> Map<String, Value> {
    let mut m = Map::new();
    let Some(sub) = sub else { return m };
    m.insert("firstName".into(), json!(sub.first_name));
    m.insert("attributes".into(), sub.attributes.clone());
    m.insert("suppressed".into(), json!(sub.suppression()));
    m.insert("unsubscribed".into(), json!(sub.unsubscribed));
    m.insert("executions".into(), json!(sub.executions));
    m
}

/// Traces `email` (already normalised): `{"email", "items": [{"offset", "ingestTime",
/// "eventTime", "envelope", "facts", "input", "change", "summary"}]}`. `eventTime` is when the
/// record's event happened (its first fact about `email`), `ingestTime` when it was logged.
/// An admin action's fact names its `actor` and `reason`.
pub fn trace<L: LogReader, R: ProjectionReader>(
    log: &L,
    reader: &R,
    email: &str,
) -> Result<Value, TraceError> {
    let offsets = reader
        .history(email)
        .map_err(|e| TraceError::Store(e.to_string()))?;
    if offsets.is_empty() {
        return Err(TraceError::NotFound(email.to_string()));
    }
    let mut memory = MemoryWriter::default();
    let mut items = Vec::with_capacity(offsets.len());
    for offset in offsets {
        let record = log
            .read_at(offset)
            .map_err(|e| TraceError::Log(e.to_string()))?
            .ok_or(TraceError::Missing { offset })?;
        // A subscriber not seen yet is compared as the empty profile a new row starts from:
        // its first record changes only what that record sets (never "lifts" a suppression
        // that was never there).
        let new = !memory.subscribers.contains_key(email);
        let before = visible(Some(
            memory
                .subscribers
                .get(email)
                .unwrap_or(&Subscriber::new(email)),
        ));
        let record_view = view(&record).map_err(|e| TraceError::Log(e.to_string()))?;
        let Ok(()) = fold(&record_view, [Projection::SUBSCRIBERS], &mut memory);
        let after = visible(memory.subscribers.get(email));
        let mut change = Map::new();
        for (k, v) in &after {
            let was = before.get(k).unwrap_or(&Value::Null);
            if was != v {
                change.insert(k.clone(), json!({"before": was, "after": v}));
            }
        }
        let input = &record_view.input;
        let (facts, envelope) = describe(&input.body, email, &record.identities, input.envelope);
        let new = new && memory.subscribers.contains_key(email);
        let summary = summarise(&change, &facts, new);
        let event_time = facts
            .first()
            .map(|f| f["timestamp"].clone())
            .unwrap_or(Value::Null);
        items.push(json!({
            "offset": offset,
            "ingestTime": record.ingest_time.to_string(),
            "eventTime": event_time,
            "envelope": envelope,
            "facts": facts,
            "input": serde_json::from_str::<Value>(&record.raw).unwrap_or(Value::String(record.raw.clone())),
            "change": change,
            "summary": summary,
        }));
    }
    Ok(json!({"email": email, "items": items}))
}

fn describe(
    body: &InputBody<'_>,
    email: &str,
    new_ids: &[mailshot_domain::FactId],
    envelope: Envelope,
) -> (Vec<Value>, &'static str) {
    let facts = match body {
        InputBody::Ses(facts) => facts
            .iter()
            .filter(|f| f.email == email)
            .map(|f| {
                json!({"eventType": f.event_type.camel_name(), "timestamp": f.timestamp.to_string(),
                       "sesMessageId": f.ses_message_id, "templateKey": f.template_key,
                       "eventId": f.id.to_hex(), "duplicate": !new_ids.contains(&f.id)})
            })
            .collect(),
        InputBody::App(app) => vec![json!({"eventType": app.detail_type, "source": app.source,
                                           "timestamp": app.time.to_string(), "eventId": app.event_id})],
        InputBody::System(sys) => {
            let mut fact = json!({"eventType": sys.action.detail_type(),
                                  "timestamp": sys.time.to_string(), "eventId": sys.event_id});
            // Admin actions say who did them and why.
            match &sys.action {
                SystemAction::SuppressionRemoved { reason, actor } => {
                    fact["actor"] = json!(actor);
                    fact["reason"] = json!(reason);
                }
                SystemAction::SubscriberUnsubscribed { via, actor } => {
                    fact["actor"] = json!(actor);
                    fact["reason"] = json!(via);
                }
                _ => {}
            }
            vec![fact]
        }
    };
    (facts, envelope.name())
}

/// One line for people. `new`: the record created the subscriber's row.
fn summarise(change: &Map<String, Value>, facts: &[Value], new: bool) -> String {
    // Who did an admin action, and why (`by ops (uid 1000): reason`), when the record says.
    let by = || {
        let fact = facts.first()?;
        let reason = fact["reason"].as_str()?;
        Some(match fact["actor"].as_str() {
            Some(actor) => format!(" by {actor}: {reason}"),
            None => format!(": {reason}"),
        })
    };
    if let Some(s) = change.get("suppressed") {
        let after = &s["after"];
        // A change is real: a null `after` means a suppression was in force before.
        return if after.is_null() {
            format!("suppression lifted{}", by().unwrap_or_default())
        } else {
            format!(
                "suppressed: {} at {}",
                after["reason"].as_str().unwrap_or("?"),
                after["at"].as_str().unwrap_or("?")
            )
        };
    }
    if change.contains_key("unsubscribed") {
        return format!("unsubscribed{}", by().unwrap_or_default());
    }
    let kinds: Vec<&str> = facts
        .iter()
        .filter_map(|f| f["eventType"].as_str())
        .collect();
    let what = if kinds.is_empty() {
        "record".to_string()
    } else {
        kinds.join(", ")
    };
    let keys: Vec<&str> = change.keys().map(String::as_str).collect();
    match (new, keys.is_empty()) {
        (true, true) => format!("{what}: new subscriber"),
        (true, false) => format!("{what}: new subscriber, {} set", keys.join(", ")),
        (false, true) => format!("{what}: no state change"),
        (false, false) => format!("{what}: {} changed", keys.join(", ")),
    }
}
