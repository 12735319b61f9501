//! Every way an input can be wrong is rejected with its kind and the field at fault.

mod common;

use base64::Engine as _;
use common::*;
use mailshot_domain::{InputError, parse_input, parse_line};
use serde_json::{Value, json};

/// Asserts the one result of `line` is rejected with `kind`, naming `field`.
fn assert_rejected(line: &str, kind: &str, field: Option<&str>) -> InputError {
    let err = rejected(line);
    assert_eq!(err.kind(), kind, "{err}");
    assert_eq!(err.field().as_deref(), field, "{err}");
    if let Some(field) = field {
        assert!(
            err.to_string().contains(field.rsplit('.').next().unwrap()),
            "{err}"
        );
    }
    err
}

macro_rules! rejection {
    ($name:ident, $line:expr, $kind:literal, $field:expr) => {
        #[test]
        fn $name() {
            assert_rejected(&$line, $kind, $field);
        }
    };
}

fn ses(name: &str, f: impl FnOnce(&mut Value)) -> String {
    mutated(name, f)
}

fn sns_with_message(message: &str) -> String {
    mutated("sns-envelope-delivery.json", |v| {
        set(v, "/Message", json!(message))
    })
}

fn eventbridge(f: impl FnOnce(&mut Value)) -> String {
    mutated("eventbridge-customer-created.json", f)
}

fn system_event(source: &str, detail_type: &str, detail: Value) -> String {
    json!({
        "version": "0", "id": "5d7e0000-0000-4000-8000-000000000001", "detail-type": detail_type,
        "source": source, "account": "000000000000", "time": "2024-06-03T14:00:00.000Z",
        "region": "local", "resources": [], "detail": detail,
    })
    .to_string()
}

fn kinesis_with_data(data: &str) -> String {
    mutated("lambda-kinesis-event.json", |v| {
        set(v, "/Records/0/kinesis/data", json!(data))
    })
}

// Not JSON / not an object / unknown shape.
rejection!(not_json, "{\"eventType\": ", "not_json", None);
rejection!(not_json_trailing_garbage, "{} {}", "not_json", None);
rejection!(not_an_object_array, "[1, 2]", "not_an_object", None);
rejection!(not_an_object_string, "\"hello\"", "not_an_object", None);
rejection!(not_an_object_null, "null", "not_an_object", None);
rejection!(
    unknown_shape,
    r#"{"hello": "world"}"#,
    "unknown_shape",
    None
);
rejection!(
    duplicate_key_is_malformed,
    r#"{"eventType":"Send","eventType":"Open"}"#,
    "malformed",
    None
);

#[test]
fn invalid_utf8_is_not_json() {
    let results = parse_line(b"{\"eventType\": \"Send\xff\"}");
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].as_ref().unwrap_err().kind(), "not_json");
}

#[test]
fn not_an_object_names_what_was_found() {
    let err = assert_rejected("[1]", "not_an_object", None);
    assert_eq!(err, InputError::NotAnObject { found: "an array" });
}

// SES record: discriminator.
rejection!(
    unknown_event_type,
    ses("ses-open.json", |v| set(v, "/eventType", json!("Opened"))),
    "unknown_event_type",
    Some("eventType")
);
rejection!(
    rendering_failure_needs_its_space,
    ses("ses-rendering-failure.json", |v| set(
        v,
        "/eventType",
        json!("RenderingFailure")
    )),
    "unknown_event_type",
    Some("eventType")
);
rejection!(
    event_type_not_a_string,
    ses("ses-open.json", |v| set(v, "/eventType", json!(3))),
    "wrong_type",
    Some("eventType")
);
rejection!(
    unknown_notification_type,
    ses("ses-bounce-notification-format.json", |v| set(
        v,
        "/notificationType",
        json!("Received")
    )),
    "unknown_event_type",
    Some("notificationType")
);

