//! The byte layout of an events-table value. The key already holds the email and the sort key
//! (`EVT#<timestamp>#<eventType>#<id>`), so the value holds only the rest:
//!
//! ```text
//! ttl: i64 BE | present: u8 bitmask of the optional fields |
//! templateKey, sequenceId, sesMessageId, then each present optional field in bit order,
//! every string as u16 BE length + UTF-8 bytes
//! ```
//!
//! Binary rows are a third of the JSON size and cost no serializer on the ingest path.

use mailshot_domain::EngagementFact;
use mailshot_projections::{EventRow, TTL_DAYS};

/// Optional fields in bit order.
const OPTIONAL: usize = 7;

/// The fields a value holds, borrowed from an [`EventRow`] or straight from a fact.
struct ValueFields<'a> {
    ttl: i64,
    template_key: &'a str,
    sequence_id: &'a str,
    ses_message_id: &'a str,
    /// In bit order: subject, link, user agent, bounce type and subtype, diagnostic code,
    /// feedback type.
    optional: [Option<&'a str>; OPTIONAL],
}

impl<'a> ValueFields<'a> {
    fn of_row(row: &'a EventRow) -> Self {
        ValueFields {
            ttl: row.ttl,
            template_key: &row.template_key,
            sequence_id: &row.sequence_id,
            ses_message_id: &row.ses_message_id,
            optional: [
                row.subject.as_deref(),
                row.link_url.as_deref(),
                row.user_agent.as_deref(),
                row.bounce_type.as_deref(),
                row.bounce_sub_type.as_deref(),
                row.diagnostic_code.as_deref(),
                row.feedback_type.as_deref(),
            ],
        }
    }

    /// The fields of `EventRow::from_fact(fact)`, without building it.
    fn of_fact(fact: &'a EngagementFact<'_>) -> Self {
        ValueFields {
            ttl: fact.timestamp.plus_days(TTL_DAYS).as_secs(),
            template_key: &fact.template_key,
            sequence_id: &fact.sequence_id,
            ses_message_id: &fact.ses_message_id,
            optional: [
                fact.subject.as_deref(),
                fact.link_url.as_deref(),
                fact.user_agent.as_deref(),
                fact.bounce_type.as_deref(),
                fact.bounce_sub_type.as_deref(),
                fact.diagnostic_code.as_deref(),
                fact.feedback_type.as_deref(),
            ],
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.ttl.to_be_bytes());
        let mut present = 0u8;
        for (bit, field) in self.optional.iter().enumerate() {
            if field.is_some() {
                present |= 1 << bit;
            }
        }
        out.push(present);
        push_str(out, self.template_key);
        push_str(out, self.sequence_id);
        push_str(out, self.ses_message_id);
        for field in self.optional.into_iter().flatten() {
            push_str(out, field);
        }
    }
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    // Longer strings are cut at a char boundary (SES fields are far shorter than 64 KiB).
    let mut len = s.len().min(usize::from(u16::MAX));
    while !s.is_char_boundary(len) {
        len -= 1;
    }
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(&s.as_bytes()[..len]);
}

/// Appends the value of `row` to `out`.
pub fn encode(row: &EventRow, out: &mut Vec<u8>) {
    ValueFields::of_row(row).encode(out);
}

/// Appends the value of `EventRow::from_fact(fact)` to `out`: the same
/// bytes, without the row's copies of every field.
pub fn encode_fact(fact: &EngagementFact<'_>, out: &mut Vec<u8>) {
    ValueFields::of_fact(fact).encode(out);
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn string(&mut self) -> Option<String> {
        let len = u16::from_be_bytes(self.take(2)?.try_into().ok()?);
        let bytes = self.take(usize::from(len))?;
        std::str::from_utf8(bytes).ok().map(str::to_string)
    }
}

