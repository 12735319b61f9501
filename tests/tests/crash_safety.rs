//! Crash safety across processes (docs/design.md §11): kill -9 during `mailshot ingest` and
//! during `mailshot replay` loses nothing and duplicates nothing; one writer at a time.

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use mailshot_embedded::queries::run_query;
use mailshot_embedded::{Reader, Writer};
use mailshot_log::SegmentLog;
use mailshot_projections::query::Query;
use mailshot_workload::Scope;
use serde_json::{Value, json};

/// Reads the whole log: asserts dense offsets and no identity in two records; returns the count.
fn check_log(dir: &Path) -> u64 {
    let log = SegmentLog::open_read_only(dir).unwrap();
    let mut seen = HashSet::new();
    let mut n = 0u64;
    for record in log.read_from(0).unwrap() {
        let record = record.unwrap();
        assert_eq!(record.offset, n, "gap or reorder in the log");
        assert!(
            !record.identities.is_empty(),
            "record {} has no identity",
            record.offset
        );
        for id in &record.identities {
            assert!(
                seen.insert(*id),
                "identity {id:?} in two records (second at offset {})",
                record.offset
            );
        }
        n += 1;
    }
    assert_eq!(log.end_offset().unwrap(), n);
    n
}

fn query_dir(dir: &Path, tool: &str, args: Value) -> Value {
    let reader = Reader::open(dir).unwrap();
    run_query(&reader, &Query::from_tool(tool, &args).unwrap(), now_2024()).unwrap()
}

