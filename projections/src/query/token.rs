//! `nextToken`: opaque to callers. It is the store position of the last item returned, bound to
//! the query it came from by a checksum, so a token from another list is refused, not misread.

use super::QueryError;

fn check(scope: &str, position: &[u8]) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(scope.as_bytes());
    h.update(&[0]);
    h.update(position);
    h.digest()
}

/// Encodes a position for the list identified by `scope`.
pub fn encode(scope: &str, position: &[u8]) -> String {
    let mut out = format!("{:016x}", check(scope, position));
    for b in position {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Decodes a token of the list identified by `scope`.
pub fn decode(scope: &str, token: &str) -> Result<Vec<u8>, QueryError> {
    let bad = || QueryError::invalid("nextToken", "not a token returned by this query");
    if token.len() < 16 || !token.len().is_multiple_of(2) || !token.is_ascii() {
        return Err(bad());
    }
    let sum = u64::from_str_radix(&token[..16], 16).map_err(|_| bad())?;
    let position = (16..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&token[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| bad())?;
    if check(scope, &position) != sum {
        return Err(bad());
    }
    Ok(position)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_other_scopes() {
        let t = encode("sub:a@x.io", b"\x00\x06abc");
        assert_eq!(decode("sub:a@x.io", &t).unwrap(), b"\x00\x06abc");
        assert!(decode("sub:b@x.io", &t).is_err());
        assert!(decode("sub:a@x.io", "zz").is_err());
        let mut tampered = t.clone();
        tampered.push_str("00");
        assert!(decode("sub:a@x.io", &tampered).is_err());
    }
}
