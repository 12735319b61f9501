//! Subscriber mapping: JSONPath expressions that pick a subscriber out of an EventBridge event.
//!
//! The mapped subscriber feeds three things: the `subscriber.upserted` outcome (the profile's
//! first name and attributes), the Step Functions execution input, and the template context.
//! An upsert never clears `suppressed` or `unsubscribed`: the subscribers fold only updates the
//! profile fields from it, so mapping an event can never resubscribe anyone.

use mailshot_domain::{SystemAction, normalise_email, profile};
use serde_json::{Map, Value, json};
use serde_json_path::JsonPath;

/// The default email path when a trigger gives no `subscriberMapping`.
pub const DEFAULT_EMAIL_PATH: &str = "$.detail.email";
/// The default first-name path when a trigger gives no `subscriberMapping`.
pub const DEFAULT_FIRST_NAME_PATH: &str = "$.detail.firstName";
/// The default attributes path when a trigger gives no `subscriberMapping`.
pub const DEFAULT_ATTRIBUTES_PATH: &str = "$.detail";

/// A compiled JSONPath with its source text (for messages).
#[derive(Debug, Clone)]
struct Path {
    text: String,
    path: JsonPath,
}

impl Path {
    fn parse(text: &str) -> Result<Path, String> {
        JsonPath::parse(text)
            .map(|path| Path {
                text: text.to_string(),
                path,
            })
            .map_err(|e| format!("invalid JSONPath: {e}"))
    }
}

/// Where a trigger finds the subscriber in an event: an email path (required) and optional
/// first-name and attributes paths, each a JSONPath evaluated against the whole EventBridge event.
#[derive(Debug, Clone)]
pub struct SubscriberMapping {
    email: Path,
    first_name: Option<Path>,
    attributes: Option<Path>,
}

/// Which path of a mapping failed to compile, and why (`invalid JSONPath: …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingPathError {
    /// `email`, `firstName` or `attributes`.
    pub field: &'static str,
    /// For people.
    pub message: String,
}

/// Why a mapping could not produce a subscriber from one event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    /// The email path matched nothing (or `null`).
    #[error("no email at {path}")]
    NoEmail { path: String },
    /// The email path matched several values.
    #[error("{count} values at {path}, expected one email")]
    SeveralEmails { path: String, count: usize },
    /// The email path matched something that is not a string.
    #[error("the value at {path} is not a string")]
    EmailNotString { path: String },
    /// The email is not a plausible address.
    #[error("{value:?} at {path} is not an email address")]
    InvalidEmail { path: String, value: String },
    /// The first-name path matched something that is not a string.
    #[error("the first name at {path} is not a string")]
    FirstNameNotString { path: String },
}

/// A subscriber as an event describes it: normalised email, optional first name, attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedSubscriber {
    /// Normalised ([`normalise_email`]).
    pub email: String,
    pub first_name: Option<String>,
    /// The value at the attributes path; `{}` when there is no path or it matched nothing; an
    /// array when it matched several values.
    pub attributes: Value,
}

impl Default for SubscriberMapping {
    fn default() -> Self {
        SubscriberMapping::new(
            DEFAULT_EMAIL_PATH,
            Some(DEFAULT_FIRST_NAME_PATH),
            Some(DEFAULT_ATTRIBUTES_PATH),
        )
        .expect("the default paths are valid JSONPath")
    }
}

impl SubscriberMapping {
    /// Compiles the three paths. The error names the field whose path is invalid.
    pub fn new(
        email: &str,
        first_name: Option<&str>,
        attributes: Option<&str>,
    ) -> Result<SubscriberMapping, MappingPathError> {
        let wrap = |field| move |message| MappingPathError { field, message };
        Ok(SubscriberMapping {
            email: Path::parse(email).map_err(wrap("email"))?,
            first_name: first_name
                .map(Path::parse)
                .transpose()
                .map_err(wrap("firstName"))?,
            attributes: attributes
                .map(Path::parse)
                .transpose()
                .map_err(wrap("attributes"))?,
        })
    }

    /// The email path's text.
    pub fn email_path(&self) -> &str {
        &self.email.text
    }

    /// Evaluates the mapping against a whole EventBridge event.
    pub fn apply(&self, event: &Value) -> Result<MappedSubscriber, MappingError> {
        let path = || self.email.text.clone();
        let nodes = self.email.path.query(event).all();
        let raw = match nodes.as_slice() {
            [] | [Value::Null] => return Err(MappingError::NoEmail { path: path() }),
            [Value::String(s)] => s,
            [_] => return Err(MappingError::EmailNotString { path: path() }),
            many => {
                return Err(MappingError::SeveralEmails {
                    path: path(),
                    count: many.len(),
                });
            }
        };
        let email = normalise_email(raw).ok_or_else(|| MappingError::InvalidEmail {
            path: path(),
            value: raw.clone(),
        })?;

        // Read as the fold reads it ([`profile::first_name`]), so that the default mapping's
        // upsert and the fold of the raw event write the same profile.
        let first_name = match &self.first_name {
            None => None,
            Some(p) => profile::first_name(p.path.query(event).first()).map_err(|()| {
                MappingError::FirstNameNotString {
                    path: p.text.clone(),
                }
            })?,
        };

        let attributes = match &self.attributes {
            None => Value::Object(Map::new()),
            Some(p) => match p.path.query(event).all().as_slice() {
                [] => Value::Object(Map::new()),
                [one] => (*one).clone(),
                many => Value::Array(many.iter().map(|v| (*v).clone()).collect()),
            },
        };

        Ok(MappedSubscriber {
            email,
            first_name,
            attributes,
        })
    }
}

