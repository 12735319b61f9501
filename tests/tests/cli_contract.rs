//! The CLI's `--json` output is the query contract (docs/design.md §6): exact shapes, errors
//! that exit 1 naming the argument, and `unsuppress`.

mod common;

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use common::*;
use mailshot_domain::Timestamp;
use serde_json::{Value, json};

const JORDAN: &str = "jordan.lee@example.net";

/// Yesterday's date, `YYYY-MM-DD`. Event rows expire a year after their event time and the
/// CLI queries at the real now, so these inputs are moved to a recent day; yesterday rather
/// than today, so that every fixture time of day is in the past (an `unsuppress` at now must
/// come after the suppressing complaint, whatever the hour the test runs).
fn fixture_day() -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    Timestamp(ms - 86_400_000).to_string()[..10].to_string()
}

fn recent_fixture(name: &str) -> String {
    let today = fixture_day();
    fixture_line(name)
        .replace("2024-06-03", &today)
        .replace("2024-06-05", &today)
}

/// A data dir holding Jordan's send, delivery, open, click, permanent bounce and complaint,
/// dated yesterday, plus the signup event.
fn data_dir() -> tempfile::TempDir {
    let names = [
        "eventbridge-customer-created.json",
        "ses-send.json",
        "ses-delivery.json",
        "ses-open.json",
        "ses-click.json",
        "ses-bounce-permanent.json",
        "ses-complaint.json",
    ];
    let lines: Vec<String> = names.iter().map(|n| recent_fixture(n)).collect();
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("in.ndjson");
    write_lines(&path, &lines);
    let data = tempfile::tempdir().unwrap();
    let summary = cli_json(data.path(), &["ingest", path.to_str().unwrap()]);
    assert_eq!(
        summary,
        json!({"inputs": 7, "accepted": 7, "duplicates": 0, "rejected": 0})
    );
    data
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

fn is_str_or_null(v: &Value) -> bool {
    v.is_string() || v.is_null()
}

fn fails_naming(data: &Path, args: &[&str], names: &[&str]) {
    let out = run_cli(data, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "mailshot {args:?}: {stderr}");
    assert!(
        names.iter().any(|n| stderr.contains(n)),
        "mailshot {args:?}: stderr does not name {names:?}: {stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "mailshot {args:?} printed {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn stats_json_contract() {
    let data = data_dir();
    let stats = cli_json(data.path(), &["stats", "--json"]);
    assert_eq!(
        keys(&stats),
        ["counts", "period", "rates", "total", "unique"]
    );
    assert_eq!(stats["period"], json!({"startDate": null, "endDate": null}));
    assert_eq!(
        keys(&stats["counts"]),
        [
            "bounce",
            "click",
            "complaint",
            "delivery",
            "deliveryDelay",
            "open",
            "reject",
            "renderingFailure",
            "send",
            "subscription"
        ]
    );
    let sum: u64 = stats["counts"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().expect("count is an integer"))
        .sum();
    assert_eq!(stats["total"].as_u64(), Some(sum));
    assert_eq!(sum, 6);
    assert_eq!(keys(&stats["unique"]), ["click", "open"]);
    assert_eq!(stats["unique"], json!({"open": 1, "click": 1}));
    assert_eq!(
        keys(&stats["rates"]),
        ["bounce", "click", "complaint", "open"]
    );
    for (k, v) in stats["rates"].as_object().unwrap() {
        assert!(v.is_f64(), "rate {k} is {v}");
    }
    assert_eq!(stats["rates"]["open"], 1.0);

    let today = fixture_day();
    let scoped = cli_json(
        data.path(),
        &[
            "stats",
            "--from",
            &today,
            "--to",
            &today,
            "--template",
            "order-shipped",
            "--sequence",
            "seq_20240603_000481",
            "--json",
        ],
    );
    assert_eq!(
        scoped["period"],
        json!({"startDate": today, "endDate": today})
    );
    assert_eq!(scoped["total"], 6);
    let other = cli_json(data.path(), &["stats", "--template", "welcome", "--json"]);
    assert_eq!(other["total"], 0);

    fails_naming(
        data.path(),
        &["stats", "--from", "2024-13-01", "--json"],
        &["startDate", "--from"],
    );
    fails_naming(
        data.path(),
        &["stats", "--to", "June", "--json"],
        &["endDate", "--to"],
    );
    fails_naming(
        data.path(),
        &[
            "stats",
            "--from",
            "2024-06-05",
            "--to",
            "2024-06-01",
            "--json",
        ],
        &["startDate", "--from"],
    );
}

#[test]
fn events_json_contract() {
    let data = data_dir();
    let all = cli_json(data.path(), &["events", "subscriber", JORDAN, "--json"]);
    assert_eq!(keys(&all), ["items", "nextToken"]);
    assert!(all["nextToken"].is_null());
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 6);
    let stamps: Vec<&str> = items
        .iter()
        .map(|i| i["timestamp"].as_str().unwrap())
        .collect();
    let mut sorted = stamps.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(stamps, sorted, "newest first");
    for item in items {
        for k in [
            "email",
            "eventType",
            "templateKey",
            "sequenceId",
            "timestamp",
            "sesMessageId",
        ] {
            assert!(item[k].is_string(), "{k} in {item}");
        }
        assert!(is_str_or_null(&item["subject"]), "{item}");
        assert!(item["ttl"].is_u64(), "{item}");
        assert_eq!(item["email"], JORDAN);
        assert!(item.get("sortKey").is_none());
    }
    let by_type = |t: &str| {
        items
            .iter()
            .find(|i| i["eventType"] == t)
            .unwrap_or_else(|| panic!("no {t}"))
    };
    assert!(by_type("click")["linkUrl"].is_string());
    assert!(by_type("open")["userAgent"].is_string());
    assert_eq!(by_type("bounce")["bounceType"], "Permanent");
    assert!(by_type("bounce")["bounceSubType"].is_string());
    assert!(by_type("bounce")["diagnosticCode"].is_string());
    assert!(by_type("complaint").get("feedbackType").is_some());

    // Filter before limit, and paging with --next.
    let page = cli_json(
        data.path(),
        &[
            "events",
            "subscriber",
            JORDAN,
            "--type",
            "open",
            "--limit",
            "1",
            "--json",
        ],
    );
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["eventType"], "open");
    let first = cli_json(
        data.path(),
        &["events", "subscriber", JORDAN, "--limit", "4", "--json"],
    );
    let token = first["nextToken"]
        .as_str()
        .expect("a second page")
        .to_string();
    let second = cli_json(
        data.path(),
        &[
            "events",
            "subscriber",
            JORDAN,
            "--limit",
            "4",
            "--next",
            &token,
            "--json",
        ],
    );
    assert_eq!(second["nextToken"], Value::Null);
    let mut both = first["items"].as_array().unwrap().clone();
    both.extend(second["items"].as_array().unwrap().iter().cloned());
    assert_eq!(&both, items);
    let by_template = cli_json(
        data.path(),
        &[
            "events",
            "template",
            "order-shipped",
            "--limit",
            "1000",
            "--json",
        ],
    );
    assert_eq!(by_template["items"].as_array().unwrap().len(), 6);
    let by_sequence = cli_json(
        data.path(),
        &[
            "events",
            "sequence",
            "seq_20240603_000481",
            "--type",
            "click",
            "--json",
        ],
    );
    assert_eq!(by_sequence["items"].as_array().unwrap().len(), 1);

    fails_naming(
        data.path(),
        &["events", "subscriber", JORDAN, "--type", "nope", "--json"],
        &["eventType", "--type"],
    );
    fails_naming(
        data.path(),
        &["events", "subscriber", JORDAN, "--limit", "0", "--json"],
        &["limit"],
    );
    fails_naming(
        data.path(),
        &["events", "subscriber", JORDAN, "--limit", "1001", "--json"],
        &["limit"],
    );
    fails_naming(
        data.path(),
        &[
            "events",
            "subscriber",
            JORDAN,
            "--from",
            "2024-02-30",
            "--json",
        ],
        &["startDate", "--from"],
    );
    fails_naming(
        data.path(),
        &["events", "subscriber", "not-an-email", "--json"],
        &["email"],
    );
    fails_naming(
        data.path(),
        &[
            "events",
            "template",
            "order-shipped",
            "--next",
            &token,
            "--json",
        ],
        &["nextToken", "--next"],
    );
}

#[test]
fn subscriber_and_suppressed_json_contract() {
    let data = data_dir();
    let sub = cli_json(data.path(), &["subscriber", JORDAN, "--json"]);
    assert_eq!(
        keys(&sub),
        [
            "email",
            "executions",
            "profile",
            "recentSends",
            "suppressed",
            "unsubscribed"
        ]
    );
    assert_eq!(sub["email"], JORDAN);
    assert_eq!(
        keys(&sub["profile"]),
        ["attributes", "createdAt", "firstName", "updatedAt"]
    );
    assert_eq!(sub["profile"]["firstName"], "Jordan");
    assert!(sub["executions"].is_array());
    assert_eq!(sub["recentSends"].as_array().unwrap().len(), 1);
    assert!(sub["unsubscribed"].is_null());
    // The complaint (08:44) came after the bounce (14:02) but is earlier in event time: it is
    // the cause kept.
    let s = &sub["suppressed"];
    assert_eq!(s["reason"], "complaint");
    assert_eq!(s["bounceType"], Value::Null);
    assert!(
        s["at"].is_string() && s["eventId"].is_string() && s["offset"].is_u64(),
        "{s}"
    );

    let list = cli_json(data.path(), &["suppressed", "--json"]);
    assert_eq!(keys(&list), ["items", "nextToken"]);
    assert!(list["nextToken"].is_null());
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        keys(&items[0]),
        ["at", "bounceType", "email", "eventId", "offset", "reason"]
    );
    assert_eq!(items[0]["email"], JORDAN);
    assert_eq!(items[0]["reason"], "complaint");
    assert_eq!(items[0]["offset"], 6, "the complaint is the seventh record");
    assert_eq!(items[0]["eventId"], s["eventId"]);

    fails_naming(
        data.path(),
        &["suppressed", "--limit", "0", "--json"],
        &["limit"],
    );
    fails_naming(
        data.path(),
        &["suppressed", "--limit", "1001", "--json"],
        &["limit"],
    );
    fails_naming(
        data.path(),
        &["suppressed", "--next", "abc", "--json"],
        &["nextToken", "--next"],
    );
    fails_naming(
        data.path(),
        &["subscriber", "nobody@example.com", "--json"],
        &["nobody@example.com"],
    );
    fails_naming(
        data.path(),
        &["subscriber", "not an email", "--json"],
        &["email"],
    );
}

/// `message`: one SES message with its recipients and every event of each, oldest first, as
/// the event lists show them; an unknown id exits 1 naming it.
#[test]
fn message_json_contract() {
    let data = data_dir();
    let id = "0100018fd2c41a7e-6b3f29d1-4c8e-4a57-9f21-7d0e8b5c3a91-000000";
    let message = cli_json(data.path(), &["message", id, "--json"]);
    assert_eq!(
        keys(&message),
        [
            "messageId",
            "recipients",
            "sentAt",
            "sequenceId",
            "templateKey"
        ]
    );
    let day = fixture_day();
    assert_eq!(message["messageId"], id);
    assert_eq!(message["templateKey"], "order-shipped");
    assert_eq!(message["sequenceId"], "seq_20240603_000481");
    // mail.timestamp, the same in every event of the message.
    assert_eq!(message["sentAt"], format!("{day}T14:02:10.815Z"));
    let recipients = message["recipients"].as_array().unwrap();
    assert_eq!(recipients.len(), 1);
    assert_eq!(keys(&recipients[0]), ["email", "events"]);
    assert_eq!(recipients[0]["email"], JORDAN);
    let events = recipients[0]["events"].as_array().unwrap();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["complaint", "send", "delivery", "bounce", "open", "click"]
    );
    // The items of the subscriber's event list (every event of Jordan is of this message),
    // oldest first instead of newest first.
    let list = cli_json(
        data.path(),
        &["events", "subscriber", JORDAN, "--limit", "1000", "--json"],
    );
    let mut newest_first = list["items"].as_array().unwrap().clone();
    newest_first.reverse();
    assert_eq!(*events, newest_first);

    // For people: the message, then each recipient's events.
    let out = run_cli(data.path(), &["message", id]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!("message   {id}\ntemplate  order-shipped\n")),
        "{text}"
    );
    assert!(text.contains(&format!("\n{JORDAN}\n")), "{text}");
    assert!(
        text.contains("bounce            Permanent NoEmail"),
        "{text}"
    );

    fails_naming(
        data.path(),
        &["message", "no-such-message", "--json"],
        &["no message no-such-message"],
    );
    fails_naming(data.path(), &["message", "", "--json"], &["`messageId`"]);
}