/// Spawns `mailshot --data dir args…` and SIGKILLs it after `delay` (unless it ended first).
/// Returns true if it was killed. Catch-up and rebuilds commit every 1,000 records, so that
/// kills land between commits as well as inside them.
fn kill_after(dir: &Path, args: &[&str], delay: Duration) -> bool {
    let mut child = cli(dir)
        .env("MAILSHOT_FOLD_BATCH", "1000")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while start.elapsed() < delay {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    true
}

#[test]
fn kill_9_during_ingest_loses_and_duplicates_nothing() {
    let (lines, truth) = generate(30_000, 41);
    let files = tempfile::tempdir().unwrap();
    let input = files.path().join("in.ndjson");
    write_lines(&input, &lines);
    let input = input.to_str().unwrap();
    let data = tempfile::tempdir().unwrap();
    // Kill at random moments inside an ingest's duration on this machine, measured first on
    // a scratch data dir.
    let scratch = tempfile::tempdir().unwrap();
    let started = Instant::now();
    cli_json(scratch.path(), &["ingest", input]);
    let full = started.elapsed().as_millis() as u64;
    drop(scratch);
    let seed = fastrand::u64(..);
    eprintln!("kill schedule seed {seed}, a full ingest takes {full} ms");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut kills = 0;
    for _ in 0..5 {
        let delay = Duration::from_millis(rng.u64(full / 20..full * 8 / 10));
        if kill_after(data.path(), &["ingest", input], delay) {
            kills += 1;
            check_log(data.path());
        }
    }
    assert!(
        kills >= 3,
        "the ingest ended before most kills ({kills} kills): make the input larger"
    );
    let summary = cli_json(data.path(), &["ingest", input]);
    assert_eq!(summary["inputs"].as_u64(), Some(truth.inputs));
    assert_eq!(summary["rejected"].as_u64(), Some(truth.rejected));
    assert_eq!(
        summary["accepted"].as_u64().unwrap() + summary["duplicates"].as_u64().unwrap(),
        truth.accepted + truth.duplicates
    );

    assert_eq!(
        check_log(data.path()),
        truth.accepted,
        "every accepted input is in the log once"
    );
    let out = run_cli(data.path(), &["verify"]);
    assert!(
        out.status.success(),
        "verify after kills: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let stats = query_dir(data.path(), "get_delivery_stats", json!({}));
    let want = truth.stats(&Scope::All, None, None);
    let want_counts: std::collections::BTreeMap<String, u64> = want
        .counts
        .by_name()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    assert_eq!(counts(&stats), want_counts);
    assert_eq!(
        stats["unique"],
        json!({"open": want.unique_opens, "click": want.unique_clicks})
    );
    let suppressed = query_dir(data.path(), "list_suppressed", json!({"limit": 1000}));
    assert_eq!(
        suppressed["items"].as_array().unwrap().len(),
        truth.suppressed.len()
    );

    // A rerun changes nothing.
    let again = cli_json(data.path(), &["ingest", input]);
    assert_eq!(again["accepted"], 0);
    assert_eq!(check_log(data.path()), truth.accepted);
}

#[test]
fn kill_9_during_replay_keeps_answers_and_replay_completes() {
    let (lines, _) = generate(12_000, 43);
    let data = tempfile::tempdir().unwrap();
    let stats;
    let suppressed;
    let links;
    {
        let mut writer = Writer::open(data.path()).unwrap();
        ingest_lines(&mut writer, &lines);
        stats = q(&writer, "get_delivery_stats", json!({}));
        suppressed = q(&writer, "list_suppressed", json!({"limit": 1000}));
        links = q(&writer, "get_link_stats", json!({}));
    }
    let end = check_log(data.path());
    // Kill at random moments inside a replay's duration on this machine, measured first.
    let started = Instant::now();
    cli_json(data.path(), &["replay"]);
    let full = started.elapsed().as_millis() as u64;
    let seed = fastrand::u64(..);
    eprintln!("kill schedule seed {seed}, a full replay takes {full} ms");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut kills = 0;
    for _ in 0..4 {
        let delay = Duration::from_millis(rng.u64(full / 10..full * 7 / 10));
        kills += u32::from(kill_after(data.path(), &["replay"], delay));
        // Queries answer exactly as before, from whichever slot is live.
        assert_eq!(
            query_dir(data.path(), "get_delivery_stats", json!({})),
            stats
        );
        assert_eq!(
            query_dir(data.path(), "list_suppressed", json!({"limit": 1000})),
            suppressed
        );
        assert_eq!(query_dir(data.path(), "get_link_stats", json!({})), links);
    }
    assert!(kills >= 2, "replay ended before most kills");
    let done = cli_json(data.path(), &["replay"]);
    assert_eq!(
        done["records"].as_u64(),
        Some(end),
        "every log record replayed"
    );
    assert_eq!(check_log(data.path()), end, "replay never appends");
    // The run files a killed replay left were emptied by the next one, which removed its own.
    assert!(!data.path().join("rebuild-runs").exists());
    // Rebuild commits are not flushed one by one; the finished replay flushed them all.
    assert!(
        !data.path().join("store").join("unsynced").exists(),
        "a finished replay leaves the store flushed"
    );
    let out = run_cli(data.path(), &["verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        query_dir(data.path(), "get_delivery_stats", json!({})),
        stats
    );
    assert_eq!(query_dir(data.path(), "get_link_stats", json!({})), links);
}

fn assert_refused_at_once(data: &Path, input: &str) {
    let start = Instant::now();
    let out = run_cli(data, &["ingest", input]);
    let elapsed = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a second writer was let in: {stderr}"
    );
    assert!(
        elapsed < Duration::from_secs(5),
        "the second writer waited {elapsed:?}"
    );
    assert!(
        stderr.contains("writer") || stderr.contains("lock"),
        "unclear error: {stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn a_second_writer_is_refused_at_once() {
    let (lines, _) = generate(2_000, 47);
    let files = tempfile::tempdir().unwrap();
    let input = files.path().join("in.ndjson");
    write_lines(&input, &lines);
    let input = input.to_str().unwrap();

    // A writer open in this process.
    let data = tempfile::tempdir().unwrap();
    let writer = Writer::open(data.path()).unwrap();
    assert_refused_at_once(data.path(), input);
    assert_eq!(
        writer.log.end_offset().unwrap(),
        0,
        "the refused writer appended"
    );
    drop(writer);
    // Once it is gone, the next writer gets in.
    let summary = cli_json(data.path(), &["ingest", input]);
    assert!(summary["accepted"].as_u64().unwrap() > 0);

    // A running `mailshot ingest` (reading from a pipe we keep open).
    let data = tempfile::tempdir().unwrap();
    let mut first = cli(data.path())
        .args(["ingest", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !data.path().join("store").is_dir() {
        assert!(
            Instant::now() < deadline,
            "the first ingest never opened its data dir"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_refused_at_once(data.path(), input);
    {
        use std::io::Write;
        let mut stdin = first.stdin.take().unwrap();
        for l in &lines[..100] {
            writeln!(stdin, "{l}").unwrap();
        }
    }
    let out = first.wait_with_output().unwrap();
    assert!(out.status.success());
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(summary["accepted"].as_u64().unwrap() > 0, "{summary}");
}

/// A machine crash while store commits were not yet flushed: the store may be torn, so the
/// next open rebuilds it from the log (the marker file names the boot that left it).
#[test]
fn a_store_left_unflushed_by_a_machine_crash_is_rebuilt_from_the_log() {
    let (lines, truth) = generate(3_000, 47);
    let files = tempfile::tempdir().unwrap();
    let input = files.path().join("in.ndjson");
    write_lines(&input, &lines);
    let data = tempfile::tempdir().unwrap();
    cli_json(data.path(), &["ingest", input.to_str().unwrap()]);
    let before = cli_json(data.path(), &["stats", "--json"]);
    let suppressed_before = cli_json(data.path(), &["suppressed", "--limit", "1000", "--json"]);
    let store = data.path().join("store");
    assert!(
        !store.join("unsynced").exists(),
        "a finished ingest leaves the store flushed"
    );

    // Simulate the crash: a marker from another boot, and pages of the store overwritten.
    std::fs::write(
        store.join("unsynced"),
        "00000000-0000-0000-0000-another-boot",
    )
    .unwrap();
    // (The map file is sparse and as long as the map: overwrite its first used megabytes.)
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(store.join("data.mdb"))
        .unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, &vec![0xA5; 4 << 20], 8192).unwrap();
    drop(file);

    // A query (reader) triggers the rebuild and answers as before.
    let out = run_cli(data.path(), &["stats", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("rebuilding the store from the log"),
        "stderr: {stderr}"
    );
    let after: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(after, before);
    assert_eq!(
        cli_json(data.path(), &["suppressed", "--limit", "1000", "--json"]),
        suppressed_before
    );
    assert_eq!(
        suppressed_before["items"].as_array().unwrap().len(),
        truth.suppressed.len()
    );
    assert!(!store.join("unsynced").exists());
    let out = run_cli(data.path(), &["verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // And the dedup index came back with it: a re-ingest appends nothing.
    let again = cli_json(data.path(), &["ingest", input.to_str().unwrap()]);
    assert_eq!(again["accepted"], 0);
    assert_eq!(
        again["duplicates"].as_u64(),
        Some(truth.accepted + truth.duplicates)
    );
}
