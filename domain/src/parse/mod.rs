//! Parsing inputs: shape detection, typed borrowing deserialisation, normalisation.
//!
//! One pass of serde over a single all-optional top-level model ([`Top`]) both detects the
//! shape (by which keys are present) and deserialises the SES record, so a bare SES line is
//! parsed exactly once. Strings borrow from the input unless JSON escapes force a copy;
//! skipped fields are never materialised. Nested documents (an SNS `Message`, an EventBridge
//! `detail`, a Lambda record) are parsed with the same model, and their errors are re-rooted
//! at the outer field's path.

mod eventbridge;
mod lambda;
mod lenient;
mod ses;
mod sns;
mod system;

pub use self::system::{ADMIN_SOURCE, REACTOR_SOURCE};

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use self::lenient::{Arr, Leaf, Obj};
use self::ses::{Mail, TypeObject};
use crate::{Envelope, Input, InputBody, InputError};

/// Every top-level key of every accepted shape, all optional. Which ones are present tells
/// the shape; the SES keys are deserialised on the way.
#[derive(Deserialize)]
pub(crate) struct Top<'a> {
    // SES record (docs/formats.md §1a/§1b).
    #[serde(rename = "eventType", borrow)]
    event_type: Option<Leaf<'a>>,
    #[serde(rename = "notificationType", borrow)]
    notification_type: Option<Leaf<'a>>,
    #[serde(borrow)]
    mail: Option<Obj<Mail<'a>>>,
    #[serde(borrow)]
    bounce: Option<Obj<TypeObject<'a>>>,
    #[serde(borrow)]
    complaint: Option<Obj<TypeObject<'a>>>,
    #[serde(borrow)]
    delivery: Option<Obj<TypeObject<'a>>>,
    #[serde(borrow)]
    open: Option<Obj<TypeObject<'a>>>,
    #[serde(borrow)]
    click: Option<Obj<TypeObject<'a>>>,
    #[serde(rename = "deliveryDelay", borrow)]
    delivery_delay: Option<Obj<TypeObject<'a>>>,
    #[serde(borrow)]
    subscription: Option<Obj<TypeObject<'a>>>,
    /// `Rendering Failure`'s object is `failure`, not `renderingFailure`.
    failure: Option<Obj<IgnoredAny>>,
    send: Option<Obj<IgnoredAny>>,
    reject: Option<Obj<IgnoredAny>>,
    // EventBridge event (docs/formats.md §1d).
    #[serde(borrow)]
    id: Option<Leaf<'a>>,
    #[serde(rename = "detail-type", borrow)]
    detail_type: Option<Leaf<'a>>,
    #[serde(borrow)]
    source: Option<Leaf<'a>>,
    #[serde(borrow)]
    time: Option<Leaf<'a>>,
    /// Kept raw: its model depends on `source`, known only once the whole object is read.
    #[serde(borrow)]
    detail: Option<&'a RawValue>,
    // SNS notification (docs/formats.md §1c).
    #[serde(rename = "Type", borrow)]
    sns_type: Option<Leaf<'a>>,
    #[serde(rename = "Message", borrow)]
    message: Option<Leaf<'a>>,
    // Lambda events (docs/formats.md §1c/§1e) and their records.
    #[serde(rename = "Records", borrow)]
    records: Option<Arr<&'a RawValue>>,
    #[serde(rename = "Sns", borrow)]
    sns: Option<Obj<sns::SnsRecord<'a>>>,
    #[serde(borrow)]
    kinesis: Option<Obj<lambda::Kinesis<'a>>>,
}

/// Reads `text` as the top-level model, telling "not JSON" from "JSON but not an object".
fn read_top(text: &str) -> Result<Top<'_>, InputError> {
    match serde_json::from_str::<Obj<Top<'_>>>(text) {
        Ok(Obj::Ok(top)) => Ok(top),
        Ok(Obj::Wrong(found)) => Err(InputError::NotAnObject { found }),
        Err(e) if e.is_data() => Err(InputError::Malformed(e.to_string())),
        Err(e) => Err(InputError::NotJson(e.to_string())),
    }
}

/// Re-roots the error of a JSON document embedded in the string field `path` (an SNS
/// `Message`, a Kinesis `data`) at that field.
fn embedded_error(err: InputError, path: &str) -> InputError {
    match err {
        InputError::NotJson(reason) => InputError::EmbeddedNotJson {
            path: path.to_owned(),
            reason,
        },
        InputError::NotAnObject { .. } => InputError::WrongType {
            path: path.to_owned(),
            expected: "a string holding a JSON object",
        },
        other => other.prefixed(&format!("{path}.")),
    }
}

/// Whitespace around a line (the NDJSON newline, a CR) is not part of the input.
fn trim_json_ws(text: &str) -> &str {
    text.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
}

/// Parses one NDJSON line (or one Lambda event payload) into its inputs. A Lambda SNS or
/// Kinesis event yields one result per record, so one bad record rejects only itself.
pub fn parse_line(line: &[u8]) -> Vec<Result<Input<'_>, InputError>> {
    let text = match std::str::from_utf8(line) {
        Ok(text) => trim_json_ws(text),
        Err(e) => return vec![Err(InputError::NotJson(format!("invalid UTF-8: {e}")))],
    };
    let mut top = match read_top(text) {
        Ok(top) => top,
        Err(e) => return vec![Err(e)],
    };
    match top.records.take() {
        Some(records) => lambda::records(records),
        None => vec![dispatch(text, top)],
    }
}

