//! The AWS runtime against the moto emulator (scripts/test.sh starts it; these tests fail,
//! never skip, without it). Each test has its own resource prefix on the shared server.

mod aws_support;
mod common;

use std::collections::BTreeMap;

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_support::*;
use common::*;
use mailshot_aws::processor::ProcessSummary;
use mailshot_domain::EventType;
use mailshot_embedded::Reader;
use mailshot_workload::Scope;
use serde_json::{Value, json};

fn str_attr(item: &std::collections::HashMap<String, AttributeValue>, k: &str) -> String {
    match item.get(k) {
        Some(AttributeValue::S(s)) => s.clone(),
        Some(AttributeValue::N(n)) => n.clone(),
        other => panic!("attribute {k}: {other:?}"),
    }
}

/// Runs the embedded runtime on the same lines (through the CLI), returning its data dir.
fn embedded(lines: &[String]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.ndjson");
    write_lines(&file, lines);
    let data = dir.path().join("data");
    let out = run_cli(&data, &["ingest", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

#[test]
fn aws_init_is_idempotent_and_declares_keys_indexes_and_ttl() {
    let env = Env::new("init", 2);
    let again = env.cli_json(&["init"]);
    assert_eq!(
        again["created"],
        json!([]),
        "second init creates nothing: {again}"
    );
    assert_eq!(again["generation"], json!(1));
    let tables = env.aws.names.tables(1);
    let described = env
        .rt
        .block_on(
            env.aws
                .ddb
                .describe_table()
                .table_name(&tables.events)
                .send(),
        )
        .unwrap()
        .table
        .unwrap();
    let keys: Vec<(String, String)> = described
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_string(),
                k.key_type().as_str().to_string(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        vec![("pk".into(), "HASH".into()), ("sk".into(), "RANGE".into())]
    );
    let mut gsis: Vec<(String, Vec<String>)> = described
        .global_secondary_indexes()
        .iter()
        .map(|g| {
            (
                g.index_name().unwrap().to_string(),
                g.key_schema()
                    .iter()
                    .map(|k| k.attribute_name().to_string())
                    .collect(),
            )
        })
        .collect();
    gsis.sort();
    assert_eq!(
        gsis,
        vec![
            (
                "SequenceIndex".into(),
                vec!["sequenceId".into(), "sk".into()]
            ),
            (
                "TemplateIndex".into(),
                vec!["templateKey".into(), "sk".into()]
            ),
        ]
    );
    assert!(
        described
            .stream_specification()
            .is_some_and(|s| s.stream_enabled()),
        "events table streams its changes"
    );
    let ttl = env
        .rt
        .block_on(
            env.aws
                .ddb
                .describe_time_to_live()
                .table_name(&tables.events)
                .send(),
        )
        .unwrap()
        .time_to_live_description
        .unwrap();
    assert_eq!(ttl.attribute_name(), Some("ttl"));
    assert_eq!(
        ttl.time_to_live_status().map(|s| s.as_str()),
        Some("ENABLED")
    );
    assert_eq!(env.aws.shards().unwrap().len(), 2);
}

#[test]
fn aws_fixtures_through_the_lambda_handlers_match_the_embedded_runtime() {
    let env = Env::new("fixtures", 1);
    let names = fixture_names();
    let lines: Vec<String> = names.iter().map(|n| fixture_line(n)).collect();
    for name in &names {
        let summary = env.lambda_ingest(fixture_value(name));
        assert_eq!(summary["rejected"], json!(0), "{name}: {summary}");
    }
    let events = env.read_events(100);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].records.len(), 16, "every fixture reached Kinesis");
    let response = env.lambda_process(events[0].clone());
    assert!(response.batch_item_failures.is_empty());
    let emb = embedded(&lines);
    let reader = Reader::open(&emb.path().join("data")).unwrap();
    let now = now_2024();
    assert_same_answers(&env, &reader, &query_set(&reader, now), now);

    // Items, keys and ttl as stored.
    let tables = env.aws.live_tables().unwrap();
    let rows = env
        .rt
        .block_on(
            env.aws
                .ddb
                .query()
                .table_name(&tables.events)
                .key_condition_expression("pk = :p")
                .expression_attribute_values(
                    ":p",
                    AttributeValue::S("SUB#jordan.lee@example.net".into()),
                )
                .send(),
        )
        .unwrap()
        .items
        .unwrap();
    assert!(!rows.is_empty());
    for row in &rows {
        let sk = str_attr(row, "sk");
        assert!(sk.starts_with("EVT#2024-"), "{sk}");
        let ts = mailshot_domain::Timestamp::parse(&str_attr(row, "timestamp")).unwrap();
        assert_eq!(
            str_attr(row, "ttl").parse::<i64>().unwrap(),
            ts.plus_days(365).as_secs()
        );
        assert!(row.contains_key("sequenceId"));
    }
    // Through the template index.
    let template = str_attr(&rows[0], "templateKey");
    let by_template = env
        .rt
        .block_on(
            env.aws
                .ddb
                .query()
                .table_name(&tables.events)
                .index_name("TemplateIndex")
                .key_condition_expression("templateKey = :t")
                .expression_attribute_values(":t", AttributeValue::S(template.clone()))
                .send(),
        )
        .unwrap();
    assert!(by_template.count() > 0);
    // The archive holds every accepted record, densely.
    use mailshot_domain::log::LogReader;
    let archive = mailshot_aws::archive::ArchiveReader::new(&env.aws);
    let offsets: Vec<u64> = archive
        .read_from(0)
        .unwrap()
        .map(|r| r.unwrap().offset)
        .collect();
    assert_eq!(offsets, (0..12).collect::<Vec<_>>());
}

fn corpus(n: u64, seed: u64) -> (Vec<String>, mailshot_workload::Truth) {
    generate(n, seed)
}

#[test]
fn aws_cli_ingest_process_replay_equal_the_embedded_runtime() {
    let env = Env::new("cli", 1);
    assert_eq!(env.cli_json(&["init"])["created"], json!([]));
    let (mut lines, truth) = corpus(500, 11);
    lines.push("{\"not\": \"an input\"}".to_string());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("corpus.ndjson");
    write_lines(&file, &lines);
    let file = file.to_str().unwrap();

    let out = env.cli(&["ingest", file]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(":{}: rejected:", lines.len())),
        "{stderr}"
    );
    let emb = embedded(&lines);
    let data = emb.path().join("data");
    let emb_summary = {
        // The embedded ingest of the same lines (re-run: everything is a duplicate now, so
        // read the first summary from a fresh dir instead).
        let d = tempfile::tempdir().unwrap();
        let out = run_cli(&d.path().join("data"), &["ingest", file]);
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    assert_eq!(summary, emb_summary, "same summary as the embedded runtime");

    let processed = env.cli_json(&["process"]);
    assert_eq!(processed["deadLettered"], json!(0));
    assert_eq!(processed["failed"], json!(0));
    assert_eq!(processed["folded"], summary["accepted"], "{processed}");
    let dead = env.aws.dead_letters().unwrap();
    assert_eq!(json!(dead.len()), summary["rejected"]);
    assert!(dead.iter().any(|d| d.input.contains("an input")));

    let now = now_2024();
    let reader = Reader::open(&data).unwrap();
    let set = query_set(&reader, now);
    assert_same_answers(&env, &reader, &set, now);
    // Against the generator's truth too.
    let stats = env.query("get_delivery_stats", &json!({}), now);
    let all = truth.stats(&Scope::All, None, None);
    for t in EventType::ALL {
        assert_eq!(
            stats["counts"][t.camel_name()].as_u64().unwrap_or(0),
            all.counts.get(t),
            "{t:?}"
        );
    }
    // The CLI prints the same JSON as the embedded CLI (stats have no time dependence).
    let aws_stats = env.cli_json(&["stats", "--json"]);
    let emb_stats = cli_json(&data, &["stats", "--json"]);
    assert_eq!(aws_stats, emb_stats);

    // Ingesting the same file again: every input is a known duplicate; nothing is sent.
    let again = env.cli_json(&["ingest", file]);
    assert_eq!(again["accepted"], json!(0), "{again}");
    assert_eq!(
        again["duplicates"].as_u64(),
        Some(summary["accepted"].as_u64().unwrap() + summary["duplicates"].as_u64().unwrap())
    );
    let after = env.cli_json(&["process"]);
    assert_eq!(after["records"], json!(0), "{after}");

    // Replay from the archive into a fresh generation equals the live tables.
    let live = env.dump(1);
    let replayed = env.cli_json(&["replay"]);
    assert_eq!(replayed["generation"], json!(2));
    assert_eq!(replayed["records"], summary["accepted"]);
    assert_eq!(env.aws.live_tables().unwrap().generation, 2);
    let rebuilt = env.dump(2);
    for (kind, items) in &live {
        assert_eq!(items.len(), rebuilt[kind].len(), "{kind}");
        assert!(items == &rebuilt[kind], "{kind} differs after replay");
    }
    assert_same_answers(&env, &reader, &set, now);
}

/// The state every query sees, for before/after comparisons.
fn answers(env: &Env, set: &[(String, Value)]) -> Vec<Value> {
    set.iter()
        .map(|(tool, args)| env.query(tool, args, now_2024()))
        .collect()
}

#[test]
fn aws_redelivered_and_partly_failed_batches_change_nothing() {
    let env = Env::new("redeliver", 2);
    let (lines, truth) = corpus(600, 5);
    let mut seen = std::collections::HashSet::new();
    let numbered: Vec<(u64, Vec<u8>)> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| (i as u64 + 1, l.as_bytes().to_vec()))
        .collect();
    // The generator writes some malformed lines on purpose: they are dead-lettered.
    mailshot_aws::ingest::ingest_lines(&env.aws, "test", &numbered, &mut seen, &mut |_| {})
        .unwrap();
    let events = env.read_events(100);
    assert!(events.len() >= 2);

    // First delivery: the first batch fails part-way (a transient error before record 40 of
    // it commits); Lambda redelivers from the failed record.
    let mut processor = env.processor();
    let first = &events[0];
    let failing = first.records[40].kinesis.sequence_number.clone();
    processor.fail_once_before(&failing);
    let (response, summary) = processor.process_event(first);
    assert_eq!(
        response.batch_item_failures[0].item_identifier.as_deref(),
        Some(failing.as_str())
    );
    assert_eq!(summary.failed, 1);
    let mut retry: KinesisEvent = first.clone();
    retry.records.drain(..40);
    let (response, _) = processor.process_event(&retry);
    assert!(response.batch_item_failures.is_empty());
    for event in &events[1..] {
        let response = env.lambda_process(event.clone());
        assert!(response.batch_item_failures.is_empty());
    }
    let emb = embedded(&lines);
    let reader = Reader::open(&emb.path().join("data")).unwrap();
    let set = query_set(&reader, now_2024());
    let before = answers(&env, &set);
    let dump_before = env.dump(1);
    let stats = env.query("get_delivery_stats", &json!({}), now_2024());
    assert_eq!(
        stats["counts"]["delivery"].as_u64().unwrap(),
        truth.count(EventType::Delivery)
    );

    // Every batch delivered again (whole), and one failed-then-retried again: no change.
    let mut total = ProcessSummary::default();
    for event in &events {
        let response = env.lambda_process(event.clone());
        assert!(response.batch_item_failures.is_empty());
        let (_, s) = env.processor().process_event(event);
        total.add(&s);
    }
    assert_eq!(total.folded, 0, "{total:?}");
    assert_eq!(total.duplicates, total.records);
    assert_eq!(answers(&env, &set), before);
    assert_eq!(env.dump(1), dump_before);

    // Stats, event lists, links and messages agree with the embedded runtime (offsets aside:
    // the injected failure left holes, so offsets in subscriber answers differ).
    for (tool, args) in &set {
        if tool == "get_delivery_stats"
            || tool.ends_with("_events")
            || tool == "get_link_stats"
            || tool == "get_message"
        {
            assert_eq!(
                env.query(tool, args, now_2024()),
                embedded_query(&reader, tool, args, now_2024()),
                "{tool} {args}"
            );
        }
    }
}

