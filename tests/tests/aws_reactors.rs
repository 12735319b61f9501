//! Reactors on the AWS runtime, through the command line: `mailshot --backend aws
//! init/ingest/process --config …` against a moto server of the test's own (see
//! `moto_support`), with real SESv2 and Step Functions calls; outcomes read back with
//! `trace --json`, sent messages from moto's data.json, executions with ListExecutions.
//! Outside scripts/test.sh these tests fail (they never skip).

mod common;
mod moto_support;
mod reactors_support;

use std::process::Output;

use moto_support::{Effects, MotoServer};
use reactors_support::*;
use serde_json::{Value, json};

/// A deployment on a private moto server: state machines, a verified sender and a config
/// pointing at them.
struct World {
    prefix: String,
    effects: Effects,
    onboarding: String,
    winback: String,
    config: tempfile::TempDir,
    files: tempfile::TempDir,
    /// Dropped last: the server outlives the clients.
    moto: MotoServer,
}

impl World {
    fn new() -> World {
        let moto = MotoServer::start();
        let effects = moto.clients();
        let onboarding = effects.create_state_machine("onboarding");
        let winback = effects.create_state_machine("winback");
        effects.create_identity("hello@example.com");
        let config = aws_config_dir(&onboarding, &winback, "hello@example.com");
        let world = World {
            prefix: "rx".to_string(),
            effects,
            onboarding,
            winback,
            config,
            files: tempfile::tempdir().unwrap(),
            moto,
        };
        world.json(&["init"]);
        world
    }

    /// `mailshot --backend aws --aws-prefix rx --config <config> args…` on this server.
    fn cli(&self, args: &[&str]) -> Output {
        std::process::Command::new(common::mailshot_bin())
            .env("AWS_ENDPOINT_URL", &self.moto.endpoint)
            .env(SECRET_VAR, SECRET)
            .arg("--backend")
            .arg("aws")
            .arg("--aws-prefix")
            .arg(&self.prefix)
            .arg("--config")
            .arg(self.config.path().join("mailshot.toml"))
            .args(args)
            .output()
            .expect("run mailshot")
    }

    /// Like [`World::cli`], asserting success and parsing stdout as JSON.
    fn json(&self, args: &[&str]) -> Value {
        common::success_json(&format!("mailshot --backend aws {args:?}"), &self.cli(args))
    }

    /// Ingests `lines` (one file) and returns the summary.
    fn ingest(&self, lines: &[String]) -> Value {
        let path = self
            .files
            .path()
            .join(format!("in-{}.ndjson", fastrand::u32(..)));
        common::write_lines(&path, lines);
        self.json(&["ingest", path.to_str().unwrap()])
    }

    /// `process`: drains the stream, reactors included.
    fn process(&self) -> Value {
        self.json(&["process"])
    }

