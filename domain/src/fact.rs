//! Engagement facts: one per SES record and recipient, with a content-derived identity.

use std::borrow::Cow;
use std::fmt;

use crate::{EventType, Timestamp};

/// Content-derived identity of one fact: 128-bit XXH3 of its identity tuple (docs/design.md §3.5).
/// Two deliveries of the same content, through any envelope, get the same id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FactId(pub [u8; 16]);

impl FactId {
    /// Hashes the parts, each followed by a 0x1f separator so that `("ab","c")` ≠ `("a","bc")`.
    pub fn of_parts(parts: &[&[u8]]) -> FactId {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        for part in parts {
            hasher.update(part);
            hasher.update(&[0x1f]);
        }
        FactId(hasher.digest128().to_be_bytes())
    }

    /// The identity of an EventBridge event: its `id`.
    pub fn of_event_id(id: &str) -> FactId {
        FactId::of_parts(&[b"eventbridge", id.as_bytes()])
    }

    /// The identity of an SES fact: message id, type, event time, normalised recipient, link.
    pub fn of_ses_fact(
        ses_message_id: &str,
        event_type: EventType,
        timestamp: Timestamp,
        email: &str,
        link: Option<&str>,
    ) -> FactId {
        FactId::of_parts(&[
            b"ses",
            ses_message_id.as_bytes(),
            event_type.ses_name().as_bytes(),
            &timestamp.0.to_be_bytes(),
            email.as_bytes(),
            link.unwrap_or("").as_bytes(),
        ])
    }

    /// Lower-case hex, 32 characters.
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(32);
        for b in self.0 {
            s.push(char::from(DIGITS[usize::from(b >> 4)]));
            s.push(char::from(DIGITS[usize::from(b & 0xf)]));
        }
        s
    }

    /// Parses 32 hex characters.
    pub fn from_hex(hex: &str) -> Option<FactId> {
        if hex.len() != 32 {
            return None;
        }
        let mut out = [0u8; 16];
        for (i, chunk) in hex.as_bytes().chunks(2).enumerate() {
            let s = std::str::from_utf8(chunk).ok()?;
            out[i] = u8::from_str_radix(s, 16).ok()?;
        }
        Some(FactId(out))
    }
}

impl fmt::Debug for FactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FactId({})", self.to_hex())
    }
}

/// One SES engagement fact about one recipient: the unit every projection folds.
/// Strings borrow from the input text where no unescaping was needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngagementFact<'a> {
    /// Content-derived identity (see [`FactId::of_ses_fact`]).
    pub id: FactId,
    pub event_type: EventType,
    /// Normalised recipient address: the subscriber key.
    pub email: String,
    /// The recipient as SES spelled it.
    pub recipient: Cow<'a, str>,
    /// The type's own timestamp (docs/design.md §3.3, "Event time").
    pub timestamp: Timestamp,
    /// When SES accepted the message: `mail.timestamp`, the same in every event of a message.
    pub sent_at: Timestamp,
    /// `mail.messageId`.
    pub ses_message_id: Cow<'a, str>,
    /// `X-Template-Key` header, else tag `templateKey` with `--` → `/`, else `""`.
    pub template_key: Cow<'a, str>,
    /// `X-Sequence-Id` header, else tag `sequenceId`, else `"fire_and_forget"`.
    pub sequence_id: Cow<'a, str>,
    /// `commonHeaders.subject`, else the `Subject` header.
    pub subject: Option<Cow<'a, str>>,
    /// Click: `click.link`.
    pub link_url: Option<Cow<'a, str>>,
    /// Open and click: the user agent.
    pub user_agent: Option<Cow<'a, str>>,
    /// Bounce: `Permanent`, `Transient` or `Undetermined`.
    pub bounce_type: Option<Cow<'a, str>>,
    pub bounce_sub_type: Option<Cow<'a, str>>,
    /// Bounce: the recipient's DSN diagnostic code; delivery delay: the delayed recipient's.
    pub diagnostic_code: Option<Cow<'a, str>>,
    /// Complaint: `complaintFeedbackType`.
    pub feedback_type: Option<Cow<'a, str>>,
    /// Subscription: `newTopicPreferences.unsubscribeAll`.
    pub unsubscribe_all: Option<bool>,
}

impl EngagementFact<'_> {
    /// True when this fact suppresses its recipient (docs/design.md §5.3): a `Permanent` bounce, or
    /// a complaint whose feedback type is not `not-spam` (the reporter says it is not a complaint).
    pub fn suppresses(&self) -> bool {
        match self.event_type {
            EventType::Bounce => self.bounce_type.as_deref() == Some("Permanent"),
            EventType::Complaint => self.feedback_type.as_deref() != Some("not-spam"),
            _ => false,
        }
    }

    /// Detaches the fact from the text it was parsed from.
    pub fn into_owned(self) -> EngagementFact<'static> {
        fn own(c: Cow<'_, str>) -> Cow<'static, str> {
            Cow::Owned(c.into_owned())
        }
        EngagementFact {
            id: self.id,
            event_type: self.event_type,
            email: self.email,
            recipient: own(self.recipient),
            timestamp: self.timestamp,
            sent_at: self.sent_at,
            ses_message_id: own(self.ses_message_id),
            template_key: own(self.template_key),
            sequence_id: own(self.sequence_id),
            subject: self.subject.map(own),
            link_url: self.link_url.map(own),
            user_agent: self.user_agent.map(own),
            bounce_type: self.bounce_type.map(own),
            bounce_sub_type: self.bounce_sub_type.map(own),
            diagnostic_code: self.diagnostic_code.map(own),
            feedback_type: self.feedback_type.map(own),
            unsubscribe_all: self.unsubscribe_all,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_keep_ids_apart() {
        assert_ne!(
            FactId::of_parts(&[b"ab", b"c"]),
            FactId::of_parts(&[b"a", b"bc"])
        );
    }

    #[test]
    fn hex_round_trips() {
        let id = FactId::of_event_id("3f9a2c71-6d4e-4b8a-a1f5-0c7e92d4b6e8");
        assert_eq!(FactId::from_hex(&id.to_hex()), Some(id));
        assert_eq!(FactId::from_hex("zz"), None);
    }
}
