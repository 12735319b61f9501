//! Byte layouts of the LMDB keys. Variable parts that are not the last part of a key carry a
//! u16 length prefix, so that keys of different partitions never interleave.
//!
//! Sort keys (`EVT#<timestamp>#<eventType>#<8 hex>`, 46 bytes as text) are stored in the 13
//! bytes of [`mailshot_projections::sort_key`], which sort exactly as the text does.

use mailshot_domain::log::Offset;
use mailshot_domain::{Day, FactId};
use mailshot_projections::rollups::period_bytes;
use mailshot_projections::sort_key::time_bytes;
pub use mailshot_projections::sort_key::{
    LEN as SORT_KEY_LEN, fact_sort_key, push_sort_key, read_sort_key,
};
use mailshot_projections::{EngagementKey, EngagementKind, LinkKey, Partition, RowKey};

/// Appends `part` with its u16 big-endian length.
pub fn push_part(out: &mut Vec<u8>, part: &str) {
    let len = u16::try_from(part.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&part.as_bytes()[..usize::from(len)]);
}

/// Appends the key of a generic row: its partition with its u16 length, then its sort key. The
/// rows of a partition are contiguous and in sort-key order.
pub fn push_row_key(out: &mut Vec<u8>, key: RowKey<'_>) {
    push_part(out, key.partition);
    out.extend_from_slice(key.sort);
}

