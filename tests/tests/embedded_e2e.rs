//! End to end through the embedded runtime, in-process: fixtures with hand-computed answers,
//! a generated corpus against the generator's truth, paging, and idempotent re-ingest.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use mailshot_domain::{Day, EventType};
use mailshot_embedded::{IngestSummary, Writer};
use mailshot_workload::Scope;
use serde_json::{Value, json};

const JORDAN: &str = "jordan.lee@example.net";

/// The fixtures in the order they are ingested, and whether each brings new facts.
const FIXTURES: [(&str, bool); 16] = [
    ("eventbridge-customer-created.json", true),
    ("lambda-kinesis-event.json", false), // the same EventBridge event through Kinesis
    ("lambda-sns-event-open.json", true),
    ("ses-bounce-notification-format.json", true),
    ("ses-bounce-permanent.json", false), // same messageId, type, timestamp, recipient
    ("ses-bounce-transient.json", true),
    ("ses-click.json", true),
    ("ses-complaint.json", true),
    ("ses-delivery-delay.json", true),
    ("ses-delivery.json", true),
    ("ses-open.json", false), // the Lambda SNS open, bare
    ("ses-reject.json", true),
    ("ses-rendering-failure.json", true),
    ("ses-send.json", true),
    ("ses-subscription.json", true),
    ("sns-envelope-delivery.json", false), // ses-delivery in an SNS envelope
];

fn fixture_writer() -> (tempfile::TempDir, Writer, IngestSummary) {
    let names: Vec<&str> = FIXTURES.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, fixture_names(), "every fixture is listed");
    let lines: Vec<String> = names.iter().map(|n| fixture_line(n)).collect();
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::open(dir.path()).unwrap();
    let (summary, rejections) = ingest_lines(&mut writer, &lines);
    assert!(rejections.is_empty(), "{rejections:?}");
    (dir, writer, summary)
}

#[test]
fn fixtures_ingest_summary_and_stats() {
    let (_dir, writer, summary) = fixture_writer();
    assert_eq!(
        summary,
        IngestSummary {
            inputs: 16,
            accepted: 12,
            duplicates: 4,
            rejected: 0
        }
    );
    assert_eq!(writer.log.end_offset().unwrap(), 12);

    let stats = q(&writer, "get_delivery_stats", json!({}));
    assert_eq!(
        stats,
        json!({
            "period": {"startDate": null, "endDate": null},
            "counts": {"send": 1, "delivery": 1, "open": 1, "click": 1, "bounce": 2, "complaint": 1,
                       "reject": 1, "renderingFailure": 1, "deliveryDelay": 1, "subscription": 1},
            "unique": {"open": 1, "click": 1},
            "rates": {"open": 1.0, "click": 1.0, "bounce": 2.0, "complaint": 1.0},
            "total": 11,
        })
    );
    // One day: the transient bounce (06-04) only.
    let day = q(
        &writer,
        "get_delivery_stats",
        json!({"startDate": "2024-06-04", "endDate": "2024-06-04"}),
    );
    assert_eq!(day["counts"]["bounce"], 1);
    assert_eq!(day["total"], 1);
    assert_eq!(day["rates"]["bounce"], 0.0, "no delivery that day");
    assert_eq!(
        day["period"],
        json!({"startDate": "2024-06-04", "endDate": "2024-06-04"})
    );
    // Open range from 06-04: transient bounce and complaint.
    let late = q(
        &writer,
        "get_delivery_stats",
        json!({"startDate": "2024-06-04"}),
    );
    assert_eq!(late["total"], 2);
    assert_eq!(late["counts"]["complaint"], 1);
    // Up to 06-03: everything else (9 facts), uniques on 06-03.
    let early = q(
        &writer,
        "get_delivery_stats",
        json!({"endDate": "2024-06-03"}),
    );
    assert_eq!(early["total"], 9);
    assert_eq!(early["unique"], json!({"open": 1, "click": 1}));
    // Template and sequence scopes: the rendering failure and subscription fixtures carry
    // other tags, so check against the events projection's own rows.
    let by_template = q(
        &writer,
        "get_delivery_stats",
        json!({"templateKey": "order-shipped"}),
    );
    let template_events = page_all(
        &writer,
        "get_template_events",
        json!({"templateKey": "order-shipped"}),
        1000,
    );
    assert_eq!(
        by_template["total"].as_u64().unwrap(),
        template_events.len() as u64
    );
    assert!(by_template["total"].as_u64().unwrap() >= 9, "{by_template}");
    let none = q(
        &writer,
        "get_delivery_stats",
        json!({"templateKey": "no-such-template"}),
    );
    assert_eq!(none["total"], 0);
    assert_eq!(none["rates"]["open"], 0.0);
}

