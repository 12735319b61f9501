//! Unsubscribe tokens: an email address and an expiry, signed with HMAC-SHA256.
//!
//! Format (three dot-separated fields, URL-safe without escaping):
//!
//! ```text
//! base64url(email) "." expiry "." base64url(HMAC-SHA256(secret, base64url(email) "." expiry))
//! ```
//!
//! - `base64url` is RFC 4648 §5 without padding;
//! - `expiry` is the expiry instant in Unix seconds, decimal, no sign, no leading zeros;
//! - the MAC covers the first two fields exactly as they appear in the token.
//!
//! Tokens are valid for [`TOKEN_VALIDITY_DAYS`] days from signing. Verification checks the MAC
//! in constant time before anything in the token is trusted, so a tampered expiry is a bad
//! signature, not an expired or valid token. The unsubscribe URL is
//! `<unsubscribeBaseUrl>?token=<token>` ([`unsubscribe_url`]).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use mailshot_domain::Timestamp;
use sha2::Sha256;

/// How long a token stays valid after signing.
pub const TOKEN_VALIDITY_DAYS: i64 = 90;

type HmacSha256 = Hmac<Sha256>;

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three fields, not base64url, not a number, wrong MAC length, or not UTF-8.
    #[error("malformed unsubscribe token")]
    Malformed,
    /// Well-formed, but the MAC does not match (tampered, or another secret).
    #[error("unsubscribe token has a bad signature")]
    BadSignature,
    /// Genuine, but past its expiry (Unix seconds).
    #[error("unsubscribe token expired at {expired_at} (Unix seconds)")]
    Expired { expired_at: i64 },
}

fn mac(secret: &[u8], signed: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(signed.as_bytes());
    mac
}

/// Signs a token for `email` valid until `now` + [`TOKEN_VALIDITY_DAYS`].
pub fn sign(email: &str, secret: &[u8], now: Timestamp) -> String {
    sign_until(email, secret, now.plus_days(TOKEN_VALIDITY_DAYS).as_secs())
}

/// Signs a token for `email` that expires at `expires_at` (Unix seconds).
pub fn sign_until(email: &str, secret: &[u8], expires_at: i64) -> String {
    let signed = format!("{}.{}", URL_SAFE_NO_PAD.encode(email), expires_at.max(0));
    let tag = mac(secret, &signed).finalize().into_bytes();
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// Verifies a token at `now` and returns the email it was signed for.
pub fn verify(token: &str, secret: &[u8], now: Timestamp) -> Result<String, TokenError> {
    let mut fields = token.split('.');
    let (Some(email_b64), Some(expiry), Some(tag_b64), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(TokenError::Malformed);
    };
    let canonical_number = !expiry.is_empty()
        && expiry.len() <= 18
        && expiry.bytes().all(|b| b.is_ascii_digit())
        && (expiry == "0" || !expiry.starts_with('0'));
    if !canonical_number {
        return Err(TokenError::Malformed);
    }
    let expires_at: i64 = expiry.parse().map_err(|_| TokenError::Malformed)?;
    let email_bytes = URL_SAFE_NO_PAD
        .decode(email_b64)
        .map_err(|_| TokenError::Malformed)?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag_b64)
        .map_err(|_| TokenError::Malformed)?;
    if tag.len() != 32 {
        return Err(TokenError::Malformed);
    }
    let signed = &token[..email_b64.len() + 1 + expiry.len()];
    mac(secret, signed)
        .verify_slice(&tag)
        .map_err(|_| TokenError::BadSignature)?;
    let email = String::from_utf8(email_bytes).map_err(|_| TokenError::Malformed)?;
    if now.as_secs() >= expires_at {
        return Err(TokenError::Expired {
            expired_at: expires_at,
        });
    }
    Ok(email)
}

/// `<base>?token=<token>`, or `&token=` when `base` already has a query. Tokens need no
/// percent-encoding (base64url, digits and dots only).
pub fn unsubscribe_url(base: &str, token: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}token={token}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const NOW: Timestamp = Timestamp(1_717_423_318_000); // 2024-06-03T14:01:58Z

    #[test]
    fn round_trip_returns_the_email() {
        let token = sign("jordan.lee@example.net", SECRET, NOW);
        assert_eq!(
            verify(&token, SECRET, NOW),
            Ok("jordan.lee@example.net".to_string())
        );
        assert_eq!(
            verify(&token, SECRET, NOW.plus_days(89)),
            Ok("jordan.lee@example.net".to_string())
        );
        let fields: Vec<&str> = token.split('.').collect();
        assert_eq!(fields.len(), 3);
        assert_eq!(fields[0], "am9yZGFuLmxlZUBleGFtcGxlLm5ldA");
        assert_eq!(fields[1], (NOW.as_secs() + 90 * 86_400).to_string());
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        );
    }

    #[test]
    fn expired_tokens_are_refused() {
        let token = sign("a@example.com", SECRET, NOW);
        let expiry = NOW.as_secs() + 90 * 86_400;
        assert_eq!(
            verify(&token, SECRET, NOW.plus_days(90)),
            Err(TokenError::Expired { expired_at: expiry })
        );
    }

    #[test]
    fn tampered_tokens_have_bad_signatures() {
        let token = sign("a@example.com", SECRET, NOW);
        let fields: Vec<&str> = token.split('.').collect();
        // Another email with the original MAC.
        let other = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode("b@example.com"),
            fields[1],
            fields[2]
        );
        assert_eq!(verify(&other, SECRET, NOW), Err(TokenError::BadSignature));
        // A later expiry with the original MAC.
        let later = format!(
            "{}.{}.{}",
            fields[0],
            NOW.as_secs() + 999 * 86_400,
            fields[2]
        );
        assert_eq!(verify(&later, SECRET, NOW), Err(TokenError::BadSignature));
        // Another secret.
        assert_eq!(
            verify(&token, b"another secret", NOW),
            Err(TokenError::BadSignature)
        );
        // One flipped MAC character.
        let mut flipped = token.clone().into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            verify(&String::from_utf8(flipped).unwrap(), SECRET, NOW),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let token = sign("a@example.com", SECRET, NOW);
        let fields: Vec<&str> = token.split('.').collect();
        for bad in [
            "".to_string(),
            "abc".to_string(),
            format!("{}.{}", fields[0], fields[1]),
            format!("{token}.x"),
            format!("{}.12x.{}", fields[0], fields[2]),
            format!("{}.-5.{}", fields[0], fields[2]),
            format!("{}.0{}.{}", fields[0], fields[1], fields[2]),
            format!("!!!.{}.{}", fields[1], fields[2]),
            format!("{}.{}.{}", fields[0], fields[1], &fields[2][..20]),
            format!("{}.{}.{}=", fields[0], fields[1], fields[2]),
        ] {
            assert_eq!(
                verify(&bad, SECRET, NOW),
                Err(TokenError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn unsubscribe_urls_append_the_token() {
        assert_eq!(
            unsubscribe_url("https://x.example/u", "t.1.m"),
            "https://x.example/u?token=t.1.m"
        );
        assert_eq!(
            unsubscribe_url("https://x.example/u?l=en", "t.1.m"),
            "https://x.example/u?l=en&token=t.1.m"
        );
    }
}