#[test]
fn aws_malformed_record_is_dead_lettered_and_the_rest_of_its_batch_processed() {
    let env = Env::new("deadletter", 1);
    let good: Vec<String> = ["ses-delivery.json", "ses-open.json", "ses-click.json"]
        .iter()
        .map(|n| fixture_line(n))
        .collect();
    // Bypass ingest validation: a producer wrote garbage straight to the stream.
    let mut outgoing: Vec<mailshot_aws::Outgoing> = Vec::new();
    outgoing.push(mailshot_aws::Outgoing {
        partition_key: "a".into(),
        data: good[0].clone(),
    });
    outgoing.push(mailshot_aws::Outgoing {
        partition_key: "a".into(),
        data: "{\"eventType\": \"Delivery\", \"mail\": 7}".into(),
    });
    for g in &good[1..] {
        outgoing.push(mailshot_aws::Outgoing {
            partition_key: "a".into(),
            data: g.clone(),
        });
    }
    env.aws.put_records(&outgoing).unwrap();
    let events = env.read_events(100);
    assert_eq!(events[0].records.len(), 4);
    let response = env.lambda_process(events[0].clone());
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let dead = env.aws.dead_letters().unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert!(dead[0].input.contains("\"mail\": 7"));
    assert!(dead[0].reason.contains("mail"), "{}", dead[0].reason);
    let stats = env.query("get_delivery_stats", &json!({}), now_2024());
    let counts: BTreeMap<String, Value> = serde_json::from_value(stats["counts"].clone()).unwrap();
    assert_eq!(counts["delivery"], json!(1));
    assert_eq!(counts["open"], json!(1));
    assert_eq!(counts["click"], json!(1));
}

