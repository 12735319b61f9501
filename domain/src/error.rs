//! Why an input was rejected: one variant per way it can be wrong, each naming the field.

use thiserror::Error;

/// A rejected input. `Display` is one line that names the field (as a JSON path) and the fault.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InputError {
    /// The bytes are not JSON at all.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// Valid JSON, but not an object.
    #[error("not a JSON object: found {found}")]
    NotAnObject { found: &'static str },
    /// An object that is none of the accepted shapes of docs/design.md §3.1.
    #[error("unknown input shape: {0}")]
    UnknownShape(String),
    /// A required field is absent (or null).
    #[error("missing field `{path}`")]
    MissingField { path: String },
    /// A field has the wrong JSON type.
    #[error("field `{path}` must be {expected}")]
    WrongType {
        path: String,
        expected: &'static str,
    },
    /// A timestamp field could not be parsed.
    #[error("field `{path}` is not a timestamp: {value:?}")]
    BadTimestamp { path: String, value: String },
    /// A timestamp that parses but falls outside the days mailshot counts (see
    /// [`crate::Day::FIRST`]): an open-ended `stats` would leave its event out.
    #[error(
        "field `{path}` is outside the supported time range (0001-01-01 to 9999-12-31 UTC): {value:?}"
    )]
    TimestampOutOfRange { path: String, value: String },
    /// An address field is not an email address.
    #[error("field `{path}` is not an email address: {value:?}")]
    BadEmail { path: String, value: String },
    /// `eventType` / `notificationType` names no SES event type.
    #[error("field `{path}` is not an SES event type: {value:?}")]
    UnknownEventType { path: String, value: String },
    /// An SES record whose recipients list is empty: it would yield no fact.
    #[error("field `{path}` lists no recipient")]
    NoRecipients { path: String },
    /// An SNS notification whose `Message` string does not hold JSON.
    #[error("field `{path}` is not JSON: {reason}")]
    EmbeddedNotJson { path: String, reason: String },
    /// Well-formed JSON that serde could not read as the expected model (a duplicate key, …).
    #[error("malformed input: {0}")]
    Malformed(String),
    /// A base64 field (a Kinesis record's `data`) does not decode.
    #[error("field `{path}` is not base64: {reason}")]
    BadBase64 { path: String, reason: String },
    /// A `mailshot.*` EventBridge event whose `source` / `detail-type` pair mailshot never writes.
    #[error(
        "field `detail-type` names no mailshot event of source {event_source:?}: {detail_type:?}"
    )]
    UnknownSystemEvent {
        event_source: String,
        detail_type: String,
    },
    /// An input from outside (ingest, a producer) whose `source` is reserved to mailshot's own
    /// events (`mailshot.*`): admin actions and reactor outcomes enter only through mailshot's
    /// own commands, so an outside one is a forgery.
    #[error("reserved source {event_source:?}: only mailshot itself writes `mailshot.*` events")]
    ReservedSource { event_source: String },
    /// One record of a Lambda event is bad; only that record is rejected.
    #[error("Records[{index}]: {source}")]
    LambdaRecord {
        index: usize,
        #[source]
        source: Box<InputError>,
    },
}

impl InputError {
    /// A stable short name of the error kind (`missing_field`, `bad_email`, …), for tests,
    /// metrics and the quarantine.
    pub fn kind(&self) -> &'static str {
        match self {
            InputError::NotJson(_) => "not_json",
            InputError::NotAnObject { .. } => "not_an_object",
            InputError::UnknownShape(_) => "unknown_shape",
            InputError::MissingField { .. } => "missing_field",
            InputError::WrongType { .. } => "wrong_type",
            InputError::BadTimestamp { .. } => "bad_timestamp",
            InputError::TimestampOutOfRange { .. } => "timestamp_out_of_range",
            InputError::BadEmail { .. } => "bad_email",
            InputError::UnknownEventType { .. } => "unknown_event_type",
            InputError::NoRecipients { .. } => "no_recipients",
            InputError::EmbeddedNotJson { .. } => "embedded_not_json",
            InputError::Malformed(_) => "malformed",
            InputError::BadBase64 { .. } => "bad_base64",
            InputError::UnknownSystemEvent { .. } => "unknown_system_event",
            InputError::ReservedSource { .. } => "reserved_source",
            InputError::LambdaRecord { source, .. } => source.kind(),
        }
    }

    /// The JSON path of the field at fault, when there is one (`Records[1].Sns.Message`, …).
    pub fn field(&self) -> Option<String> {
        match self {
            InputError::MissingField { path }
            | InputError::WrongType { path, .. }
            | InputError::BadTimestamp { path, .. }
            | InputError::TimestampOutOfRange { path, .. }
            | InputError::BadEmail { path, .. }
            | InputError::UnknownEventType { path, .. }
            | InputError::NoRecipients { path }
            | InputError::EmbeddedNotJson { path, .. }
            | InputError::BadBase64 { path, .. } => Some(path.clone()),
            InputError::UnknownSystemEvent { .. } => Some("detail-type".to_owned()),
            InputError::ReservedSource { .. } => Some("source".to_owned()),
            InputError::LambdaRecord { index, source } => Some(match source.field() {
                Some(inner) => format!("Records[{index}].{inner}"),
                None => format!("Records[{index}]"),
            }),
            _ => None,
        }
    }

    /// The same error for a field nested under `prefix` (`detail.`, `Message.`, …): used when
    /// an inner document is parsed on its own and its paths must name the outer field.
    pub(crate) fn prefixed(self, prefix: &str) -> InputError {
        fn join(prefix: &str, path: String) -> String {
            let mut out = String::with_capacity(prefix.len() + path.len());
            out.push_str(prefix);
            out.push_str(&path);
            out
        }
        match self {
            InputError::MissingField { path } => InputError::MissingField {
                path: join(prefix, path),
            },
            InputError::WrongType { path, expected } => InputError::WrongType {
                path: join(prefix, path),
                expected,
            },
            InputError::BadTimestamp { path, value } => InputError::BadTimestamp {
                path: join(prefix, path),
                value,
            },
            InputError::TimestampOutOfRange { path, value } => InputError::TimestampOutOfRange {
                path: join(prefix, path),
                value,
            },
            InputError::BadEmail { path, value } => InputError::BadEmail {
                path: join(prefix, path),
                value,
            },
            InputError::UnknownEventType { path, value } => InputError::UnknownEventType {
                path: join(prefix, path),
                value,
            },
            InputError::NoRecipients { path } => InputError::NoRecipients {
                path: join(prefix, path),
            },
            InputError::EmbeddedNotJson { path, reason } => InputError::EmbeddedNotJson {
                path: join(prefix, path),
                reason,
            },
            InputError::BadBase64 { path, reason } => InputError::BadBase64 {
                path: join(prefix, path),
                reason,
            },
            InputError::UnknownShape(reason) => {
                InputError::UnknownShape(format!("in `{}`: {reason}", prefix.trim_end_matches('.')))
            }
            InputError::Malformed(reason) => {
                InputError::Malformed(format!("in `{}`: {reason}", prefix.trim_end_matches('.')))
            }
            other => other,
        }
    }
}
