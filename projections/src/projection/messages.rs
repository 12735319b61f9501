//! The messages projection: an SES message id → its template, sequence, send time, recipients
//! and every event of each recipient ("what happened to this email?").
//!
//! Write-only, on generic rows: one row per new SES fact, in the table `messages`,
//!
//! ```text
//! partition = the message id; an id over 128 bytes, or one starting with `#`, is `#` and the
//!             32 hex digits of its XXH3-128 (keys stay short on every store)
//! sort      = the normalised recipient | 0x00 | the event's sort key (13 bytes, crate::sort_key)
//! value     = i64 BE send time (`mail.timestamp`, ms) | u16 BE length, template key | sequence id
//! ```
//!
//! A row depends on its fact alone: a fact folded twice puts the same row, and any arrival
//! order gives the same rows. A message's rows are one partition, its recipients in address
//! order and each recipient's events oldest first; the rows point at the event rows of the
//! events projection (recipient and sort key are their key), which hold the event details.
//!
//! `get_message` ([`answer`]) reads the partition, then the event rows it points at (one
//! BatchGetItem per 100 on DynamoDB). Event rows expire 365 days after their event (hidden
//! from queries, and deleted by DynamoDB's TTL); message rows do not: an old message still
//! answers its template, sequence, send time and recipients, with the events not yet expired.

use std::borrow::Cow;

use mailshot_domain::{EngagementFact, Timestamp};
use serde_json::{Value, json};

use super::{ProjectionModule, Table, TableSpec};
use crate::query::error::QueryError;
use crate::query::events::event_item;
use crate::sort_key::{fact_sort_key, push_sort_key};
use crate::{
    EventKey, EventRow, ProjectionReader, ProjectionWriter, RecordView, RowKey, RowSink,
};

/// SES message id → its recipients and their events.
pub struct Messages;

/// The table of the message rows.
const TABLE: Table = Table::named("messages");

impl ProjectionModule for Messages {
    const NAME: &'static str = "messages";
    const VERSION: u32 = 1;
    const TABLES: &'static [TableSpec] = &[TableSpec::rows("messages")];
    const QUERIES: &'static [&'static str] = &["get_message"];

    fn fold_write_only<S: RowSink>(record: &RecordView<'_>, sink: &mut S) -> Result<(), S::Error> {
        let (mut sort, mut value) = (Vec::new(), Vec::new());
        for fact in record.new_facts() {
            sort.clear();
            value.clear();
            row_sort_key(fact, &mut sort);
            row_value(fact, &mut value);
            let key = RowKey {
                partition: &partition(&fact.ses_message_id),
                sort: &sort,
            };
            sink.put_row(TABLE, key, &value)?;
        }
        Ok(())
    }

    fn fold_stateful<W: ProjectionWriter>(_: &RecordView<'_>, _: &mut W) -> Result<(), W::Error> {
        Ok(())
    }
}

/// Message ids up to this many bytes are their own partition.
const MAX_VERBATIM: usize = 128;

/// The partition of a message's rows: its id, or `#` and the hash of a long id.
pub(crate) fn partition(message_id: &str) -> Cow<'_, str> {
    if message_id.len() <= MAX_VERBATIM && !message_id.starts_with('#') {
        Cow::Borrowed(message_id)
    } else {
        let hash = xxhash_rust::xxh3::xxh3_128(message_id.as_bytes());
        Cow::Owned(format!("#{hash:032x}"))
    }
}

/// The sort key of a fact's row: recipient, 0x00, the event row's sort key.
fn row_sort_key(fact: &EngagementFact<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(fact.email.as_bytes());
    out.push(0);
    match fact_sort_key(fact.timestamp, fact.event_type, &fact.id) {
        Some(bytes) => out.extend_from_slice(&bytes),
        // A time whose text has no four-digit year: its sort key is kept as text.
        None => push_sort_key(out, &EventRow::from_fact(fact).sort_key),
    }
}