#[test]
fn fixtures_event_lists_newest_first_filtered_before_limit() {
    let (_dir, writer, _) = fixture_writer();
    let all = q(
        &writer,
        "get_subscriber_events",
        json!({"email": JORDAN, "limit": 1000}),
    );
    let kinds: Vec<(&str, &str)> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["timestamp"].as_str().unwrap(),
                i["eventType"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("2024-06-05T08:44:03.000Z", "complaint"),
            ("2024-06-04T02:17:40.113Z", "bounce"),
            ("2024-06-03T18:41:09.731Z", "subscription"),
            ("2024-06-03T15:28:05.102Z", "click"),
            ("2024-06-03T15:27:48.390Z", "open"),
            ("2024-06-03T14:17:12.560Z", "deliveryDelay"),
            ("2024-06-03T14:05:31.644Z", "renderingFailure"),
            ("2024-06-03T14:02:12.907Z", "bounce"),
            ("2024-06-03T14:02:12.247Z", "delivery"),
            ("2024-06-03T14:02:10.815Z", "send"),
            ("2024-06-03T14:02:10.815Z", "reject"),
        ]
    );
    assert_eq!(all["nextToken"], Value::Null);
    for item in all["items"].as_array().unwrap() {
        assert_eq!(item["email"], JORDAN);
        assert!(item.get("sortKey").is_none(), "the sort key is internal");
    }
    // Email spelling does not matter.
    let upper = q(
        &writer,
        "get_subscriber_events",
        json!({"email": " Jordan.Lee@EXAMPLE.net ", "limit": 1000}),
    );
    assert_eq!(upper, all);

    // Type filter before limit: the two bounces, newest first, though they are not the newest rows.
    let bounces = q(
        &writer,
        "get_subscriber_events",
        json!({"email": JORDAN, "eventType": "bounce", "limit": 2}),
    );
    let items = bounces["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["bounceType"], "Transient");
    assert_eq!(items[1]["bounceType"], "Permanent");
    assert_eq!(items[1]["timestamp"], "2024-06-03T14:02:12.907Z");
    let one = q(
        &writer,
        "get_subscriber_events",
        json!({"email": JORDAN, "eventType": "Bounce", "limit": 1}),
    );
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
    assert_eq!(one["items"][0]["bounceType"], "Transient");
    let rest = q(
        &writer,
        "get_subscriber_events",
        json!({"email": JORDAN, "eventType": "bounce", "limit": 1, "nextToken": one["nextToken"]}),
    );
    assert_eq!(rest["items"][0]["bounceType"], "Permanent");
    // Default limit 20 holds all 11.
    let default = q(&writer, "get_subscriber_events", json!({"email": JORDAN}));
    assert_eq!(default["items"].as_array().unwrap().len(), 11);
    // Date filter: 06-03 only.
    let day = q(
        &writer,
        "get_subscriber_events",
        json!({"email": JORDAN, "startDate": "2024-06-03", "endDate": "2024-06-03"}),
    );
    assert_eq!(day["items"].as_array().unwrap().len(), 9);
    // Click carries its link, open its user agent.
    let click = q(
        &writer,
        "get_subscriber_events",
        json!({"email": JORDAN, "eventType": "click"}),
    );
    assert_eq!(
        click["items"][0]["linkUrl"],
        "https://shop.example.com/orders/48213/tracking?utm_source=ses&utm_medium=email&utm_campaign=order-shipped&note=gift%20wrap"
    );
    let open = q(
        &writer,
        "get_subscriber_events",
        json!({"email": JORDAN, "eventType": "open"}),
    );
    assert!(
        open["items"][0]["userAgent"]
            .as_str()
            .unwrap()
            .contains("GoogleImageProxy")
    );
    assert_eq!(open["items"][0]["templateKey"], "order-shipped");
    assert_eq!(open["items"][0]["sequenceId"], "seq_20240603_000481");
    assert_eq!(open["items"][0]["subject"], "Your order #48213 has shipped");
    // Template index and sequence index hold the same rows.
    let by_seq = q(
        &writer,
        "get_sequence_events",
        json!({"sequenceId": "seq_20240603_000481", "eventType": "open"}),
    );
    assert_eq!(by_seq["items"], open["items"]);
    // Unknown subscriber: empty list.
    let nobody = q(
        &writer,
        "get_subscriber_events",
        json!({"email": "nobody@example.com"}),
    );
    assert_eq!(nobody, json!({"items": [], "nextToken": null}));
}

