//! Reactors with real AWS effects (SESv2, Step Functions) against the moto server that
//! scripts/test.sh starts: executions started once per event with the mapped input, one SES
//! message per fire-and-forget event with its headers, tags and body, executions stopped on a
//! complaint, suppressed subscribers skipped. The server is shared with other tests running in
//! parallel: every name here is unique to the test, and assertions filter by those names.
//! Without `AWS_ENDPOINT_URL` these tests fail (they never skip).

mod common;
mod reactors_support;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use mailshot_infra::embedded::Writer;
use mailshot_infra::reactors::{AwsEffects, ReactorRunner, load_with_secret};
use reactors_support::*;
use serde_json::{Value, json};

fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!(
            "AWS_ENDPOINT_URL is unset: these tests run against a moto server; run them through \
             scripts/test.sh, or start `.venv/bin/moto_server -H 127.0.0.1 -p 5056` and export \
             AWS_ENDPOINT_URL=http://127.0.0.1:5056 AWS_ACCESS_KEY_ID=test \
             AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1"
        )
    })
}

/// A name unique to this test run and `tag`.
fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{tag}-{}-{}", std::process::id(), nanos % 1_000_000_000_000)
}

struct Aws {
    rt: tokio::runtime::Runtime,
    sfn: aws_sdk_sfn::Client,
    ses: aws_sdk_sesv2::Client,
}

impl Aws {
    fn new() -> Aws {
        endpoint();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let config = rt.block_on(aws_config::load_defaults(
            aws_config::BehaviorVersion::latest(),
        ));
        Aws {
            sfn: aws_sdk_sfn::Client::new(&config),
            ses: aws_sdk_sesv2::Client::new(&config),
            rt,
        }
    }

    fn create_state_machine(&self, name: &str) -> String {
        let definition = json!({
            "StartAt": "Wait",
            "States": {"Wait": {"Type": "Wait", "Seconds": 86400, "End": true}},
        });
        let out = self
            .rt
            .block_on(
                self.sfn
                    .create_state_machine()
                    .name(name)
                    .definition(definition.to_string())
                    .role_arn("arn:aws:iam::123456789012:role/mailshot-reactor-tests")
                    .send(),
            )
            .expect("CreateStateMachine");
        out.state_machine_arn().to_string()
    }

    fn create_identity(&self, address: &str) {
        self.rt
            .block_on(
                self.ses
                    .create_email_identity()
                    .email_identity(address)
                    .send(),
            )
            .expect("CreateEmailIdentity");
    }

    /// `(execution ARN, status, input)` of every execution of a state machine.
    fn executions(&self, state_machine_arn: &str) -> Vec<(String, String, Value)> {
        let list = self
            .rt
            .block_on(
                self.sfn
                    .list_executions()
                    .state_machine_arn(state_machine_arn)
                    .send(),
            )
            .expect("ListExecutions");
        list.executions()
            .iter()
            .map(|e| {
                let d = self
                    .rt
                    .block_on(
                        self.sfn
                            .describe_execution()
                            .execution_arn(e.execution_arn())
                            .send(),
                    )
                    .expect("DescribeExecution");
                (
                    d.execution_arn().to_string(),
                    d.status().as_str().to_string(),
                    serde_json::from_str(d.input().unwrap_or("null")).unwrap(),
                )
            })
            .collect()
    }
}

/// `GET /moto-api/data.json`.
fn moto_data() -> Value {
    let url = endpoint();
    let host = url
        .strip_prefix("http://")
        .expect("AWS_ENDPOINT_URL is http://host:port")
        .trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "GET /moto-api/data.json HTTP/1.0\r\nHost: {host}\r\nAccept: application/json\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let at = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP response");
    serde_json::from_slice(&response[at + 4..]).expect("data.json is JSON")
}

/// SES raw messages sent to `recipient`: `(message id, raw MIME)`.
fn raw_messages_to(recipient: &str) -> Vec<(String, String)> {
    let data = moto_data();
    let mut found = Vec::new();
    let mut visit = |m: &Value| {
        let to_us = m["destinations"].as_array().is_some_and(|d| {
            d.iter()
                .any(|x| x.as_str().is_some_and(|x| x.contains(recipient)))
        });
        if to_us {
            found.push((
                m["id"].as_str().unwrap_or_default().to_string(),
                m["raw_data"].as_str().unwrap_or_default().to_string(),
            ));
        }
    };
    // data.json: {"ses": {"RawMessage": [...]}} (per account/region in some versions).
    fn walk(v: &Value, visit: &mut dyn FnMut(&Value)) {
        match v {
            Value::Object(map) => {
                if map.contains_key("raw_data") {
                    visit(v);
                } else {
                    map.values().for_each(|x| walk(x, visit));
                }
            }
            Value::Array(items) => items.iter().for_each(|x| walk(x, visit)),
            _ => {}
        }
    }
    walk(&data["ses"]["RawMessage"], &mut visit);
    found
}

