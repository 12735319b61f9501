//! mailshot's own events: `SystemEvent::to_json` round-trips through `parse_input`.

mod common;

use common::*;
use mailshot_domain::parse::{ADMIN_SOURCE, REACTOR_SOURCE};
use mailshot_domain::{
    Envelope, FactId, InputBody, InputError, SystemAction, SystemEvent, Timestamp,
    parse_external_input, parse_external_line, parse_input, parse_line,
};
use serde_json::{Value, json};

fn all_actions() -> Vec<SystemAction> {
    vec![
        SystemAction::SuppressionRemoved {
            reason: "operator: false positive".into(),
            actor: Some("uid 1000 (ops)".into()),
        },
        SystemAction::SuppressionRemoved {
            reason: "written before actors were recorded".into(),
            actor: None,
        },
        SystemAction::SubscriberUnsubscribed {
            via: "token".into(),
            actor: Some("ops".into()),
        },
        SystemAction::SubscriberUpserted {
            first_name: Some("Jordan \"JJ\"".into()),
            attributes: json!({"plan": "pro", "seats": 3, "tags": ["a", "b"]}),
        },
        SystemAction::SubscriberUpserted {
            first_name: None,
            attributes: json!({}),
        },
        SystemAction::EmailSent {
            template_key: "onboarding/day-2".into(),
            sequence_id: "seq-1".into(),
            subject: "Welcome ✉".into(),
            ses_message_id: MID.into(),
            trigger_event_id: "3f9a2c71-6d4e-4b8a-a1f5-0c7e92d4b6e8".into(),
        },
        SystemAction::EmailSkipped {
            template_key: "weekly".into(),
            reason: "suppressed".into(),
            trigger_event_id: "t-1".into(),
        },
        SystemAction::SequenceStarted {
            sequence_id: "onboarding".into(),
            execution_arn: "arn:aws:states:us-east-1:111122223333:execution:onboarding:x".into(),
            trigger_event_id: "t-2".into(),
        },
        SystemAction::ExecutionsStopped {
            execution_arns: vec!["arn:1".into(), "arn:2".into()],
            reason: "unsubscribed".into(),
        },
        SystemAction::ExecutionsStopped {
            execution_arns: vec![],
            reason: "none running".into(),
        },
    ]
}

