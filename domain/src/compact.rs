//! The compact form of a parsed input: a binary copy of what [`crate::parse_input`] made of
//! an input, stored in the log beside its raw JSON so that replays rebuild projections
//! without parsing JSON again.
//!
//! ```text
//! compact = u8 COMPACT_VERSION | u8 envelope | u32 LE fact count | fact × count
//! fact    = 16-byte id | u8 event type | i64 LE timestamp ms | i64 LE sent-at ms
//!           | u8 optional-field bitmask
//!           | u8 unsubscribeAll (0 none, 1 false, 2 true)
//!           | email, recipient, sesMessageId, templateKey, sequenceId,
//!             then each present optional field in bit order
//! string  = u32 LE length | UTF-8 bytes
//! ```
//!
//! Only SES inputs have a compact form (they are nearly all of any log); app and system events
//! are parsed from their raw JSON. A compact form of another version is not believed: the
//! reader parses the raw JSON instead, so changing the parser only needs a version bump.

use std::borrow::Cow;

use crate::{EngagementFact, Envelope, EventType, FactId, Input, InputBody, Timestamp};

/// The version of this layout *and* of the parser output it records. Bump it whenever either
/// changes, so that logs written before are parsed from their raw JSON again.
/// `tests/compact.rs` pins a digest of the parser's output to catch a forgotten bump.
/// 2: facts carry their message's send time (`mail.timestamp`).
pub const COMPACT_VERSION: u8 = 2;

/// Optional fields in bit order.
const OPTIONAL: usize = 7;

const ENVELOPES: [Envelope; 5] = [
    Envelope::EventBridge,
    Envelope::SesRecord,
    Envelope::SnsNotification,
    Envelope::LambdaSnsRecord,
    Envelope::LambdaKinesisRecord,
];

/// Appends the compact form of `input` to `out`; `false` (and `out` unchanged) when the input
/// has none (app and system events).
pub fn encode(input: &Input<'_>, out: &mut Vec<u8>) -> bool {
    let InputBody::Ses(facts) = &input.body else {
        return false;
    };
    let Ok(count) = u32::try_from(facts.len()) else {
        return false;
    };
    let start = out.len();
    out.push(COMPACT_VERSION);
    out.push(envelope_code(input.envelope));
    out.extend_from_slice(&count.to_le_bytes());
    for fact in facts {
        if !encode_fact(fact, out) {
            out.truncate(start);
            return false;
        }
    }
    true
}

fn encode_fact(fact: &EngagementFact<'_>, out: &mut Vec<u8>) -> bool {
    out.extend_from_slice(&fact.id.0);
    out.push(fact.event_type as u8);
    out.extend_from_slice(&fact.timestamp.0.to_le_bytes());
    out.extend_from_slice(&fact.sent_at.0.to_le_bytes());
    let optional = optional_fields(fact);
    let mut present = 0u8;
    for (bit, field) in optional.iter().enumerate() {
        if field.is_some() {
            present |= 1 << bit;
        }
    }
    out.push(present);
    out.push(match fact.unsubscribe_all {
        None => 0,
        Some(false) => 1,
        Some(true) => 2,
    });
    [
        fact.email.as_str(),
        &fact.recipient,
        &fact.ses_message_id,
        &fact.template_key,
        &fact.sequence_id,
    ]
    .into_iter()
    .chain(optional.into_iter().flatten())
    .all(|s| push_str(out, s))
}

fn optional_fields<'f>(fact: &'f EngagementFact<'_>) -> [Option<&'f str>; OPTIONAL] {
    [
        fact.subject.as_deref(),
        fact.link_url.as_deref(),
        fact.user_agent.as_deref(),
        fact.bounce_type.as_deref(),
        fact.bounce_sub_type.as_deref(),
        fact.diagnostic_code.as_deref(),
        fact.feedback_type.as_deref(),
    ]
}

fn push_str(out: &mut Vec<u8>, s: &str) -> bool {
    let Ok(len) = u32::try_from(s.len()) else {
        return false;
    };
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(s.as_bytes());
    true
}

fn envelope_code(envelope: Envelope) -> u8 {
    ENVELOPES
        .iter()
        .position(|&e| e == envelope)
        .unwrap_or_default() as u8
}

/// Why a compact form was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompactFault {
    /// Written by another version: parse the raw JSON instead.
    OtherVersion(u8),
    /// The bytes do not follow the layout (damage the log's checksum did not catch, or a bug).
    Malformed,
}