impl MappedSubscriber {
    /// The `subscriber.upserted` outcome for this subscriber. (The fold applies it to the
    /// profile only: it never clears a suppression or an unsubscribe.)
    pub fn upsert_action(&self) -> SystemAction {
        SystemAction::SubscriberUpserted {
            first_name: self.first_name.clone(),
            attributes: self.attributes.clone(),
        }
    }

    /// `{email, firstName, attributes}` as JSON (`firstName` is `null` when unknown).
    pub fn to_json(&self) -> Value {
        json!({
            "email": self.email,
            "firstName": self.first_name,
            "attributes": self.attributes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Value {
        json!({
            "id": "e-1",
            "detail-type": "customer.created",
            "source": "com.example.shop",
            "time": "2024-06-03T14:01:58Z",
            "detail": {"email": " Jordan.Lee@Example.NET ", "firstName": "Jordan", "customerId": "cus_1"}
        })
    }

    #[test]
    fn default_mapping_normalises_email_and_takes_detail_as_attributes() {
        let s = SubscriberMapping::default().apply(&event()).unwrap();
        assert_eq!(s.email, "jordan.lee@example.net");
        assert_eq!(s.first_name.as_deref(), Some("Jordan"));
        assert_eq!(s.attributes["customerId"], "cus_1");
        assert_eq!(
            s.upsert_action(),
            SystemAction::SubscriberUpserted {
                first_name: Some("Jordan".into()),
                attributes: event()["detail"].clone(),
            }
        );
        assert_eq!(
            s.to_json(),
            json!({"email": "jordan.lee@example.net", "firstName": "Jordan", "attributes": event()["detail"]})
        );
    }

    #[test]
    fn the_default_mapping_upserts_the_profile_the_fold_writes_for_the_raw_event() {
        for detail in [
            json!({"email": "a@example.com", "firstName": "  Jo ", "plan": "pro"}),
            json!({"email": "a@example.com", "firstName": " "}),
            json!({"email": "a@example.com"}),
        ] {
            let mut e = event();
            e["detail"] = detail.clone();
            let s = SubscriberMapping::default().apply(&e).unwrap();
            assert_eq!(
                (s.first_name, s.attributes),
                profile::default_profile(&detail)
            );
        }
    }

    #[test]
    fn first_name_and_attributes_are_optional() {
        let m = SubscriberMapping::new("$.detail.email", None, None).unwrap();
        let s = m.apply(&event()).unwrap();
        assert_eq!(s.first_name, None);
        assert_eq!(s.attributes, json!({}));
        let m = SubscriberMapping::new(
            "$.detail.email",
            Some("$.detail.nope"),
            Some("$.detail.nope"),
        )
        .unwrap();
        let s = m.apply(&event()).unwrap();
        assert_eq!(s.first_name, None);
        assert_eq!(s.attributes, json!({}));
    }

    #[test]
    fn mapping_errors_name_the_path() {
        let m = SubscriberMapping::new("$.detail.missing", None, None).unwrap();
        assert_eq!(
            m.apply(&event()).unwrap_err().to_string(),
            "no email at $.detail.missing"
        );
        let m = SubscriberMapping::new("$.detail.customerId", None, None).unwrap();
        assert_eq!(
            m.apply(&event()).unwrap_err().to_string(),
            "\"cus_1\" at $.detail.customerId is not an email address"
        );
        let m = SubscriberMapping::new("$.detail", None, None).unwrap();
        assert_eq!(
            m.apply(&event()).unwrap_err().to_string(),
            "the value at $.detail is not a string"
        );
        let m = SubscriberMapping::new("$.detail.*", None, None).unwrap();
        assert_eq!(
            m.apply(&event()).unwrap_err().to_string(),
            "3 values at $.detail.*, expected one email"
        );
        let m = SubscriberMapping::new("$.detail.email", Some("$.detail"), None).unwrap();
        assert_eq!(
            m.apply(&event()).unwrap_err(),
            MappingError::FirstNameNotString {
                path: "$.detail".into()
            }
        );
    }

    #[test]
    fn invalid_paths_name_the_field() {
        let e =
            SubscriberMapping::new("$.detail.email", Some("detail.firstName"), None).unwrap_err();
        assert_eq!(e.field, "firstName");
        assert!(e.message.starts_with("invalid JSONPath: "), "{}", e.message);
    }
}
