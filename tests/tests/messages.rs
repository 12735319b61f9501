//! The messages projection end to end on the embedded runtime: `get_message` answers exactly
//! what the log says of each message; a data dir written before the projection existed gets
//! it on the next open; `replay --projection messages` rebuilds it alone; `verify` covers it.
//! (Order independence: tests/order_independence.rs; the AWS runtime answering the same:
//! the query sets of tests/aws_runtime.rs.)

mod common;

use std::collections::BTreeMap;

use common::*;
use mailshot_domain::{InputBody, parse_input};
use mailshot_embedded::Writer;
use mailshot_projections::query::QueryError;
use mailshot_projections::{EventRow, Projection, Table};
use serde_json::{Value, json};

fn messages() -> Projection {
    "messages".parse().unwrap()
}

/// What the log says of every message: each recipient's event rows (of the facts each record
/// introduced), by message id, recipient and sort key; and each message's send time.
type Truth = BTreeMap<String, (String, BTreeMap<String, BTreeMap<String, EventRow>>)>;

fn truth(writer: &Writer) -> Truth {
    let mut out: Truth = BTreeMap::new();
    for record in writer.log.read_from(0).unwrap() {
        let record = record.unwrap();
        let input = parse_input(&record.raw).unwrap();
        let InputBody::Ses(facts) = &input.body else {
            continue;
        };
        for fact in facts.iter().filter(|f| record.identities.contains(&f.id)) {
            let row = EventRow::from_fact(fact);
            let (sent_at, recipients) = out
                .entry(fact.ses_message_id.to_string())
                .or_insert_with(|| (fact.sent_at.to_string(), BTreeMap::new()));
            assert_eq!(
                *sent_at,
                fact.sent_at.to_string(),
                "one send time a message"
            );
            recipients
                .entry(row.email.clone())
                .or_default()
                .insert(row.sort_key.clone(), row);
        }
    }
    out
}

/// The answer `get_message` must give, from the truth (at a time when no event has expired).
fn expected(
    id: &str,
    (sent_at, recipients): &(String, BTreeMap<String, BTreeMap<String, EventRow>>),
) -> Value {
    let first = recipients.values().next().unwrap().values().next().unwrap();
    let recipients: Vec<Value> = recipients
        .iter()
        .map(|(email, events)| {
            let items: Vec<Value> = events
                .values()
                .map(|row| {
                    let mut item = serde_json::to_value(row).unwrap();
                    item.as_object_mut().unwrap().remove("sortKey");
                    item
                })
                .collect();
            json!({"email": email, "events": items})
        })
        .collect();
    json!({
        "messageId": id,
        "templateKey": first.template_key,
        "sequenceId": first.sequence_id,
        "sentAt": sent_at,
        "recipients": recipients,
    })
}