/// What every row of a message says about it: its send time, template and sequence.
fn row_value(fact: &EngagementFact<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(&fact.sent_at.0.to_be_bytes());
    let template = fact.template_key.as_bytes();
    let len = u16::try_from(template.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&template[..usize::from(len)]);
    out.extend_from_slice(fact.sequence_id.as_bytes());
}

/// A message row read back: the event it points at and what it says of the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MessageRow {
    /// The recipient (normalised): the event row's partition.
    pub email: String,
    /// The event row's sort key (`EVT#…`).
    pub sort_key: String,
    pub sent_at: Timestamp,
    pub template_key: String,
    pub sequence_id: String,
}

impl MessageRow {
    /// Decodes a row's sort key and value; `None` when they are not a message row's.
    pub(crate) fn decode(sort: &[u8], value: &[u8]) -> Option<MessageRow> {
        let zero = sort.iter().position(|&b| b == 0)?;
        let email = std::str::from_utf8(&sort[..zero]).ok()?.to_string();
        let (sort_key, used) = crate::sort_key::read_sort_key(&sort[zero + 1..])?;
        if zero + 1 + used != sort.len() {
            return None;
        }
        let sent_at = Timestamp(i64::from_be_bytes(value.get(..8)?.try_into().ok()?));
        let len = usize::from(u16::from_be_bytes(value.get(8..10)?.try_into().ok()?));
        let template_key = std::str::from_utf8(value.get(10..10 + len)?).ok()?;
        let sequence_id = std::str::from_utf8(value.get(10 + len..)?).ok()?;
        Some(MessageRow {
            email,
            sort_key,
            sent_at,
            template_key: template_key.to_string(),
            sequence_id: sequence_id.to_string(),
        })
    }
}

/// Rows read per page while a message's rows are gathered.
const PAGE: usize = 1_000;