#[test]
fn aws_cloudformation_template_passes_cfn_lint() {
    let bin = std::env::var("MAILSHOT_VENV_BIN").unwrap_or_else(|_| {
        panic!("MAILSHOT_VENV_BIN is not set: run the tests through scripts/test.sh (it installs cfn-lint)")
    });
    let template = workspace().join("infra/template.yaml");
    let out = std::process::Command::new(std::path::Path::new(&bin).join("cfn-lint"))
        .arg(&template)
        .output()
        .expect("run cfn-lint");
    assert!(
        out.status.success(),
        "cfn-lint {}:\n{}{}",
        template.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Polls until the processor has archived `records` records (the archive's offset counter),
/// failing after a minute.
fn wait_for_archived(env: &Env, records: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let end = env.aws.end_offset().unwrap();
        if end >= records {
            assert_eq!(end, records, "archived more than was ingested");
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {end} of {records} records archived after a minute"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn aws_process_follow_folds_new_records_until_sigterm_then_prints_its_summary() {
    let env = Env::new("follow", 1);
    let (lines, _) = corpus(30, 23);
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (
        dir.path().join("first.ndjson"),
        dir.path().join("second.ndjson"),
    );
    write_lines(&first, &lines[..20]);
    write_lines(&second, &lines[20..]);
    let a = env.cli_json(&["ingest", first.to_str().unwrap()]);

    let follower = spawn_follower(&env);
    let accepted_a = a["accepted"].as_u64().unwrap();
    wait_for_archived(&env, accepted_a);
    // Still following: records put after the first drain are folded too.
    let b = env.cli_json(&["ingest", second.to_str().unwrap()]);
    let accepted = accepted_a + b["accepted"].as_u64().unwrap();
    wait_for_archived(&env, accepted);

    let summary = sigterm_and_summary(follower);
    assert_eq!(summary["folded"], json!(accepted), "{summary}");
    assert_eq!(summary["records"], json!(accepted), "{summary}");
    assert_eq!(summary["duplicates"], json!(0), "{summary}");
    assert_eq!(summary["deadLettered"], json!(0), "{summary}");
    assert_eq!(summary["failed"], json!(0), "{summary}");
}

#[test]
fn aws_process_follow_stops_between_batches_of_a_backlog_and_process_resumes_from_there() {
    let env = Env::new("follow-stop", 1);
    let (lines, _) = corpus(300, 29);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backlog.ndjson");
    write_lines(&file, &lines);
    let ingested = env.cli_json(&["ingest", file.to_str().unwrap()]);
    let accepted = ingested["accepted"].as_u64().unwrap();
    assert!(accepted > 200, "{ingested}");

    let follower = spawn_follower(&env);
    // Stop as soon as the first record is archived: well inside the first batch of 100.
    wait_for_archived_at_least(&env, 1);
    let stopped = sigterm_and_summary(follower);
    let first = stopped["folded"].as_u64().unwrap();
    // It stopped after a whole batch, before the backlog was done.
    assert_eq!(first % 100, 0, "{stopped}");
    assert!(first > 0 && first < accepted, "{stopped}");
    assert_eq!(env.aws.end_offset().unwrap(), first);

    // A later process resumes from the saved position: nothing twice, nothing lost.
    let rest = env.cli_json(&["process"]);
    assert_eq!(rest["folded"], json!(accepted - first), "{rest}");
    assert_eq!(rest["duplicates"], json!(0), "{rest}");
    assert_eq!(env.aws.end_offset().unwrap(), accepted);
}

/// Polls until the processor has archived at least `records` records, failing after a minute.
fn wait_for_archived_at_least(env: &Env, records: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while env.aws.end_offset().unwrap() < records {
        assert!(
            std::time::Instant::now() < deadline,
            "fewer than {records} records archived after a minute"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Starts `mailshot --backend aws process --follow` on `env`'s deployment.
fn spawn_follower(env: &Env) -> std::process::Child {
    std::process::Command::new(mailshot_bin())
        .args(["--backend", "aws", "--aws-prefix", &env.prefix])
        .args(["process", "--follow"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn process --follow")
}

/// Sends SIGTERM to a follower and returns the summary it printed, asserting a clean exit.
fn sigterm_and_summary(follower: std::process::Child) -> Value {
    let term = std::process::Command::new("kill")
        .args(["-TERM", &follower.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let out = follower.wait_with_output().unwrap();
    success_json("process --follow, stopped by SIGTERM", &out)
}

const JORDAN: &str = "jordan.lee@example.net";

/// A deployment where Jordan's complaint has been processed: Jordan is suppressed.
fn suppressed_jordan(test: &str) -> (Env, tempfile::TempDir) {
    let env = Env::new(test, 1);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("complaint.ndjson");
    std::fs::write(&file, fixture_line("ses-complaint.json") + "\n").unwrap();
    let ingested = env.cli_json(&["ingest", file.to_str().unwrap()]);
    assert_eq!(ingested["accepted"], json!(1), "{ingested}");
    assert_eq!(env.cli_json(&["process"])["folded"], json!(1));
    assert_eq!(suppression(&env), json!("complaint"));
    (env, dir)
}

/// Why Jordan is suppressed (null when not).
fn suppression(env: &Env) -> Value {
    let sub = env.cli_json(&["subscriber", JORDAN, "--json"]);
    sub["suppressed"]["reason"].clone()
}

/// A `suppression.removed` for Jordan as mailshot writes it, with event id `id`.
fn lift_event(id: &str) -> String {
    mailshot_domain::SystemEvent::new(
        id,
        mailshot_domain::Timestamp::parse("2024-06-06T10:00:00Z").unwrap(),
        JORDAN,
        mailshot_domain::SystemAction::SuppressionRemoved {
            reason: "forged".into(),
            actor: Some("arn:aws:iam::000000000000:user/ops".into()),
        },
    )
    .to_json()
}

/// Puts `data` straight to the stream with the SDK, as any producer with `PutRecord` could.
fn put_raw(env: &Env, data: &str) {
    env.rt
        .block_on(
            env.aws
                .kinesis
                .put_record()
                .stream_name(env.aws.names.stream())
                .partition_key(JORDAN)
                .data(aws_sdk_kinesis::primitives::Blob::new(data.as_bytes()))
                .send(),
        )
        .unwrap();
}

#[test]
fn aws_a_forged_admin_event_put_straight_to_the_stream_is_rejected_as_reserved_source() {
    let (env, _dir) = suppressed_jordan("forged");
    let forged = lift_event("forged-1");
    put_raw(&env, &forged);
    let processed = env.cli_json(&["process"]);
    assert_eq!(processed["records"], json!(1), "{processed}");
    assert_eq!(processed["deadLettered"], json!(1), "{processed}");
    assert_eq!(processed["folded"], json!(0), "{processed}");
    let dead = env.aws.dead_letters().unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].source, "kinesis");
    assert_eq!(
        dead[0].reason,
        "reserved source \"mailshot.admin\": only mailshot itself writes `mailshot.*` events"
    );
    assert_eq!(dead[0].input, forged);
    assert_eq!(
        suppression(&env),
        json!("complaint"),
        "the suppression stays"
    );
}

#[test]
fn aws_a_mailshot_event_wrapped_with_a_wrong_signature_is_rejected_as_a_bad_signature() {
    let (env, _dir) = suppressed_jordan("badsig");
    // Signed, but with a key that is not the deployment's.
    let wrapped = mailshot_aws::signing::sign_with(&[0; 32], &lift_event("forged-2")).unwrap();
    assert!(wrapped.starts_with("{\"mailshotSigned\":\""), "{wrapped}");
    put_raw(&env, &wrapped);
    let processed = env.cli_json(&["process"]);
    assert_eq!(processed["deadLettered"], json!(1), "{processed}");
    assert_eq!(processed["folded"], json!(0), "{processed}");
    let dead = env.aws.dead_letters().unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(
        dead[0].reason,
        "bad signature: a signed mailshot event whose HMAC does not verify with this \
         deployment's key"
    );
    assert_eq!(dead[0].input, wrapped);
    assert_eq!(
        suppression(&env),
        json!("complaint"),
        "the suppression stays"
    );
}

#[test]
fn aws_unsuppress_puts_a_signed_event_that_lifts_the_suppression_and_is_archived_unwrapped() {
    let (env, _dir) = suppressed_jordan("unsuppress");
    let done = env.cli_json(&["unsuppress", JORDAN, "--reason", "confirmed by phone"]);
    assert_eq!(done["unsuppressed"], json!(true), "{done}");
    // On the stream: the signed wrapper, its event the admin action.
    let events = env.read_events(100);
    let data: Vec<String> = events
        .iter()
        .flat_map(|e| &e.records)
        .map(|r| String::from_utf8(r.kinesis.data.0.clone()).unwrap())
        .collect();
    assert_eq!(
        data.len(),
        2,
        "the complaint and the admin action: {data:?}"
    );
    let wrapper: Value = serde_json::from_str(&data[1]).unwrap();
    assert_eq!(
        wrapper["mailshotSigned"].as_str().map(str::len),
        Some(64),
        "{wrapper}"
    );
    assert_eq!(wrapper["event"]["source"], json!("mailshot.admin"));
    assert_eq!(wrapper["event"]["id"], done["eventId"]);

    let processed = env.cli_json(&["process"]);
    assert_eq!(processed["folded"], json!(1), "{processed}");
    assert_eq!(processed["deadLettered"], json!(0), "{processed}");
    assert_eq!(suppression(&env), Value::Null, "the suppression is lifted");
    // The archive keeps the inner event, byte for byte, not the wrapper.
    use mailshot_domain::log::LogReader as _;
    let archived: Vec<String> = mailshot_aws::archive::ArchiveReader::new(&env.aws)
        .read_from(0)
        .unwrap()
        .map(|r| r.unwrap().raw)
        .collect();
    let at = data[1].find(",\"event\":").unwrap() + ",\"event\":".len();
    let inner = &data[1][at..data[1].len() - 1];
    assert_eq!(
        archived,
        [fixture_line("ses-complaint.json"), inner.to_string()]
    );
}