/// Decodes a row from its email, sort key and value; `None` when the bytes do not follow the
/// layout.
pub fn decode(email: &str, sort_key: &str, value: &[u8]) -> Option<EventRow> {
    let mut parts = sort_key.splitn(4, '#');
    let (Some("EVT"), Some(timestamp), Some(event_type)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let mut c = Cursor(value);
    let ttl = i64::from_be_bytes(c.take(8)?.try_into().ok()?);
    let present = *c.take(1)?.first()?;
    let template_key = c.string()?;
    let sequence_id = c.string()?;
    let ses_message_id = c.string()?;
    let mut optional: [Option<String>; OPTIONAL] = Default::default();
    for (bit, field) in optional.iter_mut().enumerate() {
        if present & (1 << bit) != 0 {
            *field = Some(c.string()?);
        }
    }
    if !c.0.is_empty() {
        return None;
    }
    let [
        subject,
        link_url,
        user_agent,
        bounce_type,
        bounce_sub_type,
        diagnostic_code,
        feedback_type,
    ] = optional;
    Some(EventRow {
        email: email.to_string(),
        event_type: event_type.to_string(),
        template_key,
        sequence_id,
        subject,
        timestamp: timestamp.to_string(),
        ses_message_id,
        link_url,
        user_agent,
        bounce_type,
        bounce_sub_type,
        diagnostic_code,
        feedback_type,
        ttl,
        sort_key: sort_key.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> EventRow {
        EventRow {
            email: "jordan.lee@example.net".into(),
            event_type: "bounce".into(),
            template_key: "order/shipped".into(),
            sequence_id: "onboarding".into(),
            subject: Some("Your order — shipped".into()),
            timestamp: "2024-06-03T14:02:11.000Z".into(),
            ses_message_id: "0100018f-abc".into(),
            link_url: None,
            user_agent: None,
            bounce_type: Some("Permanent".into()),
            bounce_sub_type: Some("General".into()),
            diagnostic_code: Some("smtp; 550 5.1.1 user unknown".into()),
            feedback_type: None,
            ttl: 1_749_045_731,
            sort_key: "EVT#2024-06-03T14:02:11.000Z#bounce#1a2b3c4d".into(),
        }
    }

    #[test]
    fn rows_round_trip() {
        let row = row();
        let mut bytes = Vec::new();
        encode(&row, &mut bytes);
        assert_eq!(decode(&row.email, &row.sort_key, &bytes), Some(row));
    }

    #[test]
    fn rows_without_optional_fields_round_trip() {
        let row = EventRow {
            subject: None,
            bounce_type: None,
            bounce_sub_type: None,
            diagnostic_code: None,
            link_url: Some("https://x.io/a".into()),
            ..row()
        };
        let mut bytes = Vec::new();
        encode(&row, &mut bytes);
        assert_eq!(decode(&row.email, &row.sort_key, &bytes), Some(row));
    }

    /// The fast path (value and stored sort key straight from the fact) writes exactly the
    /// bytes of the row path, for every fact of a generated workload and for times at the
    /// edges of the four-digit years.
    #[test]
    fn facts_encode_as_their_rows_do() {
        use crate::keys::{fact_sort_key, stored_sort_key};
        use mailshot_domain::{InputBody, Timestamp, parse_line};
        use mailshot_workload::{Generator, WorkloadConfig};

        let (mut facts, mut optional_seen) = (0, [false; OPTIONAL]);
        for line in Generator::new(WorkloadConfig::new(3_000, 11)) {
            for input in parse_line(line.as_bytes()).into_iter().flatten() {
                let InputBody::Ses(list) = input.body else {
                    continue;
                };
                for fact in list {
                    let row = EventRow::from_fact(&fact);
                    let (mut by_row, mut by_fact) = (Vec::new(), Vec::new());
                    encode(&row, &mut by_row);
                    encode_fact(&fact, &mut by_fact);
                    assert_eq!(by_fact, by_row, "{row:?}");
                    let key = fact_sort_key(fact.timestamp, fact.event_type, &fact.id);
                    assert_eq!(key.map(Vec::from), Some(stored_sort_key(&row.sort_key)));
                    for (seen, field) in optional_seen
                        .iter_mut()
                        .zip(ValueFields::of_row(&row).optional)
                    {
                        *seen |= field.is_some();
                    }
                    facts += 1;
                }
            }
        }
        assert!(facts > 3_000, "{facts} facts");
        assert_eq!(
            optional_seen, [true; OPTIONAL],
            "every optional field was exercised"
        );

        // Around the years 0 and 9999: the fast key exists exactly where the row's text key
        // is stored in binary; elsewhere the row path (text key) is taken.
        let id = mailshot_domain::FactId([0xab; 16]);
        let edges = [
            ("0000-01-01T00:00:00.000Z", [false, true, true]),
            ("9999-12-31T23:59:59.999Z", [true, true, false]),
            ("2024-06-03T14:02:10.815Z", [true, true, true]),
        ];
        for (text, binary) in edges {
            let at = Timestamp::parse(text).expect("a valid time");
            for (t, binary) in [at.0 - 1, at.0, at.0 + 1].into_iter().zip(binary) {
                let at = Timestamp(t);
                let stored = stored_sort_key(&format!("EVT#{at}#open#abababab"));
                let fast = fact_sort_key(at, mailshot_domain::EventType::Open, &id);
                assert_eq!(fast.is_some(), binary, "{at}");
                assert_eq!(stored[0] != 0xff, binary, "{at}");
                if let Some(fast) = fast {
                    assert_eq!(fast.to_vec(), stored, "{at}");
                }
            }
        }
    }

    #[test]
    fn damaged_values_are_rejected() {
        let row = row();
        let mut bytes = Vec::new();
        encode(&row, &mut bytes);
        for cut in [0, 8, 9, 12, bytes.len() - 1] {
            assert_eq!(
                decode(&row.email, &row.sort_key, &bytes[..cut]),
                None,
                "cut {cut}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode(&row.email, &row.sort_key, &longer), None);
        assert_eq!(decode(&row.email, "EVT#only-time", &bytes), None);
    }
}
