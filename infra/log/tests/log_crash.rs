//! The segment log across processes: the writer lock against another process, and kill -9
//! at random moments while a child appends. The children are this test binary re-run with
//! `MAILSHOT_LOG_TEST_CHILD` set, which makes `child_entry` do the child's part.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mailshot_domain::log::NewRecord;
use mailshot_domain::{FactId, Timestamp};
use mailshot_log::{LogError, LogOptions, SegmentLog, VerifyOnOpen};

const CHILD_ENV: &str = "MAILSHOT_LOG_TEST_CHILD";

fn options() -> LogOptions {
    LogOptions {
        // Small segments so that kills also land around rolls.
        segment_bytes: 256 * 1024,
        verify_on_open: VerifyOnOpen::All,
        ..LogOptions::default()
    }
}

/// The record a child appends as number `seq` of its run `run`.
fn crash_record(run: u64, seq: u64) -> NewRecord {
    let raw = format!(
        r#"{{"run":{run},"seq":{seq},"pad":"{}"}}"#,
        "p".repeat((seq % 300) as usize)
    );
    NewRecord {
        ingest_time: Timestamp((run * 1_000_000 + seq) as i64),
        identities: vec![FactId::of_parts(&[raw.as_bytes()])],
        raw,
        compact: None,
    }
}

/// `(run, seq)` out of a crash record's raw JSON.
fn parse_crash(raw: &str) -> (u64, u64) {
    let v: serde_json::Value = serde_json::from_str(raw).expect("raw is JSON");
    (
        v["run"].as_u64().expect("run"),
        v["seq"].as_u64().expect("seq"),
    )
}

fn spawn_child(mode: &str) -> std::process::Child {
    Command::new(std::env::current_exe().expect("current exe"))
        .args(["child_entry", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child")
}

/// The child's part. Does nothing in a normal test run.
#[test]
fn child_entry() {
    let Ok(mode) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut parts = mode.splitn(3, ':');
    let (kind, run, dir) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or("0"),
        parts.next().unwrap_or(""),
    );
    let stdout = std::io::stdout();
    match kind {
        "lock" => {
            let line = match SegmentLog::open(dir, options()) {
                Ok(_) => "RESULT opened".to_owned(),
                Err(e @ LogError::Locked { .. }) => format!("RESULT locked {e}"),
                Err(e) => format!("RESULT error {e}"),
            };
            let mut out = stdout.lock();
            writeln!(out, "{line}").expect("stdout");
            out.flush().expect("flush");
        }
        "append" => {
            let run: u64 = run.parse().expect("run");
            let mut log = match SegmentLog::open(dir, options()) {
                Ok(log) => log,
                Err(e) => {
                    println!("ERROR {e}");
                    return;
                }
            };
            let mut rng = fastrand::Rng::with_seed(run);
            let mut seq = 0;
            loop {
                let n = rng.u64(1..=200);
                let batch: Vec<NewRecord> = (seq..seq + n).map(|s| crash_record(run, s)).collect();
                match log.append(&batch) {
                    Ok(first) => {
                        // Acknowledged: only now may the parent count on it.
                        let mut out = stdout.lock();
                        writeln!(out, "ACK {first} {n} {run} {seq}").expect("stdout");
                        out.flush().expect("flush");
                    }
                    Err(e) => {
                        println!("ERROR {e}");
                        return;
                    }
                }
                seq += n;
            }
        }
        other => panic!("unknown child mode {other}"),
    }
}

fn child_result(dir: &Path) -> String {
    let started = Instant::now();
    let child = spawn_child(&format!("lock:0:{}", dir.display()));
    let output = child.wait_with_output().expect("child output");
    assert!(output.status.success(), "child failed");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the lock must not wait"
    );
    String::from_utf8(output.stdout)
        .expect("utf8")
        .lines()
        .find_map(|l| l.find("RESULT ").map(|at| l[at + 7..].to_owned()))
        .expect("a RESULT line")
}

#[test]
fn a_second_writer_in_another_process_is_refused_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let writer = SegmentLog::open(dir.path(), options()).expect("open");
    let result = child_result(dir.path());
    assert_eq!(
        result,
        format!(
            "locked another mailshot process is writing to {} (pid {}): only one writer at a time",
            dir.path().display(),
            std::process::id()
        )
    );
    drop(writer);
    assert_eq!(child_result(dir.path()), "opened");
}

#[test]
fn kill_9_loses_no_acknowledged_record_and_duplicates_none() {
    const RUNS: u64 = 12;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = fastrand::Rng::with_seed(2024);
    // (first offset, count, run, first seq) of every acknowledged batch.
    let mut acks: Vec<(u64, u64, u64, u64)> = Vec::new();
    for run in 0..RUNS {
        let mut child = spawn_child(&format!("append:{run}:{}", dir.path().display()));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel::<String>();
        let pump = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(mut line) = line else { break };
                // libtest prints "test child_entry ... " before the child's first line.
                if let Some(at) = line.find("ACK ").or_else(|| line.find("ERROR")) {
                    line.drain(..at);
                }
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Let it get going (its open recovers from the previous kill), then kill it at a
        // random moment: mid-write, mid-fsync, mid-roll or in between.
        let mut lines = Vec::new();
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("child acknowledges a batch");
            let go = line.starts_with("ACK ") || line.starts_with("ERROR");
            lines.push(line);
            if go {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(rng.u64(0..300)));
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        pump.join().expect("pump");
        lines.extend(rx.try_iter());
        for line in lines {
            assert!(!line.starts_with("ERROR"), "run {run}: {line}");
            if let Some(rest) = line.strip_prefix("ACK ") {
                let f: Vec<u64> = rest
                    .split(' ')
                    .map(|x| x.parse().expect("number"))
                    .collect();
                acks.push((f[0], f[1], f[2], f[3]));
            }
        }
    }
    assert!(acks.len() as u64 >= RUNS);

    let log = SegmentLog::open(dir.path(), options()).expect("recovering open");
    let end = log.end_offset().expect("end");
    let acked_end = acks.iter().map(|a| a.0 + a.1).max().expect("acks");
    assert!(end >= acked_end, "end {end} < acknowledged {acked_end}");

    // Every record whole, offsets dense, no payload twice, each run's records in order.
    let mut seen = HashSet::new();
    let mut next_seq: HashMap<u64, u64> = HashMap::new();
    let mut by_offset = Vec::new();
    for (i, item) in log.read_from(0).expect("read_from").enumerate() {
        let record = item.expect("intact record");
        assert_eq!(record.offset, i as u64);
        let (run, seq) = parse_crash(&record.raw);
        let want = crash_record(run, seq);
        assert_eq!(record.raw, want.raw);
        assert_eq!(record.identities, want.identities);
        assert_eq!(record.ingest_time, want.ingest_time);
        assert!(seen.insert(record.raw.clone()), "duplicate {}", record.raw);
        let expected_seq = next_seq.entry(run).or_insert(0);
        assert_eq!(seq, *expected_seq, "run {run} skips or repeats");
        *expected_seq += 1;
        by_offset.push((run, seq));
    }
    assert_eq!(by_offset.len() as u64, end);
    let acked: u64 = acks.iter().map(|a| a.1).sum();
    eprintln!(
        "{RUNS} kills: {end} records in the log, {acked} acknowledged in {} batches, {} written but not acknowledged",
        acks.len(),
        end - acked
    );
    for &(first, n, run, seq) in &acks {
        for k in 0..n {
            assert_eq!(
                by_offset[(first + k) as usize],
                (run, seq + k),
                "acknowledged offset {}",
                first + k
            );
        }
    }
}