#[test]
fn unsuppress_lifts_the_suppression_through_the_log() {
    let data = data_dir();
    let before = cli_json(data.path(), &["trace", JORDAN, "--json"]);
    let n = before["items"].as_array().unwrap().len();

    let done = cli_json(
        data.path(),
        &[
            "unsuppress",
            "Jordan.Lee@example.net",
            "--reason",
            "address confirmed by phone",
        ],
    );
    assert_eq!(done["email"], JORDAN);
    assert_eq!(done["unsuppressed"], true);
    let event_id = done["eventId"].as_str().unwrap().to_string();

    let list = cli_json(data.path(), &["suppressed", "--json"]);
    assert_eq!(list, json!({"items": [], "nextToken": null}));
    let sub = cli_json(data.path(), &["subscriber", JORDAN, "--json"]);
    assert!(sub["suppressed"].is_null(), "{sub}");

    // The admin input is in the log, visible in the trace with its effect.
    let trace = cli_json(data.path(), &["trace", JORDAN, "--json"]);
    let items = trace["items"].as_array().unwrap();
    assert_eq!(items.len(), n + 1);
    let last = &items[n];
    assert_eq!(last["offset"].as_u64(), Some(7));
    assert_eq!(last["facts"][0]["eventType"], "suppression.removed");
    assert_eq!(last["facts"][0]["eventId"], event_id.as_str());
    assert!(
        last["input"]
            .to_string()
            .contains("address confirmed by phone"),
        "{last}"
    );
    assert!(last["change"]["suppressed"]["after"].is_null());
    assert_eq!(
        last["change"]["suppressed"]["before"]["reason"],
        "complaint"
    );
    // Who lifted it (the OS user running the command) and why.
    let actor = mailshot_engine::actor::os_user();
    assert_eq!(last["facts"][0]["actor"], actor.as_str());
    assert_eq!(last["facts"][0]["reason"], "address confirmed by phone");
    assert_eq!(
        last["summary"],
        format!("suppression lifted by {actor}: address confirmed by phone")
    );

    // A replay keeps it lifted (it is a fact of the log, not an edit of a projection).
    let out = run_cli(data.path(), &["replay"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        cli_json(data.path(), &["suppressed", "--json"])["items"],
        json!([])
    );

    // Not suppressed (any more), unknown, or no reason: exit 1, nothing appended.
    fails_naming(
        data.path(),
        &["unsuppress", JORDAN, "--reason", "again"],
        &["not suppressed"],
    );
    fails_naming(
        data.path(),
        &["unsuppress", "nobody@example.com", "--reason", "x"],
        &["nobody@example.com"],
    );
    fails_naming(
        data.path(),
        &["unsuppress", JORDAN, "--reason", "  "],
        &["reason"],
    );
    let after = cli_json(data.path(), &["trace", JORDAN, "--json"]);
    assert_eq!(after["items"].as_array().unwrap().len(), n + 1);
}

#[test]
fn an_ingested_admin_event_is_rejected_as_reserved_source_and_the_suppression_stays() {
    let data = data_dir();
    let forged = mailshot_domain::SystemEvent::new(
        "forged-unsuppress-1",
        Timestamp::parse(&format!("{}T23:59:59Z", fixture_day())).unwrap(),
        JORDAN,
        mailshot_domain::SystemAction::SuppressionRemoved {
            reason: "let me mail them".into(),
            actor: Some("root".into()),
        },
    )
    .to_json();
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("forged.ndjson");
    write_lines(&path, &[forged]);
    let out = run_cli(data.path(), &["ingest", path.to_str().unwrap()]);
    assert_eq!(
        success_json("ingest", &out),
        json!({"inputs": 1, "accepted": 0, "duplicates": 0, "rejected": 1})
    );
    let reason =
        "reserved source \"mailshot.admin\": only mailshot itself writes `mailshot.*` events";
    let stderr = String::from_utf8_lossy(&out.stderr);
    let said = format!("{}:1: rejected: {reason}", path.display());
    assert!(stderr.lines().any(|l| l == said), "{stderr}");
    let quarantined = mailshot_log::quarantine::Quarantine::read_all(data.path()).unwrap();
    let reasons: Vec<&str> = quarantined.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(reasons, [reason]);

    // The suppression stays.
    let list = cli_json(data.path(), &["suppressed", "--json"]);
    let emails: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, [JORDAN]);
}
