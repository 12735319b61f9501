//! Compiling a pattern's JSON into matchers, with EventBridge's validity rules.

use serde_json::{Map, Value};

use super::cidr::Cidr;
use super::matcher::{Excluded, Matcher, Range};
use super::wildcard::Wildcard;
use super::{FieldPattern, ObjectPattern};

/// Why a pattern is invalid: where (a dotted path into the pattern, `[i]` for array elements)
/// and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid event pattern at {}: {reason}", if path.is_empty() { "top level" } else { path.as_str() })]
pub struct PatternError {
    /// Where in the pattern, e.g. `detail.state[0]`; empty for the whole pattern.
    pub path: String,
    /// What is wrong, for people.
    pub reason: String,
}

/// Operator names that, as a field name inside a `$or` element, make `$or` an ordinary field.
const RESERVED_IN_OR: [&str; 9] = [
    "anything-but",
    "cidr",
    "equals-ignore-case",
    "exactly",
    "exists",
    "numeric",
    "prefix",
    "suffix",
    "wildcard",
];

/// EventBridge's numeric range limit (aws/event-ruler README: ±5.0e9).
const NUMERIC_LIMIT: f64 = 5.0e9;

pub(super) fn compile(pattern: &Value) -> Result<ObjectPattern, PatternError> {
    match pattern {
        Value::Object(map) => object(map, ""),
        _ => Err(err("", "a pattern must be a JSON object")),
    }
}

fn err(path: &str, reason: impl Into<String>) -> PatternError {
    PatternError {
        path: path.to_string(),
        reason: reason.into(),
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn is_or_group(value: &Value) -> Option<&Vec<Value>> {
    let items = value.as_array()?;
    let ok = items.len() >= 2
        && items.iter().all(|item| {
            item.as_object()
                .is_some_and(|o| !o.keys().any(|k| RESERVED_IN_OR.contains(&k.as_str())))
        });
    ok.then_some(items)
}

fn object(map: &Map<String, Value>, path: &str) -> Result<ObjectPattern, PatternError> {
    if map.is_empty() {
        return Err(err(
            path,
            "an empty object matches nothing; name at least one field",
        ));
    }
    let mut out = ObjectPattern::default();
    for (name, value) in map {
        let here = join(path, name);
        if name == "$or"
            && let Some(items) = is_or_group(value)
        {
            let mut alternatives = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let item = item.as_object().expect("is_or_group checked");
                alternatives.push(object(item, &format!("{here}[{i}]"))?);
            }
            out.ors.push(alternatives);
            continue;
        }
        let field = match value {
            Value::Array(items) => FieldPattern::Leaf(leaf(items, &here)?),
            Value::Object(inner) => FieldPattern::Object(object(inner, &here)?),
            _ => return Err(err(&here, "must be an array of values or an object")),
        };
        out.fields.push((name.clone(), field));
    }
    Ok(out)
}

fn leaf(items: &[Value], path: &str) -> Result<Vec<Matcher>, PatternError> {
    if items.is_empty() {
        return Err(err(path, "an empty array matches nothing"));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let here = format!("{path}[{i}]");
            match item {
                Value::String(s) => Ok(Matcher::ExactString(s.clone())),
                Value::Number(n) => Ok(Matcher::ExactNumber(n.to_string())),
                Value::Bool(b) => Ok(Matcher::ExactBool(*b)),
                Value::Null => Ok(Matcher::ExactNull),
                Value::Array(_) => Err(err(&here, "nested arrays are not allowed in a pattern")),
                Value::Object(op) => operator(op, &here),
            }
        })
        .collect()
}

fn single(op: &Map<String, Value>, path: &str) -> Result<(String, Value), PatternError> {
    let mut entries = op.iter();
    match (entries.next(), entries.next()) {
        (Some((k, v)), None) => Ok((k.clone(), v.clone())),
        (None, _) => Err(err(path, "an empty object is not an operator")),
        _ => Err(err(path, "an operator object must have exactly one key")),
    }
}

fn string(value: &Value, path: &str, what: &str) -> Result<String, PatternError> {
    value
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| err(path, format!("{what} takes a string")))
}

fn operator(op: &Map<String, Value>, path: &str) -> Result<Matcher, PatternError> {
    let (name, value) = single(op, path)?;
    match name.as_str() {
        "prefix" | "suffix" => {
            let (text, ignore_case) = match &value {
                Value::String(s) => (s.clone(), false),
                Value::Object(inner) => match single(inner, path)? {
                    (k, Value::String(s)) if k == "equals-ignore-case" => (s, true),
                    _ => {
                        return Err(err(
                            path,
                            format!("{name} takes a string or {{\"equals-ignore-case\": string}}"),
                        ));
                    }
                },
                _ => return Err(err(path, format!("{name} takes a string"))),
            };
            Ok(if name == "prefix" {
                Matcher::Prefix { text, ignore_case }
            } else {
                Matcher::Suffix { text, ignore_case }
            })
        }
        "equals-ignore-case" => Ok(Matcher::EqualsIgnoreCase(string(
            &value,
            path,
            "equals-ignore-case",
        )?)),
        "wildcard" => {
            let text = string(&value, path, "wildcard")?;
            Wildcard::parse(&text)
                .map(Matcher::Wildcard)
                .map_err(|e| err(path, e))
        }
        "anything-but" => anything_but(&value, path).map(Matcher::AnythingBut),
        "numeric" => numeric(&value, path).map(Matcher::Numeric),
        "exists" => match value {
            Value::Bool(b) => Ok(Matcher::Exists(b)),
            _ => Err(err(path, "exists takes true or false")),
        },
        "cidr" => {
            let text = string(&value, path, "cidr")?;
            Cidr::parse(&text)
                .map(Matcher::Cidr)
                .map_err(|e| err(path, e))
        }
        other => Err(err(path, format!("unrecognised operator {other:?}"))),
    }
}