// SES record: `mail`.
rejection!(
    missing_mail,
    ses("ses-send.json", |v| remove(v, "/mail")),
    "missing_field",
    Some("mail")
);
rejection!(
    mail_not_an_object,
    ses("ses-send.json", |v| set(v, "/mail", json!([]))),
    "wrong_type",
    Some("mail")
);
rejection!(
    missing_message_id,
    ses("ses-send.json", |v| remove(v, "/mail/messageId")),
    "missing_field",
    Some("mail.messageId")
);
rejection!(
    null_message_id,
    ses("ses-send.json", |v| set(v, "/mail/messageId", Value::Null)),
    "missing_field",
    Some("mail.messageId")
);
rejection!(
    message_id_not_a_string,
    ses("ses-send.json", |v| set(v, "/mail/messageId", json!(7))),
    "wrong_type",
    Some("mail.messageId")
);
rejection!(
    missing_mail_timestamp,
    ses("ses-send.json", |v| remove(v, "/mail/timestamp")),
    "missing_field",
    Some("mail.timestamp")
);
rejection!(
    bad_mail_timestamp,
    ses("ses-send.json", |v| set(
        v,
        "/mail/timestamp",
        json!("yesterday")
    )),
    "bad_timestamp",
    Some("mail.timestamp")
);
rejection!(
    missing_destination,
    ses("ses-send.json", |v| remove(v, "/mail/destination")),
    "missing_field",
    Some("mail.destination")
);
rejection!(
    destination_not_an_array,
    ses("ses-send.json", |v| set(
        v,
        "/mail/destination",
        json!(JORDAN)
    )),
    "wrong_type",
    Some("mail.destination")
);
rejection!(
    destination_entry_not_a_string,
    ses("ses-send.json", |v| set(
        v,
        "/mail/destination",
        json!([JORDAN, 5])
    )),
    "wrong_type",
    Some("mail.destination[1]")
);
rejection!(
    empty_destination,
    ses("ses-send.json", |v| set(v, "/mail/destination", json!([]))),
    "no_recipients",
    Some("mail.destination")
);
rejection!(
    destination_not_an_address,
    ses("ses-send.json", |v| set(
        v,
        "/mail/destination",
        json!(["jordan"])
    )),
    "bad_email",
    Some("mail.destination[0]")
);
rejection!(
    headers_truncated_number,
    ses("ses-send.json", |v| set(
        v,
        "/mail/headersTruncated",
        json!(1)
    )),
    "wrong_type",
    Some("mail.headersTruncated")
);
rejection!(
    headers_not_an_array,
    ses("ses-send.json", |v| set(v, "/mail/headers", json!({}))),
    "wrong_type",
    Some("mail.headers")
);
rejection!(
    header_not_an_object,
    ses("ses-send.json", |v| set(
        v,
        "/mail/headers/2",
        json!("To: x")
    )),
    "wrong_type",
    Some("mail.headers[2]")
);
rejection!(
    header_without_name,
    ses("ses-send.json", |v| remove(v, "/mail/headers/1/name")),
    "missing_field",
    Some("mail.headers[1].name")
);
rejection!(
    template_header_value_not_a_string,
    ses("ses-send.json", |v| set(
        v,
        "/mail/headers/6/value",
        json!(["a"])
    )),
    "wrong_type",
    Some("mail.headers[6].value")
);
rejection!(
    common_headers_not_an_object,
    ses("ses-send.json", |v| set(
        v,
        "/mail/commonHeaders",
        json!("x")
    )),
    "wrong_type",
    Some("mail.commonHeaders")
);
rejection!(
    subject_not_a_string,
    ses("ses-send.json", |v| set(
        v,
        "/mail/commonHeaders/subject",
        json!(1)
    )),
    "wrong_type",
    Some("mail.commonHeaders.subject")
);
rejection!(
    tags_not_an_object,
    ses("ses-send.json", |v| set(v, "/mail/tags", json!([]))),
    "wrong_type",
    Some("mail.tags")
);
rejection!(
    template_tag_not_an_array,
    ses("ses-send.json", |v| set(
        v,
        "/mail/tags/templateKey",
        json!("order-shipped")
    )),
    "wrong_type",
    Some("mail.tags.templateKey")
);
rejection!(
    sequence_tag_entry_not_a_string,
    ses("ses-send.json", |v| set(
        v,
        "/mail/tags/sequenceId",
        json!([1])
    )),
    "wrong_type",
    Some("mail.tags.sequenceId[0]")
);

