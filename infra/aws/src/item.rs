//! DynamoDB item helpers: attribute values to and from JSON, and typed getters with context.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Number, Value};

use super::AwsError;

/// An item as the SDK returns it.
pub type Item = HashMap<String, AttributeValue>;

/// A string attribute value.
pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute value.
pub fn n(v: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// JSON → attribute value (nulls become `NULL`).
pub fn from_json(v: &Value) -> AttributeValue {
    match v {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(x) => AttributeValue::N(x.to_string()),
        Value::String(x) => AttributeValue::S(x.clone()),
        Value::Array(a) => AttributeValue::L(a.iter().map(from_json).collect()),
        Value::Object(o) => {
            AttributeValue::M(o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect())
        }
    }
}

/// Attribute value → JSON (numbers as i64 when integral, binary as hex).
pub fn to_json(v: &AttributeValue) -> Value {
    match v {
        AttributeValue::S(x) => Value::String(x.clone()),
        AttributeValue::N(x) => x
            .parse::<i64>()
            .map(Value::from)
            .ok()
            .or_else(|| {
                x.parse::<f64>()
                    .ok()
                    .and_then(Number::from_f64)
                    .map(Value::Number)
            })
            .unwrap_or(Value::Null),
        AttributeValue::Bool(b) => Value::Bool(*b),
        // Binary (the values of generic rows): as hex, so that digests cover the bytes.
        AttributeValue::B(b) => Value::String(hex::encode(b.as_ref())),
        AttributeValue::L(a) => Value::Array(a.iter().map(to_json).collect()),
        AttributeValue::M(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect::<Map<_, _>>(),
        ),
        _ => Value::Null,
    }
}

/// A required string attribute.
pub fn get_s<'a>(item: &'a Item, name: &str, table: &str) -> Result<&'a str, AwsError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(AwsError::Corrupt {
            table: table.to_string(),
            reason: format!("attribute {name} missing or not a string"),
        }),
    }
}

/// A required integer attribute.
pub fn get_i64(item: &Item, name: &str, table: &str) -> Result<i64, AwsError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().map_err(|_| AwsError::Corrupt {
            table: table.to_string(),
            reason: format!("attribute {name} = {v:?} is not an integer"),
        }),
        _ => Err(AwsError::Corrupt {
            table: table.to_string(),
            reason: format!("attribute {name} missing or not a number"),
        }),
    }
}

/// An optional integer attribute (absent reads as `None`, malformed as an error).
pub fn opt_i64(item: &Item, name: &str, table: &str) -> Result<Option<i64>, AwsError> {
    if item.contains_key(name) {
        get_i64(item, name, table).map(Some)
    } else {
        Ok(None)
    }
}

/// A 128-bit hash in hex, for keys built from unbounded text (URLs, message ids).
pub fn hash_hex(parts: &[&str]) -> String {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    format!("{:032x}", h.digest128())
}