#[test]
fn fixtures_suppression_subscriber_and_trace() {
    let (_dir, writer, _) = fixture_writer();
    let suppressed = q(&writer, "list_suppressed", json!({}));
    let items = suppressed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{suppressed}");
    let s = &items[0];
    assert_eq!(s["email"], JORDAN);
    assert_eq!(
        s["reason"], "bounce",
        "the earliest cause (permanent bounce before the complaint)"
    );
    assert_eq!(s["bounceType"], "Permanent");
    assert_eq!(s["at"], "2024-06-03T14:02:12.907Z");
    assert_eq!(s["offset"], 2, "the bounce is the third record appended");
    assert!(s["eventId"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(suppressed["nextToken"], Value::Null);

    let sub = q(
        &writer,
        "get_subscriber",
        json!({"email": "JORDAN.LEE@example.net"}),
    );
    assert_eq!(sub["email"], JORDAN);
    assert_eq!(sub["suppressed"]["reason"], "bounce");
    assert_eq!(sub["suppressed"]["at"], "2024-06-03T14:02:12.907Z");
    assert_eq!(sub["suppressed"]["eventId"], s["eventId"]);
    assert!(
        !sub["unsubscribed"].is_null(),
        "the subscription fixture has unsubscribeAll: {sub}"
    );
    assert_eq!(sub["unsubscribed"]["at"], "2024-06-03T18:41:09.731Z");
    let sends = sub["recentSends"].as_array().unwrap();
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0]["eventType"], "send");
    assert!(sub["executions"].as_array().unwrap().is_empty());
    for key in ["firstName", "attributes", "createdAt", "updatedAt"] {
        assert!(
            sub["profile"].get(key).is_some(),
            "profile.{key} missing: {sub}"
        );
    }
    let missing = query(
        &writer,
        "get_subscriber",
        json!({"email": "nobody@example.com"}),
    )
    .unwrap_err();
    assert!(
        missing.to_string().contains("nobody@example.com"),
        "{missing}"
    );
    let invalid = query(&writer, "get_subscriber", json!({"email": "not-an-email"})).unwrap_err();
    assert!(invalid.to_string().contains("`email`"), "{invalid}");

    let t = trace(&writer, JORDAN);
    assert_eq!(t["email"], JORDAN);
    let entries = t["items"].as_array().unwrap();
    let offsets: Vec<u64> = entries
        .iter()
        .map(|e| e["offset"].as_u64().unwrap())
        .collect();
    // Every record concerns Jordan: the EventBridge signup (offset 0) and the SES records.
    assert_eq!(offsets, (0..12).collect::<Vec<u64>>());
    assert_eq!(entries[0]["facts"][0]["eventType"], "Customer Created");
    assert_eq!(entries[0]["change"]["firstName"]["after"], "Jordan");
    assert_eq!(entries[1]["envelope"], "lambda-sns", "{}", entries[1]);
    assert_eq!(entries[1]["facts"][0]["eventType"], "open");
    assert_eq!(entries[2]["facts"][0]["eventType"], "bounce");
    assert_eq!(entries[2]["change"]["suppressed"]["before"], Value::Null);
    assert_eq!(
        entries[2]["change"]["suppressed"]["after"]["reason"],
        "bounce"
    );
    // The later complaint (offset 5) does not change the suppression in force.
    assert_eq!(entries[5]["facts"][0]["eventType"], "complaint");
    assert!(
        entries[5]["change"].get("suppressed").is_none(),
        "{}",
        entries[5]
    );
    // The input is the original JSON.
    assert_eq!(
        entries[2]["input"],
        fixture_value("ses-bounce-notification-format.json")
    );
}

