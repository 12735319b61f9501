//! Bad input through the CLI (docs/design.md §3, §8): every valid input lands, every invalid one is
//! reported on stderr with its line and reason and kept verbatim in the quarantine.

mod common;

use common::*;
use mailshot_log::quarantine::Quarantine;
use serde_json::{Value, json};

use base64::Engine as _;

fn with(name: &str, f: impl FnOnce(&mut Value)) -> String {
    let mut v = fixture_value(name);
    f(&mut v);
    v.to_string()
}

#[test]
fn invalid_inputs_are_reported_and_quarantined_valid_ones_land() {
    let lambda_mixed = with("lambda-sns-event-open.json", |v| {
        let good = v["Records"][0].clone();
        let mut bad = good.clone();
        bad["Sns"]["Message"] = json!("{\"eventType\": \"Open\", oops");
        let mut click = good.clone();
        click["Sns"]["Message"] = json!(fixture_line("ses-click.json"));
        click["Sns"]["MessageId"] = json!("0b1c9d7e-0000-4000-8000-00000000c11c");
        v["Records"] = json!([good, bad, click]);
    });
    // (line text, Some(keyword its reason must hold) when rejected)
    let lines: Vec<(String, Option<&str>)> = vec![
        (fixture_line("ses-send.json"), None), // 1
        (
            "{\"eventType\": \"Send\", \"mail\": ".to_string(),
            Some("JSON"),
        ), // 2 not JSON
        ("[1, 2, 3]".to_string(), Some("object")), // 3 not an object
        ("{\"hello\": \"world\"}".to_string(), Some("")), // 4 unknown shape
        (
            with("ses-delivery.json", |v| {
                drop(v["mail"].as_object_mut().unwrap().remove("messageId"))
            }),
            Some("messageId"),
        ), // 5
        (fixture_line("ses-delivery.json"), None), // 6
        (
            with("ses-open.json", |v| {
                v["open"]["timestamp"] = json!("yesterday")
            }),
            Some("timestamp"),
        ), // 7
        (
            with("ses-send.json", |v| {
                v["mail"]["destination"] = json!(["not-an-email"])
            }),
            Some("email"),
        ), // 8
        (
            with("sns-envelope-delivery.json", |v| {
                v["Message"] = json!("{not json")
            }),
            Some("Message"),
        ), // 9
        (lambda_mixed, Some("Message")),       // 10: 2 good, 1 bad
        ("{\"Records\": []}".to_string(), Some("Records")), // 11 empty Records
        ("   ".to_string(), None),             // 12 blank: skipped
        (fixture_line("ses-complaint.json"), None), // 13
    ];
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("mixed.ndjson");
    let text: Vec<String> = lines.iter().map(|(l, _)| l.clone()).collect();
    write_lines(&path, &text);
    let data = tempfile::tempdir().unwrap();
    let out = run_cli(data.path(), &["ingest", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        summary,
        json!({"inputs": 14, "accepted": 5, "duplicates": 0, "rejected": 9}),
        "{stderr}"
    );

    // stderr: one `FILE:LINE: rejected: REASON` per rejected input, in line order.
    let prefix = format!("{}:", path.display());
    let reports: Vec<(u64, String)> = stderr
        .lines()
        .filter(|l| l.contains(": rejected: "))
        .map(|l| {
            let rest = l
                .strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("no file name in {l:?}"));
            let (line, reason) = rest.split_once(": rejected: ").unwrap();
            (line.parse().unwrap(), reason.to_string())
        })
        .collect();
    let expected: Vec<u64> = lines
        .iter()
        .enumerate()
        .filter(|(_, (_, k))| k.is_some())
        .map(|(i, _)| i as u64 + 1)
        .collect();
    assert_eq!(
        reports.iter().map(|r| r.0).collect::<Vec<_>>(),
        expected,
        "{stderr}"
    );
    for (line, reason) in &reports {
        let keyword = lines[*line as usize - 1].1.unwrap();
        assert!(!reason.trim().is_empty(), "line {line}: empty reason");
        assert!(
            reason.contains(keyword),
            "line {line}: reason {reason:?} does not name {keyword:?}"
        );
    }

    // The quarantine keeps each one verbatim, with its line and reason.
    let entries = Quarantine::read_all(data.path()).unwrap();
    assert_eq!(entries.len(), reports.len());
    for (entry, (line, reason)) in entries.iter().zip(&reports) {
        assert_eq!(entry.line, *line);
        assert_eq!(&entry.reason, reason);
        assert_eq!(
            entry.input,
            lines[*line as usize - 1].0.as_bytes(),
            "line {line} not verbatim"
        );
        assert_eq!(entry.source, path.display().to_string());
    }

    // The valid inputs landed: send, delivery, open and click (from the Lambda event), complaint.
    let stats = cli_json(data.path(), &["stats", "--json"]);
    let c = counts(&stats);
    for (k, n) in [
        ("send", 1),
        ("delivery", 1),
        ("open", 1),
        ("click", 1),
        ("complaint", 1),
        ("bounce", 0),
    ] {
        assert_eq!(c[k], n, "{k}: {stats}");
    }
    assert_eq!(stats["total"], 5);
    let suppressed = cli_json(data.path(), &["suppressed", "--json"]);
    assert_eq!(suppressed["items"][0]["reason"], "complaint");
}

