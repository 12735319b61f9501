//! One alternative of a leaf: an exact value or an operator, matched against one scalar value.

use serde_json::Value;

use super::cidr::Cidr;
use super::wildcard::Wildcard;

/// One element of a leaf's array of alternatives, compiled.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Matcher {
    /// An exact string, character for character.
    ExactString(String),
    /// An exact number, by its textual representation.
    ExactNumber(String),
    /// `true` or `false`.
    ExactBool(bool),
    /// The JSON `null`.
    ExactNull,
    /// `{"prefix": …}`; `ignore_case` for `{"prefix": {"equals-ignore-case": …}}`.
    Prefix { text: String, ignore_case: bool },
    /// `{"suffix": …}`; `ignore_case` for `{"suffix": {"equals-ignore-case": …}}`.
    Suffix { text: String, ignore_case: bool },
    /// `{"equals-ignore-case": …}`.
    EqualsIgnoreCase(String),
    /// `{"wildcard": …}`.
    Wildcard(Wildcard),
    /// `{"anything-but": …}`: present, and not matching what is excluded.
    AnythingBut(Excluded),
    /// `{"numeric": […]}`: JSON numbers inside the range.
    Numeric(Range),
    /// `{"exists": …}`: handled by the caller, which sees all leaves at once.
    Exists(bool),
    /// `{"cidr": …}`: string IP addresses inside the block.
    Cidr(Cidr),
}

/// What an `anything-but` excludes.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Excluded {
    /// These exact strings.
    Strings(Vec<String>),
    /// These numbers (compared numerically).
    Numbers(Vec<f64>),
    /// Strings starting with this.
    Prefix(String),
    /// Strings ending with this.
    Suffix(String),
    /// These strings, ignoring case.
    IgnoreCase(Vec<String>),
    /// Strings matching any of these wildcards.
    Wildcards(Vec<Wildcard>),
}

/// A numeric range: at most one lower and one upper bound, each open or closed.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Range {
    /// `(bound, inclusive)`.
    pub lower: Option<(f64, bool)>,
    /// `(bound, inclusive)`.
    pub upper: Option<(f64, bool)>,
}

impl Range {
    fn contains(&self, x: f64) -> bool {
        let above = match self.lower {
            Some((b, true)) => x >= b,
            Some((b, false)) => x > b,
            None => true,
        };
        let below = match self.upper {
            Some((b, true)) => x <= b,
            Some((b, false)) => x < b,
            None => true,
        };
        above && below
    }
}

/// Case-insensitive comparison as EventBridge does it: both sides lower-cased (Unicode).
pub(super) fn fold(s: &str) -> String {
    s.to_lowercase()
}

impl Matcher {
    /// Whether this matcher accepts one scalar leaf value. (`Exists` is decided by the caller.)
    pub(super) fn matches(&self, value: &Value) -> bool {
        match self {
            Matcher::ExactString(s) => value.as_str() == Some(s.as_str()),
            Matcher::ExactNumber(repr) => {
                matches!(value, Value::Number(n) if n.to_string() == *repr)
            }
            Matcher::ExactBool(b) => value.as_bool() == Some(*b),
            Matcher::ExactNull => value.is_null(),
            Matcher::Prefix { text, ignore_case } => value.as_str().is_some_and(|v| {
                if *ignore_case {
                    fold(v).starts_with(&fold(text))
                } else {
                    v.starts_with(text.as_str())
                }
            }),
            Matcher::Suffix { text, ignore_case } => value.as_str().is_some_and(|v| {
                if *ignore_case {
                    fold(v).ends_with(&fold(text))
                } else {
                    v.ends_with(text.as_str())
                }
            }),
            Matcher::EqualsIgnoreCase(text) => {
                value.as_str().is_some_and(|v| fold(v) == fold(text))
            }
            Matcher::Wildcard(w) => value.as_str().is_some_and(|v| w.matches(v)),
            Matcher::AnythingBut(excluded) => !excluded.excludes(value),
            Matcher::Numeric(range) => value.as_f64().is_some_and(|x| range.contains(x)),
            Matcher::Exists(_) => false,
            Matcher::Cidr(cidr) => value.as_str().is_some_and(|v| cidr.contains(v)),
        }
    }
}

impl Excluded {
    /// True when `value` is one of the excluded values. A value of another type never is.
    fn excludes(&self, value: &Value) -> bool {
        match (self, value) {
            (Excluded::Strings(list), Value::String(v)) => list.iter().any(|s| s == v),
            (Excluded::Numbers(list), Value::Number(n)) => {
                n.as_f64().is_some_and(|x| list.contains(&x))
            }
            (Excluded::Prefix(p), Value::String(v)) => v.starts_with(p.as_str()),
            (Excluded::Suffix(s), Value::String(v)) => v.ends_with(s.as_str()),
            (Excluded::IgnoreCase(list), Value::String(v)) => {
                let v = fold(v);
                list.iter().any(|s| fold(s) == v)
            }
            (Excluded::Wildcards(list), Value::String(v)) => list.iter().any(|w| w.matches(v)),
            _ => false,
        }
    }
}
