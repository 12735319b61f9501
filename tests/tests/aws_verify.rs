//! `mailshot --backend aws verify` against the moto emulator (scripts/test.sh starts it;
//! this test fails, never skips, without it): a clean deployment verifies, a corrupted item is
//! named with its projection and key (exit 1), and the scratch tables are deleted.

mod aws_support;
mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_support::*;
use common::*;
use mailshot_projections::Projection;
use serde_json::{Value, json};

#[test]
fn aws_verify_passes_when_clean_and_names_the_corrupted_projection_and_key() {
    let env = Env::new("verify", 1);
    let (lines, _) = generate(200, 5);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("corpus.ndjson");
    write_lines(&file, &lines);
    env.cli_json(&["ingest", file.to_str().unwrap()]);
    let processed = env.cli_json(&["process"]);
    assert_eq!(processed["failed"], json!(0), "{processed}");

    let clean = env.cli(&["verify"]);
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );
    let reports: Value = serde_json::from_slice(&clean.stdout).unwrap();
    let names: Vec<&str> = reports
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["projection"].as_str().unwrap())
        .collect();
    // Every registered projection, in registry order.
    let registered: Vec<&str> = Projection::all().iter().map(|p| p.name()).collect();
    assert_eq!(names, registered);
    assert_eq!(names[..4], ["events", "subscribers", "rollups", "links"]);
    for r in reports.as_array().unwrap() {
        assert_eq!(r["matches"], json!(true), "{r}");
        assert_eq!(r["live_digest"], r["rebuilt_digest"], "{r}");
        assert_eq!(r["first_difference"], Value::Null, "{r}");
    }
    assert!(reports[0]["rows"].as_u64().unwrap() > 0, "{reports}");
    // The messages projection's generic rows (ROW#messages#… items) are digested too.
    let messages = &reports[Projection::named("messages").index()];
    assert!(messages["rows"].as_u64().unwrap() > 0, "{reports}");
    let stderr = String::from_utf8_lossy(&clean.stderr);
    assert!(stderr.contains("events: ok ("), "{stderr}");
    // The scratch generation is gone; the live one is untouched.
    assert_eq!(
        tables_with_prefix(&env, &format!("{}-g2-", env.prefix)),
        Vec::<String>::new()
    );
    assert_eq!(env.aws.live_tables().unwrap().generation, 1);

    // Corrupt one subscriber profile with PutItem.
    let tables = env.aws.live_tables().unwrap();
    let (email, mut item) = lines
        .iter()
        .filter_map(|l| mailshot_domain::parse_input(l).ok())
        .map(|input| input.partition_key())
        .filter(|pk| pk.contains('@'))
        .find_map(|email| {
            let got = env
                .rt
                .block_on(
                    env.aws
                        .ddb
                        .get_item()
                        .table_name(&tables.subscribers)
                        .key("pk", AttributeValue::S(format!("SUB#{email}")))
                        .key("sk", AttributeValue::S("PROFILE".into()))
                        .consistent_read(true)
                        .send(),
                )
                .unwrap();
            got.item.map(|item| (email, item))
        })
        .expect("a subscriber profile");
    let AttributeValue::S(doc) = &item["doc"] else {
        panic!("doc is a string: {item:?}")
    };
    let mut doc: Value = serde_json::from_str(doc).unwrap();
    doc["firstName"] = json!("Mallory");
    item.insert("doc".into(), AttributeValue::S(doc.to_string()));
    env.rt
        .block_on(
            env.aws
                .ddb
                .put_item()
                .table_name(&tables.subscribers)
                .set_item(Some(item))
                .send(),
        )
        .unwrap();

    let corrupt = env.cli(&["verify"]);
    assert_eq!(corrupt.status.code(), Some(1));
    let reports: Value = serde_json::from_slice(&corrupt.stdout).unwrap();
    let subscribers = &reports[1];
    assert_eq!(subscribers["projection"], "subscribers");
    assert_eq!(subscribers["matches"], json!(false));
    let key = format!("subscribers/SUB#{email}/PROFILE");
    assert_eq!(subscribers["first_difference"], json!(key));
    for (i, report) in reports.as_array().unwrap().iter().enumerate() {
        if i != Projection::SUBSCRIBERS.index() {
            assert_eq!(report["matches"], json!(true), "{report}");
        }
    }
    let stderr = String::from_utf8_lossy(&corrupt.stderr);
    assert!(
        stderr.contains(&format!(
            "subscribers: MISMATCH: live {} rebuilt {}; first differing key {key}",
            subscribers["live_digest"].as_str().unwrap(),
            subscribers["rebuilt_digest"].as_str().unwrap()
        )),
        "{stderr}"
    );
    assert_eq!(
        tables_with_prefix(&env, &format!("{}-g2-", env.prefix)),
        Vec::<String>::new()
    );

    // A generic row (the messages projection's) changed: verify classifies it by its table.
    let message = lines
        .iter()
        .filter_map(|l| mailshot_domain::parse_input(l).ok())
        .find_map(|input| match input.body {
            mailshot_domain::InputBody::Ses(facts) => Some(facts[0].ses_message_id.to_string()),
            _ => None,
        })
        .expect("an SES input");
    let rows = env
        .rt
        .block_on(
            env.aws
                .ddb
                .query()
                .table_name(&tables.aux)
                .key_condition_expression("pk = :p")
                .expression_attribute_values(
                    ":p",
                    AttributeValue::S(format!("ROW#messages#{message}")),
                )
                .consistent_read(true)
                .send(),
        )
        .unwrap();
    let mut row = rows.items()[0].clone();
    let AttributeValue::S(sk) = &row["sk"] else {
        panic!("sk is a string: {row:?}")
    };
    let key = format!("aux/ROW#messages#{message}/{sk}");
    let AttributeValue::B(value) = &row["v"] else {
        panic!("v is binary: {row:?}")
    };
    let mut value = value.clone().into_inner();
    value[0] ^= 1;
    row.insert("v".into(), AttributeValue::B(value.into()));
    env.rt
        .block_on(
            env.aws
                .ddb
                .put_item()
                .table_name(&tables.aux)
                .set_item(Some(row))
                .send(),
        )
        .unwrap();
    let corrupt = env.cli(&["verify"]);
    assert_eq!(corrupt.status.code(), Some(1));
    let reports: Value = serde_json::from_slice(&corrupt.stdout).unwrap();
    let messages = &reports[Projection::named("messages").index()];
    assert_eq!(messages["projection"], "messages");
    assert_eq!(messages["matches"], json!(false));
    assert_eq!(messages["first_difference"], json!(key));
}

