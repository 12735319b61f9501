//! `mailshot --backend aws mcp` driven by the official Python MCP SDK
//! (`tests/mcp/test_mcp_aws.py`) against the moto emulator: every tool answers from DynamoDB
//! exactly the JSON of the CLI's `--backend aws … --json`. Needs scripts/test.sh's environment
//! (the moto server and `MAILSHOT_PYTHON`); fails, never skips, without it.

mod aws_support;
mod common;

use std::collections::BTreeSet;
use std::process::Command;

use aws_support::*;
use common::*;
use mailshot_domain::{InputBody, parse_input};
use serde_json::{Value, json};

fn call(tool: &str, args: Value, cli: &[&str]) -> Value {
    json!({"tool": tool, "args": args, "cli": cli})
}

#[test]
fn aws_mcp_tools_answer_as_the_aws_cli() {
    let python = std::env::var_os("MAILSHOT_PYTHON")
        .expect("MAILSHOT_PYTHON is unset: run the tests through scripts/test.sh");
    let env = Env::new("mcp", 1);
    let (lines, _) = generate(300, 5);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("corpus.ndjson");
    write_lines(&file, &lines);
    env.cli_json(&["ingest", file.to_str().unwrap()]);
    assert_eq!(env.cli_json(&["process"])["failed"], json!(0));

    // Subjects of the calls, from the corpus.
    let mut emails = BTreeSet::new();
    let mut templates = BTreeSet::new();
    let mut sequences = BTreeSet::new();
    let mut messages = BTreeSet::new();
    for line in &lines {
        let Ok(input) = parse_input(line) else {
            continue;
        };
        if let InputBody::Ses(facts) = &input.body {
            for f in facts {
                if emails.len() < 2 {
                    emails.insert(f.email.clone());
                }
                if !f.template_key.is_empty() && templates.is_empty() {
                    templates.insert(f.template_key.to_string());
                }
                if sequences.is_empty() {
                    sequences.insert(f.sequence_id.to_string());
                }
                if messages.len() < 2 {
                    messages.insert(f.ses_message_id.to_string());
                }
            }
        }
    }
    let suppressed = env.cli_json(&["suppressed", "--json", "--limit", "1000"]);
    let first_suppressed = suppressed["items"][0]["email"].as_str().map(String::from);
    emails.extend(first_suppressed);
    let template = templates.first().expect("a template").clone();
    let sequence = sequences.first().expect("a sequence").clone();

    let mut calls = vec![
        call("get_delivery_stats", json!({}), &["stats", "--json"]),
        call(
            "get_delivery_stats",
            json!({"startDate": "2024-06-01", "endDate": "2024-06-30", "templateKey": template}),
            &[
                "stats",
                "--from",
                "2024-06-01",
                "--to",
                "2024-06-30",
                "--template",
                &template,
                "--json",
            ],
        ),
        call(
            "get_template_events",
            json!({"templateKey": template, "limit": 5}),
            &["events", "template", &template, "--limit", "5", "--json"],
        ),
        call(
            "get_sequence_events",
            json!({"sequenceId": sequence, "limit": 5}),
            &["events", "sequence", &sequence, "--limit", "5", "--json"],
        ),
        call(
            "list_suppressed",
            json!({"limit": 2}),
            &["suppressed", "--limit", "2", "--json"],
        ),
        call(
            "get_link_stats",
            json!({"templateKey": template}),
            &["links", "--template", &template, "--json"],
        ),
        call("get_link_stats", json!({}), &["links", "--json"]),
    ];
    for email in &emails {
        calls.push(call(
            "get_subscriber",
            json!({"email": email}),
            &["subscriber", email, "--json"],
        ));
        calls.push(call(
            "trace_subscriber",
            json!({"email": email}),
            &["trace", email, "--json"],
        ));
        calls.push(call(
            "get_subscriber_events",
            json!({"email": email, "eventType": "delivery"}),
            &[
                "events",
                "subscriber",
                email,
                "--type",
                "delivery",
                "--json",
            ],
        ));
    }
    for id in &messages {
        calls.push(call(
            "get_message",
            json!({"messageId": id}),
            &["message", id, "--json"],
        ));
    }
    let calls_file = dir.path().join("calls.json");
    std::fs::write(&calls_file, serde_json::to_string(&calls).unwrap()).unwrap();

    let script = workspace().join("tests/mcp/test_mcp_aws.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(mailshot_bin())
        .arg(&env.prefix)
        .arg(&calls_file)
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{} failed ({}):\n{stdout}\n{stderr}",
        script.display(),
        out.status
    );
    assert!(
        stdout.contains(&format!("{} calls, 0 failures", calls.len())),
        "{stdout}"
    );
}
