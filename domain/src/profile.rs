//! The default subscriber mapping of an app event's `detail`: the one definition of a
//! profile's first name and attributes, shared by the subscribers fold (for every app event
//! with `detail.email`) and the reactors' default `subscriberMapping` (for the
//! `subscriber.upserted` outcome). Both write the same profile for the same event, so which
//! of the two records wins a tie-break can never change the result.

use serde_json::Value;

/// The profile's first name from the value at the first-name path: a string, trimmed;
/// `None` when absent, `null` or blank. `Err(())` when it is not a string (the reactors
/// report that; the fold keeps no first name).
#[allow(clippy::result_unit_err)]
pub fn first_name(value: Option<&Value>) -> Result<Option<String>, ()> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(_) => Err(()),
    }
}

/// The default profile of an app event's `detail` object: (`detail.firstName` as
/// [`first_name`] reads it, or `None` when not a string; the whole `detail` as attributes).
/// The attributes keep `email` and `firstName`: they are what the event said, the same object
/// templates and Step Functions inputs see.
pub fn default_profile(detail: &Value) -> (Option<String>, Value) {
    let first = first_name(detail.get("firstName")).unwrap_or(None);
    (first, detail.clone())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_default_profile_trims_the_first_name_and_keeps_the_whole_detail() {
        let detail = json!({"email": "a@example.com", "firstName": "  Jo ", "plan": "pro"});
        assert_eq!(
            default_profile(&detail),
            (Some("Jo".into()), detail.clone())
        );
        let blank = json!({"email": "a@example.com", "firstName": " "});
        assert_eq!(default_profile(&blank), (None, blank.clone()));
        let number = json!({"email": "a@example.com", "firstName": 7});
        assert_eq!(default_profile(&number), (None, number.clone()));
    }
}
