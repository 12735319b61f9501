//! Workload generation speed: how fast `mailshot gen` and `mailshot bench` can produce inputs.
//!
//! Run with `cargo bench -p mailshot-domain --bench generate`.

use std::time::Instant;

use mailshot_workload::{Generator, WorkloadConfig};

fn main() {
    let n = 1_000_000;
    let started = Instant::now();
    let mut bytes = 0usize;
    let mut g = Generator::new(WorkloadConfig::new(n, 42));
    for line in g.by_ref() {
        bytes += line.len() + 1;
    }
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(g.truth().lines, n);
    println!(
        "generate: {n} lines, {:.0} MB in {secs:.2} s: {:.0} lines/s, {:.0} MB/s, backlog {}",
        bytes as f64 / 1e6,
        n as f64 / secs,
        bytes as f64 / 1e6 / secs,
        g.backlog()
    );
}
