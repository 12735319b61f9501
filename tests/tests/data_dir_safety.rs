//! The data dir under hostile conditions: a full disk, a read-only file system, a writer in
//! the middle of a transaction, other users, and leftovers of killed processes.
//!
//! These tests mount small or read-only file systems (`mount`, as root: the tests run as root
//! here and in CI). A failed mount fails the test; every mount is undone on the way out, also
//! when the test fails.

mod common;
mod reactors_support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{cli, cli_json, generate, run_cli, write_lines};
use mailshot_embedded::Writer;
use reactors_support::{SECRET, SECRET_VAR, config_dir, customer_created, order_shipped, outbox};
use serde_json::Value;

/// A mount, undone when dropped (also when a test panics).
struct Mount {
    dir: PathBuf,
}

fn sh(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed ({:?}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Mount {
    /// A tmpfs of `mib` MiB on `dir`.
    fn tmpfs(dir: &Path, mib: u64) -> Mount {
        std::fs::create_dir_all(dir).unwrap();
        let size = format!("size={mib}M");
        sh("mount", &["-t", "tmpfs", "-o", &size, "tmpfs", path(dir)]);
        Mount {
            dir: dir.to_path_buf(),
        }
    }

    /// `source` seen read-only at `dir` (a bind mount remounted read-only).
    fn read_only(source: &Path, dir: &Path) -> Mount {
        std::fs::create_dir_all(dir).unwrap();
        sh("mount", &["--bind", path(source), path(dir)]);
        let mount = Mount {
            dir: dir.to_path_buf(),
        };
        sh("mount", &["-o", "remount,ro,bind", path(dir)]);
        mount
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let done = Command::new("umount").arg(&self.dir).status();
        if !matches!(done, Ok(s) if s.success()) {
            // Busy (a child still running): detach it now, freed when the last user goes.
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 test path")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Generated inputs in an NDJSON file of `dir` (outside any test mount); their count.
fn input_file(dir: &Path, n: u64) -> PathBuf {
    let (lines, _) = generate(n, 16);
    let file = dir.join("input.ndjson");
    write_lines(&file, &lines);
    file
}

/// The answers of the queries a read-only data dir must give, as JSON.
fn answers(data: &Path) -> Vec<Value> {
    vec![
        cli_json(data, &["stats", "--json"]),
        cli_json(data, &["subscriber", "jordan.lee@example.net", "--json"]),
        cli_json(data, &["trace", "jordan.lee@example.net", "--json"]),
    ]
}

fn small_data_dir(data: &Path) {
    let files = tempfile::tempdir().unwrap();
    let input = files.path().join("in.ndjson");
    write_lines(
        &input,
        &[
            customer_created("ev-created-1", "jordan.lee@example.net"),
            order_shipped("ev-shipped-1", "jordan.lee@example.net", "ord_1001"),
        ],
    );
    let summary = cli_json(data, &["ingest", path(&input)]);
    assert_eq!(summary["accepted"], 2, "{summary}");
}

/// Fills the file system of `dir` with a file, then frees `keep` bytes of it: the file.
fn fill_leaving(dir: &Path, keep: u64) -> PathBuf {
    use std::io::Write;
    let filler = dir.join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let block = vec![0xa5u8; 64 * 1024];
    let mut written = 0u64;
    loop {
        match file.write(&block) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) if e.raw_os_error() == Some(28) => break,
            Err(e) => panic!("{}: {e}", filler.display()),
        }
    }
    assert!(written > keep, "the file system was already full");
    file.set_len(written - keep).unwrap();
    filler
}

#[test]
fn a_full_disk_is_an_error_and_the_next_ingest_completes() {
    let root = tempfile::tempdir().unwrap();
    let input = input_file(root.path(), 20_000);
    // What the whole input makes on a roomy disk.
    let reference = root.path().join("reference");
    let complete = cli_json(&reference, &["ingest", path(&input)]);
    let expected = cli_json(&reference, &["stats", "--json"]);

    // A small disk holding the log without its store, and 128 KiB free: the writer's open
    // rebuilds the store from the log, and it is the store's writes that meet the full disk.
    let disk = Mount::tmpfs(&root.path().join("small"), 256);
    let data = disk.dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    sh("cp", &["-a", path(&reference.join("log")), path(&data)]);
    let filler = fill_leaving(&disk.dir, 128 * 1024);
    let out = run_cli(&data, &["ingest", path(&input)]);
    assert_eq!(
        (out.status.code(), out.stdout.is_empty()),
        (Some(2), true),
        "a full disk must end the ingest with an error, not a signal: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("No space left on device"),
        "{}",
        stderr(&out)
    );

    // Space freed: the same input again completes, and nothing is missing or doubled.
    std::fs::remove_file(filler).unwrap();
    let summary = cli_json(&data, &["ingest", path(&input)]);
    assert_eq!(
        [
            summary["accepted"].as_u64().unwrap(),
            summary["duplicates"].as_u64().unwrap(),
            summary["rejected"].as_u64().unwrap(),
        ],
        [
            0,
            complete["accepted"].as_u64().unwrap() + complete["duplicates"].as_u64().unwrap(),
            complete["rejected"].as_u64().unwrap(),
        ],
        "{summary}"
    );
    assert_eq!(cli_json(&data, &["stats", "--json"]), expected);
}

#[test]
fn queries_answer_from_a_read_only_data_dir() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    small_data_dir(&data);
    let expected = answers(&data);
    let read_only = Mount::read_only(&data, &root.path().join("ro"));
    assert_eq!(answers(&read_only.dir), expected);
}

#[test]
fn a_query_does_not_wait_for_the_writers_transaction() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    small_data_dir(&data);
    let expected = cli_json(&data, &["stats", "--json"]);

    let writer = Writer::open(&data).unwrap();
    let open_transaction = writer.store.begin().unwrap();
    let mut query = cli(&data)
        .args(["stats", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Not a timing assertion: a query that waits on the writer would wait forever, and this
    // bound only turns that hang into a failure.
    let mut waited = 0;
    while query.try_wait().unwrap().is_none() {
        if waited == 600 {
            query.kill().unwrap();
            panic!("`stats` waited on the writer's open transaction");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        waited += 1;
    }
    let out = query.wait_with_output().unwrap();
    drop(open_transaction);
    assert!(out.status.success(), "{}", stderr(&out));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer, expected);
}

/// Every dir and file under `root` whose mode is not owner-only, with its mode.
fn not_owner_only(root: &Path) -> Vec<(PathBuf, u32)> {
    let mut wrong = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o7777;
        if mode != 0o700 {
            wrong.push((dir.clone(), mode));
        }
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let meta = std::fs::symlink_metadata(entry.path()).unwrap();
            if meta.is_dir() {
                dirs.push(entry.path());
            } else if meta.permissions().mode() & 0o7777 != 0o600 {
                wrong.push((entry.path(), meta.permissions().mode() & 0o7777));
            }
        }
    }
    wrong.sort();
    wrong
}

/// Runs `mailshot --data DATA --config CONFIG args…` under umask 000.
fn run_with_open_umask(data: &Path, config: &Path, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg("umask 000; exec \"$0\" \"$@\"")
        .arg(common::mailshot_bin())
        .arg("--data")
        .arg(data)
        .arg("--config")
        .arg(config)
        .args(args)
        .env(SECRET_VAR, SECRET)
        .output()
        .expect("run mailshot")
}

#[test]
fn the_data_dir_and_everything_in_it_is_owner_only_whatever_the_umask() {
    let config = config_dir(|c| c);
    let config_file = config.path().join("mailshot.toml");
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let input = root.path().join("in.ndjson");
    write_lines(
        &input,
        &[
            customer_created("ev-created-1", "jordan.lee@example.net"),
            order_shipped("ev-shipped-1", "jordan.lee@example.net", "ord_1001"),
            "not an input".to_string(),
        ],
    );
    let out = run_with_open_umask(&data, &config_file, &["ingest", path(&input)]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Every kind of file is there: log, store, quarantine, outbox.
    assert_eq!(outbox(&data).len(), 1);
    assert!(data.join("quarantine/rejected.ndjson").is_file());
    assert!(data.join("store/data.mdb").is_file());
    assert_eq!(not_owner_only(&data), Vec::new());

    // A data dir left readable by others (an older version) is tightened by the next writer.
    for (p, mode) in [
        (data.clone(), 0o755),
        (data.join("log"), 0o755),
        (data.join("quarantine/rejected.ndjson"), 0o644),
        (outbox(&data)[0].clone(), 0o644),
    ] {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let out = run_with_open_umask(&data, &config_file, &["ingest", "/dev/null"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(not_owner_only(&data), Vec::new());
}

#[test]
fn a_writer_open_removes_the_run_files_a_killed_replay_left() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    small_data_dir(&data);
    let runs = data.join("rebuild-runs");
    std::fs::create_dir_all(&runs).unwrap();
    std::fs::write(runs.join("000000.run"), vec![7u8; 4096]).unwrap();
    cli_json(&data, &["ingest", "/dev/null"]);
    assert!(!runs.exists(), "{} is still there", runs.display());
}

#[test]
fn a_query_rebuilds_a_deleted_store_from_the_log() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    small_data_dir(&data);
    let expected = answers(&data);
    std::fs::remove_dir_all(data.join("store")).unwrap();
    let out = run_cli(&data, &["stats", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the store was missing: rebuilt it from the log's 2 records"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        expected[0]
    );
    assert_eq!(answers(&data), expected);
}

#[test]
fn a_read_only_data_dir_without_its_store_says_how_to_rebuild_it() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    small_data_dir(&data);
    std::fs::remove_dir_all(data.join("store")).unwrap();
    let read_only = Mount::read_only(&data, &root.path().join("ro"));
    let out = run_cli(&read_only.dir, &["stats", "--json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let message = stderr(&out);
    assert!(
        message
            .contains("the store is missing and this query cannot rebuild it (log I/O error on ")
            && message.contains("Read-only file system (os error 30)")
            && message.contains(
                "run any writer command (`mailshot ingest /dev/null` or `mailshot replay`) with \
             write access to rebuild it from the log's 2 records"
            ),
        "{message}"
    );
}

/// The MCP server, like the CLI's queries, opens the data dir read-only: on a read-only file
/// system it answers with exactly the CLI's JSON.
#[test]
fn the_mcp_server_answers_from_a_read_only_data_dir() {
    use std::io::{BufRead, BufReader, Write};

    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    small_data_dir(&data);
    let expected = cli_json(&data, &["stats", "--json"]);
    let read_only = Mount::read_only(&data, &root.path().join("ro"));
    let mut server = cli(&read_only.dir)
        .arg("mcp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = server.stdin.take().unwrap();
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    let requests = [
        serde_json::json!({
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "read-only-test", "version": "0"},
            },
        }),
        serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        serde_json::json!({
            "jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "get_delivery_stats", "arguments": {}},
        }),
    ];
    for request in requests {
        writeln!(stdin, "{request}").unwrap();
    }
    stdin.flush().unwrap();
    let mut answer = Value::Null;
    for _ in 0..2 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        answer = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    }
    assert_eq!(answer["id"], 2, "{answer}");
    assert_eq!(answer["result"]["isError"], false, "{answer}");
    assert_eq!(answer["result"]["structuredContent"], expected, "{answer}");
    drop(stdin);
    let out = server.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
