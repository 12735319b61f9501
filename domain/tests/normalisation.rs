//! Normalisation rules of docs/design.md §3.3: template key and sequence id sources, subject,
//! recipients, duplicates and lenient spellings.

mod common;

use common::*;
use mailshot_domain::{Envelope, EventType, FactId, Timestamp};
use serde_json::{Value, json};

/// The delivery fixture without the two custom headers.
fn without_custom_headers(v: &mut Value) {
    let headers = v["mail"]["headers"].as_array_mut().unwrap();
    headers.retain(|h| !h["name"].as_str().unwrap().starts_with("X-"));
}

#[test]
fn tags_with_double_dash_become_slashes_when_there_is_no_header() {
    let line = mutated("ses-delivery.json", |v| {
        without_custom_headers(v);
        set(v, "/mail/tags/templateKey", json!(["onboarding--day-2"]));
        set(v, "/mail/tags/sequenceId", json!(["seq-7"]));
    });
    let f = only_fact(&line, Envelope::SesRecord);
    assert_eq!(f.template_key, "onboarding/day-2");
    assert_eq!(f.sequence_id, "seq-7");
}

#[test]
fn headers_win_over_tags_and_are_not_untagged() {
    let line = mutated("ses-delivery.json", |v| {
        set(v, "/mail/headers/6/value", json!("welcome/step--1"));
        set(v, "/mail/tags/templateKey", json!(["other"]));
    });
    assert_eq!(
        only_fact(&line, Envelope::SesRecord).template_key,
        "welcome/step--1"
    );
}

#[test]
fn header_names_are_case_insensitive() {
    let line = mutated("ses-delivery.json", |v| {
        set(v, "/mail/headers/6/name", json!("x-template-key"));
        set(v, "/mail/headers/6/value", json!("from-lower-case"));
        set(v, "/mail/headers/7/name", json!("X-SEQUENCE-ID"));
        set(v, "/mail/headers/7/value", json!("seq-upper"));
    });
    let f = only_fact(&line, Envelope::SesRecord);
    assert_eq!(f.template_key, "from-lower-case");
    assert_eq!(f.sequence_id, "seq-upper");
}

#[test]
fn defaults_when_neither_header_nor_tag_exists() {
    let line = mutated("ses-delivery.json", |v| {
        without_custom_headers(v);
        remove(v, "/mail/tags");
    });
    let f = only_fact(&line, Envelope::SesRecord);
    assert_eq!(f.template_key, "");
    assert_eq!(f.sequence_id, "fire_and_forget");
}

#[test]
fn subject_falls_back_to_the_subject_header() {
    let line = mutated("ses-delivery.json", |v| {
        remove(v, "/mail/commonHeaders");
        set(
            v,
            "/mail/headers/3/value",
            json!("From the header \"quoted\""),
        );
    });
    let f = only_fact(&line, Envelope::SesRecord);
    assert_eq!(f.subject.as_deref(), Some("From the header \"quoted\""));
    let line = mutated("ses-delivery.json", |v| {
        remove(v, "/mail/commonHeaders");
        without_custom_headers(v);
        remove(v, "/mail/headers/3");
    });
    assert_eq!(only_fact(&line, Envelope::SesRecord).subject, None);
}

#[test]
fn common_headers_subject_wins_over_the_header() {
    let line = mutated("ses-delivery.json", |v| {
        set(v, "/mail/headers/3/value", json!("header subject"));
    });
    assert_eq!(
        only_fact(&line, Envelope::SesRecord).subject.as_deref(),
        Some("Your order #48213 has shipped")
    );
}

#[test]
fn upper_case_and_display_name_recipients_share_email_and_identity() {
    let plain = only_fact(&fixture("ses-send.json"), Envelope::SesRecord);
    for spelling in [
        "Jordan.Lee@Example.NET",
        "Jordan Lee <jordan.lee@example.net>",
        "  JORDAN.LEE@EXAMPLE.NET ",
    ] {
        let line = mutated("ses-send.json", |v| {
            set(v, "/mail/destination", json!([spelling]))
        });
        let f = only_fact(&line, Envelope::SesRecord);
        assert_eq!(f.email, JORDAN);
        assert_eq!(f.recipient, spelling, "the original spelling is kept");
        assert_eq!(f.id, plain.id);
    }
}

#[test]
fn one_fact_per_distinct_recipient() {
    let line = mutated("ses-bounce-permanent.json", |v| {
        set(
            v,
            "/bounce/bouncedRecipients",
            json!([
                {"emailAddress": "a@example.com", "diagnosticCode": "smtp; 550 a"},
                {"emailAddress": "B@example.com", "diagnosticCode": "smtp; 550 b"},
                {"emailAddress": "A@Example.com", "diagnosticCode": "smtp; 550 again"},
            ]),
        );
    });
    let input = one(&line);
    let facts = facts(&input);
    assert_eq!(facts.len(), 2);
    assert_eq!(facts[0].email, "a@example.com");
    assert_eq!(facts[0].diagnostic_code.as_deref(), Some("smtp; 550 a"));
    assert_eq!(facts[1].email, "b@example.com");
    assert_eq!(facts[1].recipient, "B@example.com");
    assert_eq!(facts[1].diagnostic_code.as_deref(), Some("smtp; 550 b"));
    assert_ne!(facts[0].id, facts[1].id);
    assert_eq!(input.identities(), vec![facts[0].id, facts[1].id]);
}

