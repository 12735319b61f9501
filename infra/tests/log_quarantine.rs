//! The quarantine (dead-letter) file: what goes in comes back verbatim, with its reason.

use std::fs::{self, OpenOptions};
use std::io::Write;

use mailshot_infra::quarantine::{Quarantine, RejectedInput, quarantine_path};

fn rejected(line: u64, input: &str) -> RejectedInput {
    RejectedInput {
        source: "events.ndjson".to_owned(),
        line,
        reason: format!("missing field `detail` at line {line}\n(second line)"),
        input: input.to_owned(),
    }
}

#[test]
fn entries_round_trip_verbatim_with_source_line_reason_and_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert_eq!(Quarantine::count(dir.path()).expect("count"), 0);
    assert!(Quarantine::read_all(dir.path()).expect("read").is_empty());
    let inputs = [
        r#"{"version":"0","id":"x" "#,
        "not json at all \u{1F4E7} \"quoted\" \\ back\tslash",
        "",
    ];
    let mut q = Quarantine::open(dir.path()).expect("open");
    assert_eq!(q.path(), quarantine_path(dir.path()));
    assert_eq!(
        q.path(),
        dir.path().join("quarantine").join("rejected.ndjson")
    );
    q.append(&[rejected(3, inputs[0]), rejected(7, inputs[1])])
        .expect("append");
    q.append(&[]).expect("empty batch");
    drop(q);
    let mut q = Quarantine::open(dir.path()).expect("reopen");
    q.append(&[RejectedInput {
        source: "stdin".to_owned(),
        line: 1,
        reason: "empty input".to_owned(),
        input: inputs[2].to_owned(),
    }])
    .expect("append");

    let all = Quarantine::read_all(dir.path()).expect("read");
    assert_eq!(all.len(), 3);
    assert_eq!(Quarantine::count(dir.path()).expect("count"), 3);
    let summary: Vec<(&str, u64, &str, &str)> = all
        .iter()
        .map(|e| {
            (
                e.source.as_str(),
                e.line,
                e.reason.as_str(),
                e.input.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "events.ndjson",
                3,
                "missing field `detail` at line 3 (second line)",
                inputs[0]
            ),
            (
                "events.ndjson",
                7,
                "missing field `detail` at line 7 (second line)",
                inputs[1]
            ),
            ("stdin", 1, "empty input", ""),
        ]
    );
    for e in &all {
        // RFC 3339 UTC with milliseconds: 2024-06-03T14:02:10.815Z
        assert_eq!(e.at.len(), 24, "{}", e.at);
        assert!(
            e.at.ends_with('Z') && e.at.as_bytes()[10] == b'T',
            "{}",
            e.at
        );
        assert!(e.at.as_str() > "2024-01-01", "{}", e.at);
    }
    // One object per line, with the documented keys in order.
    let text = fs::read_to_string(quarantine_path(dir.path())).expect("file");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].starts_with(r#"{"at":""#), "{}", lines[0]);
    assert!(
        lines[0].contains(r#"","source":"events.ndjson","line":3,"reason":"missing field `detail` at line 3 (second line)","input":"{\"version\":\"0\",\"id\":\"x\" "}"#),
        "{}",
        lines[0]
    );
    assert!(text.ends_with('\n'));
}

#[test]
fn a_torn_last_line_does_not_swallow_the_next_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut q = Quarantine::open(dir.path()).expect("open");
    q.append(&[rejected(1, "a")]).expect("append");
    // A crash midway through writing a line leaves a fragment without its newline.
    let mut f = OpenOptions::new()
        .append(true)
        .open(quarantine_path(dir.path()))
        .expect("open");
    f.write_all(br#"{"at":"2024-01-01T00:00:00.000Z","source":"x","li"#)
        .expect("fragment");
    drop(f);
    assert_eq!(Quarantine::count(dir.path()).expect("count"), 1);
    q.append(&[rejected(2, "b"), rejected(3, "c")])
        .expect("append");
    let inputs: Vec<String> = Quarantine::read_all(dir.path())
        .expect("read")
        .into_iter()
        .map(|e| e.input)
        .collect();
    assert_eq!(inputs, vec!["a", "b", "c"]);
}

#[test]
fn a_malformed_complete_line_is_an_error_naming_the_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut q = Quarantine::open(dir.path()).expect("open");
    q.append(&[rejected(1, "a")]).expect("append");
    let mut f = OpenOptions::new()
        .append(true)
        .open(quarantine_path(dir.path()))
        .expect("open");
    f.write_all(b"{\"unexpected\":true}\n").expect("line");
    drop(f);
    let err = Quarantine::read_all(dir.path()).expect_err("malformed");
    let message = err.to_string();
    assert!(message.contains("line 2"), "{message}");
    assert!(message.contains("rejected.ndjson"), "{message}");
}
