//! Every fixture parses to exactly the expected facts (docs/design.md §3, docs/formats.md §1a–§1e).

mod common;

use common::*;
use mailshot_domain::{
    EngagementFact, Envelope, EventType, FactId, InputBody, Timestamp, parse_input, parse_line,
};

const SUBJECT: &str = "Your order #48213 has shipped";

/// Checks the fields every order-shipped fixture shares.
fn assert_order_shipped(f: &EngagementFact<'_>, event_type: EventType, timestamp: &str) {
    assert_eq!(f.event_type, event_type);
    assert_eq!(f.email, JORDAN);
    assert_eq!(f.recipient, JORDAN);
    assert_eq!(f.timestamp.to_string(), timestamp);
    // Every event of the message carries its send time, `mail.timestamp`.
    assert_eq!(f.sent_at.to_string(), "2024-06-03T14:02:10.815Z");
    assert_eq!(f.ses_message_id, MID);
    assert_eq!(f.template_key, "order-shipped");
    assert_eq!(f.sequence_id, "seq_20240603_000481");
    assert_eq!(f.subject.as_deref(), Some(SUBJECT));
    assert_eq!(
        f.id,
        FactId::of_ses_fact(
            MID,
            event_type,
            Timestamp::parse(timestamp).unwrap(),
            JORDAN,
            f.link_url
                .as_deref()
                .filter(|_| event_type == EventType::Click),
        )
    );
}

fn assert_no_type_fields(f: &EngagementFact<'_>) {
    assert_eq!(f.link_url, None);
    assert_eq!(f.user_agent, None);
    assert_eq!(f.bounce_type, None);
    assert_eq!(f.bounce_sub_type, None);
    assert_eq!(f.diagnostic_code, None);
    assert_eq!(f.feedback_type, None);
    assert_eq!(f.unsubscribe_all, None);
}

#[test]
fn delivery() {
    let f = only_fact(&fixture("ses-delivery.json"), Envelope::SesRecord);
    assert_order_shipped(&f, EventType::Delivery, "2024-06-03T14:02:12.247Z");
    assert_no_type_fields(&f);
}

#[test]
fn sns_envelope_delivery_is_the_same_fact_as_the_bare_record() {
    let bare = only_fact(&fixture("ses-delivery.json"), Envelope::SesRecord);
    let sns = only_fact(
        &fixture("sns-envelope-delivery.json"),
        Envelope::SnsNotification,
    );
    assert_eq!(sns, bare);
    assert_eq!(sns.id, bare.id);
}

#[test]
fn open() {
    let f = only_fact(&fixture("ses-open.json"), Envelope::SesRecord);
    assert_order_shipped(&f, EventType::Open, "2024-06-03T15:27:48.390Z");
    assert_eq!(
        f.user_agent.as_deref(),
        Some(
            "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
        )
    );
    assert_eq!(f.link_url, None);
    assert_eq!(f.bounce_type, None);
}

#[test]
fn lambda_sns_open_is_the_same_fact_as_the_bare_record() {
    let text = fixture("lambda-sns-event-open.json");
    let results = parse_line(text.as_bytes());
    assert_eq!(results.len(), 1);
    let input = results.into_iter().next().unwrap().unwrap();
    assert_eq!(input.envelope, Envelope::LambdaSnsRecord);
    // `raw` is the Records[0] object verbatim, and parses back on its own.
    let record = &fixture_value("lambda-sns-event-open.json")["Records"][0];
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&input.raw).unwrap(),
        *record
    );
    assert!(
        text.contains(input.raw.as_ref()),
        "raw is a slice of the line"
    );
    let again = parse_input(&input.raw).unwrap();
    assert_eq!(again, input);
    let bare = only_fact(&fixture("ses-open.json"), Envelope::SesRecord);
    assert_eq!(facts(&input), [bare]);
}

#[test]
fn click() {
    let f = only_fact(&fixture("ses-click.json"), Envelope::SesRecord);
    assert_order_shipped(&f, EventType::Click, "2024-06-03T15:28:05.102Z");
    assert_eq!(
        f.link_url.as_deref(),
        Some(
            "https://shop.example.com/orders/48213/tracking?utm_source=ses&utm_medium=email&utm_campaign=order-shipped&note=gift%20wrap"
        )
    );
    assert_eq!(
        f.user_agent.as_deref(),
        Some(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
        )
    );
    // The link is part of a click's identity.
    let other_link = mutated("ses-click.json", |v| {
        set(v, "/click/link", "https://shop.example.com/other".into())
    });
    assert_ne!(only_fact(&other_link, Envelope::SesRecord).id, f.id);
}

