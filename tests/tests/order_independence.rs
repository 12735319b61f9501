//! Arrival-order independence (docs/design.md §1, §5): the same inputs in any order and any batch
//! split give the same projections, up to log positions (which legitimately follow arrival).

mod common;

use common::*;
use mailshot_embedded::{LineSource, Writer};
use mailshot_workload::{Generator, WorkloadConfig};
use proptest::prelude::*;

/// Lines of a small corpus whose every input is accepted (no duplicate, no malformed input):
/// with duplicates, *which* copy is logged depends on the order, and so does its raw JSON.
fn accepted_lines(n: u64, seed: u64) -> Vec<String> {
    let mut g = Generator::new(WorkloadConfig::new(n, seed));
    let mut out = Vec::new();
    while let Some(line) = g.next() {
        let info = g.last_line_info();
        if info.inputs > 0 && info.accepted == info.inputs {
            out.push(line);
        }
    }
    out
}

/// Ingests `lines` split into `chunks` files (each its own batch), then the order-free state.
fn state_of(lines: &[String], chunks: usize) -> OrderFreeState {
    let dir = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let mut writer = Writer::open(dir.path()).unwrap();
    let size = lines.len().div_ceil(chunks.max(1)).max(1);
    let mut sources = Vec::new();
    for (i, chunk) in lines.chunks(size).enumerate() {
        let path = files.path().join(format!("part{i}.ndjson"));
        write_lines(&path, chunk);
        sources.push(LineSource::File(path));
    }
    let summary = writer
        .ingest(&sources, |r| panic!("rejected: {}", r.reason), |_| {})
        .unwrap();
    assert_eq!(summary.accepted, summary.inputs);
    assert_eq!(summary.duplicates, 0);
    order_free_state(&writer.log, &writer.store)
}

fn shuffled(lines: &[String], seed: u64) -> Vec<String> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut out = lines.to_vec();
    rng.shuffle(&mut out);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn shuffled_inputs_and_batch_splits_give_the_same_projections(
        corpus_seed in 0u64..1_000,
        shuffle_seed in any::<u64>(),
        chunks in 1usize..6,
    ) {
        let lines = accepted_lines(300, corpus_seed);
        prop_assert!(lines.len() > 250);
        let reference = state_of(&lines, 1);
        prop_assert!(!reference.exact["events"].is_empty());
        prop_assert!(!reference.exact["rollups"].is_empty());
        prop_assert!(!reference.exact["messages"].is_empty());
        prop_assert!(!reference.history.is_empty());
        let other = state_of(&shuffled(&lines, shuffle_seed), chunks);
        for (name, rows) in &reference.exact {
            prop_assert!(*rows == other.exact[name], "projection {} differs", name);
        }
        prop_assert_eq!(&reference.subscribers, &other.subscribers);
        prop_assert_eq!(&reference.suppressed, &other.suppressed);
        prop_assert_eq!(&reference.history, &other.history);
    }
}

/// Late arrivals in the extreme: the whole corpus reversed (every earliest open and earliest
/// suppressing cause arrives last).
#[test]
fn reversed_arrival_gives_the_same_projections() {
    let lines = accepted_lines(400, 99);
    let mut reversed = lines.clone();
    reversed.reverse();
    let a = state_of(&lines, 1);
    let b = state_of(&reversed, 3);
    assert!(!a.suppressed.is_empty() || !a.exact["rollups"].is_empty());
    assert!(a == b, "reversed arrival changed a projection");
}
