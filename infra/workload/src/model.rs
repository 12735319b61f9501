//! The simulated world: subscribers (derived from their index), messages and their pending
//! SES events, and how a rendered record attributes its facts to a template and a sequence.

use super::catalog::{DOMAINS, FIRE_AND_FORGET, FIRST, LAST, N_TEMPLATES, TEMPLATES, Template};
use super::rng::mix;
use mailshot_domain::EventType;

const COMBOS: u32 = (FIRST.len() * LAST.len()) as u32;

/// A subscriber's name parts, derived from its index only (injective: distinct indices give
/// distinct normalised addresses).
#[derive(Clone, Copy)]
pub(crate) struct Person {
    pub first: &'static str,
    pub last: &'static str,
    /// Appended to the local part when non-zero (`jordan.lee2`).
    pub suffix: u32,
    /// `_` instead of `.` between the names.
    pub underscore: bool,
    pub domain: usize,
}

/// The person behind subscriber `idx`.
pub(crate) fn person(idx: u32) -> Person {
    let q = idx % COMBOS;
    let q = ((u64::from(q) * 1051 + 337) % u64::from(COMBOS)) as usize;
    let h = mix(u64::from(idx) ^ 0x0005_EED0_FA11);
    Person {
        first: FIRST[q % FIRST.len()],
        last: LAST[q / FIRST.len()],
        suffix: idx / COMBOS,
        underscore: h.is_multiple_of(10),
        domain: ((h >> 8) % DOMAINS.len() as u64) as usize,
    }
}

/// Spellings of one address: 0 canonical lower-case, 1 capitalised with a mixed-case domain,
/// 2 display-name form, 3 all upper-case. All normalise to variant 0.
pub(crate) const VARIANT_CANONICAL: u8 = 0;
const VARIANT_DISPLAY: u8 = 2;

fn push_name(b: &mut String, s: &str, case: u8) {
    if case == 1 {
        return b.push_str(s);
    }
    let mut tmp = [0u8; 32];
    let n = s.len().min(tmp.len());
    tmp[..n].copy_from_slice(&s.as_bytes()[..n]);
    if case == 0 {
        tmp[..n].make_ascii_lowercase();
    } else {
        tmp[..n].make_ascii_uppercase();
    }
    super::json::push_ascii(b, &tmp[..n]);
}

fn push_local_domain(b: &mut String, p: &Person, case: u8) {
    push_name(b, p.first, case);
    b.push(if p.underscore { '_' } else { '.' });
    push_name(b, p.last, case);
    if p.suffix > 0 {
        super::json::push_u64(b, u64::from(p.suffix));
    }
    b.push('@');
    let (lower, mixed) = DOMAINS[p.domain];
    match case {
        0 => b.push_str(lower),
        1 => b.push_str(mixed),
        _ => push_name(b, lower, 2),
    }
}

/// Appends subscriber `idx`'s address in spelling `variant`.
pub(crate) fn push_address(b: &mut String, idx: u32, variant: u8) {
    let p = person(idx);
    match variant {
        1 => push_local_domain(b, &p, 1),
        VARIANT_DISPLAY => {
            b.push_str(p.first);
            b.push(' ');
            b.push_str(p.last);
            b.push_str(" <");
            push_local_domain(b, &p, 0);
            b.push('>');
        }
        3 => push_local_domain(b, &p, 2),
        _ => push_local_domain(b, &p, 0),
    }
}

/// Appends the address as a bare `local@domain` (display names dropped, case kept).
pub(crate) fn push_bare_address(b: &mut String, idx: u32, variant: u8) {
    let v = if variant == VARIANT_DISPLAY {
        VARIANT_CANONICAL
    } else {
        variant
    };
    push_address(b, idx, v);
}

/// The normalised address of subscriber `idx` (what `normalise_email` makes of every spelling).
pub(crate) fn normalised_address(idx: u32) -> String {
    let mut s = String::with_capacity(32);
    push_address(&mut s, idx, VARIANT_CANONICAL);
    s
}

/// The deterministic customer id of subscriber `idx` (`cus_` + 20 Crockford base32 digits).
pub(crate) fn push_customer_id(b: &mut String, idx: u32, salt: u64) {
    const B32: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    b.push_str("cus_01");
    let mut h = (u128::from(mix(u64::from(idx) ^ salt)) << 64)
        | u128::from(mix(salt ^ u64::from(idx).rotate_left(17)));
    for _ in 0..18 {
        b.push(B32[(h & 31) as usize] as char);
        h >>= 5;
    }
}

/// How a message carries its template and sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `X-Template-Key`/`X-Sequence-Id` headers and `templateKey`/`sequenceId` tags.
    Both,
    /// Only the tags (no custom headers).
    TagOnly,
    /// Neither: the facts fall under template `""` and sequence `fire_and_forget`.
    Neither,
}

