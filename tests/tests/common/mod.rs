//! Shared helpers of the end-to-end tests: fixtures, generated corpora, the CLI binary,
//! in-process queries and projection digests.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mailshot_domain::Timestamp;
use mailshot_embedded::{IngestSummary, LineSource, ReaderView, Writer};
use mailshot_log::SegmentLog;
use mailshot_projections::Projection;
use mailshot_projections::query::QueryError;
use mailshot_store::{LmdbStore, Table};
use mailshot_workload::{Generator, Truth, WorkloadConfig};
use serde_json::Value;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The names of every fixture, sorted.
pub fn fixture_names() -> Vec<String> {
    let dir = workspace().join("domain/tests/fixtures");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
}

/// A fixture as a JSON value.
pub fn fixture_value(name: &str) -> Value {
    let path = workspace().join("domain/tests/fixtures").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// A fixture compacted to one NDJSON line.
pub fn fixture_line(name: &str) -> String {
    fixture_value(name).to_string()
}

/// Generates `n` lines from `seed`, with the generator's truth.
pub fn generate(n: u64, seed: u64) -> (Vec<String>, Truth) {
    let mut g = Generator::new(WorkloadConfig::new(n, seed));
    let lines: Vec<String> = g.by_ref().collect();
    (lines, g.truth().clone())
}

/// The inputs in `lines` (a line may hold several, e.g. a Lambda SNS event with several
/// records).
pub fn inputs_in(lines: &[String]) -> usize {
    lines
        .iter()
        .map(|l| mailshot_domain::parse_line(l.as_bytes()).len())
        .sum()
}

/// Writes `lines` as NDJSON to `path`.
pub fn write_lines(path: &Path, lines: &[String]) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for l in lines {
        f.write_all(l.as_bytes()).unwrap();
        f.write_all(b"\n").unwrap();
    }
    f.flush().unwrap();
}

/// Ingests `lines` in-process through a temporary NDJSON file; panics on any rejection
/// callback error. Returns the summary and the rejections as (line, reason).
pub fn ingest_lines(writer: &mut Writer, lines: &[String]) -> (IngestSummary, Vec<(u64, String)>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input.ndjson");
    write_lines(&path, lines);
    let mut rejections = Vec::new();
    let summary = writer
        .ingest(
            &[LineSource::File(path)],
            |r| rejections.push((r.line, r.reason.clone())),
            |_| {},
        )
        .expect("ingest");
    (summary, rejections)
}

/// A fixed "now" for queries over the 2024 corpora (event rows expire 365 days after their
/// event time, and queries hide expired rows).
pub fn now_2024() -> Timestamp {
    Timestamp(1_720_000_000_000) // 2024-07-03
}

/// Runs one projection query in-process against the writer's live projections.
pub fn query(writer: &Writer, tool: &str, args: Value) -> Result<Value, QueryError> {
    let snapshot = writer.store.snapshot().unwrap();
    mailshot_projections::query::run(&snapshot, tool, &args, now_2024())
}

/// Like [`query`], panicking on error.
pub fn q(writer: &Writer, tool: &str, args: Value) -> Value {
    query(writer, tool, args.clone()).unwrap_or_else(|e| panic!("{tool} {args}: {e}"))
}

/// The audit trace of `email` in-process.
pub fn trace(writer: &Writer, email: &str) -> Value {
    let snapshot = writer.store.snapshot().unwrap();
    ReaderView {
        log: &writer.log,
        snapshot: &snapshot,
    }
    .trace(email)
    .unwrap()
}

/// Every row of one projection's live (or rebuilding) tables: (table, key, value), in order.
pub type Rows = Vec<(&'static str, Vec<u8>, Vec<u8>)>;

pub fn rows(store: &LmdbStore, p: Projection) -> Rows {
    let mut out = Vec::new();
    store
        .for_each_row(p, false, |t, k, v| {
            out.push((t.name(), k.to_vec(), v.to_vec()))
        })
        .unwrap();
    out
}

/// Every row of every projection, byte for byte.
pub fn all_rows(store: &LmdbStore) -> BTreeMap<&'static str, Rows> {
    Projection::all()
        .iter()
        .copied()
        .map(|p| (p.name(), rows(store, p)))
        .collect()
}