#[test]
fn generated_corpus_matches_truth() {
    let (lines, truth) = generate(20_000, 11);
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::open(dir.path()).unwrap();
    let (summary, rejections) = ingest_lines(&mut writer, &lines);
    assert_eq!(
        summary,
        IngestSummary {
            inputs: truth.inputs,
            accepted: truth.accepted,
            duplicates: truth.duplicates,
            rejected: truth.rejected
        }
    );
    assert_eq!(rejections.len() as u64, truth.rejected);
    assert!(truth.duplicates > 0 && truth.rejected > 0);
    assert_eq!(writer.log.end_offset().unwrap(), truth.accepted);

    let check = |stats: &Value, want: &mailshot_workload::DayStats, what: &str| {
        let want_counts: BTreeMap<String, u64> = want
            .counts
            .by_name()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert_eq!(counts(stats), want_counts, "{what}");
        assert_eq!(
            stats["unique"]["open"].as_u64(),
            Some(want.unique_opens),
            "{what}"
        );
        assert_eq!(
            stats["unique"]["click"].as_u64(),
            Some(want.unique_clicks),
            "{what}"
        );
        assert_eq!(stats["total"].as_u64(), Some(want.counts.total()), "{what}");
        let d = want.counts.get(EventType::Delivery) as f64;
        let rate = |n: u64| if d == 0.0 { 0.0 } else { n as f64 / d };
        assert_eq!(
            stats["rates"]["open"].as_f64(),
            Some(rate(want.unique_opens)),
            "{what}"
        );
        assert_eq!(
            stats["rates"]["click"].as_f64(),
            Some(rate(want.unique_clicks)),
            "{what}"
        );
        assert_eq!(
            stats["rates"]["bounce"].as_f64(),
            Some(rate(want.counts.get(EventType::Bounce))),
            "{what}"
        );
        assert_eq!(
            stats["rates"]["complaint"].as_f64(),
            Some(rate(want.counts.get(EventType::Complaint))),
            "{what}"
        );
    };
    let all = q(&writer, "get_delivery_stats", json!({}));
    check(&all, &truth.stats(&Scope::All, None, None), "all");
    assert!(all["counts"]["delivery"].as_u64().unwrap() > 1000);

    let templates = truth.by_template();
    assert!(templates.len() > 3);
    for key in templates.keys() {
        let stats = q(&writer, "get_delivery_stats", json!({"templateKey": key}));
        check(
            &stats,
            &truth.stats(&Scope::Template(key.clone()), None, None),
            &format!("template {key:?}"),
        );
    }
    for key in truth.by_sequence().keys() {
        let stats = q(&writer, "get_delivery_stats", json!({"sequenceId": key}));
        check(
            &stats,
            &truth.stats(&Scope::Sequence(key.clone()), None, None),
            &format!("sequence {key:?}"),
        );
    }
    let days: Vec<Day> = truth.by_day(&Scope::All).keys().copied().collect();
    assert!(days.len() >= 25);
    for day in &days {
        let d = day.to_string();
        let stats = q(
            &writer,
            "get_delivery_stats",
            json!({"startDate": d, "endDate": d}),
        );
        check(
            &stats,
            &truth.stats(&Scope::All, Some(*day), Some(*day)),
            &format!("day {d}"),
        );
    }
    // A few multi-day ranges, per template too.
    let (a, b) = (days[3], days[days.len() - 5]);
    let stats = q(
        &writer,
        "get_delivery_stats",
        json!({"startDate": a.to_string(), "endDate": b.to_string()}),
    );
    check(&stats, &truth.stats(&Scope::All, Some(a), Some(b)), "range");
    let key = templates.keys().next().unwrap();
    let stats = q(
        &writer,
        "get_delivery_stats",
        json!({"templateKey": key, "startDate": a.to_string(), "endDate": b.to_string()}),
    );
    check(
        &stats,
        &truth.stats(&Scope::Template(key.clone()), Some(a), Some(b)),
        "template range",
    );

    // Suppressed: exactly the truth's set, reasons and times.
    let got: BTreeMap<String, (String, String)> =
        page_all(&writer, "list_suppressed", json!({}), 1000)
            .into_iter()
            .map(|i| {
                (
                    i["email"].as_str().unwrap().to_string(),
                    (
                        i["reason"].as_str().unwrap().to_string(),
                        i["at"].as_str().unwrap().to_string(),
                    ),
                )
            })
            .collect();
    let want: BTreeMap<String, (String, String)> = truth
        .suppressed
        .iter()
        .map(|(e, s)| (e.clone(), (s.reason.to_string(), s.at.to_string())))
        .collect();
    assert!(!want.is_empty());
    assert_eq!(got, want);
    // Unsubscribed subscribers.
    for (email, at) in truth.unsubscribed.iter().take(20) {
        let sub = q(&writer, "get_subscriber", json!({"email": email}));
        assert_eq!(
            sub["unsubscribed"]["at"].as_str(),
            Some(at.to_string().as_str()),
            "{email}"
        );
    }
    // Facts per subscriber: the event list holds exactly them.
    for (email, n) in truth.facts_by_subscriber.iter().take(30) {
        let items = page_all(
            &writer,
            "get_subscriber_events",
            json!({"email": email}),
            1000,
        );
        assert_eq!(items.len() as u64, *n, "{email}");
    }
}

