//! The on-disk record frame.
//!
//! ```text
//! frame   = u32 LE payload length | u32 LE CRC32C(payload) | payload
//! payload = u64 LE offset | i64 LE ingest_time ms | u16 LE identity count
//!           | 16 bytes × count | [compact] | raw JSON bytes (the rest)
//! compact = 0xFE | u32 LE length | the parsed input's compact form (`mailshot_domain::compact`)
//! ```
//!
//! The compact section is optional: records written before it existed have none. Raw JSON is
//! UTF-8 and 0xFE never occurs in UTF-8, so its marker cannot be mistaken for raw input.
//!
//! Every frame carries its own offset, so a frame can be recognised wherever it is found: that
//! is what lets recovery tell a torn tail (nothing valid after the damage) from corruption in
//! the middle of the log (valid frames with later offsets after the damage).

use mailshot_domain::log::{LogRecord, NewRecord, Offset};
use mailshot_domain::{FactId, Timestamp};

/// Bytes before the payload: length and CRC.
pub const HEADER_LEN: usize = 8;

/// Bytes of the payload before the identities: offset, ingest time, identity count.
pub const PAYLOAD_FIXED_LEN: usize = 8 + 8 + 2;

/// The byte that opens the optional compact section.
const COMPACT_MARKER: u8 = 0xFE;

/// Largest payload accepted on append and believed on read. A length field above this is
/// damage, not a record; it also bounds the memory a damaged length can make us allocate.
pub const MAX_PAYLOAD_LEN: usize = 64 * 1024 * 1024;

/// The parsed frame header.
#[derive(Debug, Clone, Copy)]
pub struct Header {
    pub payload_len: usize,
    pub crc: u32,
}

impl Header {
    /// Parses a header; `None` when the length cannot be that of a record we wrote.
    pub fn parse(bytes: &[u8; HEADER_LEN]) -> Option<Header> {
        let len = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        let crc = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        if !(PAYLOAD_FIXED_LEN..=MAX_PAYLOAD_LEN).contains(&len) {
            return None;
        }
        Some(Header {
            payload_len: len,
            crc,
        })
    }

    /// Whole frame length on disk.
    pub fn frame_len(&self) -> u64 {
        (HEADER_LEN + self.payload_len) as u64
    }
}

/// Why a frame was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameFault {
    BadLength,
    Crc,
    WrongOffset { found: Offset },
    Malformed(&'static str),
}

impl std::fmt::Display for FrameFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameFault::BadLength => write!(f, "impossible frame length"),
            FrameFault::Crc => write!(f, "CRC32C mismatch"),
            FrameFault::WrongOffset { found } => write!(f, "frame carries offset {found}"),
            FrameFault::Malformed(what) => write!(f, "malformed payload: {what}"),
        }
    }
}

/// Checks a payload against its header's CRC and the offset it must carry, and that its
/// identity count fits. Cheap checks first: the offset is compared before the CRC is computed.
pub fn check(header: &Header, payload: &[u8], expected: Offset) -> Result<(), FrameFault> {
    if payload.len() != header.payload_len {
        return Err(FrameFault::BadLength);
    }
    let found = payload_offset(payload);
    if crc32c::crc32c(payload) != header.crc {
        return Err(FrameFault::Crc);
    }
    if found != expected {
        return Err(FrameFault::WrongOffset { found });
    }
    let count = u16::from_le_bytes([payload[16], payload[17]]) as usize;
    if PAYLOAD_FIXED_LEN + 16 * count > payload.len() {
        return Err(FrameFault::Malformed(
            "identity count runs past the payload",
        ));
    }
    Ok(())
}

/// The offset a payload claims (the payload must be at least [`PAYLOAD_FIXED_LEN`] long).
pub fn payload_offset(payload: &[u8]) -> Offset {
    let mut b = [0u8; 8];
    b.copy_from_slice(&payload[0..8]);
    u64::from_le_bytes(b)
}

/// Frame size of a record, or `None` when it cannot be framed (too large, too many identities).
pub fn encoded_len(record: &NewRecord) -> Option<usize> {
    if record.identities.len() > usize::from(u16::MAX) {
        return None;
    }
    let payload = PAYLOAD_FIXED_LEN
        + 16 * record.identities.len()
        + record.compact.as_ref().map_or(0, |c| 5 + c.len())
        + record.raw.len();
    (payload <= MAX_PAYLOAD_LEN).then_some(HEADER_LEN + payload)
}

