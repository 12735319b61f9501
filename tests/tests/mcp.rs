//! `mailshot mcp` end to end, driven by an independent client: the official Python MCP SDK
//! (`tests/mcp/test_mcp_client.py`). Builds the known corpus (`gen --inputs 3000 --seed 5`,
//! ingested), then runs the script, which compares every tool with the CLI's `--json`, checks the
//! tool errors of bad arguments, the no-data start and queries during a concurrent ingest.
//!
//! Needs `MAILSHOT_PYTHON`, a Python with `tests/requirements.txt` installed (`scripts/test.sh`
//! sets it up), and the `mailshot` binary (`cargo build -p mailshot-infra`).

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
        "{} is missing: run `cargo build -p mailshot-infra` first (scripts/test.sh does)",
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