#[test]
fn aws_verify_matches_after_a_unique_open_moves_to_an_earlier_day() {
    let env = Env::new("verifyzero", 1);
    // A delivery and an open on 2024-06-04, processed; then an open of the same message and
    // recipient on 2024-06-03: the unique open moves a day earlier, and the live row of
    // 2024-06-04 keeps its unique-open counter at 0.
    let open = |time: &str| {
        let mut v = fixture_value("ses-open.json");
        v["open"]["timestamp"] = json!(time);
        v.to_string()
    };
    let dir = tempfile::tempdir().unwrap();
    for (name, lines) in [
        (
            "later.ndjson",
            vec![
                fixture_line("ses-delivery.json"),
                open("2024-06-04T09:00:00.000Z"),
            ],
        ),
        ("earlier.ndjson", vec![open("2024-06-03T15:27:48.390Z")]),
    ] {
        let file = dir.path().join(name);
        write_lines(&file, &lines);
        env.cli_json(&["ingest", file.to_str().unwrap()]);
        let processed = env.cli_json(&["process"]);
        assert_eq!(processed["failed"], json!(0), "{processed}");
    }
    let out = env.cli(&["verify"]);
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{reports}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for r in reports.as_array().unwrap() {
        assert_eq!(r["matches"], json!(true), "{r}");
        assert_eq!(r["first_difference"], Value::Null, "{r}");
    }
}
