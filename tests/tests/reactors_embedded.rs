//! Reactors on the embedded runtime, through the CLI: `.eml` files in the outbox parsed back by
//! Python's `email` package, sequence starts recorded, at most one send per (event, template),
//! suppression and unsubscribes, replay that reacts to nothing, every config error surfaced,
//! and unsubscribe tokens.

mod common;
mod reactors_support;

use std::path::Path;
use std::process::Output;

use common::{cli, write_lines};
use mailshot_domain::Timestamp;
use mailshot_embedded::Writer;
use mailshot_embedded::outbox::OutboxEffects;
use mailshot_embedded::reactor_runner::ReactorRunner;
use mailshot_engine::config::load_with_secret;
use mailshot_reactors::token;
use reactors_support::*;
use serde_json::{Value, json};

const JORDAN: &str = "jordan.lee@example.net";
/// The generated workload of the batch-size test: small enough for 1,000 one-line batches.
const INPUTS: u64 = 1000;
const SEED: u64 = 2;

/// Runs `mailshot --data DATA --config CONFIG args…` with the secret variable set.
fn run(data: &Path, config: &Path, args: &[&str]) -> Output {
    cli(data)
        .arg("--config")
        .arg(config)
        .args(args)
        .env(SECRET_VAR, SECRET)
        .output()
        .expect("run mailshot")
}

fn ok_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "mailshot failed ({:?}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Ingests `lines` through the CLI with the config; returns the summary.
fn ingest(data: &Path, config: &Path, lines: &[String]) -> Value {
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("in.ndjson");
    write_lines(&path, lines);
    ok_json(&run(data, config, &["ingest", path.to_str().unwrap()]))
}

fn subscriber(data: &Path, config: &Path, email: &str) -> Value {
    ok_json(&run(data, config, &["subscriber", email, "--json"]))
}

fn triggers() -> Vec<String> {
    vec![
        customer_created("ev-created-1", JORDAN),
        order_shipped("ev-shipped-1", JORDAN, "ord_1001"),
        app_event(
            "ev-first-sale-1",
            "customer.first_sale",
            "Ana Souza <Ana.Souza@Example.com>",
            "Ana",
            json!({"orderId": "ord_2002", "orderTotal": 42.5, "currency": "EUR", "itemCount": 1}),
        ),
        app_event(
            "ev-cart-1",
            "cart.abandoned",
            "ana.souza@example.com",
            "Ana",
            json!({"itemCount": 2, "cartValue": 19.9, "currency": "EUR", "cartUrl": "https://shop.example.com/cart"}),
        ),
        // An empty cart does not match the winback pattern: nothing happens.
        app_event(
            "ev-cart-empty",
            "cart.abandoned",
            JORDAN,
            "Jordan",
            json!({"itemCount": 0}),
        ),
    ]
}