#[test]
fn send_and_reject_use_the_mail_timestamp() {
    let send = only_fact(&fixture("ses-send.json"), Envelope::SesRecord);
    assert_order_shipped(&send, EventType::Send, "2024-06-03T14:02:10.815Z");
    assert_no_type_fields(&send);
    let reject = only_fact(&fixture("ses-reject.json"), Envelope::SesRecord);
    assert_order_shipped(&reject, EventType::Reject, "2024-06-03T14:02:10.815Z");
    assert_no_type_fields(&reject);
    assert_ne!(send.id, reject.id);
}

#[test]
fn permanent_bounce() {
    let f = only_fact(&fixture("ses-bounce-permanent.json"), Envelope::SesRecord);
    assert_order_shipped(&f, EventType::Bounce, "2024-06-03T14:02:12.907Z");
    assert_eq!(f.bounce_type.as_deref(), Some("Permanent"));
    assert_eq!(f.bounce_sub_type.as_deref(), Some("NoEmail"));
    assert_eq!(
        f.diagnostic_code.as_deref(),
        Some(
            "smtp; 550 5.1.1 <jordan.lee@example.net>: Recipient address rejected: User unknown in virtual mailbox table"
        )
    );
    assert!(f.suppresses());
}

#[test]
fn transient_bounce() {
    let f = only_fact(&fixture("ses-bounce-transient.json"), Envelope::SesRecord);
    assert_order_shipped(&f, EventType::Bounce, "2024-06-04T02:17:40.113Z");
    assert_eq!(f.bounce_type.as_deref(), Some("Transient"));
    assert_eq!(f.bounce_sub_type.as_deref(), Some("MailboxFull"));
    assert_eq!(
        f.diagnostic_code.as_deref(),
        Some("smtp; 552 5.2.2 <jordan.lee@example.net>: mailbox over quota")
    );
    assert!(!f.suppresses());
}

#[test]
fn notification_format_bounce_without_tags_takes_headers() {
    let f = only_fact(
        &fixture("ses-bounce-notification-format.json"),
        Envelope::SesRecord,
    );
    assert_order_shipped(&f, EventType::Bounce, "2024-06-03T14:02:12.907Z");
    assert_eq!(f.bounce_type.as_deref(), Some("Permanent"));
    assert_eq!(f.bounce_sub_type.as_deref(), Some("General"));
    assert_eq!(
        f.diagnostic_code.as_deref(),
        Some("smtp; 550 5.1.1 user unknown")
    );
    // Same message, type, time and recipient as the event-publishing record: same identity.
    let published = only_fact(&fixture("ses-bounce-permanent.json"), Envelope::SesRecord);
    assert_eq!(f.id, published.id);
}

#[test]
fn complaint() {
    let f = only_fact(&fixture("ses-complaint.json"), Envelope::SesRecord);
    assert_order_shipped(&f, EventType::Complaint, "2024-06-05T08:44:03.000Z");
    assert_eq!(f.feedback_type.as_deref(), Some("abuse"));
    assert_eq!(f.user_agent, None);
    assert_eq!(f.bounce_type, None);
    assert!(f.suppresses());
}

#[test]
fn delivery_delay() {
    let f = only_fact(&fixture("ses-delivery-delay.json"), Envelope::SesRecord);
    assert_order_shipped(&f, EventType::DeliveryDelay, "2024-06-03T14:17:12.560Z");
    assert_eq!(
        f.diagnostic_code.as_deref(),
        Some("smtp; 421 4.4.1 Connection timed out while talking to mx1.example.net")
    );
    assert_eq!(f.bounce_type, None);
}

#[test]
fn rendering_failure_takes_tags_and_has_no_subject() {
    let f = only_fact(&fixture("ses-rendering-failure.json"), Envelope::SesRecord);
    let mid = "0100018fd2c7315b-0d6a8e4f-93b2-4e71-8c5d-a4f1b29e07c6-000000";
    assert_eq!(f.event_type, EventType::RenderingFailure);
    assert_eq!(f.email, JORDAN);
    assert_eq!(f.timestamp.to_string(), "2024-06-03T14:05:31.644Z");
    assert_eq!(f.ses_message_id, mid);
    assert_eq!(f.template_key, "order-shipped");
    assert_eq!(f.sequence_id, "seq_20240603_000481");
    assert_eq!(f.subject, None);
    assert_no_type_fields(&f);
    assert_eq!(
        f.id,
        FactId::of_ses_fact(mid, EventType::RenderingFailure, f.timestamp, JORDAN, None)
    );
}