/// Appends the frame of `record` at `offset` to `out`. The caller has checked
/// [`encoded_len`]; the CRC is computed over the payload in place, without a copy.
pub fn encode_into(out: &mut Vec<u8>, offset: Offset, record: &NewRecord) {
    let start = out.len();
    out.extend_from_slice(&[0u8; HEADER_LEN]);
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(&record.ingest_time.0.to_le_bytes());
    // encoded_len has bounded the count to u16.
    let count = u16::try_from(record.identities.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&count.to_le_bytes());
    for id in &record.identities {
        out.extend_from_slice(&id.0);
    }
    if let Some(compact) = &record.compact {
        out.push(COMPACT_MARKER);
        // encoded_len has bounded the payload, and so this length, to MAX_PAYLOAD_LEN.
        out.extend_from_slice(&(compact.len() as u32).to_le_bytes());
        out.extend_from_slice(compact);
    }
    out.extend_from_slice(record.raw.as_bytes());
    let payload = &out[start + HEADER_LEN..];
    let len = payload.len() as u32;
    let crc = crc32c::crc32c(payload);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// Decodes a payload that passed [`check`].
pub fn decode(payload: &[u8]) -> Result<LogRecord, FrameFault> {
    let offset = payload_offset(payload);
    let mut t = [0u8; 8];
    t.copy_from_slice(&payload[8..16]);
    let ingest_time = Timestamp(i64::from_le_bytes(t));
    let count = u16::from_le_bytes([payload[16], payload[17]]) as usize;
    let ids_end = PAYLOAD_FIXED_LEN + 16 * count;
    let ids = payload
        .get(PAYLOAD_FIXED_LEN..ids_end)
        .ok_or(FrameFault::Malformed(
            "identity count runs past the payload",
        ))?;
    let identities = ids
        .chunks_exact(16)
        .map(|c| {
            let mut id = [0u8; 16];
            id.copy_from_slice(c);
            FactId(id)
        })
        .collect();
    let mut rest = &payload[ids_end..];
    let mut compact = None;
    if rest.first() == Some(&COMPACT_MARKER) {
        let len = rest
            .get(1..5)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or(FrameFault::Malformed(
                "compact section runs past the payload",
            ))?;
        let bytes = rest.get(5..5 + len).ok_or(FrameFault::Malformed(
            "compact section runs past the payload",
        ))?;
        compact = Some(bytes.to_vec());
        rest = &rest[5 + len..];
    }
    let raw = std::str::from_utf8(rest)
        .map_err(|_| FrameFault::Malformed("raw input is not UTF-8"))?
        .to_owned();
    Ok(LogRecord {
        offset,
        ingest_time,
        identities,
        raw,
        compact,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> NewRecord {
        NewRecord {
            ingest_time: Timestamp(1_717_423_330_815),
            identities: vec![FactId([7; 16]), FactId([9; 16])],
            raw: r#"{"a":"é"}"#.to_owned(),
            compact: None,
        }
    }

    #[test]
    fn a_compact_section_sits_between_the_identities_and_the_raw_input() {
        let mut with = record();
        with.compact = Some(vec![1, 2, 3]);
        let mut buf = Vec::new();
        encode_into(&mut buf, 7, &with);
        assert_eq!(buf.len(), encoded_len(&with).unwrap_or(0));
        assert_eq!(buf.len(), 8 + 18 + 32 + 5 + 3 + 10);
        assert_eq!(&buf[58..66], &[0xFE, 3, 0, 0, 0, 1, 2, 3]);
        let header = Header::parse(&buf[..8].try_into().unwrap()).unwrap();
        check(&header, &buf[8..], 7).unwrap();
        let back = decode(&buf[8..]).unwrap();
        assert_eq!(back.compact, Some(vec![1, 2, 3]));
        assert_eq!(back.raw, r#"{"a":"é"}"#);
        assert_eq!(back.identities, with.identities);

        // A length running past the payload is refused, not read beyond.
        let mut damaged = buf[8..].to_vec();
        damaged[51] = 200;
        assert_eq!(
            decode(&damaged).map(|_| ()),
            Err(FrameFault::Malformed(
                "compact section runs past the payload"
            ))
        );
    }

    #[test]
    fn encodes_the_documented_layout_and_decodes_it_back() {
        let mut buf = Vec::new();
        encode_into(&mut buf, 42, &record());
        assert_eq!(buf.len(), encoded_len(&record()).unwrap_or(0));
        assert_eq!(buf.len(), 8 + 18 + 32 + 10);
        let header = Header::parse(&buf[..8].try_into().unwrap()).unwrap();
        assert_eq!(header.payload_len, 18 + 32 + 10);
        assert_eq!(header.crc, crc32c::crc32c(&buf[8..]));
        assert_eq!(&buf[8..16], &42u64.to_le_bytes());
        check(&header, &buf[8..], 42).unwrap();
        let back = decode(&buf[8..]).unwrap();
        assert_eq!(back.offset, 42);
        assert_eq!(back.ingest_time, Timestamp(1_717_423_330_815));
        assert_eq!(back.identities, record().identities);
        assert_eq!(back.raw, r#"{"a":"é"}"#);
        assert_eq!(back.compact, None);
    }

    #[test]
    fn refuses_flipped_bytes_wrong_offsets_and_impossible_lengths() {
        let mut buf = Vec::new();
        encode_into(&mut buf, 3, &record());
        let header = Header::parse(&buf[..8].try_into().unwrap()).unwrap();
        assert_eq!(
            check(&header, &buf[8..], 4),
            Err(FrameFault::WrongOffset { found: 3 })
        );
        let mut flipped = buf.clone();
        flipped[30] ^= 0x01;
        assert_eq!(check(&header, &flipped[8..], 3), Err(FrameFault::Crc));
        assert!(Header::parse(&[0; 8]).is_none());
        assert!(Header::parse(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]).is_none());
    }
}
