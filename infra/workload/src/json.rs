//! Writing JSON text fast into a reused `String`: numbers, timestamps, ids, escaping.

use super::rng::Rng;

const MS_PER_DAY: i64 = 86_400_000;

/// Appends ASCII bytes (all callers pass ASCII they built themselves).
#[inline]
pub(crate) fn push_ascii(b: &mut String, bytes: &[u8]) {
    b.push_str(std::str::from_utf8(bytes).expect("ASCII"));
}

/// Appends the decimal digits of `v`.
#[inline]
pub(crate) fn push_u64(b: &mut String, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    push_ascii(b, &tmp[i..]);
}

fn write_padded(out: &mut [u8], mut v: u64) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// Appends `v` as exactly `width` (at most 20) decimal digits, zero-padded.
#[inline]
pub(crate) fn push_padded(b: &mut String, v: u64, width: usize) {
    let mut tmp = [b'0'; 20];
    write_padded(&mut tmp[..width], v);
    push_ascii(b, &tmp[..width]);
}

/// `(year, month, day)` of a day count since 1970-01-01 (H. Hinnant's algorithm).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` as bytes.
fn date_time(ms: i64) -> [u8; 24] {
    let (y, mo, d) = civil_from_days(ms.div_euclid(MS_PER_DAY));
    let of_day = ms.rem_euclid(MS_PER_DAY);
    let mut t = *b"0000-00-00T00:00:00.000Z";
    write_padded(&mut t[0..4], y as u64);
    write_padded(&mut t[5..7], u64::from(mo));
    write_padded(&mut t[8..10], u64::from(d));
    write_padded(&mut t[11..13], (of_day / 3_600_000) as u64);
    write_padded(&mut t[14..16], (of_day / 60_000 % 60) as u64);
    write_padded(&mut t[17..19], (of_day / 1000 % 60) as u64);
    write_padded(&mut t[20..23], (of_day % 1000) as u64);
    t
}

/// Appends `YYYY-MM-DDTHH:MM:SS.mmmZ` (the SES spelling).
pub(crate) fn push_ts(b: &mut String, ms: i64) {
    push_ascii(b, &date_time(ms));
}