    /// The inputs of `email`'s trace of one `detail-type`.
    fn traced(&self, email: &str, detail_type: &str) -> Vec<Value> {
        let trace = self.json(&["trace", email, "--json"]);
        trace["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["input"].clone())
            .filter(|input| input["detail-type"] == detail_type)
            .collect()
    }
}

#[test]
fn a_trigger_starts_exactly_one_execution_with_the_mapped_input_even_when_ingested_twice() {
    let world = World::new();
    let email = "jordan@example.net";
    let event = customer_created("ev-created-1", email);
    // Twice before processing: both reach the stream, the second is a duplicate there.
    assert_eq!(
        world.ingest(std::slice::from_ref(&event))["accepted"],
        json!(1)
    );
    assert_eq!(
        world.ingest(std::slice::from_ref(&event))["accepted"],
        json!(1)
    );
    let processed = world.process();
    assert_eq!(processed["duplicates"], json!(1), "{processed}");
    // The upsert and the start.
    assert_eq!(processed["outcomes"], json!(2), "{processed}");

    let executions = world.effects.executions(&world.onboarding);
    assert_eq!(executions.len(), 1, "{executions:?}");
    let (arn, status, input) = &executions[0];
    assert_eq!(status, "RUNNING");
    assert_eq!(input, &onboarding_input(email, "ev-created-1"));
    assert!(arn.contains(":execution:onboarding:onboarding-"), "{arn}");
    let started = world.traced(email, "sequence.started");
    assert_eq!(started.len(), 1, "{started:?}");
    assert_eq!(
        started[0]["detail"]["executionArn"].as_str(),
        Some(arn.as_str())
    );
    assert_eq!(started[0]["detail"]["sequenceId"], "onboarding");
    let subscriber = world.json(&["subscriber", email, "--json"]);
    assert_eq!(
        subscriber["executions"][0]["executionArn"],
        json!(arn),
        "{subscriber}"
    );

    // Redelivered after processing: a duplicate at ingest, nothing new anywhere.
    let again = world.ingest(std::slice::from_ref(&event));
    assert_eq!(
        (again["accepted"].clone(), again["duplicates"].clone()),
        (json!(0), json!(1))
    );
    assert_eq!(world.process()["outcomes"], json!(0));
    assert_eq!(world.effects.executions(&world.onboarding).len(), 1);
    assert!(world.effects.executions(&world.winback).is_empty());
    assert_eq!(world.traced(email, "sequence.started").len(), 1);
}

#[test]
fn a_fire_and_forget_event_sends_one_ses_message_with_headers_tags_and_body() {
    let world = World::new();
    let email = "ana@example.net";
    let event = order_shipped("ev-shipped-1", email, "ord_4242");
    world.ingest(std::slice::from_ref(&event));
    world.ingest(std::slice::from_ref(&event));
    world.process();

    let messages = world.moto.raw_messages_to(email);
    assert_eq!(messages.len(), 1, "{messages:?}");
    let (message_id, raw) = &messages[0];
    let path = world.files.path().join("sent.eml");
    std::fs::write(&path, raw).unwrap();
    let parsed = parse_emls(std::slice::from_ref(&path));
    let msg = &parsed[path.to_str().unwrap()];
    assert_order_shipped_email(msg, email);

    let sent = world.traced(email, "email.sent");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        sent[0]["detail"]["sesMessageId"].as_str(),
        Some(message_id.as_str())
    );
    assert_eq!(sent[0]["detail"]["templateKey"], "order/shipped");
    assert_eq!(sent[0]["detail"]["triggerEventId"], "ev-shipped-1");
    assert!(world.traced(email, "email.skipped").is_empty());

    // The send claim is in the log table, under the outcome's id.
    let claim =
        mailshot_engine::reactions::outcome_event_id("email", "ev-shipped-1", "order/shipped");
    assert_eq!(sent[0]["id"], json!(claim));

    // Replay rebuilds from the archive and sends nothing.
    let replayed = world.json(&["replay"]);
    assert_eq!(replayed["generation"], json!(2), "{replayed}");
    assert_eq!(world.process()["records"], json!(0));
    assert_eq!(world.moto.raw_messages_to(email).len(), 1);
    assert_eq!(world.traced(email, "email.sent").len(), 1);
}

#[test]
fn a_complaint_stops_the_subscribers_executions() {
    let world = World::new();
    let email = "kai@example.net";
    world.ingest(&[
        customer_created("ev-created-2", email),
        app_event(
            "ev-cart-2",
            "cart.abandoned",
            email,
            "Kai",
            json!({"itemCount": 1, "cartValue": 12.0, "currency": "USD", "cartUrl": "https://shop.example.com/c"}),
        ),
    ]);
    world.process();
    let onboarding = world.effects.executions(&world.onboarding);
    let winback = world.effects.executions(&world.winback);
    assert_eq!((onboarding.len(), winback.len()), (1, 1));
    assert_eq!(onboarding[0].1, "RUNNING");
    assert_eq!(winback[0].1, "RUNNING");

    world.ingest(&[complaint(email, "msg-complaint-2")]);
    world.process();
    let onboarding = world.effects.executions(&world.onboarding);
    let winback = world.effects.executions(&world.winback);
    assert_eq!(onboarding[0].1, "ABORTED");
    assert_eq!(winback[0].1, "ABORTED");
    let stopped = world.traced(email, "executions.stopped");
    assert_eq!(stopped.len(), 1, "{stopped:?}");
    assert_stopped_for_complaint(&stopped[0], &[&onboarding[0].0, &winback[0].0]);
    let subscriber = world.json(&["subscriber", email, "--json"]);
    assert_eq!(
        subscriber["suppressed"]["reason"], "complaint",
        "{subscriber}"
    );
}

