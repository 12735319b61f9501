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

use std::borrow::Cow;

use mailshot_domain::EngagementFact;

use super::{ProjectionModule, Table, TableSpec};
use crate::sort_key::{fact_sort_key, push_sort_key};
use crate::{EventRow, ProjectionWriter, RecordView, RowKey, RowSink};

/// SES message id → its recipients and their events.
pub struct Messages;

/// The table of the message rows.
const TABLE: Table = Table::named("messages");

impl ProjectionModule for Messages {
    const NAME: &'static str = "messages";
    const VERSION: u32 = 1;
    const TABLES: &'static [TableSpec] = &[TableSpec::rows("messages")];
    const QUERIES: &'static [&'static str] = &[];

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