/// Each quarantine entry of `data` as (line, reason, input bytes, input_size), read from the
/// file itself: `input` as a string, else `input_base64` decoded.
fn quarantined(data: &std::path::Path) -> Vec<(u64, String, Vec<u8>, Option<u64>)> {
    let text = std::fs::read_to_string(data.join("quarantine").join("rejected.ndjson")).unwrap();
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let input = match (v.get("input"), v.get("input_base64")) {
                (Some(Value::String(s)), None) => s.as_bytes().to_vec(),
                (None, Some(Value::String(b))) => {
                    base64::engine::general_purpose::STANDARD.decode(b).unwrap()
                }
                other => panic!("no input in {l}: {other:?}"),
            };
            (
                v["line"].as_u64().unwrap(),
                v["reason"].as_str().unwrap().to_string(),
                input,
                v.get("input_size").and_then(Value::as_u64),
            )
        })
        .collect()
}

/// The `FILE:LINE: rejected: REASON` lines of `stderr`.
fn rejected_lines(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| l.contains(": rejected: "))
        .map(str::to_string)
        .collect()
}

#[test]
fn an_input_over_the_size_limit_is_quarantined_and_the_rest_ingested() {
    // A valid SES event padded to 2 MiB, between two good inputs: over the 1 MiB default.
    let big = with("ses-open.json", |v| {
        v["open"]["userAgent"] = json!("x".repeat(2 << 20));
    });
    let size = big.len() as u64;
    assert!(size > 2 << 20);
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("big.ndjson");
    write_lines(
        &path,
        &[
            fixture_line("ses-send.json"),
            big.clone(),
            fixture_line("ses-delivery.json"),
        ],
    );
    let data = tempfile::tempdir().unwrap();
    let reason = format!(
        "too large: {size} bytes, over the limit of 1048576 (--max-input-bytes); only the first 1024 bytes are kept"
    );
    for (run, accepted, duplicates) in [(1, 2, 0), (2, 0, 2)] {
        let out = run_cli(data.path(), &["ingest", path.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "run {run}: exit {:?}: {stderr}",
            out.status
        );
        let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            summary,
            json!({"inputs": 3, "accepted": accepted, "duplicates": duplicates, "rejected": 1}),
            "run {run}: {stderr}"
        );
        assert_eq!(
            rejected_lines(&out.stderr),
            vec![format!("{}:2: rejected: {reason}", path.display())],
            "run {run}"
        );
    }
    // Each run quarantined its first KiB and its size, not a copy of it.
    let entry = (2, reason, big.as_bytes()[..1024].to_vec(), Some(size));
    assert_eq!(quarantined(data.path()), vec![entry.clone(), entry]);
    let stats = cli_json(data.path(), &["stats", "--json"]);
    assert_eq!(stats["total"], 2, "{stats}");

    // The limit is configurable: raised above the line, the same input is accepted.
    let out = run_cli(
        data.path(),
        &[
            "ingest",
            "--max-input-bytes",
            "4194304",
            path.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        summary,
        json!({"inputs": 3, "accepted": 1, "duplicates": 2, "rejected": 0})
    );
}

#[test]
fn an_input_the_log_cannot_hold_is_quarantined_and_the_rest_ingested() {
    // 65,536 recipients make 65,536 facts: one more identity than a log record can carry.
    let recipients: Vec<String> = (0..65_536).map(|i| format!("{i}@x.io")).collect();
    let wide = with("ses-delivery.json", |v| {
        v["delivery"]["recipients"] = json!(recipients);
    });
    assert!(
        wide.len() < 1 << 20,
        "within the size limit: {}",
        wide.len()
    );
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("wide.ndjson");
    write_lines(
        &path,
        &[
            fixture_line("ses-send.json"),
            wide.clone(),
            fixture_line("ses-complaint.json"),
        ],
    );
    let data = tempfile::tempdir().unwrap();
    let reason =
        "cannot be logged: 65536 facts (recipients) in one input, over the log's limit of 65535";
    for (run, accepted, duplicates) in [(1, 2, 0), (2, 0, 2)] {
        let out = run_cli(data.path(), &["ingest", path.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "run {run}: exit {:?}: {stderr}",
            out.status
        );
        let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            summary,
            json!({"inputs": 3, "accepted": accepted, "duplicates": duplicates, "rejected": 1}),
            "run {run}: {stderr}"
        );
        assert_eq!(
            rejected_lines(&out.stderr),
            vec![format!("{}:2: rejected: {reason}", path.display())],
            "run {run}"
        );
    }
    let entry = (2, reason.to_string(), wide.into_bytes(), None);
    assert_eq!(quarantined(data.path()), vec![entry.clone(), entry]);
    let stats = cli_json(data.path(), &["stats", "--json"]);
    assert_eq!(stats["total"], 2, "{stats}");
}

#[test]
fn lines_that_are_not_utf8_are_quarantined_byte_identical() {
    let garbage: Vec<Vec<u8>> = vec![
        b"{\"eventType\":\"Open\",\"x\":\"\x80\"}".to_vec(),
        b"caf\xC3 \xFF\xFE \xED\xA0\x80".to_vec(),
        (1..=255u8).filter(|b| *b != b'\n').collect(),
    ];
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("garbage.ndjson");
    let mut text = Vec::new();
    for line in &garbage {
        text.extend_from_slice(line);
        text.push(b'\n');
    }
    text.extend_from_slice(fixture_line("ses-send.json").as_bytes());
    text.push(b'\n');
    std::fs::write(&path, &text).unwrap();
    let data = tempfile::tempdir().unwrap();
    let out = run_cli(data.path(), &["ingest", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        summary,
        json!({"inputs": 4, "accepted": 1, "duplicates": 0, "rejected": 3})
    );
    let inputs: Vec<(u64, Vec<u8>)> = quarantined(data.path())
        .into_iter()
        .map(|(line, _, input, _)| (line, input))
        .collect();
    assert_eq!(
        inputs,
        vec![
            (1, garbage[0].clone()),
            (2, garbage[1].clone()),
            (3, garbage[2].clone())
        ]
    );
}

#[test]
fn times_outside_years_1_to_9999_are_rejected_naming_the_field_and_stats_counts_every_accepted_event()
 {
    // Deliveries of one template, each its own message; only the event time varies.
    let delivery = |n: u32, time: &str| {
        with("ses-delivery.json", |v| {
            v["mail"]["messageId"] =
                json!(format!("0100018fd2c41a7e-0000-0000-0000-{n:012}-000000"));
            v["delivery"]["timestamp"] = json!(time);
        })
    };
    let lines = vec![
        delivery(1, "0001-01-01T00:00:00Z"), // the first day: counted
        delivery(2, "0000-06-01T12:00:00Z"), // year 0000: rejected
        delivery(3, "0001-01-01T00:30:00+01:00"), // 0000-12-31 in UTC: rejected
        delivery(4, "9999-12-31T23:59:59.999Z"), // the last day: counted
        delivery(5, "9999-12-31T23:00:00-05:00"), // 10000-01-01 in UTC: rejected
        delivery(6, "2024-06-03T14:02:12.247Z"), // counted
    ];
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("times.ndjson");
    write_lines(&path, &lines);
    let data = tempfile::tempdir().unwrap();
    let out = run_cli(data.path(), &["ingest", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        summary,
        json!({"inputs": 6, "accepted": 3, "duplicates": 0, "rejected": 3}),
        "{stderr}"
    );
    let reasons: Vec<(u64, String)> = Quarantine::read_all(data.path())
        .unwrap()
        .into_iter()
        .map(|r| (r.line, r.reason))
        .collect();
    let out_of_range = |value: &str| {
        format!(
            "field `delivery.timestamp` is outside the supported time range \
             (0001-01-01 to 9999-12-31 UTC): \"{value}\""
        )
    };
    assert_eq!(
        reasons,
        vec![
            (2, out_of_range("0000-06-01T12:00:00Z")),
            (3, out_of_range("0001-01-01T00:30:00+01:00")),
            (5, out_of_range("9999-12-31T23:00:00-05:00")),
        ]
    );
    // Without --from / --to, every accepted delivery counts; with the first and last day
    // named, the same.
    let all = cli_json(data.path(), &["stats", "--json"]);
    assert_eq!(counts(&all)["delivery"], 3, "{all}");
    let named = cli_json(
        data.path(),
        &[
            "stats",
            "--from",
            "0001-01-01",
            "--to",
            "9999-12-31",
            "--json",
        ],
    );
    assert_eq!(counts(&named)["delivery"], 3, "{named}");
}