#[test]
fn a_suppressed_subscriber_is_skipped_with_the_reason() {
    let world = World::new();
    let email = "lee@example.net";
    world.ingest(&[permanent_bounce(email, "msg-bounce-3")]);
    world.process();
    world.ingest(&[
        order_shipped("ev-shipped-3", email, "ord_7"),
        customer_created("ev-created-3", email),
    ]);
    world.process();
    assert!(world.moto.raw_messages_to(email).is_empty());
    assert!(world.effects.executions(&world.onboarding).is_empty());
    let skipped = world.traced(email, "email.skipped");
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    for s in &skipped {
        assert_eq!(s["detail"]["reason"], "suppressed: bounce");
        assert_eq!(s["detail"]["email"], email);
    }
    assert_eq!(skipped[0]["detail"]["triggerEventId"], "ev-shipped-3");
    assert_eq!(skipped[1]["detail"]["triggerEventId"], "ev-created-3");
    assert!(world.traced(email, "email.sent").is_empty());
    assert!(world.traced(email, "sequence.started").is_empty());
}

#[test]
fn without_a_config_process_reacts_to_nothing() {
    let world = World::new();
    let email = "mo@example.net";
    world.ingest(&[order_shipped("ev-shipped-4", email, "ord_8")]);
    let out = std::process::Command::new(common::mailshot_bin())
        .env("AWS_ENDPOINT_URL", &world.moto.endpoint)
        .current_dir(world.files.path())
        .args(["--backend", "aws", "--aws-prefix", &world.prefix, "process"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (summary["folded"].clone(), summary["outcomes"].clone()),
        (json!(1), json!(0))
    );
    assert!(world.moto.raw_messages_to(email).is_empty());
}

#[test]
fn an_unsubscribe_token_puts_the_unsubscription_and_process_stops_the_executions() {
    let world = World::new();
    let email = "noa@example.net";
    world.ingest(&[customer_created("ev-created-5", email)]);
    world.process();
    assert_eq!(world.effects.executions(&world.onboarding)[0].1, "RUNNING");

    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let now = mailshot_domain::Timestamp(now_ms);
    let forged = mailshot_reactors::token::sign(email, b"another secret", now);
    let refused = world.cli(&["unsubscribe", &forged]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("bad signature"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    let token = mailshot_reactors::token::sign(email, SECRET.as_bytes(), now);
    assert_eq!(
        world.json(&["unsubscribe", &token]),
        json!({"email": email, "unsubscribed": true})
    );
    // Put to the stream: effective once processed, where the reactors stop the execution.
    world.process();
    assert_eq!(world.effects.executions(&world.onboarding)[0].1, "ABORTED");
    let subscriber = world.json(&["subscriber", email, "--json"]);
    assert!(!subscriber["unsubscribed"].is_null(), "{subscriber}");
    let stopped = world.traced(email, "executions.stopped");
    assert_eq!(stopped.len(), 1, "{stopped:?}");
    assert_eq!(stopped[0]["detail"]["reason"], "unsubscribed");
    // The same token again: a duplicate, nothing new.
    world.json(&["unsubscribe", &token]);
    assert_eq!(world.process()["folded"], json!(0));
    assert_eq!(world.traced(email, "subscriber.unsubscribed").len(), 1);
}

/// The generated workload of the batch-size test: small enough for moto to process one record
/// per batch, dense (few subscribers, 30 % app events over 3 days) so that a subscriber's
/// records meet in one batch: deciding after the whole batch, 13 of 103 decisions of the
/// default batch size differed from one record per batch.
const BATCH_TEST_INPUTS: u64 = 150;
const BATCH_TEST_SEED: u64 = 2;
const BATCH_TEST_SUBSCRIBERS: u32 = 8;

impl World {
    /// `process` with `MAILSHOT_PROCESS_BATCH=batch` (the default when `None`).
    fn process_with_batch(&self, batch: Option<usize>) -> Value {
        let mut command = std::process::Command::new(common::mailshot_bin());
        command
            .env("AWS_ENDPOINT_URL", &self.moto.endpoint)
            .env(SECRET_VAR, SECRET)
            .env_remove("MAILSHOT_PROCESS_BATCH")
            .arg("--backend")
            .arg("aws")
            .arg("--aws-prefix")
            .arg(&self.prefix)
            .arg("--config")
            .arg(self.config.path().join("mailshot.toml"))
            .arg("process");
        if let Some(batch) = batch {
            command.env("MAILSHOT_PROCESS_BATCH", batch.to_string());
        }
        common::success_json(
            &format!("mailshot --backend aws process (batch {batch:?})"),
            &command.output().expect("run mailshot"),
        )
    }

    /// The reactor's decisions: every record of the stream put by the reactors (`source`
    /// `mailshot.reactor`) without its `time` (stamped at the wall clock) and SES message id
    /// (random), in event id order.
    fn decisions(&self) -> Vec<Value> {
        let config = self.effects.rt.block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .endpoint_url(&self.moto.endpoint)
                .load(),
        );
        let kinesis = aws_sdk_kinesis::Client::new(&config);
        let stream = mailshot_aws::Names::new(&self.prefix).stream();
        let rt = &self.effects.rt;
        let shards = rt
            .block_on(kinesis.list_shards().stream_name(&stream).send())
            .expect("ListShards");
        let mut decisions = Vec::new();
        for shard in shards.shards() {
            let mut iterator = rt
                .block_on(
                    kinesis
                        .get_shard_iterator()
                        .stream_name(&stream)
                        .shard_id(shard.shard_id())
                        .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
                        .send(),
                )
                .expect("GetShardIterator")
                .shard_iterator;
            while let Some(it) = iterator {
                let page = rt
                    .block_on(kinesis.get_records().shard_iterator(it).send())
                    .expect("GetRecords");
                for record in page.records() {
                    let mut input: Value = serde_json::from_slice(record.data().as_ref()).unwrap();
                    // mailshot's own events travel signed: the event is inside the wrapper.
                    if input.get("mailshotSigned").is_some() {
                        input = input["event"].take();
                    }
                    if input["source"] == "mailshot.reactor" {
                        input.as_object_mut().unwrap().remove("time");
                        if let Some(detail) = input["detail"].as_object_mut() {
                            detail.remove("sesMessageId");
                        }
                        decisions.push(input);
                    }
                }
                if page.records().is_empty() && page.millis_behind_latest() == Some(0) {
                    break;
                }
                iterator = page.next_shard_iterator;
            }
        }
        decisions.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        decisions
    }
}

/// Puts the generated workload to a new deployment and processes it with GetRecords batches
/// of `batch` (the default when `None`); returns the reactor's decisions.
fn decisions_with_batch(lines: &[String], batch: Option<usize>) -> Vec<Value> {
    let world = World::new();
    world.ingest(lines);
    world.process_with_batch(batch);
    world.decisions()
}

#[test]
fn reactor_decisions_are_the_same_whatever_the_kinesis_batch_size() {
    // A generated workload where a record and a later one of the same subscriber (a bounce
    // after a first-sale email, …) meet in one batch: the first is decided on before the later,
    // and a stop knows the executions started by earlier batches whose outcomes are not folded.
    let config = mailshot_workload::WorkloadConfig {
        subscribers: BATCH_TEST_SUBSCRIBERS,
        app_event_ppm: 300_000,
        days: 3,
        ..mailshot_workload::WorkloadConfig::new(BATCH_TEST_INPUTS, BATCH_TEST_SEED)
    };
    let lines: Vec<String> = mailshot_workload::Generator::new(config).collect();
    let one_by_one = decisions_with_batch(&lines, Some(1));
    let kinds = |d: &[Value]| {
        let mut kinds = std::collections::BTreeMap::<String, u64>::new();
        for v in d {
            *kinds
                .entry(v["detail-type"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
        kinds
    };
    let expected = [
        ("email.sent", 13),
        ("email.skipped", 10),
        ("executions.stopped", 2),
        ("sequence.started", 28),
        ("subscriber.upserted", 51),
    ];
    assert_eq!(
        kinds(&one_by_one),
        expected.map(|(k, n)| (k.to_string(), n)).into()
    );
    for batch in [Some(7), None] {
        let decided = decisions_with_batch(&lines, batch);
        let differ: Vec<(&Value, &Value)> = one_by_one
            .iter()
            .zip(&decided)
            .filter(|(a, b)| a != b)
            .collect();
        assert!(
            differ.is_empty() && one_by_one.len() == decided.len(),
            "batch {batch:?}: {} of {} decisions differ from batch 1 ({} decisions), first: {:#?}",
            differ.len(),
            decided.len(),
            one_by_one.len(),
            differ.first()
        );
    }
}