// SES record: the type-specific object.
rejection!(
    missing_delivery_object,
    ses("ses-delivery.json", |v| remove(v, "/delivery")),
    "missing_field",
    Some("delivery")
);
rejection!(
    delivery_object_not_an_object,
    ses("ses-delivery.json", |v| set(v, "/delivery", json!(true))),
    "wrong_type",
    Some("delivery")
);
rejection!(
    missing_delivery_timestamp,
    ses("ses-delivery.json", |v| remove(v, "/delivery/timestamp")),
    "missing_field",
    Some("delivery.timestamp")
);
rejection!(
    bad_open_timestamp,
    ses("ses-open.json", |v| set(
        v,
        "/open/timestamp",
        json!("2024-02-30T00:00:00Z")
    )),
    "bad_timestamp",
    Some("open.timestamp")
);
rejection!(
    delivery_recipient_not_an_address,
    ses("ses-delivery.json", |v| set(
        v,
        "/delivery/recipients",
        json!(["nobody@"])
    )),
    "bad_email",
    Some("delivery.recipients[0]")
);
rejection!(
    empty_delivery_recipients,
    ses("ses-delivery.json", |v| set(
        v,
        "/delivery/recipients",
        json!([])
    )),
    "no_recipients",
    Some("delivery.recipients")
);
rejection!(
    open_user_agent_not_a_string,
    ses("ses-open.json", |v| set(v, "/open/userAgent", json!(12))),
    "wrong_type",
    Some("open.userAgent")
);
rejection!(
    click_without_link,
    ses("ses-click.json", |v| remove(v, "/click/link")),
    "missing_field",
    Some("click.link")
);
rejection!(
    missing_bounce_object,
    ses("ses-bounce-permanent.json", |v| remove(v, "/bounce")),
    "missing_field",
    Some("bounce")
);
rejection!(
    missing_bounced_recipients,
    ses("ses-bounce-permanent.json", |v| remove(
        v,
        "/bounce/bouncedRecipients"
    )),
    "missing_field",
    Some("bounce.bouncedRecipients")
);
rejection!(
    empty_bounced_recipients,
    ses("ses-bounce-permanent.json", |v| set(
        v,
        "/bounce/bouncedRecipients",
        json!([])
    )),
    "no_recipients",
    Some("bounce.bouncedRecipients")
);
rejection!(
    bounced_recipient_not_an_object,
    ses("ses-bounce-permanent.json", |v| set(
        v,
        "/bounce/bouncedRecipients/0",
        json!(JORDAN)
    )),
    "wrong_type",
    Some("bounce.bouncedRecipients[0]")
);
rejection!(
    bounced_recipient_without_address,
    ses("ses-bounce-permanent.json", |v| remove(
        v,
        "/bounce/bouncedRecipients/0/emailAddress"
    )),
    "missing_field",
    Some("bounce.bouncedRecipients[0].emailAddress")
);
rejection!(
    bounced_recipient_not_an_address,
    ses("ses-bounce-permanent.json", |v| set(
        v,
        "/bounce/bouncedRecipients/0/emailAddress",
        json!("jordan at example")
    )),
    "bad_email",
    Some("bounce.bouncedRecipients[0].emailAddress")
);
rejection!(
    bounce_type_not_a_string,
    ses("ses-bounce-permanent.json", |v| set(
        v,
        "/bounce/bounceType",
        json!(5)
    )),
    "wrong_type",
    Some("bounce.bounceType")
);
rejection!(
    diagnostic_code_not_a_string,
    ses("ses-bounce-permanent.json", |v| set(
        v,
        "/bounce/bouncedRecipients/0/diagnosticCode",
        json!(550)
    )),
    "wrong_type",
    Some("bounce.bouncedRecipients[0].diagnosticCode")
);
rejection!(
    complained_recipient_not_an_address,
    ses("ses-complaint.json", |v| set(
        v,
        "/complaint/complainedRecipients/0/emailAddress",
        json!("x")
    )),
    "bad_email",
    Some("complaint.complainedRecipients[0].emailAddress")
);
rejection!(
    feedback_type_not_a_string,
    ses("ses-complaint.json", |v| set(
        v,
        "/complaint/complaintFeedbackType",
        json!({})
    )),
    "wrong_type",
    Some("complaint.complaintFeedbackType")
);
rejection!(
    delayed_recipients_not_an_array,
    ses("ses-delivery-delay.json", |v| set(
        v,
        "/deliveryDelay/delayedRecipients",
        json!({})
    )),
    "wrong_type",
    Some("deliveryDelay.delayedRecipients")
);
rejection!(
    unsubscribe_all_not_a_boolean,
    ses("ses-subscription.json", |v| set(
        v,
        "/subscription/newTopicPreferences/unsubscribeAll",
        json!("yes")
    )),
    "wrong_type",
    Some("subscription.newTopicPreferences.unsubscribeAll")
);
rejection!(
    missing_subscription_timestamp,
    ses("ses-subscription.json", |v| remove(
        v,
        "/subscription/timestamp"
    )),
    "missing_field",
    Some("subscription.timestamp")
);
rejection!(
    failure_not_an_object,
    ses("ses-rendering-failure.json", |v| set(
        v,
        "/failure",
        json!("boom")
    )),
    "wrong_type",
    Some("failure")
);