/// `get_message`: the message's template, sequence and send time, and each recipient (in
/// address order) with the items of its events, oldest first. The event items are those of
/// the event lists (docs/design.md §6.2); events whose rows have expired at `now` are left
/// out, while the recipient stays listed. Template, sequence and send time are those of the
/// first recipient's earliest event (every event of a message carries the same ones).
pub(crate) fn answer<R: ProjectionReader>(
    reader: &R,
    message_id: &str,
    now: Timestamp,
) -> Result<Value, QueryError> {
    let partition = partition(message_id);
    let mut rows = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = reader
            .scan_rows(TABLE, &partition, after.as_deref(), PAGE)
            .map_err(QueryError::store)?;
        for row in &page.items {
            rows.push(MessageRow::decode(&row.sort, &row.value).ok_or_else(|| {
                QueryError::Store(format!("corrupt row of message {message_id}"))
            })?);
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let Some(first) = rows.first() else {
        return Err(QueryError::NotFound(format!("no message {message_id}")));
    };
    let keys: Vec<EventKey> = rows
        .iter()
        .map(|r| EventKey {
            email: r.email.clone(),
            sort_key: r.sort_key.clone(),
        })
        .collect();
    let events = reader.events(&keys).map_err(QueryError::store)?;
    let mut recipients: Vec<(&str, Vec<Value>)> = Vec::new();
    for (row, event) in rows.iter().zip(&events) {
        if recipients.last().is_none_or(|(email, _)| *email != row.email) {
            recipients.push((&row.email, Vec::new()));
        }
        if let Some(event) = event.as_ref().filter(|e| !e.expired(now)) {
            let (_, items) = recipients.last_mut().expect("pushed above");
            items.push(event_item(event));
        }
    }
    let recipients: Vec<Value> = recipients
        .into_iter()
        .map(|(email, events)| json!({"email": email, "events": events}))
        .collect();
    Ok(json!({
        "messageId": message_id,
        "templateKey": first.template_key,
        "sequenceId": first.sequence_id,
        "sentAt": first.sent_at.to_string(),
        "recipients": recipients,
    }))
}

#[cfg(test)]
mod tests {
    use mailshot_domain::{InputBody, parse_input};

    use super::*;

    /// Collects generic rows; nothing else is put by this fold.
    #[derive(Default)]
    struct Rows(Vec<(Table, String, Vec<u8>, Vec<u8>)>);

    impl RowSink for Rows {
        type Error = std::convert::Infallible;

        fn put_event(&mut self, _: &EventRow) -> Result<(), Self::Error> {
            unreachable!("the messages fold puts generic rows only")
        }

        fn add_history(&mut self, _: &str, _: u64) -> Result<(), Self::Error> {
            unreachable!("the messages fold puts generic rows only")
        }

        fn put_row(&mut self, t: Table, k: RowKey<'_>, v: &[u8]) -> Result<(), Self::Error> {
            self.0
                .push((t, k.partition.to_string(), k.sort.to_vec(), v.to_vec()));
            Ok(())
        }
    }

    #[test]
    fn one_row_per_new_fact_keyed_by_message_recipient_and_event() {
        let input = parse_input(include_str!(
            "../../../domain/tests/fixtures/ses-click.json"
        ))
        .expect("fixture parses");
        let InputBody::Ses(facts) = &input.body else {
            panic!("an SES input")
        };
        let fact = facts[0].clone();
        let new_ids = [fact.id];
        let view = RecordView {
            offset: 3,
            input: input.clone(),
            new_ids: &new_ids,
        };
        let mut rows = Rows::default();
        let Ok(()) = Messages::fold_write_only(&view, &mut rows);
        let mut sort = fact.email.as_bytes().to_vec();
        sort.push(0);
        push_sort_key(&mut sort, &EventRow::from_fact(&fact).sort_key);
        let mut value = fact.sent_at.0.to_be_bytes().to_vec();
        value.extend_from_slice(&(fact.template_key.len() as u16).to_be_bytes());
        value.extend_from_slice(fact.template_key.as_bytes());
        value.extend_from_slice(fact.sequence_id.as_bytes());
        assert_eq!(
            rows.0,
            [(TABLE, fact.ses_message_id.to_string(), sort, value)]
        );
        // A fact an earlier record introduced is not folded again.
        let view = RecordView {
            new_ids: &[],
            ..view
        };
        let mut again = Rows::default();
        let Ok(()) = Messages::fold_write_only(&view, &mut again);
        assert!(again.0.is_empty());
    }

    #[test]
    fn a_row_decodes_to_the_event_it_points_at_and_its_message() {
        let input = parse_input(include_str!(
            "../../../domain/tests/fixtures/ses-click.json"
        ))
        .expect("fixture parses");
        let InputBody::Ses(facts) = &input.body else {
            panic!("an SES input")
        };
        let fact = &facts[0];
        let (mut sort, mut value) = (Vec::new(), Vec::new());
        row_sort_key(fact, &mut sort);
        row_value(fact, &mut value);
        let row = EventRow::from_fact(fact);
        assert_eq!(
            MessageRow::decode(&sort, &value),
            Some(MessageRow {
                email: row.email,
                sort_key: row.sort_key,
                sent_at: fact.sent_at,
                template_key: row.template_key,
                sequence_id: row.sequence_id,
            })
        );
        assert_eq!(MessageRow::decode(&sort[..sort.len() - 1], &value), None);
        assert_eq!(MessageRow::decode(&sort, &value[..9]), None);
    }

    #[test]
    fn long_or_hash_like_ids_are_hashed_into_short_partitions() {
        let ses = "010f018fd5a3b7c1-5e2a9c3d-8f41-4b7e-9a62-1c0d3e5f7a9b-000000";
        assert_eq!(partition(ses), ses);
        let long = "x".repeat(MAX_VERBATIM + 1);
        for id in [long.as_str(), "#abc"] {
            let p = partition(id);
            assert_eq!(p.len(), 33, "{p}");
            assert!(p.starts_with('#'));
            assert_eq!(partition(id), p, "deterministic");
        }
        assert_ne!(partition(&long), partition("#abc"));
        assert_eq!(partition(&"y".repeat(MAX_VERBATIM)).len(), MAX_VERBATIM);
    }
}