/// [`parse_line`] for an input from outside mailshot (a file, stdin, the ingest Lambda, any
/// producer): an input with a reserved source (`mailshot.*`) is rejected as
/// [`InputError::ReservedSource`], so that admin actions and reactor outcomes enter only
/// through mailshot's own commands and cannot be forged by ingesting them.
///
/// On AWS the processor reads one Kinesis stream where mailshot's own events and ingested
/// inputs travel alike, and any principal allowed to `PutRecord` can write to it, bypassing
/// ingest. So mailshot's own events (reactor outcomes, `unsuppress`, `unsubscribe`) are put
/// signed: the record's data is `{"mailshotSigned":"<hex HMAC-SHA256>","event":<event>}`, the
/// MAC taken with the deployment's signing key (32 random bytes that `init` keeps in the log
/// table, unreadable to producers) over the exact bytes of `event`. The processor takes the
/// inner event of a record whose MAC verifies as mailshot's own, and reads every other record
/// with [`parse_external_input`]: an unsigned `mailshot.*` event is rejected as a reserved
/// source, a wrapper whose MAC does not verify for its bad signature (see
/// `infra/aws/src/signing.rs`). The embedded runtime has no stream: only its own ingest and
/// commands write its log.
pub fn parse_external_line(line: &[u8]) -> Vec<Result<Input<'_>, InputError>> {
    parse_line(line)
        .into_iter()
        .enumerate()
        .map(|(index, result)| match result {
            Ok(input) => {
                let envelope = input.envelope;
                from_outside(input).map_err(|reserved| match envelope {
                    // One record of a Lambda event: only that record is rejected, by index.
                    Envelope::LambdaKinesisRecord | Envelope::LambdaSnsRecord => {
                        InputError::LambdaRecord {
                            index,
                            source: Box::new(reserved),
                        }
                    }
                    _ => reserved,
                })
            }
            Err(e) => Err(reserved_error(e)),
        })
        .collect()
}

/// [`parse_input`] for one input from outside mailshot: what the AWS processor makes of a
/// stream record that is not signed by mailshot (see [`parse_external_line`]). An input with a
/// reserved source (`mailshot.*`) is rejected as [`InputError::ReservedSource`].
pub fn parse_external_input(raw: &str) -> Result<Input<'_>, InputError> {
    parse_input(raw)
        .map_err(reserved_error)
        .and_then(from_outside)
}

/// `input` as an input from outside: a system event (a reserved source) is refused.
fn from_outside(input: Input<'_>) -> Result<Input<'_>, InputError> {
    match &input.body {
        InputBody::System(sys) => Err(InputError::ReservedSource {
            event_source: sys.action.source().to_owned(),
        }),
        _ => Ok(input),
    }
}

/// A `mailshot.*` event mailshot never writes is reserved all the same: one reason for every
/// input that claims a reserved source.
fn reserved_error(e: InputError) -> InputError {
    match e {
        InputError::UnknownSystemEvent { event_source, .. } => {
            InputError::ReservedSource { event_source }
        }
        InputError::LambdaRecord { index, source } => InputError::LambdaRecord {
            index,
            source: Box::new(reserved_error(*source)),
        },
        other => other,
    }
}

/// Parses exactly one stored input (the `raw` of an [`Input`]), as the log replays it.
/// Accepts every single-input shape, including one Lambda SNS record object (`{"Sns": …}`);
/// a whole Lambda event holds several inputs and is rejected here (use [`parse_line`]).
pub fn parse_input(raw: &str) -> Result<Input<'_>, InputError> {
    let text = trim_json_ws(raw);
    let top = read_top(text)?;
    if top.records.is_some() {
        return Err(InputError::UnknownShape(
            "a Lambda event with `Records` holds several inputs; parse it as a line".into(),
        ));
    }
    dispatch(text, top)
}

/// Decides the shape from the keys present and parses it.
fn dispatch<'a>(raw: &'a str, mut top: Top<'a>) -> Result<Input<'a>, InputError> {
    let (envelope, body) = if top.sns.is_some() {
        let record = lenient::req_obj(top.sns.take(), "Sns")?;
        let facts = sns::notification(record.sns_type, record.message, "Sns.")?;
        (Envelope::LambdaSnsRecord, InputBody::Ses(facts))
    } else if top.kinesis.is_some() {
        return lambda::kinesis_record(top);
    } else if top.sns_type.is_some() || top.message.is_some() {
        let facts = sns::notification(top.sns_type.take(), top.message.take(), "")?;
        (Envelope::SnsNotification, InputBody::Ses(facts))
    } else if top.event_type.is_some() || top.notification_type.is_some() {
        let facts = ses::facts(ses::SesRecord::take(&mut top))?;
        (Envelope::SesRecord, InputBody::Ses(facts))
    } else if top.detail_type.is_some() || top.detail.is_some() {
        (Envelope::EventBridge, eventbridge::body(top)?)
    } else {
        return Err(InputError::UnknownShape(
            "an object with none of `eventType`, `notificationType`, `detail-type`, `Type`, \
             `Records`, `Sns`"
                .into(),
        ));
    };
    Ok(Input {
        raw: raw.into(),
        envelope,
        body,
    })
}