// SNS notification.
rejection!(
    sns_message_not_json,
    sns_with_message("not { json"),
    "embedded_not_json",
    Some("Message")
);
rejection!(
    sns_message_not_an_object,
    sns_with_message("[1,2]"),
    "wrong_type",
    Some("Message")
);
rejection!(
    sns_message_missing,
    mutated("sns-envelope-delivery.json", |v| remove(v, "/Message")),
    "missing_field",
    Some("Message")
);
rejection!(
    sns_message_not_a_string,
    mutated("sns-envelope-delivery.json", |v| set(
        v,
        "/Message",
        json!({})
    )),
    "wrong_type",
    Some("Message")
);
rejection!(
    sns_subscription_confirmation,
    mutated("sns-envelope-delivery.json", |v| set(
        v,
        "/Type",
        json!("SubscriptionConfirmation")
    )),
    "unknown_shape",
    None
);
rejection!(
    sns_inner_missing_message_id,
    sns_with_message(&ses("ses-delivery.json", |v| remove(v, "/mail/messageId"))),
    "missing_field",
    Some("Message.mail.messageId")
);
rejection!(
    sns_message_without_ses_record,
    sns_with_message("{\"foo\":1}"),
    "missing_field",
    Some("Message.eventType")
);

// Lambda events.
#[test]
fn lambda_bad_record_rejects_only_itself() {
    let good = fixture_value("lambda-sns-event-open.json")["Records"][0].clone();
    let mut bad = good.clone();
    bad["Sns"]["Message"] = json!(ses("ses-open.json", |v| remove(v, "/mail/messageId")));
    let line = json!({"Records": [good, bad, good]}).to_string();
    let results = parse_line(line.as_bytes());
    assert_eq!(results.len(), 3);
    assert!(results[0].is_ok());
    assert!(results[2].is_ok());
    let err = results[1].as_ref().unwrap_err();
    assert!(
        matches!(err, InputError::LambdaRecord { index: 1, .. }),
        "{err:?}"
    );
    assert_eq!(err.kind(), "missing_field");
    assert_eq!(
        err.field().as_deref(),
        Some("Records[1].Sns.Message.mail.messageId")
    );
    assert_eq!(
        err.to_string(),
        "Records[1]: missing field `Sns.Message.mail.messageId`"
    );
}