fn strip_offsets(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.remove("offset");
            for x in map.values_mut() {
                strip_offsets(x);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_offsets),
        _ => {}
    }
}

/// The projections with log positions factored out (they legitimately depend on arrival
/// order): every projection but subscribers byte for byte (events, rollups, links, and any
/// registered since); subscribers as JSON without `offset` fields, the suppressed index as is,
/// and the history index as a set of (email, raw input).
#[derive(Debug, PartialEq, Eq)]
pub struct OrderFreeState {
    pub exact: BTreeMap<&'static str, Rows>,
    pub subscribers: BTreeMap<Vec<u8>, Value>,
    pub suppressed: BTreeSet<Vec<u8>>,
    pub history: BTreeSet<(String, String)>,
}

pub fn order_free_state(log: &SegmentLog, store: &LmdbStore) -> OrderFreeState {
    let mut exact = BTreeMap::new();
    for &p in Projection::all() {
        if p != Projection::SUBSCRIBERS {
            exact.insert(p.name(), rows(store, p));
        }
    }
    let mut subscribers = BTreeMap::new();
    let mut suppressed = BTreeSet::new();
    let mut history = BTreeSet::new();
    store
        .for_each_row(Projection::SUBSCRIBERS, false, |t, k, v| match t {
            Table::SUBSCRIBERS => {
                let mut json: Value = serde_json::from_slice(v).unwrap();
                strip_offsets(&mut json);
                subscribers.insert(k.to_vec(), json);
            }
            Table::SUPPRESSED => {
                suppressed.insert(k.to_vec());
            }
            Table::HISTORY => {
                let len = usize::from(u16::from_be_bytes([k[0], k[1]]));
                let email = String::from_utf8(k[2..2 + len].to_vec()).unwrap();
                let offset = u64::from_be_bytes(k[2 + len..].try_into().unwrap());
                let record = log
                    .read_at(offset)
                    .unwrap()
                    .expect("history offset in the log");
                history.insert((email, record.raw));
            }
            other => panic!("unexpected table {other:?}"),
        })
        .unwrap();
    OrderFreeState {
        exact,
        subscribers,
        suppressed,
        history,
    }
}

/// The `mailshot` binary (built by `cargo build -p mailshot-cli --features aws`).
pub fn mailshot_bin() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    let target = if target.is_relative() {
        workspace().join(target)
    } else {
        target
    };
    let bin = target
        .join("debug")
        .join(format!("mailshot{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build -p mailshot-cli --features aws` first (the test script does)",
        bin.display()
    );
    bin
}

/// A `mailshot --data DIR …` command.
pub fn cli(data: &Path) -> Command {
    let mut c = Command::new(mailshot_bin());
    c.arg("--data").arg(data);
    c
}

/// Runs `mailshot --data DIR args…` to completion.
pub fn run_cli(data: &Path, args: &[&str]) -> Output {
    cli(data).args(args).output().expect("run mailshot")
}

/// Runs a command that must succeed and print JSON on stdout.
pub fn cli_json(data: &Path, args: &[&str]) -> Value {
    let out = run_cli(data, args);
    assert!(
        out.status.success(),
        "mailshot {args:?} failed ({:?}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "mailshot {args:?}: stdout not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The stats answer's counts as a map.
pub fn counts(stats: &Value) -> BTreeMap<String, u64> {
    stats["counts"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect()
}

/// Pages through a list query with `limit` until `nextToken` is null; returns every item.
pub fn page_all(writer: &Writer, tool: &str, mut args: Value, limit: u64) -> Vec<Value> {
    let mut items = Vec::new();
    args["limit"] = limit.into();
    for _ in 0..100_000 {
        let page = q(writer, tool, args.clone());
        let got = page["items"].as_array().unwrap();
        assert!(got.len() as u64 <= limit);
        items.extend(got.iter().cloned());
        match &page["nextToken"] {
            Value::Null => return items,
            Value::String(t) => {
                assert!(!got.is_empty(), "a page with a nextToken must not be empty");
                args["nextToken"] = t.clone().into();
            }
            other => panic!("nextToken is {other}"),
        }
    }
    panic!("paging never ended")
}

/// The stdout of a successful `mailshot` run as JSON; fails naming `what` (the command) with
/// its stderr when it did not succeed, or its stdout when that is not JSON.
pub fn success_json(what: &str, out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{what}: stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}