#[test]
fn paging_has_no_gaps_or_repeats() {
    let (lines, truth) = generate(6_000, 5);
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::open(dir.path()).unwrap();
    ingest_lines(&mut writer, &lines);

    let (busiest, n) = truth
        .facts_by_subscriber
        .iter()
        .max_by_key(|(_, n)| **n)
        .unwrap();
    assert!(*n > 20, "{busiest} has {n} facts");
    let template = truth
        .by_template()
        .into_iter()
        .filter(|(_, c)| c.total() < 1000)
        .max_by_key(|(_, c)| c.total())
        .unwrap()
        .0;
    let cases = [
        ("get_subscriber_events", json!({"email": busiest})),
        ("get_template_events", json!({"templateKey": template})),
        (
            "get_template_events",
            json!({"templateKey": template, "eventType": "open"}),
        ),
        ("list_suppressed", json!({})),
    ];
    for (tool, args) in cases {
        let paged = page_all(&writer, tool, args.clone(), 7);
        let mut single_args = args.clone();
        single_args["limit"] = 1000.into();
        let single = q(&writer, tool, single_args);
        let single = single["items"].as_array().unwrap();
        assert!(
            single.len() > 7,
            "{tool} {args}: only {} items",
            single.len()
        );
        assert!(
            single.len() < 1000,
            "{tool} {args}: needs more than one page"
        );
        assert_eq!(&paged, single, "{tool} {args}");
        let distinct: BTreeSet<String> = paged.iter().map(Value::to_string).collect();
        assert_eq!(distinct.len(), paged.len(), "{tool} {args}: repeats");
    }
    let subs = page_all(
        &writer,
        "get_subscriber_events",
        json!({"email": busiest}),
        7,
    );
    assert_eq!(subs.len() as u64, *n);

    // A token from another query is refused, naming nextToken.
    let first = q(
        &writer,
        "get_subscriber_events",
        json!({"email": busiest, "limit": 7}),
    );
    let token = first["nextToken"].as_str().unwrap().to_string();
    let other = truth
        .facts_by_subscriber
        .keys()
        .find(|e| *e != busiest)
        .unwrap();
    for (tool, args) in [
        (
            "get_subscriber_events",
            json!({"email": other, "nextToken": token}),
        ),
        (
            "get_template_events",
            json!({"templateKey": template, "nextToken": token}),
        ),
        ("list_suppressed", json!({"nextToken": token})),
        (
            "get_subscriber_events",
            json!({"email": busiest, "nextToken": "zz-not-a-token"}),
        ),
    ] {
        let err = query(&writer, tool, args.clone()).expect_err("foreign token accepted");
        assert!(
            err.to_string().contains("nextToken"),
            "{tool} {args}: {err}"
        );
    }
}

#[test]
fn ingesting_the_same_file_twice_changes_nothing() {
    let (lines, truth) = generate(3_000, 21);
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::open(dir.path()).unwrap();
    let (first, _) = ingest_lines(&mut writer, &lines);
    assert_eq!(first.accepted, truth.accepted);
    let before = all_rows(&writer.store);
    let end = writer.log.end_offset().unwrap();
    let (second, _) = ingest_lines(&mut writer, &lines);
    assert_eq!(
        second,
        IngestSummary {
            inputs: first.inputs,
            accepted: 0,
            duplicates: first.accepted + first.duplicates,
            rejected: first.rejected
        }
    );
    assert_eq!(writer.log.end_offset().unwrap(), end);
    assert!(
        all_rows(&writer.store) == before,
        "projections changed on re-ingest"
    );
    // And after reopening the data dir.
    drop(writer);
    let mut writer = Writer::open(dir.path()).unwrap();
    let (third, _) = ingest_lines(&mut writer, &lines);
    assert_eq!(third, second);
    assert!(all_rows(&writer.store) == before);
}
