//! Byte layouts of the LMDB keys. Variable parts that are not the last part of a key carry a
//! u16 length prefix, so that keys of different partitions never interleave.

use mailshot_domain::log::Offset;
use mailshot_projections::rollups::period_bytes;
use mailshot_projections::{EngagementKey, EngagementKind, LinkKey, Partition};

/// Appends `part` with its u16 big-endian length.
pub fn push_part(out: &mut Vec<u8>, part: &str) {
    let len = u16::try_from(part.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&part.as_bytes()[..usize::from(len)]);
}

/// The prefix shared by every key of an event-list partition (events table or an index).
pub fn partition_prefix(partition: &Partition) -> Vec<u8> {
    let mut out = Vec::new();
    match partition {
        Partition::Subscriber(p) | Partition::Template(p) | Partition::Sequence(p) => {
            push_part(&mut out, p)
        }
    }
    out
}

/// Events table key: `[email] sort_key`.
pub fn event_key(email: &str, sort_key: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(email.len() + sort_key.len() + 2);
    push_part(&mut out, email);
    out.extend_from_slice(sort_key.as_bytes());
    out
}

/// Index key: `[template or sequence] sort_key 0x00 email`. The value is empty: the row
/// lives in the events table.
pub fn index_key(partition: &str, sort_key: &str, email: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(partition.len() + sort_key.len() + email.len() + 3);
    push_part(&mut out, partition);
    out.extend_from_slice(sort_key.as_bytes());
    out.push(0);
    out.extend_from_slice(email.as_bytes());
    out
}

/// Splits the part of an index key after its partition prefix into (sort key, email).
pub fn split_index_rest(rest: &[u8]) -> Option<(&str, &str)> {
    let zero = rest.iter().position(|&b| b == 0)?;
    let sort_key = std::str::from_utf8(&rest[..zero]).ok()?;
    let email = std::str::from_utf8(&rest[zero + 1..]).ok()?;
    Some((sort_key, email))
}

/// First-engagement key: kind, `[subject]`, email.
pub fn engagement_key(key: &EngagementKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.subject.len() + key.email.len() + 3);
    out.push(match key.kind {
        EngagementKind::Open => b'o',
        EngagementKind::Click => b'c',
        EngagementKind::LinkClick => b'l',
    });
    push_part(&mut out, &key.subject);
    out.extend_from_slice(key.email.as_bytes());
    out
}

/// History key: `[email] offset`.
pub fn history_key(email: &str, offset: Offset) -> Vec<u8> {
    let mut out = Vec::with_capacity(email.len() + 10);
    push_part(&mut out, email);
    out.extend_from_slice(&offset.to_be_bytes());
    out
}

/// Links key: `[template] day url`.
pub fn link_key(key: &LinkKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.template_key.len() + key.url.len() + 6);
    push_part(&mut out, &key.template_key);
    out.extend_from_slice(&period_bytes(key.day));
    out.extend_from_slice(key.url.as_bytes());
    out
}

/// Parses a links key back into its parts.
pub fn parse_link_key(key: &[u8]) -> Option<LinkKey> {
    let len = usize::from(u16::from_be_bytes([*key.first()?, *key.get(1)?]));
    let template_key = std::str::from_utf8(key.get(2..2 + len)?).ok()?.to_string();
    let day_bytes: [u8; 4] = key.get(2 + len..6 + len)?.try_into().ok()?;
    let day = (u32::from_be_bytes(day_bytes) ^ 0x8000_0000) as i32;
    let url = std::str::from_utf8(key.get(6 + len..)?).ok()?.to_string();
    Some(LinkKey {
        template_key,
        day,
        url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_do_not_interleave() {
        // "a" + sort keys must all sort before "ab" + anything.
        let a = event_key("a@x.io", "EVT#9");
        let ab = event_key("ab@x.io", "EVT#0");
        assert!(a < ab);
        assert!(event_key("a@x.io", "EVT#1") < a);
    }

    #[test]
    fn link_keys_round_trip() {
        let k = LinkKey {
            template_key: "order/shipped".into(),
            day: 19_877,
            url: "https://x.io/a?b=c%20d".into(),
        };
        assert_eq!(parse_link_key(&link_key(&k)), Some(k));
    }

    #[test]
    fn index_rest_splits() {
        let key = index_key("welcome", "EVT#2024#open#ab", "j@x.io");
        let prefix = partition_prefix(&Partition::Template("welcome".into()));
        assert_eq!(
            split_index_rest(&key[prefix.len()..]),
            Some(("EVT#2024#open#ab", "j@x.io"))
        );
    }
}
