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
    /// An object that is none of the accepted shapes of DESIGN §3.
    #[error("unknown input shape: {0}")]
    UnknownShape(String),
    /// A required field is absent (or null).
    #[error("missing field `{path}`")]
    MissingField { path: String },
    /// A field has the wrong JSON type.
    #[error("field `{path}` must be {expected}")]
    WrongType { path: String, expected: &'static str },
    /// A timestamp field could not be parsed.
    #[error("field `{path}` is not a timestamp: {value:?}")]
    BadTimestamp { path: String, value: String },
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
            InputError::BadEmail { .. } => "bad_email",
            InputError::UnknownEventType { .. } => "unknown_event_type",
            InputError::NoRecipients { .. } => "no_recipients",
            InputError::EmbeddedNotJson { .. } => "embedded_not_json",
            InputError::LambdaRecord { source, .. } => source.kind(),
        }
    }

    /// The JSON path of the field at fault, when there is one (`Records[1].Sns.Message`, …).
    pub fn field(&self) -> Option<String> {
        match self {
            InputError::MissingField { path }
            | InputError::WrongType { path, .. }
            | InputError::BadTimestamp { path, .. }
            | InputError::BadEmail { path, .. }
            | InputError::UnknownEventType { path, .. }
            | InputError::NoRecipients { path }
            | InputError::EmbeddedNotJson { path, .. } => Some(path.clone()),
            InputError::LambdaRecord { index, source } => Some(match source.field() {
                Some(inner) => format!("Records[{index}].{inner}"),
                None => format!("Records[{index}]"),
            }),
            _ => None,
        }
    }
}
