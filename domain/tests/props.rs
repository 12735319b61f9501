//! Property tests: parsing never panics, and one SES record yields the same facts and
//! identities whatever envelope it arrives in.

mod common;

use common::*;
use mailshot_domain::{EngagementFact, EventType, FactId, Timestamp, parse_input, parse_line};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Keys that steer shape detection and field extraction, so random trees reach deep code.
const KEYS: &[&str] = &[
    "eventType",
    "notificationType",
    "mail",
    "messageId",
    "timestamp",
    "destination",
    "headers",
    "name",
    "value",
    "tags",
    "templateKey",
    "commonHeaders",
    "subject",
    "bounce",
    "bouncedRecipients",
    "emailAddress",
    "delivery",
    "recipients",
    "click",
    "link",
    "open",
    "detail-type",
    "detail",
    "source",
    "id",
    "time",
    "email",
    "Type",
    "Message",
    "Records",
    "Sns",
    "kinesis",
    "data",
    "failure",
    "subscription",
    "newTopicPreferences",
    "unsubscribeAll",
];
const STRINGS: &[&str] = &[
    "Send",
    "Delivery",
    "Open",
    "Click",
    "Bounce",
    "Complaint",
    "Reject",
    "Rendering Failure",
    "DeliveryDelay",
    "Subscription",
    "Notification",
    "aws.ses",
    "mailshot.admin",
    "mailshot.reactor",
    "suppression.removed",
    "email.sent",
    "2024-06-03T14:02:10.815Z",
    "2018-10-08T14:05:45 +0000",
    "jordan.lee@example.net",
    "X-Template-Key",
    "a--b",
    "",
    "{\"eventType\":\"Send\"}",
    "eyJhIjoxfQ==",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        prop::sample::select(STRINGS).prop_map(|s| json!(s)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

/// Parses a line and checks the invariants every result must hold.
fn check_line(line: &[u8]) {
    let results = parse_line(line);
    assert!(!results.is_empty());
    for result in results {
        match result {
            Ok(input) => {
                let again = parse_input(&input.raw).expect("an accepted raw parses again");
                assert_eq!(again.body, input.body);
            }
            Err(e) => {
                let text = e.to_string();
                assert!(!text.contains('\n'), "{text}");
                let _ = (e.kind(), e.field());
            }
        }
    }
}

const FIXTURES: &[&str] = &[
    "ses-delivery.json",
    "ses-open.json",
    "ses-click.json",
    "ses-send.json",
    "ses-bounce-permanent.json",
    "ses-bounce-notification-format.json",
    "ses-complaint.json",
    "ses-delivery-delay.json",
    "ses-reject.json",
    "ses-rendering-failure.json",
    "ses-subscription.json",
    "sns-envelope-delivery.json",
    "lambda-sns-event-open.json",
    "lambda-kinesis-event.json",
    "eventbridge-customer-created.json",
];

/// Every JSON pointer in a value (except the root).
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(child, p, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(child, p, out);
            }
        }
        _ => {}
    }
}

/// The SES record inside an envelope fixture is mutated too, by unwrapping `Message`.
fn with_embedded_unwrapped(mut v: Value) -> Value {
    if let Some(Value::String(m)) = v.get("Message") {
        v["Message"] = serde_json::from_str(m).unwrap();
    }
    v
}