#[test]
fn app_events_fill_the_outbox_with_parseable_emails_and_record_sequence_starts() {
    let config = config_dir(|c| c);
    let config_file = config.path().join("mailshot.toml");
    let data = tempfile::tempdir().unwrap();
    let summary = ingest(data.path(), &config_file, &triggers());
    assert_eq!(
        summary,
        json!({"inputs": 5, "accepted": 5, "duplicates": 0, "rejected": 0})
    );

    let files = outbox(data.path());
    assert_eq!(files.len(), 2, "{files:?}");
    let parsed = parse_emls(&files);
    let by_template = |key: &str| -> (String, Value) {
        let (path, msg) = parsed
            .as_object()
            .unwrap()
            .iter()
            .find(|(_, m)| m["headers"]["X-Template-Key"] == key)
            .unwrap_or_else(|| panic!("no email of {key}: {parsed}"));
        (path.clone(), msg.clone())
    };

    let (path, shipped) = by_template("order/shipped");
    assert_eq!(shipped["defects"], json!([]));
    let h = &shipped["headers"];
    assert_eq!(h["From"], "Example Shop <hello@example.com>");
    assert_eq!(h["To"], JORDAN);
    assert_eq!(h["Reply-To"], "support@example.com");
    assert_eq!(h["Subject"], "Jordan, your order ord_1001 is on its way");
    assert_eq!(h["Date"], "Mon, 03 Jun 2024 14:01:58 +0000");
    assert_eq!(h["X-Sequence-Id"], "fire_and_forget");
    assert_eq!(h["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click");
    let message_id = h["Message-ID"].as_str().unwrap();
    assert_eq!(
        Path::new(&path).file_name().unwrap().to_str().unwrap(),
        format!("{}.eml", message_id.trim_matches(['<', '>']))
    );
    let unsubscribe = h["List-Unsubscribe"].as_str().unwrap();
    let url = unsubscribe
        .strip_prefix("<https://example.com/unsubscribe?token=")
        .and_then(|u| u.strip_suffix('>'))
        .unwrap_or_else(|| panic!("List-Unsubscribe {unsubscribe}"));
    assert_eq!(
        token::verify(url, SECRET.as_bytes(), Timestamp(now_ms())),
        Ok(JORDAN.to_string())
    );
    assert_eq!(shipped["content_type"], "text/html");
    assert_eq!(shipped["charset"], "utf-8");
    let body = shipped["body"].as_str().unwrap();
    assert!(body.contains("Good news, Jordan!"), "{body}");
    assert!(body.contains("<strong>ord_1001</strong>"), "{body}");
    assert!(body.contains("with UPS."), "{body}");
    assert!(body.contains("<code>1Z999AA10123456784</code>"), "{body}");
    assert!(
        body.contains(&format!(
            "<a href=\"https://example.com/unsubscribe?token={url}\">"
        )),
        "{body}"
    );
    assert!(body.contains("&copy; 2024 Example Shop"), "{body}");

    let (_, thanks) = by_template("thanks/first-sale");
    let h = &thanks["headers"];
    assert_eq!(h["To"], "ana.souza@example.com");
    assert_eq!(h["Subject"], "Thank you for your first order, Ana!");
    let body = thanks["body"].as_str().unwrap();
    assert!(
        body.contains("Your first order <strong>ord_2002</strong>"),
        "{body}"
    );
    assert!(body.contains("42.5 EUR"), "{body}");

    // The log: email.sent with the outbox message id, sequence.started with a local ARN,
    // upserts; nothing for the empty cart.
    let inputs = log_inputs(data.path());
    let sent = of_type(&inputs, "email.sent");
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().any(|s| s["detail"]["sesMessageId"]
        == message_id.trim_matches(['<', '>'])
        && s["detail"]["triggerEventId"] == "ev-shipped-1"
        && s["detail"]["templateKey"] == "order/shipped"
        && s["source"] == "mailshot.reactor"));
    let started = of_type(&inputs, "sequence.started");
    assert_eq!(started.len(), 2, "{started:?}");
    let onboarding = started
        .iter()
        .find(|s| s["detail"]["sequenceId"] == "onboarding")
        .unwrap();
    let arn = onboarding["detail"]["executionArn"].as_str().unwrap();
    assert!(
        arn.starts_with("arn:aws:states:local:000000000000:execution:onboarding:onboarding-"),
        "{arn}"
    );
    assert_eq!(onboarding["detail"]["email"], JORDAN);
    assert!(
        started
            .iter()
            .any(|s| s["detail"]["sequenceId"] == "winback"
                && s["detail"]["email"] == "ana.souza@example.com")
    );
    assert!(
        !inputs
            .iter()
            .any(|i| i["detail"]["triggerEventId"] == "ev-cart-empty")
    );
    assert_eq!(of_type(&inputs, "subscriber.upserted").len(), 4);

    let jordan = subscriber(data.path(), &config_file, JORDAN);
    assert_eq!(
        jordan["executions"][0]["executionArn"].as_str(),
        Some(arn),
        "{jordan}"
    );
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn a_redelivered_event_sends_nothing_more() {
    let config = config_dir(|c| c);
    let config_file = config.path().join("mailshot.toml");
    let data = tempfile::tempdir().unwrap();
    ingest(data.path(), &config_file, &triggers());
    let before: Vec<(std::path::PathBuf, Vec<u8>)> = outbox(data.path())
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    let records = log_inputs(data.path()).len();
    // The same events again, in another file and within one batch twice.
    let mut again = triggers();
    again.extend(triggers());
    let summary = ingest(data.path(), &config_file, &again);
    assert_eq!(
        summary,
        json!({"inputs": 10, "accepted": 0, "duplicates": 10, "rejected": 0})
    );
    let after: Vec<(std::path::PathBuf, Vec<u8>)> = outbox(data.path())
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    assert_eq!(before, after);
    assert_eq!(log_inputs(data.path()).len(), records);
}

#[test]
fn replay_and_verify_of_a_log_full_of_triggers_send_and_start_nothing() {
    let config = config_dir(|c| c);
    let config_file = config.path().join("mailshot.toml");

    // A log of triggers written without reactors: replay with the config reacts to nothing.
    let quiet = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("in.ndjson");
    write_lines(&path, &triggers());
    let out = cli(quiet.path())
        .args(["ingest", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let records = log_inputs(quiet.path()).len();
    for args in [
        &["replay"][..],
        &["verify"],
        &["replay", "--projection", "subscribers"],
    ] {
        let out = run(quiet.path(), &config_file, args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(outbox(quiet.path()).is_empty());
    assert!(!quiet.path().join("outbox").exists());
    assert_eq!(log_inputs(quiet.path()).len(), records);

    // A live data dir whose triggers were reacted to: replay repeats none of it.
    let data = tempfile::tempdir().unwrap();
    ingest(data.path(), &config_file, &triggers());
    let emails = outbox(data.path());
    assert_eq!(emails.len(), 2);
    let inputs = log_inputs(data.path());
    for args in [&["replay"][..], &["verify"]] {
        let out = run(data.path(), &config_file, args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(outbox(data.path()), emails);
    let after = log_inputs(data.path());
    assert_eq!(after, inputs);
    assert_eq!(of_type(&after, "sequence.started").len(), 2);
}

#[test]
fn reactors_resume_from_their_checkpoint_after_a_crash_between_commit_and_effects() {
    let config = config_dir(|c| c);
    let reactor = || {
        load_with_secret(&config.path().join("mailshot.toml"), |_| {
            Some(SECRET.to_string())
        })
        .unwrap()
    };
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("in.ndjson");
    write_lines(&path, &triggers());
    {
        let mut writer = Writer::open(data.path()).unwrap();
        let runner = ReactorRunner::new(reactor(), Box::new(OutboxEffects::new(data.path())));
        writer.attach_reactors(runner).unwrap();
        // As if the process died after the batch committed, before any effect.
        writer.detach_reactors();
        common::ingest_lines(&mut writer, &triggers());
    }
    assert!(outbox(data.path()).is_empty());
    let mut writer = Writer::open(data.path()).unwrap();
    let runner = ReactorRunner::new(reactor(), Box::new(OutboxEffects::new(data.path())));
    writer.attach_reactors(runner).unwrap();
    let stats = writer.reactor_stats().unwrap();
    assert_eq!((stats.emails_sent, stats.sequences_started), (2, 2));
    drop(writer);
    assert_eq!(outbox(data.path()).len(), 2);

    // Attaching again finds nothing left to do.
    let mut writer = Writer::open(data.path()).unwrap();
    let runner = ReactorRunner::new(reactor(), Box::new(OutboxEffects::new(data.path())));
    writer.attach_reactors(runner).unwrap();
    assert_eq!(writer.reactor_stats().unwrap().emails_sent, 0);
    drop(writer);
    let inputs = log_inputs(data.path());
    assert_eq!(of_type(&inputs, "email.sent").len(), 2);
    assert_eq!(of_type(&inputs, "sequence.started").len(), 2);
}

#[test]
fn a_complaint_stops_the_subscribers_executions_and_later_sends_are_skipped() {
    let config = config_dir(|c| c);
    let config_file = config.path().join("mailshot.toml");
    let data = tempfile::tempdir().unwrap();
    ingest(
        data.path(),
        &config_file,
        &[customer_created("ev-c1", JORDAN)],
    );
    let jordan = subscriber(data.path(), &config_file, JORDAN);
    assert_eq!(jordan["executions"][0]["status"], "RUNNING", "{jordan}");
    let arn = jordan["executions"][0]["executionArn"].clone();

    ingest(
        data.path(),
        &config_file,
        &[complaint(JORDAN, "msg-complained-1")],
    );
    let jordan = subscriber(data.path(), &config_file, JORDAN);
    assert_eq!(jordan["executions"][0]["status"], "STOPPED", "{jordan}");
    let inputs = log_inputs(data.path());
    let stopped = of_type(&inputs, "executions.stopped");
    assert_eq!(stopped.len(), 1);
    assert_eq!(stopped[0]["detail"]["executionArns"], json!([arn]));
    assert_eq!(stopped[0]["detail"]["reason"], "suppressed: complaint");

    // Suppressed: neither an email nor a sequence, each skipped with the reason.
    ingest(
        data.path(),
        &config_file,
        &[
            order_shipped("ev-s2", JORDAN, "ord_3003"),
            customer_created("ev-c2", JORDAN),
        ],
    );
    assert!(outbox(data.path()).is_empty());
    let inputs = log_inputs(data.path());
    let skipped = of_type(&inputs, "email.skipped");
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    for s in &skipped {
        assert_eq!(s["detail"]["reason"], "suppressed: complaint");
        assert_eq!(s["detail"]["email"], JORDAN);
    }
    assert!(
        skipped
            .iter()
            .any(|s| s["detail"]["templateKey"] == "order/shipped"
                && s["detail"]["triggerEventId"] == "ev-s2")
    );
    assert_eq!(of_type(&inputs, "sequence.started").len(), 1);

    // A permanent bounce of another subscriber, who has nothing running: nothing to stop.
    ingest(
        data.path(),
        &config_file,
        &[permanent_bounce("x@example.org", "msg-b1")],
    );
    assert_eq!(
        of_type(&log_inputs(data.path()), "executions.stopped").len(),
        1
    );
}

fn cli_error(data: &Path, config: &Path, env: Option<(&str, &str)>, args: &[&str]) -> String {
    let mut c = cli(data);
    c.arg("--config")
        .arg(config)
        .args(args)
        .env_remove(SECRET_VAR);
    if let Some((k, v)) = env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{args:?} succeeded: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line: {stderr}"
    );
    stderr
}

/// One bad configuration: how the example config is edited, the signing secret's variable
/// (if set), and what the one-line error must name.
struct BadConfig {
    what: &'static str,
    edit: fn(String) -> String,
    secret: Option<(&'static str, &'static str)>,
    names: &'static [&'static str],
}

#[test]
fn every_config_error_is_one_line_naming_the_key() {
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let input = files.path().join("in.ndjson");
    write_lines(&input, &triggers());
    let ingest = ["ingest", input.to_str().unwrap()];
    let secret = Some((SECRET_VAR, SECRET));
    let cases = [
        BadConfig {
            what: "an unknown key (a typo), named with its path",
            edit: |c| c.replace("replyTo =", "replyToo ="),
            secret,
            names: &["sender.replyToo: unknown key"],
        },
        BadConfig {
            what: "a missing required key",
            edit: |c| c.replace("detailType = \"order.shipped\"", ""),
            secret,
            names: &["events[0].detailType: missing"],
        },
        BadConfig {
            what: "an invalid value",
            edit: |c| {
                c.replace(
                    "arn:aws:states:us-east-1:111122223333:stateMachine:winback",
                    "winback",
                )
            },
            secret,
            names: &["sequences[1].stateMachineArn: not an ARN"],
        },
        BadConfig {
            what: "invalid TOML",
            edit: |c| format!("{c}\n[sender\n"),
            secret,
            names: &["invalid TOML"],
        },
        BadConfig {
            what: "the secret's variable unset",
            edit: |c| c,
            secret: None,
            names: &["sender.signingSecretEnv", SECRET_VAR, "not set"],
        },
        BadConfig {
            what: "the secret's variable empty (counts as unset)",
            edit: |c| c,
            secret: Some((SECRET_VAR, "")),
            names: &[SECRET_VAR],
        },
        BadConfig {
            what: "another variable name, as configured",
            edit: |c| c.replace(SECRET_VAR, "SHOP_SIGNING_KEY"),
            secret,
            names: &["SHOP_SIGNING_KEY"],
        },
        BadConfig {
            what: "a templates dir that does not exist (relative to the config file)",
            edit: |c| c.replace("dir = \"templates\"", "dir = \"no-such-dir\""),
            secret,
            names: &["templates.dir", "no-such-dir"],
        },
    ];
    for case in &cases {
        let config = config_dir(case.edit);
        let e = cli_error(
            data.path(),
            &config.path().join("mailshot.toml"),
            case.secret,
            &ingest,
        );
        for name in case.names {
            assert!(e.contains(name), "{}: {name:?} not in {e}", case.what);
        }
    }

    // The config file itself is missing.
    let e = cli_error(
        data.path(),
        &files.path().join("missing.toml"),
        secret,
        &ingest,
    );
    assert!(e.contains("missing.toml"), "{e}");

    // unsubscribe loads the same config.
    let config = config_dir(cases[7].edit);
    let e = cli_error(
        data.path(),
        &config.path().join("mailshot.toml"),
        secret,
        &["unsubscribe", "x.1.y"],
    );
    assert!(e.contains("templates.dir"), "{e}");

    // Nothing was ingested by any of these.
    assert!(log_inputs(data.path()).is_empty());
}

#[test]
fn templates_are_resolved_relative_to_the_config_file_and_template_errors_are_skips() {
    // A config in a subdirectory, run from elsewhere, with a broken template.
    let config = config_dir(|c| c);
    std::fs::write(
        config.path().join("templates/thanks/first-sale.liquid"),
        "<p>{{ attributes.noSuchField }}</p>",
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let lines = triggers();
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("in.ndjson");
    write_lines(&path, &lines);
    let out = run(
        data.path(),
        &config.path().join("mailshot.toml"),
        &["ingest", path.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(outbox(data.path()).len(), 1);
    let skipped = of_type(&log_inputs(data.path()), "email.skipped");
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0]["detail"]["templateKey"], "thanks/first-sale");
    let reason = skipped[0]["detail"]["reason"].as_str().unwrap();
    assert!(reason.contains("noSuchField"), "{reason}");
}

#[test]
fn unsubscribe_tokens_through_the_cli() {
    let config = config_dir(|c| c);
    let config_file = config.path().join("mailshot.toml");
    let data = tempfile::tempdir().unwrap();
    ingest(
        data.path(),
        &config_file,
        &[customer_created("ev-c1", JORDAN)],
    );

    let now = Timestamp(now_ms());
    let valid = token::sign(JORDAN, SECRET.as_bytes(), now);

    // Tampered: another address under the same MAC.
    let fields: Vec<&str> = valid.split('.').collect();
    let other = mailshot_reactors::token::sign("someone@example.com", SECRET.as_bytes(), now);
    let tampered = format!(
        "{}.{}.{}",
        other.split('.').next().unwrap(),
        fields[1],
        fields[2]
    );
    // Signed with another secret.
    let forged = token::sign(JORDAN, b"another secret", now);
    // Expired an hour ago.
    let expired = token::sign_until(JORDAN, SECRET.as_bytes(), now.as_secs() - 3600);

    for (token, why) in [
        (tampered.as_str(), "bad signature"),
        (forged.as_str(), "bad signature"),
        (expired.as_str(), "expired"),
        ("not-a-token", "malformed"),
        (&valid[..valid.len() - 3], "malformed"),
    ] {
        let out = run(data.path(), &config_file, &["unsubscribe", token]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{token}: {stderr}");
        assert!(stderr.contains(why), "{token}: {stderr}");
        assert!(out.stdout.is_empty());
    }
    assert!(of_type(&log_inputs(data.path()), "subscriber.unsubscribed").is_empty());

    let answer = ok_json(&run(data.path(), &config_file, &["unsubscribe", &valid]));
    assert_eq!(answer, json!({"email": JORDAN, "unsubscribed": true}));
    // Presenting it again is fine and appends nothing new.
    let again = ok_json(&run(data.path(), &config_file, &["unsubscribe", &valid]));
    assert_eq!(again, answer);
    let inputs = log_inputs(data.path());
    let unsubscribed = of_type(&inputs, "subscriber.unsubscribed");
    assert_eq!(unsubscribed.len(), 1);
    assert_eq!(unsubscribed[0]["detail"]["email"], JORDAN);
    // The running onboarding execution was stopped.
    let stopped = of_type(&inputs, "executions.stopped");
    assert_eq!(stopped.len(), 1);
    assert_eq!(stopped[0]["detail"]["reason"], "unsubscribed");

    let jordan = subscriber(data.path(), &config_file, JORDAN);
    assert!(!jordan["unsubscribed"].is_null(), "{jordan}");
    assert_eq!(jordan["executions"][0]["status"], "STOPPED");

    // Nothing more is sent to them.
    ingest(
        data.path(),
        &config_file,
        &[order_shipped("ev-s9", JORDAN, "ord_9")],
    );
    assert!(outbox(data.path()).is_empty());
    let skipped = of_type(&log_inputs(data.path()), "email.skipped");
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0]["detail"]["reason"], "unsubscribed");
}

#[test]
fn the_demo_fills_the_outbox_without_any_setup() {
    let data = tempfile::tempdir().unwrap();
    let out = cli(data.path())
        .args(["demo", "--inputs", "4000"])
        .env_remove(SECRET_VAR)
        .current_dir(data.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("demo-only secret"), "{stdout}");
    let files = outbox(data.path());
    assert!(!files.is_empty());
    assert!(
        stdout.contains(&format!("outbox: {} rendered emails", files.len())),
        "{stdout}"
    );
    let parsed = parse_emls(&files);
    for (path, msg) in parsed.as_object().unwrap() {
        assert_eq!(msg["defects"], json!([]), "{path}");
        let h = &msg["headers"];
        let key = h["X-Template-Key"].as_str().unwrap();
        assert!(
            ["order/shipped", "thanks/first-sale"].contains(&key),
            "{path}: {key}"
        );
        assert_eq!(h["X-Sequence-Id"], "fire_and_forget");
        assert!(
            h["List-Unsubscribe"]
                .as_str()
                .unwrap()
                .starts_with("<https://example.com/unsubscribe?token=")
        );
        let body = msg["body"].as_str().unwrap();
        assert!(
            body.contains("Example Shop") && body.contains("Unsubscribe"),
            "{path}"
        );
    }
}

/// The reactor's decisions in a data dir's log: every outcome (`source` `mailshot.reactor`)
/// without its `time` (skips and sends are stamped at the wall clock), in outcome id order.
fn decisions(data: &Path) -> Vec<Value> {
    let mut outcomes: Vec<Value> = log_inputs(data)
        .into_iter()
        .filter(|v| v["source"] == "mailshot.reactor")
        .map(|mut v| {
            v.as_object_mut().unwrap().remove("time");
            v
        })
        .collect();
    outcomes.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    outcomes
}

/// Ingests `file` with the config and `MAILSHOT_INGEST_BATCH=batch` (the default when `None`)
/// into a new data dir; returns the reactor's decisions.
fn decisions_with_batch(file: &Path, config: &Path, batch: Option<usize>) -> Vec<Value> {
    let data = tempfile::tempdir().unwrap();
    let mut command = cli(data.path());
    command
        .arg("--config")
        .arg(config)
        .args(["ingest", file.to_str().unwrap()])
        .env(SECRET_VAR, SECRET)
        .env_remove("MAILSHOT_INGEST_BATCH");
    if let Some(batch) = batch {
        command.env("MAILSHOT_INGEST_BATCH", batch.to_string());
    }
    ok_json(&command.output().expect("run mailshot"));
    decisions(data.path())
}

#[test]
fn reactor_decisions_are_the_same_whatever_the_ingest_batch_size() {
    // A generated workload where a first-sale email and a bounce of the same subscriber meet
    // in one batch, the bounce after the sale: the sale is decided on before the bounce.
    let config = config_dir(|c| c);
    let config_file = config.path().join("mailshot.toml");
    let (lines, _) = common::generate(INPUTS, SEED);
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("workload.ndjson");
    write_lines(&file, &lines);
    let one_by_one = decisions_with_batch(&file, &config_file, Some(1));
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
        ("email.sent", 10),
        ("email.skipped", 9),
        ("executions.stopped", 6),
        ("sequence.started", 26),
        ("subscriber.upserted", 45),
    ];
    assert_eq!(
        kinds(&one_by_one),
        expected.map(|(k, n)| (k.to_string(), n)).into()
    );
    for batch in [Some(7), Some(1000), None] {
        let decided = decisions_with_batch(&file, &config_file, batch);
        let differ: Vec<(&Value, &Value)> = one_by_one
            .iter()
            .zip(&decided)
            .filter(|(a, b)| a != b)
            .collect();
        assert!(
            differ.is_empty() && one_by_one.len() == decided.len(),
            "batch {batch:?}: {} of {} decisions differ from batch 1, first: {:#?}",
            differ.len(),
            one_by_one.len(),
            differ.first()
        );
    }
}
