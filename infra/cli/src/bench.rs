//! `mailshot bench`: ingest, query and replay figures on N generated inputs, in scratch space
//! of the backend (a temporary data dir; on AWS a scratch deployment, deleted at the end).
//! Every figure in BENCHMARKS.md comes from this command. The phases are the same on every
//! backend (written once against [`Backend`]); each figure is reported where the backend can
//! measure it:
//!
//! - `ingest_per_s`, `stats_p50_us`, `stats_p99_us`, `replay_per_s`: everywhere;
//! - where a processor folds after ingest (AWS): `process_per_s`, `transactions`,
//!   `item_writes_per_input` and `write_units_per_input` (a transactional write costs 2 WCU
//!   per KB; items are under 1 KB except the archived input itself, so this is a lower
//!   bound), `read_units_per_input` and `stats_reads_per_query` (items read: one RCU each for
//!   strongly consistent reads under 4 KB); against an emulator the rates are regression
//!   figures only;
//! - where data is on local disk (embedded): `bytes_per_input`, and the tables on stderr.
//!
//! Memory is reported twice: `peak_rss_mb` is the kernel's high-water mark (VmHWM), which
//! counts the LMDB map's file pages that the run touched (page cache, reclaimable);
//! `peak_anon_mb` is the sampled peak of private memory (heap, stacks), which is what ingest
//! and replay must keep bounded.

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use hdrhistogram::Histogram;
use mailshot_domain::{Day, InputBody, parse_line};
use mailshot_engine::backend::Backend;
use mailshot_engine::lines::{DEFAULT_MAX_INPUT_BYTES, LineSource};
use mailshot_projections::query::Query;
use mailshot_workload::{Generator, WorkloadConfig};
use serde_json::{Map, Value, json};

/// How much a bench does on one backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Inputs generated and ingested.
    pub inputs: u64,
    /// Stats queries timed for the latency histogram...
    pub stats_queries: u64,
    /// ...after this many untimed ones (so that the p99 measures the query, not the first
    /// touches of its pages).
    pub warm_up_queries: u64,
}

impl Plan {
    /// The embedded runtime's bench: `inputs` (default 100,000) and 50,000 stats queries.
    pub fn embedded(inputs: Option<u64>) -> Plan {
        Plan {
            inputs: inputs.unwrap_or(100_000),
            stats_queries: 50_000,
            warm_up_queries: 2_000,
        }
    }

