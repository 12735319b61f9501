//! Signed system events: how the processor tells mailshot's own records on the stream from
//! forgeries (issue 16, item 9).
//!
//! The Kinesis stream carries both mailshot's own events (reactor outcomes, `unsuppress`,
//! `unsubscribe`: sources `mailshot.*`) and inputs from any producer allowed to `PutRecord`,
//! which may bypass ingest and its reserved-source check. So mailshot puts its own events
//! signed, as the record data
//!
//! ```text
//! {"mailshotSigned":"<hex HMAC-SHA256(key, event)>","event":<the event JSON>}
//! ```
//!
//! where the MAC covers the exact bytes of `event` (read back as a [`RawValue`], so nothing is
//! re-serialised before checking). The key is the deployment's signing key: 32 random bytes
//! (from the OS, via `getrandom`) in the item `SIGNING_KEY` / `-` of the log table, written once
//! by `init` (or by the first signer of a deployment initialised before signing existed) with
//! a conditional put, and read once per process. A producer that may put to the stream but
//! not read that item cannot sign: the processor reads its records as inputs from outside
//! ([`mailshot_domain::parse_external_input`]), so a `mailshot.*` source is rejected as
//! reserved, and a wrapper whose MAC does not verify is rejected for its bad signature. The
//! archive keeps the inner event, byte for byte as before signing existed.

use std::collections::HashMap;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::Sha256;

use super::item::{Item, get_s, s};
use super::store::NO_SK;
use super::{Aws, AwsError};
use crate::Outgoing;

type HmacSha256 = Hmac<Sha256>;

/// The partition key of the signing key's item in the log table.
pub const SIGNING_KEY_PK: &str = "SIGNING_KEY";
/// Bytes of the signing key.
const KEY_LEN: usize = 32;

/// The signing key, as the processor and signers hold it.
pub type SigningKey = [u8; KEY_LEN];

/// The signing key once read, shared by an [`Aws`] and its clones, with the log table it was
/// read from (a clone pointed at another deployment, as `bench` makes, reads its own). Its
/// `Debug` never shows the key.
#[derive(Default)]
pub(crate) struct KeyCache(std::sync::Mutex<Option<(String, SigningKey)>>);

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyCache(..)")
    }
}

/// The record data of a signed event.
#[derive(Serialize, Deserialize)]
struct Signed<'a> {
    #[serde(rename = "mailshotSigned")]
    mac: &'a str,
    #[serde(borrow)]
    event: &'a RawValue,
}

/// What a stream record is, as far as signing goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Opened<'a> {
    /// A signed wrapper whose MAC verifies: mailshot's own event, its exact bytes.
    Own(&'a str),
    /// A signed wrapper whose MAC does not verify (or is not hex): a forgery.
    BadSignature,
    /// Not a signed wrapper: an input from outside.
    Unsigned,
}

fn key_item_key() -> Item {
    HashMap::from([
        ("pk".to_string(), s(SIGNING_KEY_PK)),
        ("sk".to_string(), s(NO_SK)),
    ])
}

fn mac(key: &SigningKey, event: &str) -> HmacSha256 {
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(event.as_bytes());
    mac
}

/// Wraps `event` (one JSON document) as a signed record data with `key`.
pub fn sign_with(key: &SigningKey, event: &str) -> Result<String, AwsError> {
    // Parsed as a RawValue, as the processor will read it: the MAC covers the same bytes
    // (surrounding whitespace is not part of the value).
    let event: &RawValue = serde_json::from_str(event)
        .map_err(|e| AwsError::Other(format!("signing a system event that is not JSON: {e}")))?;
    let tag = hex::encode(mac(key, event.get()).finalize().into_bytes());
    serde_json::to_string(&Signed { mac: &tag, event })
        .map_err(|e| AwsError::Other(format!("signing a system event: {e}")))
}

/// Reads record data `data` as a signed wrapper checked with `key` (in constant time).
pub fn open_with<'a>(key: &SigningKey, data: &'a str) -> Opened<'a> {
    match wrapper(data) {
        Some(signed) => verify(key, &signed),
        None => Opened::Unsigned,
    }
}

/// `data` read as a signed wrapper (whatever its MAC), if it is one.
fn wrapper(data: &str) -> Option<Signed<'_>> {
    serde_json::from_str(data).ok()
}

/// Checks a wrapper's MAC with `key`, in constant time.
fn verify<'a>(key: &SigningKey, signed: &Signed<'a>) -> Opened<'a> {
    let Ok(tag) = hex::decode(signed.mac) else {
        return Opened::BadSignature;
    };
    match mac(key, signed.event.get()).verify_slice(&tag) {
        Ok(()) => Opened::Own(signed.event.get()),
        Err(_) => Opened::BadSignature,
    }
}

