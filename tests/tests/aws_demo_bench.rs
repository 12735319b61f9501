//! `mailshot --backend aws demo` and `bench` against the moto emulator (scripts/test.sh
//! starts it; these tests fail, never skip, without it): the demo prints the embedded demo's
//! report for the same traffic; bench prints its figures and deletes its scratch deployment.

mod aws_support;
mod common;

use aws_support::*;
use common::*;
use serde_json::Value;

/// The part of a demo's output from `== delivery stats` to the suppressed subscriber.
fn stats_section(out: &str) -> &str {
    let start = out.find("== delivery stats").expect("a stats section");
    let end = out[start..]
        .find("== a suppressed subscriber")
        .map_or(out.len(), |e| start + e);
    &out[start..end]
}

#[test]
fn aws_demo_reports_what_the_embedded_demo_reports() {
    let env = Env::new("demo", 1);
    let out = env.cli(&["demo", "--inputs", "150"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let aws = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(aws.contains("== generating 150 inputs"), "{aws}");
    assert!(aws.contains("(reactors off"), "{aws}");
    assert!(
        aws.contains(&format!(
            "Try: mailshot --backend aws --aws-prefix {} stats",
            env.prefix
        )),
        "{aws}"
    );

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = run_cli(&data, &["demo", "--inputs", "150"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let embedded = String::from_utf8_lossy(&out.stdout).to_string();
    // The same traffic, accepted alike.
    let summary = |s: &str| -> Value {
        let line = s
            .lines()
            .find(|l| l.starts_with("{\"inputs\""))
            .expect("an ingest summary");
        serde_json::from_str(line).unwrap()
    };
    assert_eq!(summary(&aws), summary(&embedded));
    assert_eq!(stats_section(&aws), stats_section(&embedded));
    assert!(stats_section(&aws).contains("== top templates by open rate"));

    // gen touches no data: the same lines whatever the backend.
    let gen_aws = env.cli(&["gen", "--inputs", "5", "--seed", "3"]);
    assert!(
        gen_aws.status.success(),
        "{}",
        String::from_utf8_lossy(&gen_aws.stderr)
    );
    let gen_embedded = run_cli(&data, &["gen", "--inputs", "5", "--seed", "3"]);
    assert_eq!(gen_aws.stdout, gen_embedded.stdout);
    assert_eq!(String::from_utf8_lossy(&gen_aws.stdout).lines().count(), 5);
}

#[test]
fn aws_bench_prints_its_figures_and_deletes_its_scratch_deployment() {
    let env = Env::new("bench", 1);
    let report = env.cli_json(&["bench", "--inputs", "60", "--json"]);
    // The generator's lines for 60 inputs and bench's default seed (7); a line may hold
    // several inputs (a Lambda SNS event with several records).
    let (lines, _) = generate(60, 7);
    let inputs = inputs_in(&lines);
    assert_eq!(report["inputs"], inputs, "{report}");
    assert_eq!(report["folded"], report["accepted"], "{report}");
    assert_eq!(report["records"], report["accepted"], "{report}");
    let f = |k: &str| {
        report[k]
            .as_f64()
            .unwrap_or_else(|| panic!("{k}: {report}"))
    };
    assert!(f("process_per_s") > 0.0, "{report}");
    assert!(f("item_writes_per_input") >= 3.0, "{report}");
    assert!(
        (f("write_units_per_input") - 2.0 * f("item_writes_per_input")).abs() < 0.02,
        "{report}"
    );
    assert!(f("read_units_per_input") >= 1.0, "{report}");
    // Stats read a bounded number of rollup rows, whatever the number of events.
    assert!(
        (1.0..=40.0).contains(&f("stats_reads_per_query")),
        "{report}"
    );
    assert!(f("stats_p99_us") >= f("stats_p50_us"), "{report}");
    // The scratch deployment is gone; the test's own is untouched.
    let bench_prefix = format!("{}-bench-", env.prefix);
    assert_eq!(
        tables_with_prefix(&env, &bench_prefix),
        Vec::<String>::new()
    );
    assert!(!tables_with_prefix(&env, &format!("{}-", env.prefix)).is_empty());
    assert_eq!(env.aws.live_tables().unwrap().generation, 1);
}