fn with_embedded_rewrapped(mut v: Value) -> Value {
    if let Some(m) = v.get("Message").filter(|m| !m.is_string()) {
        v["Message"] = Value::String(m.to_string());
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        check_line(&bytes);
        let _ = parse_input(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn never_panics_on_arbitrary_json(v in json_value()) {
        check_line(v.to_string().as_bytes());
    }

    #[test]
    fn never_panics_on_mutated_fixtures(
        which in prop::sample::select(FIXTURES),
        pick in any::<prop::sample::Index>(),
        delete in any::<bool>(),
        replacement in json_value(),
    ) {
        let mut v = with_embedded_unwrapped(fixture_value(which));
        let mut all = Vec::new();
        pointers(&v, String::new(), &mut all);
        let pointer = pick.get(&all).clone();
        if delete {
            remove(&mut v, &pointer);
        } else {
            *v.pointer_mut(&pointer).unwrap() = replacement;
        }
        let v = with_embedded_rewrapped(v);
        check_line(v.to_string().as_bytes());
    }
}

/// One generated recipient: several spellings of a few addresses, so duplicates occur.
fn recipient() -> impl Strategy<Value = String> {
    (0..4u8, 0..3u8).prop_map(|(n, style)| match style {
        0 => format!("user{n}@example.com"),
        1 => format!("User{n}@Example.COM"),
        _ => format!("User {n} <user{n}@example.com>"),
    })
}

fn time_text() -> impl Strategy<Value = String> {
    // 2001 … 2033, with milliseconds.
    (1_000_000_000_000i64..2_000_000_000_000).prop_map(|ms| Timestamp(ms).to_string())
}

prop_compose! {
    fn ses_record()(
        event_type in prop::sample::select(EventType::ALL.to_vec()),
        notification in any::<bool>(),
        message_id in "[0-9a-f]{16}-[0-9a-f]{8}-000000",
        recipients in prop::collection::vec(recipient(), 1..4),
        mail_time in time_text(),
        event_time in time_text(),
        template in prop::option::of("[a-z]{1,8}(--[a-z0-9]{1,4})?"),
        link in "https://example\\.com/[a-z]{0,6}\\?q=%20[a-z]{0,3}",
        subject in prop::option::of("[ -~]{0,20}"),
    ) -> Value {
        let mut mail = json!({
            "timestamp": mail_time, "messageId": message_id, "destination": recipients,
            "source": "a@example.com", "headersTruncated": false,
        });
        if let Some(t) = template {
            mail["tags"] = json!({"templateKey": [t], "ses:configuration-set": ["x"]});
        }
        if let Some(s) = subject {
            mail["headers"] = json!([{"name": "Subject", "value": s}, {"name": "X-Sequence-Id", "value": "s\"q"}]);
        }
        let name = event_type.ses_name();
        let mut record = if notification {
            json!({"notificationType": name, "mail": mail})
        } else {
            json!({"eventType": name, "mail": mail})
        };
        let objects: Vec<(&str, Value)> = recipients
            .iter()
            .map(|r| (r.as_str(), json!({"emailAddress": r, "diagnosticCode": format!("smtp; 5xx {r}")})))
            .collect();
        let list: Vec<Value> = objects.into_iter().map(|(_, o)| o).collect();
        let (key, obj) = match event_type {
            EventType::Send => ("send", json!({})),
            EventType::Reject => ("reject", json!({"reason": "Bad content"})),
            EventType::RenderingFailure => ("failure", json!({"templateName": "t", "errorMessage": "e"})),
            EventType::Delivery => ("delivery", json!({"timestamp": event_time, "recipients": recipients})),
            EventType::Open => ("open", json!({"timestamp": event_time, "userAgent": "UA \"x\""})),
            EventType::Click => ("click", json!({"timestamp": event_time, "userAgent": "UA", "link": link})),
            EventType::Bounce => ("bounce", json!({"timestamp": event_time, "bounceType": "Permanent", "bounceSubType": "General", "bouncedRecipients": list})),
            EventType::Complaint => ("complaint", json!({"timestamp": event_time, "complaintFeedbackType": "abuse", "complainedRecipients": list})),
            EventType::DeliveryDelay => ("deliveryDelay", json!({"timestamp": event_time, "delayedRecipients": list})),
            EventType::Subscription => ("subscription", json!({"timestamp": event_time, "newTopicPreferences": {"unsubscribeAll": true}})),
        };
        record[key] = obj;
        record
    }
}

fn owned_facts(line: &str) -> Vec<EngagementFact<'static>> {
    let results = parse_line(line.as_bytes());
    assert_eq!(results.len(), 1);
    match results
        .into_iter()
        .next()
        .unwrap()
        .unwrap()
        .into_owned()
        .body
    {
        mailshot_domain::InputBody::Ses(facts) => facts,
        other => panic!("not SES: {other:?}"),
    }
}

proptest! {
    #[test]
    fn same_record_same_facts_in_every_envelope(record in ses_record()) {
        let text = record.to_string();
        let bare = owned_facts(&text);
        let sns = json!({"Type": "Notification", "MessageId": "m-1", "Message": text, "SigningCertURL": "u"});
        let lambda = json!({"Records": [{"EventSource": "aws:sns", "Sns": {
            "Type": "Notification", "MessageId": "m-2", "Subject": null, "Message": text, "SigningCertUrl": "u"}}]});
        let eventbridge = json!({"version": "0", "id": "e-1", "detail-type": "Email Sent",
            "source": "aws.ses", "account": "1", "time": "2024-06-03T14:02:10Z", "region": "r",
            "resources": [], "detail": record});
        prop_assert_eq!(&owned_facts(&sns.to_string()), &bare);
        prop_assert_eq!(&owned_facts(&lambda.to_string()), &bare);
        prop_assert_eq!(&owned_facts(&eventbridge.to_string()), &bare);

        // One fact per distinct normalised recipient, each with its content-derived identity.
        let mut distinct: Vec<String> = Vec::new();
        for r in record["mail"]["destination"].as_array().unwrap() {
            let e = mailshot_domain::normalise_email(r.as_str().unwrap()).unwrap();
            if !distinct.contains(&e) {
                distinct.push(e);
            }
        }
        prop_assert_eq!(bare.iter().map(|f| f.email.clone()).collect::<Vec<_>>(), distinct);
        for f in &bare {
            let link = if f.event_type == EventType::Click { f.link_url.as_deref() } else { None };
            prop_assert_eq!(f.id, FactId::of_ses_fact(&f.ses_message_id, f.event_type, f.timestamp, &f.email, link));
        }
    }
}