#[test]
fn every_action_round_trips() {
    let time = Timestamp::parse("2024-06-03T14:02:10.815Z").unwrap();
    for (i, action) in all_actions().into_iter().enumerate() {
        let event = SystemEvent::new(format!("evt-{i}"), time, "Jordan.Lee@Example.net", action);
        assert_eq!(event.email, JORDAN);
        assert_eq!(event.id, FactId::of_event_id(&format!("evt-{i}")));
        let json = event.to_json();
        assert!(!json.contains('\n'));
        let input = parse_input(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
        assert_eq!(input.envelope, Envelope::EventBridge);
        assert_eq!(input.body, InputBody::System(event.clone()), "{json}");
        assert_eq!(input.identities(), vec![event.id]);
        assert_eq!(input.partition_key(), JORDAN);
    }
}

#[test]
fn to_json_writes_the_eventbridge_shape() {
    let time = Timestamp::parse("2024-06-03T14:02:10Z").unwrap();
    let event = SystemEvent::new(
        "evt-9",
        time,
        JORDAN,
        SystemAction::SubscriberUnsubscribed {
            via: "list-unsubscribe".into(),
            actor: None,
        },
    );
    let v: Value = serde_json::from_str(&event.to_json()).unwrap();
    assert_eq!(
        v,
        json!({
            "version": "0", "id": "evt-9", "detail-type": "subscriber.unsubscribed",
            "source": "mailshot.admin", "account": "000000000000",
            "time": "2024-06-03T14:02:10.000Z", "region": "local", "resources": [],
            "detail": {"email": JORDAN, "via": "list-unsubscribe"},
        })
    );
}

#[test]
fn sources_follow_the_writer() {
    let sources: Vec<&str> = all_actions().iter().map(SystemAction::source).collect();
    assert_eq!(
        sources,
        [
            ADMIN_SOURCE,
            ADMIN_SOURCE,
            ADMIN_SOURCE,
            REACTOR_SOURCE,
            REACTOR_SOURCE,
            REACTOR_SOURCE,
            REACTOR_SOURCE,
            REACTOR_SOURCE,
            REACTOR_SOURCE,
            REACTOR_SOURCE
        ]
    );
    assert_eq!(ADMIN_SOURCE, "mailshot.admin");
    assert_eq!(REACTOR_SOURCE, "mailshot.reactor");
}

#[test]
fn handwritten_system_event_parses() {
    let line = json!({
        "version": "0", "id": "e-1", "detail-type": "email.skipped", "source": "mailshot.reactor",
        "account": "111122223333", "time": "2024-06-03T14:00:00Z", "region": "us-east-1",
        "resources": [],
        "detail": {"email": "Jordan Lee <Jordan.Lee@example.net>", "templateKey": "t", "reason": "r",
                   "triggerEventId": "x", "extra": true},
    })
    .to_string();
    let InputBody::System(sys) = one(&line).body else {
        panic!()
    };
    assert_eq!(sys.email, JORDAN);
    assert_eq!(sys.time.to_string(), "2024-06-03T14:00:00.000Z");
    assert_eq!(
        sys.action,
        SystemAction::EmailSkipped {
            template_key: "t".into(),
            reason: "r".into(),
            trigger_event_id: "x".into()
        }
    );
}

#[test]
fn an_input_from_outside_with_a_reserved_source_is_rejected_as_reserved_source() {
    let forged = SystemEvent::new(
        "forged-1",
        Timestamp::parse("2024-06-03T14:00:00Z").unwrap(),
        JORDAN,
        SystemAction::SuppressionRemoved {
            reason: "lift it".into(),
            actor: Some("root".into()),
        },
    )
    .to_json();
    // mailshot's own path reads it; the outside path refuses it.
    assert_eq!(parse_line(forged.as_bytes()).len(), 1);
    assert!(parse_line(forged.as_bytes())[0].is_ok());
    let refused = parse_external_line(forged.as_bytes());
    let errors: Vec<InputError> = refused.into_iter().map(|r| r.unwrap_err()).collect();
    assert_eq!(
        errors,
        [InputError::ReservedSource {
            event_source: "mailshot.admin".into()
        }]
    );
    assert_eq!(
        errors[0].to_string(),
        "reserved source \"mailshot.admin\": only mailshot itself writes `mailshot.*` events"
    );
    assert_eq!(errors[0].kind(), "reserved_source");
    assert_eq!(errors[0].field().as_deref(), Some("source"));

    // A `mailshot.*` pair mailshot never writes is reserved all the same.
    let unknown = json!({
        "version": "0", "id": "e-2", "detail-type": "anything", "source": "mailshot.other",
        "account": "1", "time": "2024-06-03T14:00:00Z", "region": "r", "resources": [],
        "detail": {"email": JORDAN},
    })
    .to_string();
    assert_eq!(
        parse_external_line(unknown.as_bytes())[0]
            .as_ref()
            .unwrap_err(),
        &InputError::ReservedSource {
            event_source: "mailshot.other".into()
        }
    );

    // Inside a Lambda Kinesis event, only that record is refused, by index.
    let data = |text: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(text)
    };
    let app = json!({
        "version": "0", "id": "app-1", "detail-type": "customer.created", "source": "shop",
        "account": "1", "time": "2024-06-03T14:00:00Z", "region": "r", "resources": [],
        "detail": {"email": JORDAN},
    })
    .to_string();
    let lambda = json!({"Records": [
        {"kinesis": {"data": data(&app)}},
        {"kinesis": {"data": data(&forged)}},
    ]})
    .to_string();
    let results = parse_external_line(lambda.as_bytes());
    assert_eq!(results.len(), 2);
    assert!(results[0].is_ok(), "{:?}", results[0]);
    assert_eq!(
        results[1].as_ref().unwrap_err().to_string(),
        "Records[1]: reserved source \"mailshot.admin\": only mailshot itself writes `mailshot.*` events"
    );
}

#[test]
fn one_stream_record_from_outside_with_a_reserved_source_is_rejected_and_others_pass() {
    let forged = SystemEvent::new(
        "forged-2",
        Timestamp::parse("2024-06-03T14:00:00Z").unwrap(),
        JORDAN,
        SystemAction::SuppressionRemoved {
            reason: "lift it".into(),
            actor: None,
        },
    )
    .to_json();
    assert_eq!(
        parse_external_input(&forged).unwrap_err(),
        InputError::ReservedSource {
            event_source: "mailshot.admin".into()
        }
    );
    let unknown = json!({
        "version": "0", "id": "e-3", "detail-type": "anything", "source": "mailshot.other",
        "account": "1", "time": "2024-06-03T14:00:00Z", "region": "r", "resources": [],
        "detail": {"email": JORDAN},
    })
    .to_string();
    assert_eq!(
        parse_external_input(&unknown).unwrap_err(),
        InputError::ReservedSource {
            event_source: "mailshot.other".into()
        }
    );
    let app = json!({
        "version": "0", "id": "app-2", "detail-type": "customer.created", "source": "shop",
        "account": "1", "time": "2024-06-03T14:00:00Z", "region": "r", "resources": [],
        "detail": {"email": JORDAN},
    })
    .to_string();
    assert_eq!(
        parse_external_input(&app).unwrap(),
        parse_input(&app).unwrap()
    );
}