/// How a record is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// Configuration-set event publishing (`eventType`, tags present).
    Event,
    /// Identity feedback notification (`notificationType`, no tags), with or without the
    /// original headers.
    Notification { headers: bool },
}

/// One email as SES saw it.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    /// The UUID part of `mail.messageId`.
    pub bits: u128,
    /// `mail.timestamp`, ms.
    pub mail_ts: i64,
    /// Stable per-message detail (order number, MIME boundary, …).
    pub seed: u64,
    pub template: u8,
    pub mode: Mode,
    /// Number of recipients (1 or 2).
    pub n: u8,
    pub rcpt: [u32; 2],
    /// Spelling of each recipient in this message (see [`push_address`]).
    pub variant: [u8; 2],
    /// Pending events still referring to this message.
    pub refs: u32,
    /// Earliest emitted open / click per recipient slot (`i64::MAX`: none yet).
    pub first_open: [i64; 2],
    pub first_click: [i64; 2],
}

impl Message {
    pub(crate) fn template(&self) -> &'static Template {
        &TEMPLATES[self.template as usize]
    }

    /// The order number some subjects mention.
    pub(crate) fn order_number(&self) -> u64 {
        40_000 + (self.seed >> 20) % 60_000
    }

    /// `(template scope, sequence scope)` of a fact in a record written in `form`: template
    /// index or [`N_TEMPLATES`] for `""`, sequence index. Mirrors docs/design.md §3.3.
    pub(crate) fn attribution(&self, form: Form) -> (usize, usize) {
        let t = self.template as usize;
        let s = TEMPLATES[t].sequence;
        match (self.mode, form) {
            (Mode::Neither, _) => (N_TEMPLATES, FIRE_AND_FORGET),
            (Mode::Both, Form::Event) | (Mode::TagOnly, Form::Event) => (t, s),
            (Mode::Both, Form::Notification { headers: true }) => (t, s),
            (_, Form::Notification { .. }) => (N_TEMPLATES, FIRE_AND_FORGET),
        }
    }
}

/// One SES event waiting to be emitted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SesEv {
    /// Slot of the message in the generator's slab.
    pub msg: u32,
    pub kind: EventType,
    /// For Delivery, Bounce, Complaint, DeliveryDelay: which recipient slots the record lists.
    pub rmask: u8,
    /// Bounce kind, link index, feedback kind, delay kind: depending on `kind`.
    pub p: u8,
    /// The event time (the type's own timestamp), ms.
    pub ts: i64,
    /// Seed of the record's incidental detail.
    pub rnd: u64,
}

impl SesEv {
    /// The recipient slots this record yields facts for (docs/design.md §3.4).
    pub(crate) fn fact_mask(&self, m: &Message) -> u8 {
        match self.kind {
            EventType::Delivery
            | EventType::Bounce
            | EventType::Complaint
            | EventType::DeliveryDelay => self.rmask,
            _ => (1u8 << m.n) - 1,
        }
    }
}

/// One application event waiting to be emitted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AppEv {
    pub sub: u32,
    /// Index into `APP_TYPES`.
    pub kind: u8,
    pub ts: i64,
    pub rnd: u64,
}

/// What is waiting.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ev {
    Ses(SesEv),
    App(AppEv),
}

/// An event scheduled to arrive at `arrival` (ms); `seq` breaks ties deterministically.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pending {
    pub arrival: i64,
    pub seq: u64,
    pub ev: Ev,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.arrival, self.seq) == (other.arrival, other.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.arrival, self.seq).cmp(&(other.arrival, other.seq))
    }
}

/// Deliberate faults written into a record (malformed inputs only).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Broken {
    /// Omit `mail.messageId`.
    pub drop_message_id: bool,
    /// Write this instead of the event-time timestamp.
    pub bad_ts: Option<&'static str>,
    /// Write this instead of every recipient address.
    pub bad_email: Option<&'static str>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailshot_domain::normalise_email;
    use std::collections::BTreeSet;

    #[test]
    fn every_spelling_normalises_to_the_subscriber_key() {
        let mut seen = BTreeSet::new();
        for idx in (0..20_000).step_by(7) {
            let key = normalised_address(idx);
            assert!(seen.insert(key.clone()), "duplicate address {key}");
            for v in 0..4 {
                let mut s = String::new();
                push_address(&mut s, idx, v);
                assert_eq!(normalise_email(&s).as_deref(), Some(key.as_str()), "{s}");
                let mut s = String::new();
                push_bare_address(&mut s, idx, v);
                assert_eq!(normalise_email(&s).as_deref(), Some(key.as_str()), "{s}");
            }
        }
    }
}
