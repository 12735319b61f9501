//! Shared helpers of the integration tests: fixtures, mutation, and result accessors.
#![allow(dead_code)]

use mailshot_domain::{EngagementFact, Envelope, Input, InputBody, InputError, parse_line};
use serde_json::Value;

pub const MID: &str = "0100018fd2c41a7e-6b3f29d1-4c8e-4a57-9f21-7d0e8b5c3a91-000000";
pub const JORDAN: &str = "jordan.lee@example.net";

/// The text of a fixture in `tests/fixtures`.
pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A fixture as a JSON value.
pub fn fixture_value(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).unwrap()
}

/// A fixture changed by `f`, as compact JSON.
pub fn mutated(name: &str, f: impl FnOnce(&mut Value)) -> String {
    let mut v = fixture_value(name);
    f(&mut v);
    v.to_string()
}

/// Removes the value at a JSON pointer.
pub fn remove(v: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    match v.pointer_mut(parent).unwrap() {
        Value::Object(map) => {
            map.remove(key).unwrap_or_else(|| panic!("no {pointer}"));
        }
        Value::Array(items) => {
            items.remove(key.parse().unwrap());
        }
        _ => panic!("{parent} is a scalar"),
    }
}

/// Sets the value at a JSON pointer (the parent must exist).
pub fn set(v: &mut Value, pointer: &str, new: Value) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    match v.pointer_mut(parent).unwrap() {
        Value::Object(map) => {
            map.insert(key.to_owned(), new);
        }
        Value::Array(items) => items[key.parse::<usize>().unwrap()] = new,
        _ => panic!("{parent} is a scalar"),
    }
}

/// The single input of a line, which must be accepted.
pub fn one(line: &str) -> Input<'_> {
    let mut results = parse_line(line.as_bytes());
    assert_eq!(results.len(), 1, "{line}");
    results
        .remove(0)
        .unwrap_or_else(|e| panic!("rejected: {e}"))
}

/// The single result of a line, which must be rejected; checks the message is one line.
pub fn rejected(line: &str) -> InputError {
    let mut results = parse_line(line.as_bytes());
    assert_eq!(results.len(), 1, "{line}");
    let err = results
        .remove(0)
        .expect_err("accepted, expected a rejection");
    let text = err.to_string();
    assert!(
        !text.contains('\n') && !text.is_empty(),
        "message not one line: {text:?}"
    );
    err
}

/// The facts of an input that must be SES.
pub fn facts<'a>(input: &'a Input<'_>) -> &'a [EngagementFact<'a>] {
    match &input.body {
        InputBody::Ses(facts) => facts,
        other => panic!("not SES: {other:?}"),
    }
}

/// The single fact of a single-input line, with its envelope checked.
pub fn only_fact(line: &str, envelope: Envelope) -> EngagementFact<'static> {
    let input = one(line);
    assert_eq!(input.envelope, envelope);
    let facts = facts(&input);
    assert_eq!(facts.len(), 1);
    facts[0].clone().into_owned()
}
