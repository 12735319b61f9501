//! The audit trace of a new subscriber, and a profile that is the same whichever of an app
//! event and its reactor's `subscriber.upserted` is folded first.

mod common;

use common::*;
use mailshot_domain::{SystemEvent, Timestamp};
use mailshot_embedded::Writer;
use mailshot_engine::reactions::outcome_event_id;
use mailshot_reactors::mapping::SubscriberMapping;
use serde_json::{Value, json};

const JORDAN: &str = "jordan.lee@example.net";

/// A trace entry without `ingestTime` (the wall clock) and `input` (the verbatim line).
fn stable(entry: &Value) -> Value {
    let mut e = entry.clone();
    let map = e.as_object_mut().unwrap();
    assert!(map.remove("ingestTime").is_some(), "{entry}");
    assert!(map.remove("input").is_some(), "{entry}");
    e
}

#[test]
fn a_new_subscribers_first_record_says_nothing_about_suppression() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::open(dir.path()).unwrap();
    let lines = [
        fixture_line("ses-delivery.json"),
        fixture_line("ses-bounce-permanent.json"),
    ];
    let (summary, rejections) = ingest_lines(&mut writer, &lines);
    assert_eq!(summary.accepted, 2, "{rejections:?}");

    let t = trace(&writer, JORDAN);
    let items: Vec<Value> = t["items"].as_array().unwrap().iter().map(stable).collect();
    let delivery = &items[0];
    let bounce = &items[1];
    let ids: Vec<&str> = items
        .iter()
        .map(|i| i["facts"][0]["eventId"].as_str().unwrap())
        .collect();
    let message_id = "0100018fd2c41a7e-6b3f29d1-4c8e-4a57-9f21-7d0e8b5c3a91-000000";
    assert_eq!(
        delivery,
        &json!({
            "offset": 0,
            "eventTime": "2024-06-03T14:02:12.247Z",
            "envelope": "ses",
            "facts": [{"eventType": "delivery", "timestamp": "2024-06-03T14:02:12.247Z",
                       "sesMessageId": message_id, "templateKey": "order-shipped",
                       "eventId": ids[0], "duplicate": false}],
            "change": {},
            "summary": "delivery: new subscriber",
        })
    );
    assert_eq!(
        bounce["summary"],
        "suppressed: bounce at 2024-06-03T14:02:12.907Z"
    );
    assert_eq!(bounce["eventTime"], "2024-06-03T14:02:12.907Z");
    assert_eq!(
        bounce["change"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["suppressed"]
    );
    assert_eq!(bounce["change"]["suppressed"]["before"], Value::Null);
}

/// The profile `get_subscriber` answers for Jordan after folding the Customer Created event
/// (with event id `event_id`) and the `subscriber.upserted` its reactor writes, in that order
/// or the other.
fn profile_after(event_id: &str, upsert_first: bool) -> Value {
    let mut event = fixture_value("eventbridge-customer-created.json");
    event["id"] = json!(event_id);
    let mapped = SubscriberMapping::default().apply(&event).unwrap();
    // As the reactor runner writes it: the trigger's time, an id derived from the trigger.
    let upsert = SystemEvent::new(
        outcome_event_id("subscriber.upserted", event_id, &format!("{JORDAN}\x1f1")),
        Timestamp::parse(event["time"].as_str().unwrap()).unwrap(),
        JORDAN,
        mapped.upsert_action(),
    )
    .to_json();
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::open(dir.path()).unwrap();
    if upsert_first {
        writer.ingest_raw(std::slice::from_ref(&upsert)).unwrap();
    }
    let (summary, rejections) = ingest_lines(&mut writer, &[event.to_string()]);
    assert_eq!(summary.accepted, 1, "{rejections:?}");
    if !upsert_first {
        writer.ingest_raw(&[upsert]).unwrap();
    }
    q(&writer, "get_subscriber", json!({"email": JORDAN}))["profile"].clone()
}

#[test]
fn an_app_event_and_its_upsert_give_the_same_profile_in_either_order() {
    let detail = fixture_value("eventbridge-customer-created.json")["detail"].clone();
    let expected = json!({
        "firstName": "Jordan",
        "attributes": detail,
        "createdAt": "2024-06-03T14:01:58.000Z",
        "updatedAt": "2024-06-03T14:01:58.000Z",
    });
    // The app event's id sorts before the upsert's, then after it: the tie-break between the
    // two records goes each way, and must not matter.
    for event_id in [
        "00000000-0000-4000-8000-000000000000",
        "ffffffff-ffff-4fff-bfff-ffffffffffff",
    ] {
        for upsert_first in [false, true] {
            assert_eq!(
                profile_after(event_id, upsert_first),
                expected,
                "event id {event_id}, upsert first: {upsert_first}"
            );
        }
    }
}
