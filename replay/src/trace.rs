//! The audit trace of one subscriber: every log record that concerns them, oldest first, with
//! the state change each caused, recomputed by folding just those records.

use mailshot_domain::log::LogReader;
use mailshot_domain::{Envelope, InputBody, parse_input};
use mailshot_projections::{Projection, ProjectionReader, Subscriber};
use serde_json::{Map, Value, json};

use crate::{MemoryWriter, fold_record};

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
/// "envelope", "facts", "input", "change", "summary"}]}`.
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
        let before = visible(memory.subscribers.get(email));
        fold_record(&record, &[Projection::Subscribers], &mut memory)
            .map_err(|e| TraceError::Log(e.to_string()))?;
        let after = visible(memory.subscribers.get(email));
        let mut change = Map::new();
        for (k, v) in &after {
            if before.get(k) != Some(v) {
                change.insert(
                    k.clone(),
                    json!({"before": before.get(k).cloned().unwrap_or(Value::Null), "after": v}),
                );
            }
        }
        let input = parse_input(&record.raw).map_err(|e| TraceError::Log(e.to_string()))?;
        let (facts, envelope) = describe(&input.body, email, &record.identities, input.envelope);
        let summary = summarise(&change, &facts);
        items.push(json!({
            "offset": offset,
            "ingestTime": record.ingest_time.to_string(),
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
        InputBody::System(sys) => vec![json!({"eventType": sys.action.detail_type(),
                                              "timestamp": sys.time.to_string(), "eventId": sys.event_id})],
    };
    (facts, envelope.name())
}

fn summarise(change: &Map<String, Value>, facts: &[Value]) -> String {
    if let Some(s) = change.get("suppressed") {
        let after = &s["after"];
        return if after.is_null() {
            "suppression lifted".to_string()
        } else {
            format!(
                "suppressed: {} at {}",
                after["reason"].as_str().unwrap_or("?"),
                after["at"].as_str().unwrap_or("?")
            )
        };
    }
    if change.contains_key("unsubscribed") {
        return "unsubscribed".to_string();
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
    if change.is_empty() {
        format!("{what}: no state change")
    } else {
        let keys: Vec<&str> = change.keys().map(String::as_str).collect();
        format!("{what}: {} changed", keys.join(", "))
    }
}