#[test]
fn an_event_with_100k_recipients_gives_one_fact_per_distinct_address_in_first_seen_order() {
    // 100,000 recipients: 90,000 distinct addresses, then 10,000 upper-case spellings of
    // earlier ones, which are the same addresses once normalised. (Linear time is claimed by
    // the `parse` benchmark's many-recipients case, not timed here.)
    let recipients: Vec<String> = (0..100_000)
        .map(|i| {
            let address = format!("user{}@example.net", i % 90_000);
            if i < 90_000 {
                address
            } else {
                address.to_uppercase()
            }
        })
        .collect();
    let line = mutated("ses-delivery.json", |v| {
        set(v, "/mail/destination", json!(recipients));
        set(v, "/delivery/recipients", json!(recipients));
    });
    let input = one(&line);
    let facts = facts(&input);
    assert_eq!(facts.len(), 90_000);
    for (i, f) in facts.iter().enumerate() {
        assert_eq!(f.email, format!("user{i}@example.net"));
        // The first spelling is the one kept, not a later upper-case one.
        assert_eq!(f.recipient, f.email);
    }
    let distinct: std::collections::HashSet<FactId> = input.identities().into_iter().collect();
    assert_eq!(distinct.len(), 90_000);
}

#[test]
fn recipients_come_from_the_type_not_from_destination() {
    // Bounce: only the bounced recipient, although two were sent to.
    let line = mutated("ses-bounce-permanent.json", |v| {
        set(v, "/mail/destination", json!(["x@example.com", JORDAN]));
    });
    let input = one(&line);
    assert_eq!(
        facts(&input)
            .iter()
            .map(|f| f.email.as_str())
            .collect::<Vec<_>>(),
        [JORDAN]
    );
    // Delivery: `delivery.recipients`, else `mail.destination`.
    let line = mutated("ses-delivery.json", |v| {
        set(v, "/mail/destination", json!(["x@example.com", JORDAN]));
    });
    let input = one(&line);
    assert_eq!(
        facts(&input)
            .iter()
            .map(|f| f.email.as_str())
            .collect::<Vec<_>>(),
        [JORDAN]
    );
    let line = mutated("ses-delivery.json", |v| {
        set(v, "/mail/destination", json!(["x@example.com", JORDAN]));
        remove(v, "/delivery/recipients");
    });
    let input = one(&line);
    assert_eq!(
        facts(&input)
            .iter()
            .map(|f| f.email.as_str())
            .collect::<Vec<_>>(),
        ["x@example.com", JORDAN]
    );
    // Open: every destination.
    let line = mutated("ses-open.json", |v| {
        set(v, "/mail/destination", json!(["x@example.com", JORDAN]));
    });
    assert_eq!(facts(&one(&line)).len(), 2);
    // Complaint and delivery delay: their own lists.
    let line = mutated("ses-complaint.json", |v| {
        set(
            v,
            "/complaint/complainedRecipients",
            json!([{"emailAddress": "c@example.com"}]),
        );
    });
    assert_eq!(only_fact(&line, Envelope::SesRecord).email, "c@example.com");
    let line = mutated("ses-delivery-delay.json", |v| {
        set(
            v,
            "/deliveryDelay/delayedRecipients/0/emailAddress",
            json!("d@example.com"),
        );
    });
    assert_eq!(only_fact(&line, Envelope::SesRecord).email, "d@example.com");
}

#[test]
fn offset_timestamps_and_string_headers_truncated_are_accepted() {
    let line = mutated("ses-send.json", |v| {
        set(v, "/mail/timestamp", json!("2018-10-08T14:05:45 +0000"));
        set(v, "/mail/headersTruncated", json!("false"));
    });
    let f = only_fact(&line, Envelope::SesRecord);
    assert_eq!(f.timestamp.to_string(), "2018-10-08T14:05:45.000Z");
    assert_eq!(
        f.timestamp,
        Timestamp::parse("2018-10-08T14:05:45Z").unwrap()
    );
}

#[test]
fn notification_type_accepts_any_ses_type() {
    let line = mutated("ses-open.json", |v| {
        remove(v, "/eventType");
        set(v, "/notificationType", json!("Open"));
    });
    let f = only_fact(&line, Envelope::SesRecord);
    assert_eq!(f.event_type, EventType::Open);
    assert_eq!(f, only_fact(&fixture("ses-open.json"), Envelope::SesRecord));
}

#[test]
fn sns_accepts_both_signing_cert_spellings_and_crlf_lines() {
    let line = mutated("sns-envelope-delivery.json", |v| {
        let url = v["SigningCertURL"].clone();
        remove(v, "/SigningCertURL");
        set(v, "/SigningCertUrl", url);
    });
    let f = only_fact(&format!("{line}\r\n"), Envelope::SnsNotification);
    assert_eq!(
        f,
        only_fact(&fixture("ses-delivery.json"), Envelope::SesRecord)
    );
}

#[test]
fn unknown_fields_are_ignored() {
    let line = mutated("ses-click.json", |v| {
        set(
            v,
            "/mail/futureField",
            json!({"nested": [1, 2, {"x": null}]}),
        );
        set(v, "/click/extra", json!(42));
        set(v, "/unrelated", json!([true]));
    });
    let f = only_fact(&line, Envelope::SesRecord);
    assert_eq!(
        f,
        only_fact(&fixture("ses-click.json"), Envelope::SesRecord)
    );
}

#[test]
fn identity_depends_on_event_time() {
    let a = only_fact(&fixture("ses-open.json"), Envelope::SesRecord);
    let line = mutated("ses-open.json", |v| {
        set(v, "/open/timestamp", json!("2024-06-03T15:27:48.391Z"))
    });
    let b = only_fact(&line, Envelope::SesRecord);
    assert_ne!(a.id, b.id);
    assert_eq!(
        b.id,
        FactId::of_ses_fact(MID, EventType::Open, b.timestamp, JORDAN, None)
    );
}
