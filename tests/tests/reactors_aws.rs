//! Reactors with real AWS effects (SESv2, Step Functions) against the moto server that
//! scripts/test.sh starts: executions started once per event with the mapped input, one SES
//! message per fire-and-forget event with its headers, tags and body, executions stopped on a
//! complaint, suppressed subscribers skipped. Each test has its own moto server (see
//! `moto_support`: reading sent messages back needs moto's data.json, too slow on the shared
//! server). Outside scripts/test.sh these tests fail (they never skip).

mod common;
mod moto_support;
mod reactors_support;

use std::path::{Path, PathBuf};

use mailshot_aws::effects::AwsEffects;
use mailshot_embedded::Writer;
use mailshot_embedded::reactor_runner::ReactorRunner;
use mailshot_engine::config::load_with_secret;
use moto_support::{Effects, MotoServer};
use reactors_support::*;
use serde_json::{Value, json};

/// A name unique to this test run and `tag`.
fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{tag}-{}-{}", std::process::id(), nanos % 1_000_000_000_000)
}

/// A test's world: state machines, a verified sender, a config pointing at them.
struct World {
    aws: Effects,
    onboarding: String,
    winback: String,
    config: tempfile::TempDir,
    data: tempfile::TempDir,
    /// Dropped last: the server outlives the clients.
    moto: MotoServer,
}

impl World {
    fn new(tag: &str) -> World {
        let moto = MotoServer::start();
        let aws = moto.clients();
        let onboarding = aws.create_state_machine(&unique(&format!("{tag}-onb")));
        let winback = aws.create_state_machine(&unique(&format!("{tag}-win")));
        let from = format!("{}@example.com", unique(&format!("shop-{tag}")));
        aws.create_identity(&from);
        let config = aws_config_dir(&onboarding, &winback, &from);
        World {
            aws,
            onboarding,
            winback,
            config,
            data: tempfile::tempdir().unwrap(),
            moto,
        }
    }

    fn config_file(&self) -> PathBuf {
        self.config.path().join("mailshot.toml")
    }

    /// A writer of `data` with AWS effects attached.
    fn writer(&self, data: &Path) -> Writer {
        let reactor = load_with_secret(&self.config_file(), |_| Some(SECRET.to_string())).unwrap();
        let effects = AwsEffects::connect(Some(&self.moto.endpoint)).expect("AWS clients");
        let mut writer = Writer::open(data).unwrap();
        writer
            .attach_reactors(ReactorRunner::new(reactor, Box::new(effects)))
            .unwrap();
        writer
    }

    fn ingest(&self, lines: &[String]) -> mailshot_embedded::IngestSummary {
        let mut writer = self.writer(self.data.path());
        let (summary, rejections) = common::ingest_lines(&mut writer, lines);
        assert!(rejections.is_empty(), "{rejections:?}");
        summary
    }

    fn log(&self) -> Vec<Value> {
        log_inputs(self.data.path())
    }
}

#[test]
fn a_trigger_starts_exactly_one_execution_with_the_mapped_input_even_when_redelivered() {
    let world = World::new("rx-start");
    let email = format!("{}@example.net", unique("jordan"));
    let id = unique("ev-created");
    let event = customer_created(&id, &email);
    assert_eq!(world.ingest(std::slice::from_ref(&event)).accepted, 1);

    let executions = world.aws.executions(&world.onboarding);
    assert_eq!(executions.len(), 1, "{executions:?}");
    let (arn, status, input) = &executions[0];
    assert_eq!(status, "RUNNING");
    assert_eq!(input, &onboarding_input(&email, &id));
    let started = of_type(&world.log(), "sequence.started");
    assert_eq!(started.len(), 1);
    assert_eq!(
        started[0]["detail"]["executionArn"].as_str(),
        Some(arn.as_str())
    );
    assert_eq!(started[0]["detail"]["sequenceId"], "onboarding");

    // Redelivered: a duplicate at ingest, nothing started.
    let summary = world.ingest(&[event.clone(), event.clone()]);
    assert_eq!((summary.accepted, summary.duplicates), (0, 2));
    assert_eq!(world.aws.executions(&world.onboarding).len(), 1);

    // Even a second data dir reacting to the same event (as after losing the checkpoint)
    // cannot start a second execution: the name is derived from the event.
    let other = tempfile::tempdir().unwrap();
    let mut writer = world.writer(other.path());
    common::ingest_lines(&mut writer, std::slice::from_ref(&event));
    drop(writer);
    let executions = world.aws.executions(&world.onboarding);
    assert_eq!(executions.len(), 1, "{executions:?}");
    let again = of_type(&log_inputs(other.path()), "sequence.started");
    assert_eq!(
        again[0]["detail"]["executionArn"].as_str(),
        Some(arn.as_str())
    );
    assert!(world.aws.executions(&world.winback).is_empty());
}