#[test]
fn every_message_answers_what_the_log_says_of_it() {
    let (lines, _) = generate(3_000, 41);
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::open(dir.path()).unwrap();
    ingest_lines(&mut writer, &lines);
    let truth = truth(&writer);
    assert!(truth.len() > 500, "{} messages", truth.len());
    assert!(
        truth.values().any(|(_, r)| r.len() > 1),
        "a message with several recipients"
    );
    for (id, message) in &truth {
        assert_eq!(
            q(&writer, "get_message", json!({ "messageId": id })),
            expected(id, message),
            "{id}"
        );
    }
    // One row per fact.
    let facts: usize = truth
        .values()
        .flat_map(|(_, r)| r.values())
        .map(BTreeMap::len)
        .sum();
    assert_eq!(rows(&writer.store, messages()).len(), facts);
    match query(&writer, "get_message", json!({"messageId": "no-such-id"})) {
        Err(QueryError::NotFound(m)) => assert_eq!(m, "no message no-such-id"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_data_dir_written_before_the_messages_projection_gets_it_on_open() {
    let (lines, _) = generate(3_000, 43);
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::open(dir.path()).unwrap();
    ingest_lines(&mut writer, &lines);
    let everything = all_rows(&writer.store);
    let ids: Vec<String> = truth(&writer).into_keys().step_by(50).collect();
    let answers: Vec<Value> = ids
        .iter()
        .map(|id| q(&writer, "get_message", json!({ "messageId": id })))
        .collect();

    // As a data dir written before the projection existed: no rows, no checkpoint, no version.
    writer.store.forget_projection(messages()).unwrap();
    assert!(rows(&writer.store, messages()).is_empty());
    assert!(matches!(
        query(&writer, "get_message", json!({ "messageId": ids[0] })),
        Err(QueryError::NotFound(_))
    ));
    let progress = writer.store.progress(messages(), false).unwrap();
    assert_eq!((progress.checkpoint, progress.version), (None, None));
    drop(writer);

    // The next open backfills it from the log, in one pass (its live slot is not caught up
    // first: the rebuild replaces it), and leaves every other projection as it was.
    let out = run_cli(dir.path(), &["ingest", "/dev/null"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "projection messages: stored version None, code version 1: rebuilding from the log"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("replaying messages: "), "{stderr}");
    assert!(!stderr.contains("catching up"), "{stderr}");
    let writer = Writer::open(dir.path()).unwrap();
    assert!(all_rows(&writer.store) == everything);
    for (id, answer) in ids.iter().zip(&answers) {
        assert_eq!(
            &q(&writer, "get_message", json!({ "messageId": id })),
            answer
        );
    }
    let progress = writer.store.progress(messages(), false).unwrap();
    assert_eq!(progress.checkpoint, Some(writer.log.end_offset().unwrap()));
    assert_eq!(progress.version, Some(1));
    drop(writer);

    // And the command line reads it (at the real now: the 2024 events have expired, the
    // message and its recipients stay).
    let cli_answer = cli_json(dir.path(), &["message", &ids[0], "--json"]);
    assert_eq!(cli_answer["messageId"], answers[0]["messageId"]);
    assert_eq!(cli_answer["sentAt"], answers[0]["sentAt"]);
    let emails = |v: &Value| -> Vec<Value> {
        v["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["email"].clone())
            .collect()
    };
    assert_eq!(emails(&cli_answer), emails(&answers[0]));
}

#[test]
fn replay_rebuilds_messages_alone_and_verify_covers_it() {
    let (lines, truth) = generate(2_000, 47);
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::open(dir.path()).unwrap();
    ingest_lines(&mut writer, &lines);
    let everything = all_rows(&writer.store);
    let message_rows = everything["messages"].clone();
    assert!(!message_rows.is_empty());
    drop(writer);

    let replayed = cli_json(dir.path(), &["replay", "--projection", "messages"]);
    assert_eq!(
        replayed,
        json!({"projections": ["messages"], "records": truth.accepted})
    );
    let writer = Writer::open(dir.path()).unwrap();
    assert!(
        all_rows(&writer.store) == everything,
        "replay changed a row"
    );

    // A corrupted message row: verify names the projection and the row, the others are ok.
    let (_, key, value) = &message_rows[message_rows.len() / 2];
    let mut wrong = value.clone();
    wrong[0] ^= 1; // the send time
    writer
        .store
        .corrupt_row(Table::by_name("messages").unwrap(), key, &wrong)
        .unwrap();
    drop(writer);
    let out = run_cli(dir.path(), &["verify"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    let report = &reports[messages().index()];
    assert_eq!(report["projection"], "messages");
    assert_eq!(report["matches"], false);
    let expected_key = format!("messages/{}", String::from_utf8_lossy(key).escape_debug());
    assert_eq!(report["first_difference"], json!(expected_key));
    assert_eq!(report["rows"], json!(message_rows.len()));
    for p in Projection::all().iter().filter(|p| **p != messages()) {
        assert!(stderr.contains(&format!("{p}: ok")), "{stderr}");
    }
    assert!(stderr.contains("messages: MISMATCH"), "{stderr}");

    // Replaying it repairs the row.
    cli_json(dir.path(), &["replay", "--projection", "messages"]);
    let out = run_cli(dir.path(), &["verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
