//! The decision function end to end, on the example config and templates.

use mailshot_domain::{FactId, Timestamp};
use serde_json::{Value, json};

use super::*;
use crate::templates::MemoryTemplates;

const EXAMPLE: &str = include_str!("../../../examples/mailshot.toml");
const SECRET: &[u8] = b"test-secret-0123456789";

fn now() -> Timestamp {
    Timestamp::parse("2024-06-03T15:00:00Z").unwrap()
}

fn example_templates() -> MemoryTemplates {
    MemoryTemplates::new()
        .with(
            "order/shipped",
            include_str!("../../../examples/templates/order/shipped.liquid"),
        )
        .with(
            "thanks/first-sale",
            include_str!("../../../examples/templates/thanks/first-sale.liquid"),
        )
}

fn reactor_with(templates: MemoryTemplates) -> Reactor {
    Reactor::new(Config::parse(EXAMPLE).unwrap(), templates, SECRET).unwrap()
}

fn reactor() -> Reactor {
    reactor_with(example_templates())
}

fn event(detail_type: &str, detail: Value) -> Value {
    json!({
        "version": "0",
        "id": "3f9a2c71-6d4e-4b8a-a1f5-0c7e92d4b6e8",
        "detail-type": detail_type,
        "source": "com.example.shop",
        "account": "111122223333",
        "time": "2024-06-03T14:01:58Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    })
}

fn shipped() -> Value {
    event(
        "order.shipped",
        json!({"customerId": "cus_1", "email": "Jordan.Lee@Example.NET", "firstName": "Jordan",
               "orderId": "ord_41234", "carrier": "UPS", "trackingNumber": "1Z0123456789ABCDEF",
               "shippedAt": "2024-06-03T13:00:00.000Z"}),
    )
}

fn upsert_of(detail: &Value, first_name: Option<&str>) -> Intent {
    Intent::Upsert {
        email: "jordan.lee@example.net".into(),
        action: SystemAction::SubscriberUpserted {
            first_name: first_name.map(String::from),
            attributes: detail.clone(),
        },
    }
}

fn single_send(intents: &[Intent]) -> &SendEmail {
    match intents {
        [Intent::Upsert { .. }, Intent::SendEmail(send)] => send,
        other => panic!("expected an upsert and a send, got {other:#?}"),
    }
}

fn single_skip(intents: &[Intent]) -> &Skip {
    match intents {
        [Intent::Upsert { .. }, Intent::Skip(skip)] | [Intent::Skip(skip)] => skip,
        other => panic!("expected a skip, got {other:#?}"),
    }
}

#[test]
fn customer_created_upserts_and_starts_onboarding() {
    let e = event(
        "customer.created",
        json!({"customerId": "cus_1", "email": "jordan.lee@example.net", "firstName": "Jordan"}),
    );
    let intents = reactor().decide(&e, None, now());
    let start = StartExecution::new(
        "arn:aws:states:us-east-1:111122223333:stateMachine:onboarding",
        "onboarding",
        "3f9a2c71-6d4e-4b8a-a1f5-0c7e92d4b6e8",
        &MappedSubscriber {
            email: "jordan.lee@example.net".into(),
            first_name: Some("Jordan".into()),
            attributes: e["detail"].clone(),
        },
    );
    assert_eq!(
        intents,
        vec![
            upsert_of(&e["detail"], Some("Jordan")),
            Intent::StartExecution(start.clone())
        ]
    );
    assert_eq!(
        start.input,
        json!({"email": "jordan.lee@example.net", "firstName": "Jordan", "attributes": e["detail"],
               "eventId": "3f9a2c71-6d4e-4b8a-a1f5-0c7e92d4b6e8"})
    );
    // Deterministic: the same event decides the same, names included.
    assert_eq!(reactor().decide(&e, None, now()), intents);
}

#[test]
fn winback_pattern_filters_and_unrelated_events_do_nothing() {
    let r = reactor();
    let cart = |items: u64| {
        event(
            "cart.abandoned",
            json!({"email": "a@example.com", "firstName": "A", "itemCount": items}),
        )
    };
    let intents = r.decide(&cart(2), None, now());
    assert!(
        matches!(&intents[..], [Intent::Upsert { .. }, Intent::StartExecution(s)] if s.sequence_id == "winback")
    );
    assert_eq!(r.decide(&cart(0), None, now()), vec![]);
    assert_eq!(
        r.decide(
            &event("customer.deleted", json!({"email": "a@example.com"})),
            None,
            now()
        ),
        vec![]
    );
    let mut wrong_source = cart(2);
    wrong_source["source"] = json!("com.example.crm");
    assert_eq!(r.decide(&wrong_source, None, now()), vec![]);
    let mut no_id = cart(2);
    no_id.as_object_mut().unwrap().remove("id");
    assert_eq!(r.decide(&no_id, None, now()), vec![]);
}

#[test]
fn order_shipped_sends_the_rendered_email() {
    let e = shipped();
    let intents = reactor().decide(&e, None, now());
    assert_eq!(intents[0], upsert_of(&e["detail"], Some("Jordan")));
    let send = single_send(&intents);
    let m = &send.message;
    assert_eq!(
        send.dedupe_key,
        DedupeKey {
            event_id: "3f9a2c71-6d4e-4b8a-a1f5-0c7e92d4b6e8".into(),
            template_key: "order/shipped".into()
        }
    );
    assert_eq!(m.from, "Example Shop <hello@example.com>");
    assert_eq!(m.to, "jordan.lee@example.net");
    assert_eq!(m.reply_to.as_deref(), Some("support@example.com"));
    assert_eq!(m.subject, "Jordan, your order ord_41234 is on its way");
    let token = token::sign("jordan.lee@example.net", SECRET, now());
    let url = format!("https://example.com/unsubscribe?token={token}");
    assert_eq!(
        m.headers,
        vec![
            ("List-Unsubscribe".to_string(), format!("<{url}>")),
            (
                "List-Unsubscribe-Post".to_string(),
                "List-Unsubscribe=One-Click".to_string()
            ),
            ("X-Template-Key".to_string(), "order/shipped".to_string()),
            ("X-Sequence-Id".to_string(), "fire_and_forget".to_string()),
        ]
    );
    assert_eq!(
        m.tags,
        vec![
            ("templateKey".to_string(), "order--shipped".to_string()),
            ("sequenceId".to_string(), "fire_and_forget".to_string()),
        ]
    );
    assert_eq!(
        token::verify(&token, SECRET, now()),
        Ok("jordan.lee@example.net".to_string())
    );
    for expected in [
        "Good news, Jordan!",
        "<strong>ord_41234</strong>",
        "with UPS.",
        "<code>1Z0123456789ABCDEF</code>",
        "https://shop.example.com/orders/ord_41234",
        "ordered from Example Shop with jordan.lee@example.net.",
        &format!("<a href=\"{url}\">Unsubscribe</a>"),
        "&copy; 2024 Example Shop",
    ] {
        assert!(
            m.html.contains(expected),
            "missing {expected:?} in\n{}",
            m.html
        );
    }
    assert_eq!(m.date, Timestamp::parse("2024-06-03T14:01:58Z").unwrap());
    assert_eq!(
        send.sent("0100018fd0a1b2c3-msg"),
        SystemAction::EmailSent {
            template_key: "order/shipped".into(),
            sequence_id: "fire_and_forget".into(),
            subject: "Jordan, your order ord_41234 is on its way".into(),
            ses_message_id: "0100018fd0a1b2c3-msg".into(),
            trigger_event_id: "3f9a2c71-6d4e-4b8a-a1f5-0c7e92d4b6e8".into(),
        }
    );
    let eml = String::from_utf8(m.to_eml()).unwrap();
    assert!(eml.contains("\r\nX-Template-Key: order/shipped\r\n"));
    assert!(eml.contains("\r\nDate: Mon, 03 Jun 2024 14:01:58 +0000\r\n"));
}

#[test]
fn first_sale_thanks_with_the_example_template() {
    let e = event(
        "customer.first_sale",
        json!({"customerId": "cus_1", "email": "jordan.lee@example.net", "firstName": "Jordan",
               "orderId": "ord_5", "orderTotal": 42.5, "currency": "USD", "itemCount": 1}),
    );
    let intents = reactor().decide(&e, None, now());
    let m = &single_send(&intents).message;
    assert_eq!(m.subject, "Thank you for your first order, Jordan!");
    assert!(m.html.contains("(1 item,\n     42.5 USD)"), "{}", m.html);
    assert_eq!(
        m.tags[0],
        ("templateKey".to_string(), "thanks--first-sale".to_string())
    );
}

#[test]
fn rendering_sees_every_context_variable() {
    let r = reactor_with(MemoryTemplates::new().with(
        "order/shipped",
        "{{ email }}|{{ firstName }}|{{ attributes.orderId }}|{{ unsubscribeUrl }}|{{ currentYear }}",
    ));
    let mut e = shipped();
    e["time"] = json!("2021-12-31T23:59:59Z");
    let intents = r.decide(&e, None, now());
    let html = &single_send(&intents).message.html;
    let token = token::sign("jordan.lee@example.net", SECRET, now());
    // currentYear comes from the event's time, not from `now`.
    assert_eq!(
        html,
        &format!(
            "jordan.lee@example.net|Jordan|ord_41234|https://example.com/unsubscribe?token={token}|2021"
        )
    );
}

#[test]
fn stored_first_name_and_attributes_fill_in_for_the_event() {
    let r = reactor_with(MemoryTemplates::new().with(
        "order/shipped",
        "{{ firstName }} {{ attributes.loyaltyTier }} {{ attributes.orderId }}",
    ));
    let mut e = shipped();
    e["detail"].as_object_mut().unwrap().remove("firstName");
    let state = SubscriberState {
        first_name: Some("Jo".into()),
        attributes: json!({"loyaltyTier": "gold", "orderId": "old"}),
        ..SubscriberState::default()
    };
    let intents = r.decide(&e, Some(&state), now());
    assert_eq!(single_send(&intents).message.html, "Jo gold ord_41234");
    assert_eq!(
        single_send(&intents).message.subject,
        "Jo, your order ord_41234 is on its way"
    );
}

#[test]
fn strict_missing_variable_skips_with_the_reason() {
    let r = reactor_with(
        MemoryTemplates::new().with("order/shipped", "Hi {{ attributes.couponCode }}"),
    );
    let intents = r.decide(&shipped(), None, now());
    let skip = single_skip(&intents);
    assert_eq!(skip.template_key, "order/shipped");
    assert_eq!(skip.sequence_id, "fire_and_forget");
    assert_eq!(skip.email.as_deref(), Some("jordan.lee@example.net"));
    assert!(
        skip.reason.starts_with("template \"order/shipped\": Liquid rendering error: Unknown index (variable=attributes, requested index=couponCode"),
        "{}",
        skip.reason
    );
    assert!(skip.reason.contains("couponCode"), "{}", skip.reason);
    assert_eq!(
        skip.skipped(),
        SystemAction::EmailSkipped {
            template_key: "order/shipped".into(),
            reason: skip.reason.clone(),
            trigger_event_id: "3f9a2c71-6d4e-4b8a-a1f5-0c7e92d4b6e8".into(),
        }
    );
    let r = reactor_with(MemoryTemplates::new().with("order/shipped", "Hi {{ lastName }}"));
    let intents = r.decide(&shipped(), None, now());
    assert!(
        single_skip(&intents).reason.contains("Unknown variable"),
        "{}",
        single_skip(&intents).reason
    );
}

#[test]
fn bad_liquid_syntax_skips_with_the_reason() {
    let r =
        reactor_with(MemoryTemplates::new().with("order/shipped", "{% if firstName %}unclosed"));
    let intents = r.decide(&shipped(), None, now());
    let reason = &single_skip(&intents).reason;
    assert!(
        reason.starts_with("template \"order/shipped\": Liquid syntax error: "),
        "{reason}"
    );
    assert!(!reason.contains('\n'));
}

#[test]
fn missing_template_skips_with_the_reason() {
    let r = reactor_with(MemoryTemplates::new());
    let intents = r.decide(&shipped(), None, now());
    assert_eq!(
        single_skip(&intents).reason,
        "template \"order/shipped\" not found"
    );
    let problems = r.check_templates();
    assert_eq!(
        problems,
        vec![
            (
                "order/shipped".to_string(),
                "template \"order/shipped\" not found".to_string()
            ),
            (
                "thanks/first-sale".to_string(),
                "template \"thanks/first-sale\" not found".to_string()
            ),
        ]
    );
    assert_eq!(reactor().check_templates(), vec![]);
}

#[test]
fn suppressed_subscribers_are_skipped_with_the_reason() {
    let state = SubscriberState {
        suppressed: Some("bounce".into()),
        ..SubscriberState::default()
    };
    let intents = reactor().decide(&shipped(), Some(&state), now());
    let skip = single_skip(&intents);
    assert_eq!(skip.reason, "suppressed: bounce");
    assert_eq!(skip.template_key, "order/shipped");
    // The profile is still upserted: the fold keeps the suppression.
    assert!(matches!(intents[0], Intent::Upsert { .. }));

    let created = event(
        "customer.created",
        json!({"email": "jordan.lee@example.net"}),
    );
    let intents = reactor().decide(&created, Some(&state), now());
    let skip = single_skip(&intents);
    assert_eq!(skip.reason, "suppressed: bounce");
    assert_eq!(skip.sequence_id, "onboarding");
    assert_eq!(skip.template_key, "");
}

#[test]
fn unsubscribed_subscribers_are_skipped_with_the_reason() {
    let state = SubscriberState {
        unsubscribed: true,
        ..SubscriberState::default()
    };
    let intents = reactor().decide(&shipped(), Some(&state), now());
    assert_eq!(single_skip(&intents).reason, "unsubscribed");
    // Suppression is the stronger reason.
    let both = SubscriberState {
        suppressed: Some("complaint".into()),
        unsubscribed: true,
        ..SubscriberState::default()
    };
    assert_eq!(both.blocked().as_deref(), Some("suppressed: complaint"));
}

#[test]
fn events_without_a_subscriber_are_skipped() {
    let e = event("order.shipped", json!({"orderId": "ord_1"}));
    let intents = reactor().decide(&e, None, now());
    let skip = single_skip(&intents);
    assert_eq!(skip.email, None);
    assert_eq!(
        skip.reason,
        "subscriber mapping: no email at $.detail.email"
    );
}

#[test]
fn decide_app_rebuilds_the_event() {
    let e = shipped();
    let detail = e["detail"].to_string();
    let app = AppEvent {
        event_id: "3f9a2c71-6d4e-4b8a-a1f5-0c7e92d4b6e8".into(),
        id: FactId::of_event_id("3f9a2c71-6d4e-4b8a-a1f5-0c7e92d4b6e8"),
        source: "com.example.shop".into(),
        detail_type: "order.shipped".into(),
        time: Timestamp::parse("2024-06-03T14:01:58Z").unwrap(),
        email: Some("jordan.lee@example.net".into()),
        detail: detail.as_str().into(),
    };
    assert_eq!(
        reactor().decide_app(&app, None, now()),
        reactor().decide(&e, None, now())
    );
}

#[test]
fn suppression_stops_every_running_execution() {
    let running = vec![
        "arn:aws:states:us-east-1:111122223333:execution:onboarding:a".to_string(),
        "arn:aws:states:us-east-1:111122223333:execution:winback:b".to_string(),
    ];
    let (stops, outcome) = Reactor::on_suppressed(&running, "suppressed: complaint");
    assert_eq!(
        stops
            .iter()
            .map(|s| s.execution_arn.as_str())
            .collect::<Vec<_>>(),
        running
    );
    assert_eq!(
        outcome,
        SystemAction::ExecutionsStopped {
            execution_arns: running.clone(),
            reason: "suppressed: complaint".into()
        }
    );
}

#[test]
fn an_empty_secret_is_refused() {
    let e = Reactor::new(
        Config::parse(EXAMPLE).unwrap(),
        MemoryTemplates::new(),
        Vec::new(),
    )
    .unwrap_err();
    assert_eq!(e, ReactorError::EmptySecret);
}

#[test]
fn sequence_step_templates_render_for_executors() {
    let r = reactor_with(
        example_templates()
            .with(
                "onboarding/welcome",
                include_str!("../../../examples/templates/onboarding/welcome.liquid"),
            )
            .with(
                "winback/cart-reminder",
                include_str!("../../../examples/templates/winback/cart-reminder.liquid"),
            ),
    );
    let subscriber = MappedSubscriber {
        email: "jordan.lee@example.net".into(),
        first_name: Some("Jordan".into()),
        attributes: json!({"customerId": "cus_1", "itemCount": 2, "cartValue": 129.9, "currency": "USD",
                           "cartUrl": "https://shop.example.com/cart?restore=1&items=sku%3A1234"}),
    };
    let time = Timestamp::parse("2024-06-03T14:01:58Z").unwrap();
    let welcome = r
        .render_email(
            "onboarding/welcome",
            "Welcome, {{ firstName }}",
            "onboarding",
            &subscriber,
            "ev-1",
            time,
            now(),
        )
        .unwrap();
    assert_eq!(welcome.subject, "Welcome, Jordan");
    assert!(
        welcome.html.contains("<strong>cus_1</strong>"),
        "{}",
        welcome.html
    );
    assert_eq!(
        welcome.headers[3],
        ("X-Sequence-Id".to_string(), "onboarding".to_string())
    );
    assert_eq!(
        welcome.tags[0],
        ("templateKey".to_string(), "onboarding--welcome".to_string())
    );
    assert_eq!(
        welcome.tags[1],
        ("sequenceId".to_string(), "onboarding".to_string())
    );
    let reminder = r
        .render_email(
            "winback/cart-reminder",
            "Your cart",
            "winback",
            &subscriber,
            "ev-1",
            time,
            now(),
        )
        .unwrap();
    assert!(
        reminder
            .html
            .contains("2\n     items\n     worth 129.9 USD"),
        "{}",
        reminder.html
    );
    assert!(
        reminder
            .html
            .contains("href=\"https://shop.example.com/cart?restore=1&amp;items=sku%3A1234\"")
    );
    assert!(
        r.render_email("nope", "x", "winback", &subscriber, "ev-1", time, now())
            .is_err()
    );
}
