//! `mailshot mcp` end to end, driven by an independent client: the official Python MCP SDK
//! (`tests/mcp/test_mcp_client.py`). Builds the known corpus (`gen --inputs 3000 --seed 5`,
//! ingested), then runs the script, which compares every tool with the CLI's `--json`, checks the
//! tool errors of bad arguments, the no-data start and queries during a concurrent ingest.
//!
//! Needs `MAILSHOT_PYTHON`, a Python with `tests/requirements.txt` installed (`scripts/test.sh`
//! sets it up), and the `mailshot` binary (`cargo build -p mailshot-cli --features aws`).

mod common;

use std::path::Path;
use std::process::Command;

use common::{mailshot_bin, workspace};

fn run(cmd: &mut Command) -> std::process::Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn mcp_server_with_the_python_sdk_client() {
    let python = std::env::var_os("MAILSHOT_PYTHON").unwrap_or_else(|| {
        panic!(
            "MAILSHOT_PYTHON is not set: this test needs a Python with the MCP SDK \
             (`python3 -m venv .venv && .venv/bin/pip install -r tests/requirements.txt`, then \
             MAILSHOT_PYTHON=$PWD/.venv/bin/python), or run scripts/test.sh, which does both"
        )
    });
    let bin = mailshot_bin();
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build -p mailshot-cli --features aws` first (scripts/test.sh does)",
        bin.display()
    );

    let scratch = tempfile::tempdir().expect("scratch dir");
    let corpus = scratch.path().join("corpus.ndjson");
    let data = scratch.path().join("data");
    let out = run(Command::new(&bin).args(["gen", "--inputs", "3000", "--seed", "5"]));
    std::fs::write(&corpus, &out.stdout).expect("write corpus");
    let out = run(Command::new(&bin)
        .arg("--data")
        .arg(&data)
        .arg("ingest")
        .arg(&corpus));
    let summary: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("ingest summary JSON");
    assert!(
        summary["accepted"].as_u64().unwrap_or(0) > 2000,
        "ingest summary {summary}"
    );

    let script = workspace().join("tests/mcp/test_mcp_client.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(&bin)
        .arg(scratch.path())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} (MAILSHOT_PYTHON): {e}",
                Path::new(&python).display()
            )
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{} failed ({}):\n{stdout}\n{stderr}",
        script.display(),
        out.status
    );
}

/// Reads one line of the server's stdout as JSON.
fn response(out: &mut impl std::io::BufRead) -> serde_json::Value {
    let mut line = String::new();
    out.read_line(&mut line).expect("read the server's stdout");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line:?}"))
}

#[test]
fn lines_that_are_not_json_get_a_parse_error_and_the_server_goes_on() {
    use std::io::{BufReader, Write};
    use std::process::Stdio;

    let scratch = tempfile::tempdir().expect("scratch dir");
    let mut server = Command::new(mailshot_bin())
        .arg("--data")
        .arg(scratch.path().join("data"))
        .arg("mcp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mailshot mcp");
    let mut stdin = server.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(server.stdout.take().expect("stdout"));

    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let initialize = serde_json::json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "raw-test", "version": "0"},
        },
    });
    for line in [
        "this is not json {".to_string(),
        deep,
        initialize.to_string(),
    ] {
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
    }
    stdin.flush().unwrap();

    let parse_error = |data: &str| {
        serde_json::json!({
            "jsonrpc": "2.0",
            "id": null,
            "error": {"code": -32700, "message": "Parse error", "data": data},
        })
    };
    assert_eq!(
        response(&mut stdout),
        parse_error("expected ident at line 1 column 2")
    );
    assert_eq!(
        response(&mut stdout),
        parse_error("recursion limit exceeded at line 1 column 128")
    );
    let answer = response(&mut stdout);
    assert_eq!(answer["id"], 1, "{answer}");
    assert_eq!(
        answer["result"]["serverInfo"]["name"], "mailshot",
        "{answer}"
    );

    // After the handshake, a request is still answered.
    let initialized = serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let list = serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    for line in [initialized, list] {
        writeln!(stdin, "{line}").unwrap();
    }
    stdin.flush().unwrap();
    let answer = response(&mut stdout);
    assert_eq!(answer["id"], 2, "{answer}");
    // Every tool of the contract, each once.
    let mut names: Vec<&str> = answer["result"]["tools"]
        .as_array()
        .map(|t| t.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default();
    names.sort_unstable();
    let mut tools = mailshot_projections::query::TOOLS.to_vec();
    tools.sort_unstable();
    assert_eq!(names, tools, "{answer}");
    drop(stdin);
    let status = server.wait().expect("wait for mailshot mcp");
    assert!(status.success(), "mailshot mcp exited with {status}");
}