#[test]
fn a_fire_and_forget_event_sends_one_ses_message_with_headers_tags_and_body() {
    let world = World::new("rx-send");
    let email = format!("{}@example.net", unique("ana"));
    let event = order_shipped(&unique("ev-shipped"), &email, "ord_4242");
    world.ingest(std::slice::from_ref(&event));

    let messages = world.moto.raw_messages_to(&email);
    assert_eq!(messages.len(), 1, "{messages:?}");
    let (message_id, raw) = &messages[0];
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("sent.eml");
    std::fs::write(&path, raw).unwrap();
    let parsed = parse_emls(std::slice::from_ref(&path));
    let msg = &parsed[path.to_str().unwrap()];
    assert_order_shipped_email(msg, &email);

    let sent = of_type(&world.log(), "email.sent");
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0]["detail"]["sesMessageId"].as_str(),
        Some(message_id.as_str())
    );
    assert_eq!(sent[0]["detail"]["templateKey"], "order/shipped");

    // Redelivered: still one message.
    world.ingest(std::slice::from_ref(&event));
    assert_eq!(world.moto.raw_messages_to(&email).len(), 1);
}

#[test]
fn a_complaint_stops_the_subscribers_executions() {
    let world = World::new("rx-stop");
    let email = format!("{}@example.net", unique("kai"));
    world.ingest(&[
        customer_created(&unique("ev-created"), &email),
        app_event(
            &unique("ev-cart"),
            "cart.abandoned",
            &email,
            "Kai",
            json!({"itemCount": 1, "cartValue": 12.0, "currency": "USD", "cartUrl": "https://shop.example.com/c"}),
        ),
    ]);
    let onboarding = world.aws.executions(&world.onboarding);
    let winback = world.aws.executions(&world.winback);
    assert_eq!((onboarding.len(), winback.len()), (1, 1));
    assert_eq!(onboarding[0].1, "RUNNING");
    assert_eq!(winback[0].1, "RUNNING");

    world.ingest(&[complaint(&email, &unique("msg"))]);
    let onboarding = world.aws.executions(&world.onboarding);
    let winback = world.aws.executions(&world.winback);
    assert_eq!(onboarding[0].1, "ABORTED");
    assert_eq!(winback[0].1, "ABORTED");
    let stopped = of_type(&world.log(), "executions.stopped");
    assert_eq!(stopped.len(), 1);
    assert_stopped_for_complaint(&stopped[0], &[&onboarding[0].0, &winback[0].0]);
}

#[test]
fn a_suppressed_subscriber_is_skipped_with_the_reason() {
    let world = World::new("rx-skip");
    let email = format!("{}@example.net", unique("lee"));
    world.ingest(&[permanent_bounce(&email, &unique("msg"))]);
    world.ingest(&[
        order_shipped(&unique("ev-shipped"), &email, "ord_7"),
        customer_created(&unique("ev-created"), &email),
    ]);
    assert!(world.moto.raw_messages_to(&email).is_empty());
    assert!(world.aws.executions(&world.onboarding).is_empty());
    let log = world.log();
    let skipped = of_type(&log, "email.skipped");
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    for s in &skipped {
        assert_eq!(s["detail"]["reason"], "suppressed: bounce");
        assert_eq!(s["detail"]["email"], email.as_str());
    }
    assert!(of_type(&log, "email.sent").is_empty());
    assert!(of_type(&log, "sequence.started").is_empty());
}

#[test]
fn starting_an_execution_of_a_missing_state_machine_is_refused_in_one_short_line() {
    let moto = MotoServer::start();
    let mut effects = AwsEffects::connect(Some(&moto.endpoint)).expect("AWS clients");
    let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:nowhere";
    let start = mailshot_reactors::StartExecution {
        state_machine_arn: arn.to_string(),
        name: "ev-1-onboarding".to_string(),
        input: json!({"email": "a@example.com"}),
        sequence_id: "onboarding".to_string(),
        email: "a@example.com".to_string(),
        trigger_event_id: "ev-1".to_string(),
    };
    use mailshot_engine::effects::{EffectError, Effects as _};
    match effects.start_execution(&start) {
        Err(EffectError::Rejected(reason)) => assert_eq!(
            reason,
            format!(
                "stepfunctions StartExecution: StateMachineDoesNotExist: State Machine Does Not Exist: '{arn}'"
            )
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
}
