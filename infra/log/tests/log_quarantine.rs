//! The quarantine (dead-letter) file: what goes in comes back verbatim, with its reason.

use std::fs::{self, OpenOptions};
use std::io::Write;

use mailshot_log::quarantine::{Quarantine, RejectedInput, quarantine_path};

fn rejected(line: u64, input: &str) -> RejectedInput {
    RejectedInput {
        source: "events.ndjson".to_owned(),
        line,
        reason: format!("missing field `detail` at line {line}\n(second line)"),
        input: input.as_bytes().to_vec(),
        input_size: None,
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
        input: inputs[2].as_bytes().to_vec(),
        input_size: None,
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
                std::str::from_utf8(&e.input).expect("UTF-8 input"),
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
    let inputs: Vec<Vec<u8>> = Quarantine::read_all(dir.path())
        .expect("read")
        .into_iter()
        .map(|e| e.input)
        .collect();
    assert_eq!(inputs, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
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

#[test]
fn inputs_that_are_not_utf8_come_back_byte_identical() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Invalid UTF-8 of every kind: a lone continuation byte, a truncated sequence, an
    // overlong encoding, a surrogate, bytes never valid, and every byte value in one input.
    let inputs: Vec<Vec<u8>> = vec![
        b"{\"eventType\":\"Open\",\"x\":\"\x80\"}".to_vec(),
        b"caf\xC3".to_vec(),
        b"\xC0\xAF \xED\xA0\x80 \xFF\xFE".to_vec(),
        (0..=255u8).collect(),
        "valid UTF-8 \u{1F4E7}".as_bytes().to_vec(),
    ];
    let mut q = Quarantine::open(dir.path()).expect("open");
    let batch: Vec<RejectedInput> = inputs
        .iter()
        .enumerate()
        .map(|(i, input)| RejectedInput {
            source: "garbage.ndjson".to_owned(),
            line: i as u64 + 1,
            reason: "not JSON: invalid UTF-8".to_owned(),
            input: input.clone(),
            input_size: None,
        })
        .collect();
    q.append(&batch).expect("append");
    let back: Vec<Vec<u8>> = Quarantine::read_all(dir.path())
        .expect("read")
        .into_iter()
        .map(|e| e.input)
        .collect();
    assert_eq!(back, inputs);
    // Text stays readable as text; only what is not UTF-8 is base64.
    let text = fs::read_to_string(quarantine_path(dir.path())).expect("file");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[1].ends_with(r#","input_base64":"Y2Fmww=="}"#),
        "{}",
        lines[1]
    );
    assert!(
        lines[4].ends_with(r#","input":"valid UTF-8 📧"}"#),
        "{}",
        lines[4]
    );
}

#[test]
fn an_input_kept_in_part_comes_back_with_its_whole_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut q = Quarantine::open(dir.path()).expect("open");
    q.append(&[RejectedInput {
        source: "big.ndjson".to_owned(),
        line: 2,
        reason: "too large".to_owned(),
        input: b"{\"a\":\"\xE2\x82".to_vec(),
        input_size: Some(5_000_000),
    }])
    .expect("append");
    let all = Quarantine::read_all(dir.path()).expect("read");
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].input, b"{\"a\":\"\xE2\x82".to_vec());
    assert_eq!(all[0].input_size, Some(5_000_000));
    let text = fs::read_to_string(quarantine_path(dir.path())).expect("file");
    assert!(
        text.ends_with(
            r#","input_base64":"eyJhIjoi4oI=","input_size":5000000}
"#
        ),
        "{text}"
    );
}
