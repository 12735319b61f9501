//! Argument parsing and validation shared by every query.

use mailshot_domain::{Day, EventType, normalise_email};
use serde_json::{Map, Value};

use super::{DateRange, QueryError};

/// Default page size of list queries.
pub const DEFAULT_LIMIT: usize = 20;
/// Largest page size of list queries.
pub const MAX_LIMIT: usize = 1000;

/// A query's arguments (a JSON object), with typed accessors that name the argument on error.
pub struct Args<'a> {
    map: Option<&'a Map<String, Value>>,
}

impl<'a> Args<'a> {
    /// Wraps the arguments; `null` counts as no arguments.
    pub fn new(value: &'a Value) -> Result<Args<'a>, QueryError> {
        match value {
            Value::Object(map) => Ok(Args { map: Some(map) }),
            Value::Null => Ok(Args { map: None }),
            _ => Err(QueryError::invalid("arguments", "must be a JSON object")),
        }
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(name)).filter(|v| !v.is_null())
    }

    /// An optional string argument.
    pub fn opt_str(&self, name: &'static str) -> Result<Option<&'a str>, QueryError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(QueryError::invalid(name, "must be a string")),
        }
    }

    /// A required string argument.
    pub fn str(&self, name: &'static str) -> Result<&'a str, QueryError> {
        self.opt_str(name)?
            .ok_or_else(|| QueryError::invalid(name, "is required"))
    }

    /// A required email address, normalised.
    pub fn email(&self, name: &'static str) -> Result<String, QueryError> {
        email(name, self.str(name)?)
    }

    /// An optional `YYYY-MM-DD` date.
    pub fn date(&self, name: &'static str) -> Result<Option<Day>, QueryError> {
        self.opt_str(name)?.map(|s| day(name, s)).transpose()
    }

    /// `startDate` and `endDate`, checked to be in order.
    pub fn date_range(&self) -> Result<(Option<Day>, Option<Day>), QueryError> {
        let range = DateRange::new(self.date("startDate")?, self.date("endDate")?)?;
        Ok((range.start(), range.end()))
    }

    /// An optional event type (any spelling), as its lower-camel name.
    pub fn event_type(&self, name: &'static str) -> Result<Option<EventType>, QueryError> {
        self.opt_str(name)?.map(|s| event_type(name, s)).transpose()
    }

    /// `limit`: 1..=1000, default 20.
    pub fn limit(&self) -> Result<usize, QueryError> {
        match self.get("limit") {
            None => Ok(DEFAULT_LIMIT),
            Some(v) => match v.as_u64() {
                Some(n) if (1..=MAX_LIMIT as u64).contains(&n) => Ok(n as usize),
                _ => Err(bad_limit(v)),
            },
        }
    }
}

/// An email address, normalised; `name` is the argument it came in.
pub(super) fn email(name: &'static str, raw: &str) -> Result<String, QueryError> {
    normalise_email(raw)
        .ok_or_else(|| QueryError::invalid(name, format!("{raw:?} is not an email address")))
}

/// A `YYYY-MM-DD` date; `name` is the argument it came in.
pub(super) fn day(name: &'static str, s: &str) -> Result<Day, QueryError> {
    Day::parse(s)
        .ok_or_else(|| QueryError::invalid(name, format!("{s:?} is not a date (YYYY-MM-DD)")))
}

/// An event type in any spelling [`EventType::from_filter`] reads; `name` is the argument.
pub(super) fn event_type(name: &'static str, s: &str) -> Result<EventType, QueryError> {
    EventType::from_filter(s).ok_or_else(|| {
        let known: Vec<_> = EventType::ALL.iter().map(|t| t.camel_name()).collect();
        QueryError::invalid(
            name,
            format!(
                "unknown event type {s:?}; expected one of {}",
                known.join(", ")
            ),
        )
    })
}

/// The error of a `limit` that is not an integer from 1 to [`MAX_LIMIT`]; `got` as given.
pub(super) fn bad_limit(got: impl std::fmt::Display) -> QueryError {
    QueryError::invalid(
        "limit",
        format!("must be an integer from 1 to {MAX_LIMIT}, got {got}"),
    )
}
