//! EventBridge event patterns: compile a pattern (JSON) once, then match events against it.
//!
//! The semantics are EventBridge's (docs/formats.md §1d, and the aws/event-ruler README behind it):
//!
//! - A pattern has the event's nesting. Only the fields it names are checked, and **all** of them
//!   must match (AND). A leaf is always an array of alternatives, and matches if **any** matches.
//! - Event arrays intersect with the pattern's alternatives; arrays of objects are flattened, and a
//!   set of fields never matches across two different elements of one array.
//! - Exact values: strings character for character; numbers by their textual representation as
//!   `serde_json` prints them (`300` and `300.0` differ; `300.0` and `3.0e2` both parse to the same
//!   `f64` here and so compare equal, a known difference from EventBridge); `true`, `false`, `null`
//!   as literals; `[null]` and `[""]` are distinct.
//! - Operators (objects inside a leaf array): `prefix`, `suffix` (each also with
//!   `{"equals-ignore-case": …}`), `equals-ignore-case`, `wildcard`, `anything-but` (value, list,
//!   `prefix`, `suffix`, `equals-ignore-case`, `wildcard`), `numeric`, `exists`, `cidr`; and `$or`
//!   at any object level.
//! - `exists` looks at leaves only: an object value does not "exist" as a leaf.
//! - `anything-but` needs the field to be present; a present value of another type (a number
//!   against a string list, or `null`) is "anything but" and matches.
//!
//! Invalid patterns (two `*` in a row, an unknown operator, a mixed `anything-but` list, two
//! lower bounds in `numeric`, …) are rejected by [`Pattern::compile`] with the path and reason.

mod cidr;
mod compile;
mod matcher;
mod wildcard;

#[cfg(test)]
mod tests;

use serde_json::Value;

pub use compile::PatternError;
use matcher::Matcher;

/// A compiled EventBridge event pattern. Immutable; matching is a pure function of the event.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    root: ObjectPattern,
}

/// The fields (ANDed) and `$or` groups (each ORed, the groups ANDed) of one pattern object.
#[derive(Debug, Clone, PartialEq, Default)]
struct ObjectPattern {
    fields: Vec<(String, FieldPattern)>,
    ors: Vec<Vec<ObjectPattern>>,
}

/// What one named field must satisfy.
#[derive(Debug, Clone, PartialEq)]
enum FieldPattern {
    /// A leaf: any of these matchers against any leaf value at this path.
    Leaf(Vec<Matcher>),
    /// A nested object pattern.
    Object(ObjectPattern),
}

impl Pattern {
    /// Compiles a pattern given as JSON, rejecting invalid patterns with the path and reason.
    pub fn compile(pattern: &Value) -> Result<Pattern, PatternError> {
        compile::compile(pattern).map(|root| Pattern { root })
    }

    /// Parses JSON text and compiles it (see [`Pattern::compile`]).
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        let value: Value = serde_json::from_str(text).map_err(|e| PatternError {
            path: String::new(),
            reason: format!("not JSON: {e}"),
        })?;
        Pattern::compile(&value)
    }

    /// True when `event` (a whole EventBridge event, or any JSON object) matches this pattern.
    pub fn matches(&self, event: &Value) -> bool {
        self.root.matches(Some(event))
    }
}

impl ObjectPattern {
    /// Matches this object pattern against one event value. An array tries each element on its
    /// own (so that fields never combine across elements); a missing or scalar value is seen as an
    /// object with no fields, which only `exists: false` (and `$or`s of it) can satisfy.
    fn matches(&self, value: Option<&Value>) -> bool {
        match value {
            Some(Value::Array(items)) => {
                let mut elements = Vec::new();
                flatten_elements(items, &mut elements);
                if elements.is_empty() {
                    return self.matches_object(None);
                }
                elements.into_iter().any(|e| match e {
                    Value::Object(map) => self.matches_object(Some(map)),
                    _ => self.matches_object(None),
                })
            }
            Some(Value::Object(map)) => self.matches_object(Some(map)),
            _ => self.matches_object(None),
        }
    }

    fn matches_object(&self, map: Option<&serde_json::Map<String, Value>>) -> bool {
        let get = |name: &str| map.and_then(|m| m.get(name));
        self.fields.iter().all(|(name, field)| match field {
            FieldPattern::Leaf(matchers) => leaf_matches(matchers, get(name)),
            FieldPattern::Object(inner) => inner.matches(get(name)),
        }) && self
            .ors
            .iter()
            .all(|alternatives| alternatives.iter().any(|alt| alt.matches_object(map)))
    }
}

/// Nested arrays in an event are crushed into one list of elements.
fn flatten_elements<'a>(items: &'a [Value], out: &mut Vec<&'a Value>) {
    for item in items {
        match item {
            Value::Array(inner) => flatten_elements(inner, out),
            other => out.push(other),
        }
    }
}

/// The leaf (scalar) values at a path: the value itself, or the scalars of an array (flattened).
fn leaf_values<'a>(value: Option<&'a Value>, out: &mut Vec<&'a Value>) {
    match value {
        None | Some(Value::Object(_)) => {}
        Some(Value::Array(items)) => {
            for item in items {
                leaf_values(Some(item), out);
            }
        }
        Some(scalar) => out.push(scalar),
    }
}

fn leaf_matches(matchers: &[Matcher], value: Option<&Value>) -> bool {
    let mut leaves = Vec::new();
    leaf_values(value, &mut leaves);
    matchers.iter().any(|m| match m {
        Matcher::Exists(wanted) => *wanted != leaves.is_empty(),
        other => leaves.iter().any(|leaf| other.matches(leaf)),
    })
}
