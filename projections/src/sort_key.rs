//! The binary form of an event row's sort key (`EVT#<timestamp>#<eventType>#<8 hex>`, 46
//! bytes as text): 13 bytes that sort exactly as the text does — the time as a big-endian i64
//! with its sign bit flipped, the type's rank among the type names in text order, and the 4
//! bytes of the hex suffix. A sort key that is not in that shape (none is written today) is
//! kept as text behind a `0xff` tag and a u16 length, after every binary one. The embedded
//! store keys its event rows with it; other projections may put it in their own keys.

use std::sync::LazyLock;

use mailshot_domain::{Day, EventType, FactId, Timestamp};

/// Bytes of a sort key in its binary form: time, type, suffix.
pub const LEN: usize = 8 + 1 + 4;

/// Tag of a sort key kept as text; no binary key starts with it (that would take a time past
/// the year 10,000).
pub const TEXT_SORT_KEY: u8 = 0xff;

/// The type names in text order: a type's index here sorts as its name does. Sorted once,
/// not on every key.
static TYPE_NAMES: LazyLock<[&'static str; 10]> = LazyLock::new(|| {
    let mut names = EventType::ALL.map(EventType::camel_name);
    names.sort_unstable();
    names
});

/// The 8 bytes of a time: big-endian, sign bit flipped (they sort as the times do).
pub fn time_bytes(t: Timestamp) -> [u8; 8] {
    ((t.0 as u64) ^ (1 << 63)).to_be_bytes()
}

/// The binary form of a sort key, when it has the shape the events projection writes.
fn binary_sort_key(sort_key: &str) -> Option<[u8; LEN]> {
    let rest = sort_key.strip_prefix("EVT#")?;
    let (time, rest) = rest.split_at_checked(24)?;
    let (event_type, suffix) = rest.strip_prefix('#')?.split_once('#')?;
    let at = Timestamp::parse(time)?;
    // Only texts that come back byte for byte: the row must show the key it was written with.
    if at.to_string() != time {
        return None;
    }
    let rank = TYPE_NAMES.iter().position(|n| *n == event_type)?;
    if suffix.len() != 8
        || !suffix
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    let suffix = u32::from_str_radix(suffix, 16).ok()?;
    Some(binary_key(at, rank, suffix.to_be_bytes()))
}

/// The 13 bytes: time, type rank, suffix.
fn binary_key(at: Timestamp, rank: usize, suffix: [u8; 4]) -> [u8; LEN] {
    let mut out = [0u8; LEN];
    out[..8].copy_from_slice(&time_bytes(at));
    out[8] = rank as u8;
    out[9..].copy_from_slice(&suffix);
    out
}

/// Times whose text (`YYYY-MM-DDTHH:MM:SS.mmmZ`) has a four-digit year: the years 0 to 9999.
static FOUR_DIGIT_YEARS: LazyLock<std::ops::Range<i64>> = LazyLock::new(|| {
    let start = |year| Day::from_civil(year, 1, 1).expect("January 1st").start().0;
    start(0)..start(10_000)
});

/// The stored form of the sort key of a fact's event row (`EVT#<time>#<type>#<first 8 hex
/// digits of the identity>`), computed without its text: the same bytes as
/// `stored_sort_key(&EventRow::from_fact(fact).sort_key)`. `None` for a time whose text
/// would not have four year digits; such a key is stored as text.
pub fn fact_sort_key(at: Timestamp, event_type: EventType, id: &FactId) -> Option<[u8; LEN]> {
    if !FOUR_DIGIT_YEARS.contains(&at.0) {
        return None;
    }
    let name = event_type.camel_name();
    let rank = TYPE_NAMES.iter().position(|n| *n == name)?;
    let suffix = [id.0[0], id.0[1], id.0[2], id.0[3]];
    Some(binary_key(at, rank, suffix))
}

/// Appends the stored form of `sort_key`.
pub fn push_sort_key(out: &mut Vec<u8>, sort_key: &str) {
    match binary_sort_key(sort_key) {
        Some(bytes) => out.extend_from_slice(&bytes),
        None => {
            out.push(TEXT_SORT_KEY);
            let len = u16::try_from(sort_key.len()).unwrap_or(u16::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&sort_key.as_bytes()[..usize::from(len)]);
        }
    }
}

/// Reads a stored sort key from the start of `bytes`: the text and the bytes it took.
pub fn read_sort_key(bytes: &[u8]) -> Option<(String, usize)> {
    if *bytes.first()? == TEXT_SORT_KEY {
        let len = usize::from(u16::from_be_bytes([*bytes.get(1)?, *bytes.get(2)?]));
        let text = std::str::from_utf8(bytes.get(3..3 + len)?).ok()?;
        return Some((text.to_string(), 3 + len));
    }
    let b = bytes.get(..LEN)?;
    let at = Timestamp((u64::from_be_bytes(b[..8].try_into().ok()?) ^ (1 << 63)) as i64);
    let event_type = *TYPE_NAMES.get(usize::from(b[8]))?;
    let suffix = u32::from_be_bytes(b[9..].try_into().ok()?);
    Some((format!("EVT#{at}#{event_type}#{suffix:08x}"), LEN))
}