/// A test's world: state machines, a verified sender, a config pointing at them.
struct World {
    aws: Aws,
    onboarding: String,
    winback: String,
    config: tempfile::TempDir,
    data: tempfile::TempDir,
}

impl World {
    fn new(tag: &str) -> World {
        let aws = Aws::new();
        let onboarding = aws.create_state_machine(&unique(&format!("{tag}-onb")));
        let winback = aws.create_state_machine(&unique(&format!("{tag}-win")));
        let from = format!("{}@example.com", unique(&format!("shop-{tag}")));
        aws.create_identity(&from);
        let (o, w) = (onboarding.clone(), winback.clone());
        let config = config_dir(move |c| {
            c.replace(
                "arn:aws:states:us-east-1:111122223333:stateMachine:onboarding",
                &o,
            )
            .replace(
                "arn:aws:states:us-east-1:111122223333:stateMachine:winback",
                &w,
            )
            .replace("hello@example.com", &from)
        });
        World {
            aws,
            onboarding,
            winback,
            config,
            data: tempfile::tempdir().unwrap(),
        }
    }

    fn config_file(&self) -> PathBuf {
        self.config.path().join("mailshot.toml")
    }

    /// A writer of `data` with AWS effects attached.
    fn writer(&self, data: &Path) -> Writer {
        let reactor = load_with_secret(&self.config_file(), |_| Some(SECRET.to_string())).unwrap();
        let effects = AwsEffects::from_env().expect("AWS clients");
        let mut writer = Writer::open(data).unwrap();
        writer
            .attach_reactors(ReactorRunner::new(reactor, Box::new(effects)))
            .unwrap();
        writer
    }

    fn ingest(&self, lines: &[String]) -> mailshot_infra::embedded::IngestSummary {
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
    assert_eq!(
        input,
        &json!({
            "email": email,
            "firstName": "Jordan",
            "attributes": {"customerId": "cus_1", "email": email, "firstName": "Jordan", "marketingOptIn": true},
            "eventId": id,
        })
    );
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

    let messages = raw_messages_to(&email);
    assert_eq!(messages.len(), 1, "{messages:?}");
    let (message_id, raw) = &messages[0];
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("sent.eml");
    std::fs::write(&path, raw).unwrap();
    let parsed = parse_emls(std::slice::from_ref(&path));
    let msg = &parsed[path.to_str().unwrap()];
    assert_eq!(msg["defects"], json!([]));
    let h = &msg["headers"];
    assert_eq!(h["To"], email.as_str());
    assert_eq!(h["Subject"], "Jordan, your order ord_4242 is on its way");
    assert_eq!(h["X-Template-Key"], "order/shipped");
    assert_eq!(h["X-Sequence-Id"], "fire_and_forget");
    assert_eq!(h["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click");
    assert!(
        h["List-Unsubscribe"]
            .as_str()
            .unwrap()
            .starts_with("<https://example.com/unsubscribe?token="),
        "{h}"
    );
    assert_eq!(
        h["X-SES-MESSAGE-TAGS"],
        "templateKey=order--shipped, sequenceId=fire_and_forget"
    );
    let body = msg["body"].as_str().unwrap();
    assert!(body.contains("<strong>ord_4242</strong>"), "{body}");
    assert!(body.contains("Good news, Jordan!"), "{body}");

    let sent = of_type(&world.log(), "email.sent");
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0]["detail"]["sesMessageId"].as_str(),
        Some(message_id.as_str())
    );
    assert_eq!(sent[0]["detail"]["templateKey"], "order/shipped");

    // Redelivered: still one message.
    world.ingest(std::slice::from_ref(&event));
    assert_eq!(raw_messages_to(&email).len(), 1);
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
    let mut arns: Vec<&str> = stopped[0]["detail"]["executionArns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    arns.sort_unstable();
    let mut expected = vec![onboarding[0].0.as_str(), winback[0].0.as_str()];
    expected.sort_unstable();
    assert_eq!(arns, expected);
    assert_eq!(stopped[0]["detail"]["reason"], "suppressed: complaint");
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
    assert!(raw_messages_to(&email).is_empty());
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
