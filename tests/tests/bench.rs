//! `mailshot bench` on the embedded runtime: the same phases as on AWS (one bench, written
//! against the backend abstraction), with the figures a local data dir can tell, in a scratch
//! data dir that is gone afterwards.

mod common;

use common::*;

#[test]
fn embedded_bench_reports_its_figures_from_a_scratch_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("untouched");
    let report = cli_json(
        &data,
        &["bench", "--inputs", "300", "--seed", "3", "--json"],
    );
    // The generator's lines for 300 inputs and seed 3; a line may hold several inputs.
    let (lines, truth) = generate(300, 3);
    let inputs = inputs_in(&lines);
    assert_eq!(report["inputs"], inputs, "{report}");
    assert_eq!(report["accepted"], truth.accepted, "{report}");
    assert_eq!(report["duplicates"], truth.duplicates, "{report}");
    assert_eq!(report["rejected"], truth.rejected, "{report}");
    let f = |k: &str| {
        report[k]
            .as_f64()
            .unwrap_or_else(|| panic!("{k}: {report}"))
    };
    for positive in [
        "ingest_per_s",
        "replay_per_s",
        "bytes_per_input",
        "stats_p50_us",
    ] {
        assert!(f(positive) > 0.0, "{positive}: {report}");
    }
    assert!(f("stats_p99_us") >= f("stats_p50_us"), "{report}");
    // Where ingest folds at once there is no processing phase, and no billed reads.
    for absent in [
        "process_per_s",
        "item_writes_per_input",
        "read_units_per_input",
    ] {
        assert!(report.get(absent).is_none(), "{absent}: {report}");
    }
    // The bench works in scratch space: the `--data` dir is never created.
    assert!(!data.exists());
}