    /// A remote backend's bench, where every input is a stream record and a transaction:
    /// `inputs` (default 500) and 200 stats queries.
    #[cfg(feature = "aws")]
    pub fn remote(inputs: Option<u64>) -> Plan {
        Plan {
            inputs: inputs.unwrap_or(500),
            stats_queries: 200,
            warm_up_queries: 0,
        }
    }
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Samples `RssAnon` (heap and other private memory, excluding LMDB's file-backed map) every
/// 10 ms on a thread until dropped, keeping the peak: the kernel reports no peak of its own.
struct AnonPeak {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    peak_kb: std::sync::Arc<std::sync::atomic::AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl AnonPeak {
    fn start() -> AnonPeak {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let peak_kb = std::sync::Arc::new(AtomicU64::new(0));
        let (s, p) = (stop.clone(), peak_kb.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
                if let Some(kb) = status
                    .lines()
                    .find_map(|l| l.strip_prefix("RssAnon:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                {
                    p.fetch_max(kb, Ordering::Relaxed);
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        });
        AnonPeak {
            stop,
            peak_kb,
            thread: Some(thread),
        }
    }

    fn peak_mb(&mut self) -> f64 {
        use std::sync::atomic::Ordering;
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.peak_kb.load(Ordering::Relaxed) as f64 / 1024.0
    }
}

/// xorshift64*: enough randomness to pick query ranges, reproducibly.
pub(super) struct Rng(pub u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The generated input of a bench: where its days lie, and templates and sequences seen in
/// it (sampled), for the stats queries.
pub(super) struct BenchInput {
    pub start: Day,
    pub days: u32,
    pub templates: Vec<String>,
    pub sequences: Vec<String>,
}

/// Writes `inputs` generated inputs (seed `seed`) to `path` as NDJSON.
pub(super) fn generate_input(
    path: &std::path::Path,
    inputs: u64,
    seed: u64,
) -> anyhow::Result<BenchInput> {
    let cfg = WorkloadConfig::new(inputs, seed);
    let (start, days) = (cfg.start, cfg.days);
    eprintln!("bench: generating {inputs} inputs");
    let (mut templates, mut sequences) = (Vec::<String>::new(), Vec::<String>::new());
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    for (i, line) in Generator::new(cfg).enumerate() {
        if i % 97 == 0 {
            for input in parse_line(line.as_bytes()).into_iter().flatten() {
                if let InputBody::Ses(facts) = &input.body {
                    for f in facts {
                        if !templates.contains(&f.template_key.to_string()) {
                            templates.push(f.template_key.to_string());
                        }
                        if !sequences.contains(&f.sequence_id.to_string()) {
                            sequences.push(f.sequence_id.to_string());
                        }
                    }
                }
            }
        }
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
    }
    // On disk before the timed ingest starts: the input is a file at rest, and the kernel's
    // writeback of gigabytes of fresh input must not compete with the ingest being measured.
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(BenchInput {
        start,
        days,
        templates,
        sequences,
    })
}

impl BenchInput {
    /// The arguments of a random stats query: ranges around the traffic's days, open bounds,
    /// a template or sequence scope or none.
    pub(super) fn stats_args(&self, rng: &mut Rng) -> serde_json::Value {
        let (start, days) = (self.start, self.days);
        let (templates, sequences) = (&self.templates, &self.sequences);
        let a = start.0 - 5 + rng.below(u64::from(days) + 10) as i32;
        let b = a + rng.below(400) as i32;
        let mut args = json!({});
        if rng.below(4) != 0 {
            args["startDate"] = json!(Day(a).to_string());
        }
        if rng.below(4) != 0 {
            args["endDate"] = json!(Day(b).to_string());
        }
        match rng.below(3) {
            0 if !templates.is_empty() => {
                args["templateKey"] = json!(templates[rng.below(templates.len() as u64) as usize])
            }
            1 if !sequences.is_empty() => {
                args["sequenceId"] = json!(sequences[rng.below(sequences.len() as u64) as usize])
            }
            _ => {}
        }
        args
    }
}

/// Runs the bench on `backend` (scratch space the caller made and deletes afterwards): the
/// input is generated into `scratch`, ingested, brought up to date, queried and replayed.
pub fn run(
    backend: &mut dyn Backend,
    scratch: &std::path::Path,
    plan: Plan,
    seed: u64,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    let report = measure(backend, scratch, plan, seed)?;
    if as_json {
        println!("{}", Value::Object(report));
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(ExitCode::SUCCESS)
}

fn measure(
    backend: &mut dyn Backend,
    scratch: &std::path::Path,
    plan: Plan,
    seed: u64,
) -> anyhow::Result<Map<String, Value>> {
    let round2 = |x: f64| (x * 100.0).round() / 100.0;
    let input_path = scratch.join("input.ndjson");
    let input = generate_input(&input_path, plan.inputs, seed)?;
    let input_bytes = std::fs::metadata(&input_path)?.len();
    let mut anon = AnonPeak::start();

    eprintln!(
        "bench: ingesting {} MB into {}",
        input_bytes / (1 << 20),
        backend.place()
    );
    let t = Instant::now();
    let summary = backend.ingest(
        &[LineSource::File(input_path.clone())],
        DEFAULT_MAX_INPUT_BYTES,
        &mut |_| {},
    )?;
    let ingest_secs = t.elapsed().as_secs_f64();
    let ingest_rss = peak_rss_mb();
    std::fs::remove_file(&input_path)?;
    let per_input = |x: u64| x as f64 / summary.inputs.max(1) as f64;
    let mut report = Map::new();
    report.insert("inputs".into(), json!(summary.inputs));
    report.insert("accepted".into(), json!(summary.accepted));
    report.insert("duplicates".into(), json!(summary.duplicates));
    report.insert("rejected".into(), json!(summary.rejected));
    report.insert("input_mb".into(), json!(input_bytes as f64 / 1048576.0));
    report.insert(
        "ingest_per_s".into(),
        json!((summary.inputs as f64 / ingest_secs).round()),
    );

    let reads_before = backend.usage()?.items_read;
    let t = Instant::now();
    if let Some(processed) = backend.settle()? {
        eprintln!("bench: processed");
        let process_secs = t.elapsed().as_secs_f64();
        let n = |k: &str| processed[k].as_u64().unwrap_or(0);
        report.insert("records".into(), json!(n("records")));
        report.insert("folded".into(), json!(n("folded")));
        report.insert(
            "process_per_s".into(),
            json!(round2(n("records") as f64 / process_secs)),
        );
        report.insert("transactions".into(), json!(n("transactions")));
        report.insert(
            "item_writes_per_input".into(),
            json!(round2(per_input(n("itemWrites")))),
        );
        report.insert(
            "write_units_per_input".into(),
            json!(round2(2.0 * per_input(n("itemWrites")))),
        );
        if let (Some(before), Some(after)) = (reads_before, backend.usage()?.items_read) {
            report.insert(
                "read_units_per_input".into(),
                json!(round2(per_input(after - before))),
            );
        }
    }

    eprintln!("bench: {} stats queries", plan.stats_queries);
    let mut hist = Histogram::<u64>::new(3)?;
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let reads_before = backend.usage()?.items_read;
    for i in 0..plan.warm_up_queries + plan.stats_queries {
        let query = Query::from_tool("get_delivery_stats", &input.stats_args(&mut rng))?;
        let t = Instant::now();
        let answer = backend.query(&query)?;
        if i >= plan.warm_up_queries {
            hist.record(t.elapsed().as_nanos() as u64)?;
        }
        std::hint::black_box(answer);
    }
    let usage = backend.usage()?;
    if let (Some(before), Some(after)) = (reads_before, usage.items_read) {
        report.insert(
            "stats_reads_per_query".into(),
            json!(round2(
                (after - before) as f64 / plan.stats_queries.max(1) as f64
            )),
        );
    }
    report.insert(
        "stats_p50_us".into(),
        json!(hist.value_at_quantile(0.5) as f64 / 1000.0),
    );
    report.insert(
        "stats_p99_us".into(),
        json!(hist.value_at_quantile(0.99) as f64 / 1000.0),
    );
    for t in &usage.tables {
        eprintln!(
            "bench: table {:<18} {:>10} rows {:>8.1} MB {:>6.0} B/input",
            t.name,
            t.rows,
            t.bytes as f64 / 1048576.0,
            per_input(t.bytes)
        );
    }
    if let Some(bytes) = usage.bytes_on_disk {
        report.insert("bytes_per_input".into(), json!(per_input(bytes).round()));
    }

    eprintln!("bench: replaying every projection");
    let t = Instant::now();
    let replayed = backend.replay(None)?;
    let replay_secs = t.elapsed().as_secs_f64();
    let records = replayed["records"].as_u64().unwrap_or(0);
    report.insert(
        "replay_per_s".into(),
        json!((records as f64 / replay_secs).round()),
    );
    report.insert(
        "peak_rss_mb".into(),
        json!(ingest_rss.max(peak_rss_mb()).round()),
    );
    report.insert("peak_anon_mb".into(), json!(anon.peak_mb().round()));
    Ok(report)
}