#[test]
fn subscription() {
    let f = only_fact(&fixture("ses-subscription.json"), Envelope::SesRecord);
    assert_eq!(f.event_type, EventType::Subscription);
    assert_eq!(f.email, JORDAN);
    assert_eq!(f.timestamp.to_string(), "2024-06-03T18:41:09.731Z");
    assert_eq!(
        f.ses_message_id,
        "0100018fcc7a90d1-5e2b84c3-1f6a-4d08-b7e9-3c4a0d51f826-000000"
    );
    assert_eq!(f.template_key, "weekly-digest");
    assert_eq!(f.sequence_id, "seq_20240602_000077");
    assert_eq!(f.subject.as_deref(), Some("This week at Example Shop"));
    assert_eq!(f.unsubscribe_all, Some(true));
}

#[test]
fn eventbridge_app_event() {
    let text = fixture("eventbridge-customer-created.json");
    let input = one(&text);
    assert_eq!(input.envelope, Envelope::EventBridge);
    assert_eq!(input.raw, text.trim_end());
    let InputBody::App(app) = &input.body else {
        panic!("{:?}", input.body)
    };
    assert_eq!(app.event_id, "3f9a2c71-6d4e-4b8a-a1f5-0c7e92d4b6e8");
    assert_eq!(
        app.id,
        FactId::of_event_id("3f9a2c71-6d4e-4b8a-a1f5-0c7e92d4b6e8")
    );
    assert_eq!(app.source, "com.example.crm");
    assert_eq!(app.detail_type, "Customer Created");
    assert_eq!(app.time.to_string(), "2024-06-03T14:01:58.000Z");
    assert_eq!(app.email.as_deref(), Some(JORDAN));
    let detail: serde_json::Value = serde_json::from_str(&app.detail).unwrap();
    assert_eq!(
        detail,
        fixture_value("eventbridge-customer-created.json")["detail"]
    );
    assert_eq!(input.identities(), vec![app.id]);
    assert_eq!(input.partition_key(), JORDAN);
}

#[test]
fn lambda_kinesis_decodes_to_the_eventbridge_event() {
    let text = fixture("lambda-kinesis-event.json");
    let results = parse_line(text.as_bytes());
    assert_eq!(results.len(), 1);
    let input = results.into_iter().next().unwrap().unwrap();
    assert_eq!(input.envelope, Envelope::LambdaKinesisRecord);
    let decoded = fixture_value("eventbridge-customer-created.json");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&input.raw).unwrap(),
        decoded
    );
    let direct = one(&fixture("eventbridge-customer-created.json")).into_owned();
    let (InputBody::App(via_kinesis), InputBody::App(direct)) = (&input.body, &direct.body) else {
        panic!("not app events")
    };
    assert_eq!(via_kinesis.id, direct.id);
    assert_eq!(via_kinesis.event_id, direct.event_id);
    assert_eq!(via_kinesis.email, direct.email);
    assert_eq!(via_kinesis.time, direct.time);
    // The raw (decoded `data`) parses back to the same body.
    assert_eq!(parse_input(&input.raw).unwrap().body, input.body);
}

#[test]
fn ses_through_eventbridge_has_ses_identities() {
    let record = fixture_value("ses-open.json");
    let event = serde_json::json!({
        "version": "0", "id": "9c1b7a52-0000-4000-8000-000000000001", "detail-type": "Email Opened",
        "source": "aws.ses", "account": "111122223333", "time": "2024-06-03T15:27:49Z",
        "region": "us-east-1", "resources": [], "detail": record,
    })
    .to_string();
    let via_eventbridge = only_fact(&event, Envelope::EventBridge);
    let bare = only_fact(&fixture("ses-open.json"), Envelope::SesRecord);
    assert_eq!(via_eventbridge, bare);
}

#[test]
fn every_fixture_is_accepted_and_raw_parses_back() {
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for result in parse_line(text.as_bytes()) {
            let input = result.unwrap();
            let again = parse_input(&input.raw).unwrap();
            assert_eq!(again.body, input.body);
            assert_eq!(again.identities(), input.identities());
            count += 1;
        }
    }
    assert_eq!(count, 16);
}