fn strings_or_list(value: &Value, path: &str, what: &str) -> Result<Vec<String>, PatternError> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if !items.is_empty() => {
            items.iter().map(|v| string(v, path, what)).collect()
        }
        _ => Err(err(
            path,
            format!("{what} takes a string or a non-empty list of strings"),
        )),
    }
}

fn anything_but(value: &Value, path: &str) -> Result<Excluded, PatternError> {
    match value {
        Value::String(s) => Ok(Excluded::Strings(vec![s.clone()])),
        Value::Number(n) => Ok(Excluded::Numbers(vec![number(n, path)?])),
        Value::Array(items) => {
            if items.is_empty() {
                return Err(err(path, "anything-but needs at least one value"));
            }
            if items.iter().all(Value::is_string) {
                Ok(Excluded::Strings(
                    items
                        .iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect(),
                ))
            } else if items.iter().all(Value::is_number) {
                items
                    .iter()
                    .filter_map(Value::as_number)
                    .map(|n| number(n, path))
                    .collect::<Result<_, _>>()
                    .map(Excluded::Numbers)
            } else {
                Err(err(
                    path,
                    "an anything-but list must be all strings or all numbers",
                ))
            }
        }
        Value::Object(inner) => {
            let (name, value) = single(inner, path)?;
            match name.as_str() {
                "prefix" | "suffix" => {
                    let text = string(&value, path, &format!("anything-but {name}"))?;
                    if text.is_empty() {
                        return Err(err(path, format!("anything-but {name} must not be empty")));
                    }
                    Ok(if name == "prefix" {
                        Excluded::Prefix(text)
                    } else {
                        Excluded::Suffix(text)
                    })
                }
                "equals-ignore-case" => {
                    strings_or_list(&value, path, "anything-but equals-ignore-case")
                        .map(Excluded::IgnoreCase)
                }
                "wildcard" => strings_or_list(&value, path, "anything-but wildcard")?
                    .iter()
                    .map(|w| Wildcard::parse(w).map_err(|e| err(path, e)))
                    .collect::<Result<_, _>>()
                    .map(Excluded::Wildcards),
                other => Err(err(
                    path,
                    format!("unsupported anything-but operator {other:?}"),
                )),
            }
        }
        Value::Bool(_) | Value::Null => Err(err(
            path,
            "anything-but takes strings or numbers, not true, false or null",
        )),
    }
}

fn number(n: &serde_json::Number, path: &str) -> Result<f64, PatternError> {
    let x = n
        .as_f64()
        .ok_or_else(|| err(path, format!("{n} is not a representable number")))?;
    if !(-NUMERIC_LIMIT..=NUMERIC_LIMIT).contains(&x) {
        return Err(err(
            path,
            format!("{n} is outside the numeric range ±5.0e9"),
        ));
    }
    Ok(x)
}

fn numeric(value: &Value, path: &str) -> Result<Range, PatternError> {
    let items = value
        .as_array()
        .filter(|items| !items.is_empty() && items.len() % 2 == 0)
        .ok_or_else(|| {
            err(
                path,
                "numeric takes [op, number] or [op, number, op, number]",
            )
        })?;
    let mut range = Range::default();
    for pair in items.chunks(2) {
        let op = pair[0]
            .as_str()
            .ok_or_else(|| err(path, format!("{} is not a numeric operator", pair[0])))?;
        let bound = pair[1]
            .as_number()
            .ok_or_else(|| {
                err(
                    path,
                    format!("numeric {op} needs a number, not {}", pair[1]),
                )
            })
            .and_then(|n| number(n, path))?;
        match op {
            "=" => {
                if items.len() != 2 {
                    return Err(err(path, "numeric = cannot be combined with other bounds"));
                }
                range.lower = Some((bound, true));
                range.upper = Some((bound, true));
            }
            ">" | ">=" => {
                if range.lower.is_some() {
                    return Err(err(path, "numeric has more than one lower bound"));
                }
                range.lower = Some((bound, op == ">="));
            }
            "<" | "<=" => {
                if range.upper.is_some() {
                    return Err(err(path, "numeric has more than one upper bound"));
                }
                range.upper = Some((bound, op == "<="));
            }
            other => {
                return Err(err(
                    path,
                    format!("unrecognised numeric operator {other:?}"),
                ));
            }
        }
    }
    if let (Some((low, _)), Some((high, _))) = (range.lower, range.upper)
        && low > high
    {
        return Err(err(path, "numeric lower bound is above the upper bound"));
    }
    Ok(range)
}