#[test]
fn lambda_record_without_sns_or_kinesis() {
    let results = parse_line(br#"{"Records":[{"eventSource":"aws:s3"}]}"#);
    assert_eq!(results.len(), 1);
    let err = results[0].as_ref().unwrap_err();
    assert_eq!(err.kind(), "unknown_shape");
    assert_eq!(err.field().as_deref(), Some("Records[0]"));
}

#[test]
fn lambda_record_not_an_object() {
    let results = parse_line(br#"{"Records":[7]}"#);
    let err = results[0].as_ref().unwrap_err();
    assert_eq!(err.kind(), "not_an_object");
    assert_eq!(err.field().as_deref(), Some("Records[0]"));
}

rejection!(
    empty_records,
    r#"{"Records": []}"#,
    "wrong_type",
    Some("Records")
);
rejection!(
    records_not_an_array,
    r#"{"Records": {"Sns": {}}}"#,
    "wrong_type",
    Some("Records")
);
rejection!(
    lambda_sns_type_not_notification,
    mutated("lambda-sns-event-open.json", |v| set(
        v,
        "/Records/0/Sns/Type",
        json!("UnsubscribeConfirmation")
    )),
    "unknown_shape",
    Some("Records[0]")
);
rejection!(
    lambda_sns_message_not_json,
    mutated("lambda-sns-event-open.json", |v| set(
        v,
        "/Records/0/Sns/Message",
        json!("<xml/>")
    )),
    "embedded_not_json",
    Some("Records[0].Sns.Message")
);
rejection!(
    lambda_sns_not_an_object,
    mutated("lambda-sns-event-open.json", |v| set(
        v,
        "/Records/0/Sns",
        json!("x")
    )),
    "wrong_type",
    Some("Records[0].Sns")
);
rejection!(
    kinesis_bad_base64,
    kinesis_with_data("!!not base64!!"),
    "bad_base64",
    Some("Records[0].kinesis.data")
);
rejection!(
    kinesis_data_not_json,
    kinesis_with_data(&base64::engine::general_purpose::STANDARD.encode("hello")),
    "embedded_not_json",
    Some("Records[0].kinesis.data")
);
rejection!(
    kinesis_event_missing_detail,
    kinesis_with_data(
        &base64::engine::general_purpose::STANDARD.encode(eventbridge(|v| remove(v, "/detail")))
    ),
    "missing_field",
    Some("Records[0].kinesis.data.detail")
);
rejection!(
    kinesis_data_missing,
    mutated("lambda-kinesis-event.json", |v| remove(
        v,
        "/Records/0/kinesis/data"
    )),
    "missing_field",
    Some("Records[0].kinesis.data")
);

#[test]
fn parse_input_rejects_a_whole_lambda_event() {
    let err = parse_input(&fixture("lambda-sns-event-open.json")).unwrap_err();
    assert_eq!(err.kind(), "unknown_shape");
}

// EventBridge.
rejection!(
    eventbridge_missing_id,
    eventbridge(|v| remove(v, "/id")),
    "missing_field",
    Some("id")
);
rejection!(
    eventbridge_id_not_a_string,
    eventbridge(|v| set(v, "/id", json!(1))),
    "wrong_type",
    Some("id")
);
rejection!(
    eventbridge_missing_source,
    eventbridge(|v| remove(v, "/source")),
    "missing_field",
    Some("source")
);
rejection!(
    eventbridge_missing_time,
    eventbridge(|v| remove(v, "/time")),
    "missing_field",
    Some("time")
);
rejection!(
    eventbridge_bad_time,
    eventbridge(|v| set(v, "/time", json!("2024-06-03"))),
    "bad_timestamp",
    Some("time")
);
rejection!(
    eventbridge_missing_detail_type,
    eventbridge(|v| remove(v, "/detail-type")),
    "missing_field",
    Some("detail-type")
);
rejection!(
    eventbridge_missing_detail,
    eventbridge(|v| remove(v, "/detail")),
    "missing_field",
    Some("detail")
);
rejection!(
    eventbridge_detail_not_an_object,
    eventbridge(|v| set(v, "/detail", json!("{}"))),
    "wrong_type",
    Some("detail")
);
rejection!(
    app_email_not_an_address,
    eventbridge(|v| set(v, "/detail/email", json!("jordan"))),
    "bad_email",
    Some("detail.email")
);
rejection!(
    app_email_not_a_string,
    eventbridge(|v| set(v, "/detail/email", json!(["a@b.co"]))),
    "wrong_type",
    Some("detail.email")
);
rejection!(
    eventbridge_ses_detail_missing_message_id,
    eventbridge(|v| {
        set(v, "/source", json!("aws.ses"));
        set(
            v,
            "/detail",
            ses("ses-open.json", |r| remove(r, "/mail/messageId"))
                .parse()
                .unwrap(),
        );
    }),
    "missing_field",
    Some("detail.mail.messageId")
);
rejection!(
    system_unknown_detail_type,
    system_event(
        "mailshot.reactor",
        "email.bounced",
        json!({"email": JORDAN})
    ),
    "unknown_system_event",
    Some("detail-type")
);
rejection!(
    system_detail_type_of_the_other_source,
    system_event("mailshot.admin", "email.sent", json!({"email": JORDAN})),
    "unknown_system_event",
    Some("detail-type")
);
rejection!(
    system_unknown_source,
    system_event(
        "mailshot.other",
        "suppression.removed",
        json!({"email": JORDAN, "reason": "x"})
    ),
    "unknown_system_event",
    Some("detail-type")
);
rejection!(
    system_missing_detail_field,
    system_event(
        "mailshot.admin",
        "suppression.removed",
        json!({"email": JORDAN})
    ),
    "missing_field",
    Some("detail.reason")
);
rejection!(
    system_missing_email,
    system_event(
        "mailshot.admin",
        "subscriber.unsubscribed",
        json!({"via": "link"})
    ),
    "missing_field",
    Some("detail.email")
);
rejection!(
    system_bad_email,
    system_event(
        "mailshot.admin",
        "subscriber.unsubscribed",
        json!({"email": "nope", "via": "link"})
    ),
    "bad_email",
    Some("detail.email")
);
rejection!(
    system_execution_arns_not_strings,
    system_event(
        "mailshot.reactor",
        "executions.stopped",
        json!({"email": JORDAN, "executionArns": [1], "reason": "x"})
    ),
    "wrong_type",
    Some("detail.executionArns[0]")
);
rejection!(
    system_attributes_not_an_object,
    system_event(
        "mailshot.reactor",
        "subscriber.upserted",
        json!({"email": JORDAN, "attributes": []})
    ),
    "wrong_type",
    Some("detail.attributes")
);
