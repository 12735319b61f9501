//! One test per config error, each naming its key path; and the example config.

use serde_json::json;

use super::*;

const EXAMPLE: &str = include_str!("../../../examples/mailshot.toml");

const MINIMAL: &str = r#"
[sender]
from = "hello@example.com"
unsubscribeBaseUrl = "https://example.com/unsubscribe"
signingSecretEnv = "SECRET"

[[sequences]]
id = "onboarding"
stateMachineArn = "arn:aws:states:us-east-1:111122223333:stateMachine:onboarding"
[sequences.trigger]
detailType = "customer.created"

[[sequences]]
id = "winback"
stateMachineArn = "arn:aws:states:us-east-1:111122223333:stateMachine:winback"
[sequences.trigger]
detailType = "cart.abandoned"

[[events]]
detailType = "order.shipped"
templateKey = "order/shipped"
subject = "Shipped"
"#;

fn error(text: &str) -> String {
    match Config::parse(text) {
        Ok(_) => panic!("config should be refused:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// The minimal config with one line replaced (`from` → `to`), which must be present.
fn edit(from: &str, to: &str) -> String {
    assert!(MINIMAL.contains(from), "{from}");
    MINIMAL.replacen(from, to, 1)
}

#[test]
fn the_example_config_loads_and_validates() {
    let c = Config::parse(EXAMPLE).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.sender.from, "Example Shop <hello@example.com>");
    assert_eq!(c.sender.reply_to.as_deref(), Some("support@example.com"));
    assert_eq!(
        c.sender.unsubscribe_base_url,
        "https://example.com/unsubscribe"
    );
    assert_eq!(c.sender.signing_secret_env, "MAILSHOT_UNSUBSCRIBE_SECRET");
    assert_eq!(c.templates_dir, "templates");
    let ids: Vec<&str> = c.sequences.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["onboarding", "winback"]);
    assert_eq!(c.sequences[0].trigger.detail_type, "customer.created");
    assert_eq!(
        c.sequences[0].trigger.source.as_deref(),
        Some("com.example.shop")
    );
    assert_eq!(c.sequences[1].trigger.detail_type, "cart.abandoned");
    assert!(c.sequences[1].trigger.pattern.is_some());
    assert_eq!(c.template_keys(), ["order/shipped", "thanks/first-sale"]);
    assert_eq!(c.events[0].trigger.detail_type, "order.shipped");
    assert_eq!(c.events[1].trigger.detail_type, "customer.first_sale");
    assert_eq!(
        c.sequence("winback").unwrap().state_machine_arn,
        "arn:aws:states:us-east-1:111122223333:stateMachine:winback"
    );
}

#[test]
fn the_example_winback_pattern_needs_items_in_the_cart() {
    let c = Config::parse(EXAMPLE).unwrap();
    let t = &c.sequences[1].trigger;
    let event = |items: u64| {
        json!({"id": "e", "source": "com.example.shop", "detail-type": "cart.abandoned",
               "time": "2024-06-03T14:01:58Z", "detail": {"email": "a@example.com", "itemCount": items}})
    };
    assert!(t.matches(&event(2)));
    assert!(!t.matches(&event(0)));
    let mut other_source = event(2);
    other_source["source"] = json!("com.example.crm");
    assert!(!t.matches(&other_source));
}

#[test]
fn minimal_config_defaults() {
    let c = Config::parse(MINIMAL).unwrap();
    assert_eq!(c.templates_dir, DEFAULT_TEMPLATES_DIR);
    assert_eq!(c.sender.reply_to, None);
    assert_eq!(
        c.sequences[0].trigger.mapping.email_path(),
        "$.detail.email"
    );
    assert_eq!(c.sequences[0].trigger.source, None);
}

#[test]
fn toml_syntax_errors_give_line_and_column() {
    assert_eq!(
        error("[sender]\nfrom = \"a@example.com\nx = 1\n"),
        "line 2, column 22: invalid TOML: invalid basic string, expected `\"`"
    );
}

#[test]
fn sender_missing() {
    assert_eq!(error("[[events]]\ndetailType = \"x\"\n"), "sender: missing");
}

#[test]
fn sender_from_missing() {
    assert_eq!(
        error(&edit("from = \"hello@example.com\"\n", "")),
        "sender.from: missing"
    );
}

#[test]
fn sender_from_not_an_email_address() {
    assert_eq!(
        error(&edit(
            "from = \"hello@example.com\"",
            "from = \"Example Shop\""
        )),
        "sender.from: not an email address"
    );
}

#[test]
fn sender_from_wrong_type() {
    assert_eq!(
        error(&edit("from = \"hello@example.com\"", "from = 42")),
        "sender.from: invalid type: integer `42`, expected a string"
    );
}

#[test]
fn sender_reply_to_not_an_email_address() {
    assert_eq!(
        error(&edit(
            "from = \"hello@example.com\"",
            "from = \"hello@example.com\"\nreplyTo = \"support\""
        )),
        "sender.replyTo: not an email address"
    );
}

#[test]
fn sender_unsubscribe_base_url_missing_and_invalid() {
    assert_eq!(
        error(&edit(
            "unsubscribeBaseUrl = \"https://example.com/unsubscribe\"\n",
            ""
        )),
        "sender.unsubscribeBaseUrl: missing"
    );
    assert_eq!(
        error(&edit(
            "https://example.com/unsubscribe",
            "ftp://example.com/u"
        )),
        "sender.unsubscribeBaseUrl: not an http(s) URL without spaces or fragment"
    );
}

#[test]
fn sender_signing_secret_env_invalid() {
    assert_eq!(
        error(&edit(
            "signingSecretEnv = \"SECRET\"",
            "signingSecretEnv = \"1 SECRET\""
        )),
        "sender.signingSecretEnv: not an environment variable name (letters, digits, _; not starting with a digit)"
    );
    assert_eq!(
        error(&edit("signingSecretEnv = \"SECRET\"\n", "")),
        "sender.signingSecretEnv: missing"
    );
}

#[test]
fn templates_dir_empty() {
    assert_eq!(
        error(&format!("{MINIMAL}\n[templates]\ndir = \"\"\n")),
        "templates.dir: empty"
    );
}

#[test]
fn sequence_trigger_detail_type_missing() {
    assert_eq!(
        error(&edit(
            "detailType = \"cart.abandoned\"",
            "source = \"com.example.shop\""
        )),
        "sequences[1].trigger.detailType: missing"
    );
}

#[test]
fn sequence_trigger_missing() {
    assert_eq!(
        error(&edit(
            "[sequences.trigger]\ndetailType = \"customer.created\"\n",
            ""
        )),
        "sequences[0].trigger: missing"
    );
}

#[test]
fn sequence_id_missing_invalid_reserved() {
    assert_eq!(
        error(&edit("id = \"onboarding\"\n", "")),
        "sequences[0].id: missing"
    );
    assert_eq!(
        error(&edit("id = \"onboarding\"", "id = \"on boarding\"")),
        "sequences[0].id: must be 1 to 64 characters of A-Z a-z 0-9 _ -"
    );
    assert_eq!(
        error(&edit("id = \"onboarding\"", "id = \"fire_and_forget\"")),
        "sequences[0].id: \"fire_and_forget\" is reserved"
    );
}

#[test]
fn duplicate_sequence_ids() {
    assert_eq!(
        error(&edit("id = \"winback\"", "id = \"onboarding\"")),
        "sequences[1].id: duplicate sequence id \"onboarding\" (also sequences[0].id)"
    );
}

#[test]
fn sequence_state_machine_arn_missing_and_not_an_arn() {
    assert_eq!(
        error(&edit(
            "stateMachineArn = \"arn:aws:states:us-east-1:111122223333:stateMachine:onboarding\"\n",
            ""
        )),
        "sequences[0].stateMachineArn: missing"
    );
    for bad in [
        "onboarding",
        "arn:aws:lambda:us-east-1:111122223333:function:onboarding",
        "arn:aws:states:us-east-1:1111:stateMachine:onboarding",
        "arn:aws:states:us-east-1:111122223333:execution:onboarding:x",
    ] {
        assert_eq!(
            error(&edit(
                "arn:aws:states:us-east-1:111122223333:stateMachine:onboarding",
                bad
            )),
            "sequences[0].stateMachineArn: not an ARN (expected arn:<partition>:states:<region>:<account>:stateMachine:<name>)",
            "{bad}"
        );
    }
}

#[test]
fn sequence_trigger_pattern_invalid() {
    assert_eq!(
        error(&edit(
            "detailType = \"customer.created\"",
            "detailType = \"customer.created\"\npattern = { detail = { name = [{ wildcard = \"a**\" }] } }"
        )),
        "sequences[0].trigger.pattern: invalid event pattern at detail.name[0]: consecutive wildcard characters in \"a**\""
    );
    assert_eq!(
        error(&edit(
            "detailType = \"customer.created\"",
            "detailType = \"customer.created\"\npattern = '{\"detail\": {\"x\": [null'"
        ))
        .split(':')
        .take(3)
        .collect::<Vec<_>>()
        .join(":"),
        "sequences[0].trigger.pattern: invalid event pattern at top level: not JSON"
    );
}

#[test]
fn trigger_pattern_as_json_text_supports_null() {
    let c = Config::parse(&edit(
        "detailType = \"customer.created\"",
        "detailType = \"customer.created\"\npattern = '{\"detail\": {\"referrer\": [null]}}'",
    ))
    .unwrap();
    let t = &c.sequences[0].trigger;
    let e = |r: serde_json::Value| json!({"detail-type": "customer.created", "detail": {"referrer": r}});
    assert!(t.matches(&e(json!(null))));
    assert!(!t.matches(&e(json!(""))));
}

#[test]
fn event_subscriber_mapping_email_invalid_jsonpath() {
    let e = error(&edit(
        "subject = \"Shipped\"",
        "subject = \"Shipped\"\n[events.subscriberMapping]\nemail = \"$.detail[\"",
    ));
    assert!(
        e.starts_with("events[0].subscriberMapping.email: invalid JSONPath: "),
        "{e}"
    );
}

#[test]
fn event_subscriber_mapping_first_name_and_attributes_invalid_jsonpath() {
    let e = error(&edit(
        "subject = \"Shipped\"",
        "subject = \"Shipped\"\n[events.subscriberMapping]\nemail = \"$.detail.email\"\nfirstName = \"detail.firstName\"",
    ));
    assert!(
        e.starts_with("events[0].subscriberMapping.firstName: invalid JSONPath: "),
        "{e}"
    );
    let e = error(&edit(
        "subject = \"Shipped\"",
        "subject = \"Shipped\"\n[events.subscriberMapping]\nemail = \"$.detail.email\"\nattributes = \"$$\"",
    ));
    assert!(
        e.starts_with("events[0].subscriberMapping.attributes: invalid JSONPath: "),
        "{e}"
    );
}

#[test]
fn sequence_subscriber_mapping_email_missing() {
    assert_eq!(
        error(&edit(
            "detailType = \"cart.abandoned\"",
            "detailType = \"cart.abandoned\"\n[sequences.trigger.subscriberMapping]\nfirstName = \"$.detail.firstName\""
        )),
        "sequences[1].trigger.subscriberMapping.email: missing"
    );
}

#[test]
fn event_detail_type_missing() {
    assert_eq!(
        error(&edit("detailType = \"order.shipped\"\n", "")),
        "events[0].detailType: missing"
    );
}

#[test]
fn event_template_key_missing_and_invalid() {
    assert_eq!(
        error(&edit("templateKey = \"order/shipped\"\n", "")),
        "events[0].templateKey: missing"
    );
    for bad in [
        "order//shipped",
        "../shipped",
        "/order",
        "order/ship ped",
        "order.shipped",
    ] {
        assert_eq!(
            error(&edit(
                "templateKey = \"order/shipped\"",
                &format!("templateKey = \"{bad}\"")
            )),
            "events[0].templateKey: must be segments of A-Z a-z 0-9 _ - joined by /",
            "{bad}"
        );
    }
}

#[test]
fn event_subject_missing_and_invalid_liquid() {
    assert_eq!(
        error(&edit("subject = \"Shipped\"\n", "")),
        "events[0].subject: missing"
    );
    let e = error(&edit(
        "subject = \"Shipped\"",
        "subject = \"Hi {{ firstName \"",
    ));
    assert!(e.starts_with("events[0].subject: invalid Liquid: "), "{e}");
    assert!(!e.contains('\n'), "{e}");
}

#[test]
fn unknown_keys_are_named() {
    assert_eq!(
        error(&format!("colour = \"blue\"\n{MINIMAL}")),
        "colour: unknown key"
    );
    assert_eq!(
        error(&edit(
            "detailType = \"customer.created\"",
            "detailtype = \"customer.created\""
        )),
        "sequences[0].trigger.detailtype: unknown key"
    );
    assert_eq!(
        error(&edit(
            "from = \"hello@example.com\"",
            "from = \"hello@example.com\"\nfrm = \"x\""
        )),
        "sender.frm: unknown key"
    );
    assert_eq!(
        error(&edit(
            "subject = \"Shipped\"",
            "subject = \"Shipped\"\ntemplate = \"x\""
        )),
        "events[0].template: unknown key"
    );
}

#[test]
fn sender_configuration_set_is_optional_and_checked() {
    let base = "from = \"hello@example.com\"";
    let with = |value: &str| edit(base, &format!("{base}\nconfigurationSet = {value}"));
    let config = Config::parse(&with("\"mailshot-events_1\"")).unwrap();
    assert_eq!(
        config.sender.configuration_set.as_deref(),
        Some("mailshot-events_1")
    );
    assert_eq!(
        Config::parse(&edit(base, base))
            .unwrap()
            .sender
            .configuration_set,
        None
    );
    for bad in ["\"\"", "\"has space\"", "\"dots.not.allowed\""] {
        assert_eq!(
            error(&with(bad)),
            "sender.configurationSet: not an SES configuration set name (1 to 64 of A-Z a-z 0-9 _ -)",
            "{bad}"
        );
    }
    assert_eq!(
        error(&with(&format!("\"{}\"", "a".repeat(65)))),
        "sender.configurationSet: not an SES configuration set name (1 to 64 of A-Z a-z 0-9 _ -)"
    );
}