/// Decodes a compact form into the envelope and body that parsing the raw JSON gives. Strings
/// borrow from `bytes`.
pub fn decode(bytes: &[u8]) -> Result<(Envelope, InputBody<'_>), CompactFault> {
    let mut r = Reader(bytes);
    let version = r.u8()?;
    if version != COMPACT_VERSION {
        return Err(CompactFault::OtherVersion(version));
    }
    let envelope = *ENVELOPES
        .get(usize::from(r.u8()?))
        .ok_or(CompactFault::Malformed)?;
    let count = u32::from_le_bytes(r.array()?) as usize;
    // Every fact takes at least 54 bytes: a damaged count cannot make us allocate much.
    let mut facts = Vec::with_capacity(count.min(bytes.len() / 54));
    for _ in 0..count {
        facts.push(decode_fact(&mut r)?);
    }
    if !r.0.is_empty() {
        return Err(CompactFault::Malformed);
    }
    Ok((envelope, InputBody::Ses(facts)))
}

fn decode_fact<'a>(r: &mut Reader<'a>) -> Result<EngagementFact<'a>, CompactFault> {
    let id = FactId(r.array()?);
    let event_type = *EventType::ALL
        .get(usize::from(r.u8()?))
        .ok_or(CompactFault::Malformed)?;
    let timestamp = Timestamp(i64::from_le_bytes(r.array()?));
    let sent_at = Timestamp(i64::from_le_bytes(r.array()?));
    let present = r.u8()?;
    if present >> OPTIONAL != 0 {
        return Err(CompactFault::Malformed);
    }
    let unsubscribe_all = match r.u8()? {
        0 => None,
        1 => Some(false),
        2 => Some(true),
        _ => return Err(CompactFault::Malformed),
    };
    let email = r.str()?.to_string();
    let recipient = Cow::Borrowed(r.str()?);
    let ses_message_id = Cow::Borrowed(r.str()?);
    let template_key = Cow::Borrowed(r.str()?);
    let sequence_id = Cow::Borrowed(r.str()?);
    let mut optional: [Option<Cow<'a, str>>; OPTIONAL] = Default::default();
    for (bit, field) in optional.iter_mut().enumerate() {
        if present & (1 << bit) != 0 {
            *field = Some(Cow::Borrowed(r.str()?));
        }
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
    Ok(EngagementFact {
        id,
        event_type,
        email,
        recipient,
        timestamp,
        sent_at,
        ses_message_id,
        template_key,
        sequence_id,
        subject,
        link_url,
        user_agent,
        bounce_type,
        bounce_sub_type,
        diagnostic_code,
        feedback_type,
        unsubscribe_all,
    })
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CompactFault> {
        if self.0.len() < n {
            return Err(CompactFault::Malformed);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, CompactFault> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], CompactFault> {
        self.take(N)?
            .try_into()
            .map_err(|_| CompactFault::Malformed)
    }

    fn str(&mut self) -> Result<&'a str, CompactFault> {
        let len = u32::from_le_bytes(self.array()?) as usize;
        std::str::from_utf8(self.take(len)?).map_err(|_| CompactFault::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_input;

    const SNS_CLICK: &str = include_str!("../tests/fixtures/ses-click.json");

    #[test]
    fn decodes_what_it_encodes() {
        let input = parse_input(SNS_CLICK.trim()).expect("fixture parses");
        let mut out = Vec::new();
        assert!(encode(&input, &mut out));
        let (envelope, body) = decode(&out).expect("decodes");
        assert_eq!(envelope, input.envelope);
        assert_eq!(body, input.body);
    }

    #[test]
    fn another_version_and_damage_are_refused() {
        let input = parse_input(SNS_CLICK.trim()).expect("fixture parses");
        let mut out = Vec::new();
        assert!(encode(&input, &mut out));
        let mut other = out.clone();
        other[0] = COMPACT_VERSION + 1;
        assert_eq!(
            decode(&other).map(|_| ()),
            Err(CompactFault::OtherVersion(COMPACT_VERSION + 1))
        );
        for cut in 1..out.len() {
            assert_eq!(
                decode(&out[..cut]).map(|_| ()),
                Err(CompactFault::Malformed),
                "cut at {cut}"
            );
        }
        let mut longer = out.clone();
        longer.push(0);
        assert_eq!(decode(&longer).map(|_| ()), Err(CompactFault::Malformed));
    }

    #[test]
    fn app_events_have_no_compact_form() {
        let app = r#"{"version":"0","id":"e-1","detail-type":"customer.created","source":"app","time":"2024-06-03T10:00:00Z","detail":{"email":"a@example.com"}}"#;
        let input = parse_input(app).expect("app event parses");
        let mut out = vec![7];
        assert!(!encode(&input, &mut out));
        assert_eq!(out, vec![7]);
    }
}