/// The stored form of a sort-key range bound as the queries spell them: `EVT#` (before every
/// key), `EVT$` (after every key) or `EVT#<YYYY-MM-DD>` (the first key of that day). Any
/// other text is taken as a whole sort key.
pub fn sort_bound(bound: &str) -> Vec<u8> {
    match bound {
        "EVT#" => Vec::new(),
        "EVT$" => vec![0xff; 3],
        _ => match bound.strip_prefix("EVT#").and_then(Day::parse) {
            Some(day) => time_bytes(day.start()).to_vec(),
            None => {
                let mut out = Vec::new();
                push_sort_key(&mut out, bound);
                out
            }
        },
    }
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

/// The stored form of a sort key ([`push_sort_key`]).
pub fn stored_sort_key(sort_key: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(SORT_KEY_LEN);
    push_sort_key(&mut out, sort_key);
    out
}

/// Events table key: `[email] sort key`, from the sort key's stored form.
pub fn event_key(email: &str, stored_sort_key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(email.len() + stored_sort_key.len() + 2);
    push_event_key(&mut out, email, stored_sort_key);
    out
}

/// Appends an events table key ([`event_key`]).
pub fn push_event_key(out: &mut Vec<u8>, email: &str, stored_sort_key: &[u8]) {
    push_part(out, email);
    out.extend_from_slice(stored_sort_key);
}

/// Appends an index key: `[template or sequence] sort key email`, from the sort key's stored
/// form. The value is empty: the row lives in the events table.
pub fn push_index_key(out: &mut Vec<u8>, partition: &str, stored_sort_key: &[u8], email: &str) {
    push_part(out, partition);
    out.extend_from_slice(stored_sort_key);
    out.extend_from_slice(email.as_bytes());
}

/// Splits the part of an index key after its partition prefix into the sort key (as text and
/// in its stored form) and the email.
pub fn split_index_rest(rest: &[u8]) -> Option<(String, &[u8], &str)> {
    let (sort_key, used) = read_sort_key(rest)?;
    let email = std::str::from_utf8(rest.get(used..)?).ok()?;
    Some((sort_key, &rest[..used], email))
}

/// The key a page token carries: the stored key with its sort key as text, as the keys were
/// before sort keys were stored in binary and as the AWS runtime's tokens are, so that a token
/// means the same on either runtime. `email` is the index row's address (`None` for the events
/// table, whose partition is the address).
pub fn token_key(prefix: &[u8], sort_key: &str, email: Option<&str>) -> Vec<u8> {
    let mut out = prefix.to_vec();
    out.extend_from_slice(sort_key.as_bytes());
    if let Some(email) = email {
        out.push(0);
        out.extend_from_slice(email.as_bytes());
    }
    out
}

/// The stored key a [`token_key`] stands for; `None` when it is not one.
pub fn stored_key_from_token(token: &[u8], prefix: &[u8], is_index: bool) -> Option<Vec<u8>> {
    let rest = token.strip_prefix(prefix)?;
    let mut out = prefix.to_vec();
    if is_index {
        let zero = rest.iter().position(|&b| b == 0)?;
        push_sort_key(&mut out, std::str::from_utf8(&rest[..zero]).ok()?);
        out.extend_from_slice(&rest[zero + 1..]);
    } else {
        push_sort_key(&mut out, std::str::from_utf8(rest).ok()?);
    }
    Some(out)
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

/// Appends a history key: `[email] offset`.
pub fn push_history_key(out: &mut Vec<u8>, email: &str, offset: Offset) {
    push_part(out, email);
    out.extend_from_slice(&offset.to_be_bytes());
}

/// Bytes of a dedup-index key: a 4-byte bucket, then the 16-byte identity.
pub const DEDUP_KEY_LEN: usize = 4 + 16;

/// Dedup-index key: the identity behind a bucket, the day of its event (big-endian with the
/// sign bit flipped, so days sort in order) or, for identities without a day (app and system
/// events), `0xffffffff` after every day. An ingest batch covers a few days of events, so its
/// new identities land on a few pages at the end of the index instead of on a random page
/// each: one page copied per transaction instead of thousands. The same identity always has
/// the same day (the event time is part of an SES fact's identity), so dedup is unchanged.
pub fn dedup_key(id: &FactId, day: Option<Day>) -> [u8; DEDUP_KEY_LEN] {
    let bucket = match day {
        // Days of four-digit years are far from i32::MAX: no day takes the last bucket.
        Some(day) => (day.0 as u32) ^ (1 << 31),
        None => u32::MAX,
    };
    let mut out = [0u8; DEDUP_KEY_LEN];
    out[..4].copy_from_slice(&bucket.to_be_bytes());
    out[4..].copy_from_slice(&id.0);
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
    use mailshot_domain::EventType;
    use mailshot_projections::sort_key::TEXT_SORT_KEY;

    use super::*;

    fn index_key(partition: &str, stored_sort_key: &[u8], email: &str) -> Vec<u8> {
        let mut out = Vec::new();
        push_index_key(&mut out, partition, stored_sort_key, email);
        out
    }

    #[test]
    fn dedup_keys_group_identities_by_day_and_put_dayless_ones_last() {
        let id = |b: u8| FactId([b; 16]);
        let day = |d: i32| Some(Day(d));
        let key = dedup_key(&id(0xab), day(20_000));
        assert_eq!(key[..4], (20_000u32 | (1 << 31)).to_be_bytes());
        assert_eq!(key[4..], [0xab; 16]);
        let mut keys = vec![
            dedup_key(&id(0xff), day(19_999)),
            dedup_key(&id(0x00), day(20_000)),
            dedup_key(&id(0xff), day(20_000)),
            dedup_key(&id(0x00), day(20_001)),
            dedup_key(&id(0x00), None),
        ];
        let in_order = keys.clone();
        keys.sort();
        assert_eq!(keys, in_order, "by day, then by identity; no day last");
        assert!(dedup_key(&id(0), day(-1)) < dedup_key(&id(0), day(0)));
        assert_ne!(dedup_key(&id(1), day(5)), dedup_key(&id(1), day(6)));
    }

    const KEY: &str = "EVT#2024-06-03T14:02:10.815Z#open#0a1b2c3d";

    #[test]
    fn partitions_do_not_interleave() {
        // "a" + sort keys must all sort before "ab" + anything.
        let key = |email: &str, sort_key: &str| event_key(email, &stored_sort_key(sort_key));
        let a = key("a@x.io", "EVT#2024-06-03T14:02:10.815Z#send#ffffffff");
        let ab = key("ab@x.io", "EVT#1999-01-01T00:00:00.000Z#bounce#00000000");
        assert!(a < ab);
        assert!(key("a@x.io", KEY) < a);
    }

    #[test]
    fn sort_keys_take_13_bytes_and_come_back_as_written() {
        let mut out = Vec::new();
        push_sort_key(&mut out, KEY);
        assert_eq!(out.len(), 13);
        assert_eq!(read_sort_key(&out), Some((KEY.to_string(), 13)));
        // Not in the projection's shape: kept as text, still readable.
        for odd in [
            "EVT#2024#open#ab",
            "EVT#2024-06-03T14:02:10.815Z#open#0A1B2C3D",
        ] {
            let mut out = Vec::new();
            push_sort_key(&mut out, odd);
            assert_eq!(out[0], TEXT_SORT_KEY);
            assert_eq!(read_sort_key(&out), Some((odd.to_string(), out.len())));
        }
    }

    #[test]
    fn stored_sort_keys_sort_as_their_text() {
        let mut texts = Vec::new();
        for time in [
            "1970-01-01T00:00:00.000Z",
            "2024-06-03T14:02:10.815Z",
            "2024-06-03T14:02:10.816Z",
            "2099-12-31T23:59:59.999Z",
        ] {
            for t in EventType::ALL {
                for suffix in ["00000000", "0000000a", "a0000000", "ffffffff"] {
                    texts.push(format!("EVT#{time}#{}#{suffix}", t.camel_name()));
                }
            }
        }
        let mut by_text = texts.clone();
        by_text.sort();
        let mut by_bytes = texts;
        by_bytes.sort_by_key(|t| stored_sort_key(t));
        assert_eq!(by_bytes, by_text);
    }

    #[test]
    fn bounds_fall_where_the_text_bounds_do() {
        let key = event_key("a@x.io", &stored_sort_key(KEY));
        let with = |bound: &str| {
            let mut out = Vec::new();
            push_part(&mut out, "a@x.io");
            out.extend_from_slice(&sort_bound(bound));
            out
        };
        assert!(with("EVT#") < key);
        assert!(with("EVT#2024-06-03") < key);
        assert!(with("EVT#2024-06-04") > key);
        assert!(with("EVT$") > key);
        assert!(with("EVT$") < event_key("a@x.io~", &stored_sort_key(KEY)));
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
    fn token_keys_stand_for_stored_keys() {
        let prefix = partition_prefix(&Partition::Template("welcome".into()));
        let stored = index_key("welcome", &stored_sort_key(KEY), "j@x.io");
        let token = token_key(&prefix, KEY, Some("j@x.io"));
        assert_eq!(&token[prefix.len()..], format!("{KEY}\0j@x.io").as_bytes());
        assert_eq!(stored_key_from_token(&token, &prefix, true), Some(stored));
        let prefix = partition_prefix(&Partition::Subscriber("j@x.io".into()));
        let token = token_key(&prefix, KEY, None);
        assert_eq!(
            stored_key_from_token(&token, &prefix, false),
            Some(event_key("j@x.io", &stored_sort_key(KEY)))
        );
        assert_eq!(stored_key_from_token(b"elsewhere", &prefix, false), None);
    }

    #[test]
    fn index_rest_splits() {
        let prefix = partition_prefix(&Partition::Template("welcome".into()));
        for sort_key in [KEY, "EVT#2024#open#ab"] {
            let stored = stored_sort_key(sort_key);
            let key = index_key("welcome", &stored, "j@x.io");
            assert_eq!(
                split_index_rest(&key[prefix.len()..]),
                Some((sort_key.to_string(), &stored[..], "j@x.io"))
            );
        }
    }
}