/// Appends `YYYY-MM-DDTHH:MM:SSZ` (the EventBridge spelling, whole seconds).
pub(crate) fn push_ts_secs(b: &mut String, ms: i64) {
    let t = date_time(ms);
    push_ascii(b, &t[..19]);
    b.push('Z');
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends the low `digits` (at most 32) hex digits of `v`, most significant first.
#[inline]
pub(crate) fn push_hex(b: &mut String, v: u128, digits: u32) {
    let mut tmp = [0u8; 32];
    let n = digits as usize;
    for (i, slot) in tmp[..n].iter_mut().enumerate() {
        *slot = HEX[((v >> ((n - 1 - i) * 4)) & 0xf) as usize];
    }
    push_ascii(b, &tmp[..n]);
}

/// Appends a version-4 UUID built from 128 random bits.
pub(crate) fn push_uuid_bits(b: &mut String, bits: u128) {
    let bits = (bits & !(0xf << 76)) | (0x4 << 76);
    let bits = (bits & !(0x3 << 62)) | (0x2 << 62);
    push_hex(b, bits >> 96, 8);
    b.push('-');
    push_hex(b, bits >> 80, 4);
    b.push('-');
    push_hex(b, bits >> 64, 4);
    b.push('-');
    push_hex(b, bits >> 48, 4);
    b.push('-');
    push_hex(b, bits, 12);
}

/// Appends a fresh version-4 UUID.
pub(crate) fn push_uuid(b: &mut String, rng: &mut Rng) {
    let bits = (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
    push_uuid_bits(b, bits);
}

/// Appends an SES-shaped id: `0100` + 12 hex digits of `ms` + `-<uuid>-000000`.
pub(crate) fn push_ses_id(b: &mut String, ms: i64, bits: u128) {
    b.push_str("0100");
    push_hex(b, ms as u128, 12);
    b.push('-');
    push_uuid_bits(b, bits);
    b.push_str("-000000");
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Appends a fake base64 RSA-2048 signature (344 characters).
pub(crate) fn push_signature(b: &mut String, rng: &mut Rng) {
    let mut tmp = [b'='; 344];
    for chunk in tmp[..342].chunks_mut(10) {
        let mut r = rng.next_u64();
        for slot in chunk {
            *slot = B64[(r & 63) as usize];
            r >>= 6;
        }
    }
    push_ascii(b, &tmp);
}

/// Exact mask of the zero bytes of `x`: bit 7 of each byte set where that byte is zero.
#[inline(always)]
fn zero_bytes(x: u64) -> u64 {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    !(((x & LOW7) + LOW7) | x) & !LOW7
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Appends `s` escaped as the contents of a JSON string (no surrounding quotes).
///
/// Eight bytes at a time: words without `"`, `\` or control characters are copied whole; the
/// others byte by byte, branch-free. Control characters (never in generated records) take the
/// slow path.
pub(crate) fn push_escaped(b: &mut String, s: &str) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let bytes = s.as_bytes();
    let done = SCRATCH.with_borrow_mut(|out| {
        if out.len() < bytes.len() * 2 + 16 {
            out.resize(bytes.len() * 2 + 16, 0);
        }
        let mut pos = 0;
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
            let special = zero_bytes(w ^ (ONES * u64::from(b'"')))
                | zero_bytes(w ^ (ONES * u64::from(b'\\')));
            if zero_bytes(w & (ONES * 0xE0)) != 0 {
                return false;
            }
            let dst = &mut out[pos..pos + 16];
            let mut p = 0;
            for &c in word {
                let esc = (c == b'"') | (c == b'\\');
                dst[p] = if esc { b'\\' } else { c };
                dst[p + 1] = c;
                p += 1 + usize::from(esc);
            }
            pos += p;
            let _ = special;
        }
        for &c in words.remainder() {
            if c < 0x20 {
                return false;
            }
            let esc = (c == b'"') | (c == b'\\');
            out[pos] = if esc { b'\\' } else { c };
            out[pos + 1] = c;
            pos += 1 + usize::from(esc);
        }
        b.push_str(std::str::from_utf8(&out[..pos]).expect("escaping keeps UTF-8"));
        true
    });
    if !done {
        push_escaped_slow(b, s);
    }
}

fn push_escaped_slow(b: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &c) in bytes.iter().enumerate() {
        let esc: &str = match c {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => {
                b.push_str(&s[start..i]);
                b.push_str("\\u00");
                push_hex(b, u128::from(c), 2);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        b.push_str(&s[start..i]);
        b.push_str(esc);
        start = i + 1;
    }
    b.push_str(&s[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailshot_domain::Timestamp;

    #[test]
    fn timestamps_match_the_domain_format() {
        for ms in [0i64, 1_717_423_330_815, 1_717_199_999_999, 951_782_400_000] {
            let mut b = String::new();
            push_ts(&mut b, ms);
            assert_eq!(b, Timestamp(ms).to_string());
            assert_eq!(Timestamp::parse(&b), Some(Timestamp(ms)));
            let mut s = String::new();
            push_ts_secs(&mut s, ms);
            assert_eq!(Timestamp::parse(&s), Some(Timestamp(ms - ms % 1000)));
        }
    }

    #[test]
    fn ids_are_shaped_like_aws_ids() {
        let mut b = String::new();
        push_ses_id(
            &mut b,
            0x018f_d2c4_1a7e,
            0x6b3f_29d1_4c8e_4a57_9f21_7d0e_8b5c_3a91,
        );
        assert_eq!(
            b,
            "0100018fd2c41a7e-6b3f29d1-4c8e-4a57-9f21-7d0e8b5c3a91-000000"
        );
        let mut s = String::new();
        push_signature(&mut s, &mut Rng::new(1));
        assert_eq!(s.len(), 344);
        let mut e = String::new();
        push_escaped(&mut e, "a\"b\\c\n\u{1}—");
        assert_eq!(e, "a\\\"b\\\\c\\n\\u0001—");
        let mut f = String::new();
        push_escaped(&mut f, "{\"k\":\"v \\\" — ok\"}");
        assert_eq!(f, "{\\\"k\\\":\\\"v \\\\\\\" — ok\\\"}");
    }
}
