//! `mailshot bench`: ingest, query and replay figures on N generated inputs, in a scratch
//! data dir. Every figure in BENCHMARKS.md comes from this command.
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
use mailshot_projections::{Projection, query};
use mailshot_workload::{Generator, WorkloadConfig};
use serde_json::json;

use mailshot_embedded::{Writer, rebuild};
use mailshot_engine::clock::now;
use mailshot_engine::lines::LineSource;

/// Stats queries timed for the latency histogram, after [`WARM_UP_QUERIES`] untimed ones (so
/// the p99 measures the query, not the first touches of its pages).
const STATS_QUERIES: u64 = 50_000;
const WARM_UP_QUERIES: u64 = 2_000;

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

fn dir_size(path: &std::path::Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(path) {
        for e in entries.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => total += dir_size(&e.path()),
                // Allocated blocks, not the apparent length: LMDB's map file is sparse.
                Ok(m) => total += std::os::unix::fs::MetadataExt::blocks(&m) * 512,
                Err(_) => {}
            }
        }
    }
    total
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

/// Inputs of the embedded bench unless `--inputs` says otherwise.
pub const EMBEDDED_INPUTS: u64 = 100_000;

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

pub fn run(inputs: u64, seed: u64, as_json: bool) -> anyhow::Result<ExitCode> {
    let scratch = tempfile::Builder::new()
        .prefix("mailshot-bench")
        .tempdir()?;
    let input_path = scratch.path().join("input.ndjson");
    let input = generate_input(&input_path, inputs, seed)?;
    let input_bytes = std::fs::metadata(&input_path)?.len();
    let mut anon = AnonPeak::start();
    let data = scratch.path().join("data");
    let mut writer = Writer::open(&data)?;
    eprintln!("bench: ingesting {} MB", input_bytes / (1 << 20));
    let t = Instant::now();
    let summary = writer.ingest(&[LineSource::File(input_path.clone())], |_| {}, |_| {})?;
    let ingest_secs = t.elapsed().as_secs_f64();
    let ingest_rss = peak_rss_mb();
    std::fs::remove_file(&input_path)?;

    eprintln!("bench: {STATS_QUERIES} stats queries");
    let mut hist = Histogram::<u64>::new(3)?;
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let snapshot_store = writer.store.clone();
    let now = now();
    for i in 0..WARM_UP_QUERIES + STATS_QUERIES {
        let args = input.stats_args(&mut rng);
        let t = Instant::now();
        let snapshot = snapshot_store.snapshot()?;
        let answer = query::run(&snapshot, "get_delivery_stats", &args, now)?;
        drop(snapshot);
        if i >= WARM_UP_QUERIES {
            hist.record(t.elapsed().as_nanos() as u64)?;
        }
        std::hint::black_box(answer);
    }
    let data_bytes = dir_size(&data);
    for t in writer.store.table_stats()? {
        eprintln!(
            "bench: table {:<18} {:>10} rows {:>8.1} MB {:>6.0} B/input",
            t.name,
            t.rows,
            t.bytes as f64 / 1048576.0,
            t.bytes as f64 / summary.inputs.max(1) as f64
        );
    }

    eprintln!("bench: replaying every projection");
    let t = Instant::now();
    let records = rebuild(&writer, Projection::all())?;
    let replay_secs = t.elapsed().as_secs_f64();
    let report = json!({
        "inputs": summary.inputs,
        "accepted": summary.accepted,
        "duplicates": summary.duplicates,
        "rejected": summary.rejected,
        "input_mb": input_bytes as f64 / 1048576.0,
        "ingest_per_s": (summary.inputs as f64 / ingest_secs).round(),
        "stats_p50_us": hist.value_at_quantile(0.5) as f64 / 1000.0,
        "stats_p99_us": hist.value_at_quantile(0.99) as f64 / 1000.0,
        "peak_rss_mb": ingest_rss.max(peak_rss_mb()).round(),
        "peak_anon_mb": anon.peak_mb().round(),
        "bytes_per_input": (data_bytes as f64 / summary.inputs.max(1) as f64).round(),
        "replay_per_s": (records as f64 / replay_secs).round(),
    });
    if as_json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(ExitCode::SUCCESS)
}