impl Aws {
    /// Writes a fresh signing key unless the deployment has one (conditional put, so
    /// concurrent callers agree on one key). Returns true if this call wrote it.
    pub fn ensure_signing_key(&self) -> Result<bool, AwsError> {
        let table = self.names.log_table();
        let mut key: SigningKey = [0; KEY_LEN];
        getrandom::fill(&mut key).map_err(|e| {
            AwsError::Other(format!(
                "drawing a signing key from the OS's randomness: {e}"
            ))
        })?;
        let mut item = key_item_key();
        item.insert("key".into(), s(hex::encode(key)));
        match self.block(
            self.ddb
                .put_item()
                .table_name(&table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .send(),
        ) {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(AwsError::sdk("PutItem (signing key)", &table, e)),
        }
    }

    /// The deployment's signing key, read once per process (and shared by clones); written
    /// first if the deployment has none yet (one initialised before signing existed).
    pub fn signing_key(&self) -> Result<SigningKey, AwsError> {
        let table = self.names.log_table();
        if let Some((from, key)) = &*self.lock_signing_key()
            && *from == table
        {
            return Ok(*key);
        }
        let item = match self.get_item(&table, key_item_key())? {
            Some(item) => item,
            None => {
                self.ensure_signing_key()?;
                self.get_item(&table, key_item_key())?.ok_or_else(|| {
                    AwsError::Other(format!(
                        "GetItem (signing key) on {table}: missing just after it was written"
                    ))
                })?
            }
        };
        let hex_key = get_s(&item, "key", &table)?;
        let key: SigningKey = hex::decode(hex_key)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| AwsError::Corrupt {
                table: table.clone(),
                reason: format!("the signing key is not {KEY_LEN} bytes of hex"),
            })?;
        *self.lock_signing_key() = Some((table, key));
        Ok(key)
    }

    /// Forgets the key read (`init` may have written another one after a `destroy`).
    pub(crate) fn forget_signing_key(&self) {
        *self.lock_signing_key() = None;
    }

    fn lock_signing_key(&self) -> std::sync::MutexGuard<'_, Option<(String, SigningKey)>> {
        // A poisoned lock only means a panic elsewhere; the cached key is still whole.
        self.signing_key
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Puts mailshot's own events to the stream, signed (see the module doc); `records` hold
    /// the events as JSON.
    pub fn put_signed(&self, records: &[Outgoing]) -> Result<(), AwsError> {
        if records.is_empty() {
            return Ok(());
        }
        let key = self.signing_key()?;
        let signed = records
            .iter()
            .map(|r| {
                Ok(Outgoing {
                    partition_key: r.partition_key.clone(),
                    data: sign_with(&key, &r.data)?,
                })
            })
            .collect::<Result<Vec<_>, AwsError>>()?;
        self.put_records(&signed)
    }

    /// Opens one stream record's data (see [`open_with`]), parsing it as a wrapper once;
    /// reads the key only for wrappers.
    pub fn open_signed<'a>(&self, data: &'a str) -> Result<Opened<'a>, AwsError> {
        match wrapper(data) {
            Some(signed) => Ok(verify(&self.signing_key()?, &signed)),
            None => Ok(Opened::Unsigned),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: SigningKey = [7; KEY_LEN];
    const EVENT: &str =
        r#"{"version":"0","id":"e-1","source":"mailshot.admin","detail":{"email":"a@b.c"}}"#;

    #[test]
    fn a_signed_event_opens_to_its_exact_bytes() {
        let data = sign_with(&KEY, EVENT).unwrap();
        assert!(data.starts_with(r#"{"mailshotSigned":""#), "{data}");
        assert!(data.ends_with(&format!(r#","event":{EVENT}}}"#)), "{data}");
        assert_eq!(open_with(&KEY, &data), Opened::Own(EVENT));
    }

    #[test]
    fn another_key_a_changed_event_or_a_garbled_mac_is_a_bad_signature() {
        let data = sign_with(&KEY, EVENT).unwrap();
        assert_eq!(open_with(&[8; KEY_LEN], &data), Opened::BadSignature);
        let changed = data.replace("a@b.c", "x@b.c");
        assert_eq!(open_with(&KEY, &changed), Opened::BadSignature);
        let not_hex = format!(r#"{{"mailshotSigned":"zz","event":{EVENT}}}"#);
        assert_eq!(open_with(&KEY, &not_hex), Opened::BadSignature);
    }

    #[test]
    fn anything_but_a_wrapper_is_unsigned() {
        assert_eq!(open_with(&KEY, EVENT), Opened::Unsigned);
        assert_eq!(open_with(&KEY, "not json"), Opened::Unsigned);
        assert_eq!(
            open_with(&KEY, r#"{"mailshotSigned":1,"event":{}}"#),
            Opened::Unsigned
        );
        assert!(wrapper(EVENT).is_none());
    }
}
