//! `mailshot --backend aws bench`: the DynamoDB cost per input and the throughput of
//! `process`, on N generated inputs in a scratch deployment (prefix `<prefix>-bench-<hex>`,
//! deleted at the end). Against an emulator the rates are regression figures only.
//!
//! The figures:
//! - `process_per_s`: records through `process` (the Lambda's code path) per second;
//! - `item_writes_per_input`: items written by the committed `TransactWriteItems`, per input;
//!   `write_units_per_input` = 2 × that (a transactional write costs 2 WCU per KB; items are
//!   under 1 KB except the archived input itself, so this is a lower bound);
//! - `read_units_per_input`: items read while processing ([`Aws::items_read`]: one RCU each
//!   for strongly consistent reads under 4 KB), per input;
//! - `stats_reads_per_query`, `stats_p50_us`, `stats_p99_us`: items read and latency of
//!   random `get_delivery_stats` queries.

use std::process::ExitCode;
use std::time::Instant;

use hdrhistogram::Histogram;
use serde_json::json;

use mailshot_aws::processor::Processor;
use mailshot_aws::{Aws, Names};
use mailshot_engine::clock::now;
use mailshot_engine::lines::{DEFAULT_MAX_INPUT_BYTES, LineSource};
use mailshot_projections::query::Query;

use super::bench::{Rng, generate_input};

/// Inputs of the AWS bench unless `--inputs` says otherwise.
pub const AWS_INPUTS: u64 = 500;
/// Stats queries timed.
const STATS_QUERIES: u64 = 200;

/// Runs the bench in a scratch deployment next to `aws`'s (same account and endpoint).
pub fn run(aws: &Aws, inputs: u64, seed: u64, as_json: bool) -> anyhow::Result<ExitCode> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let prefix = format!("{}-bench-{:08x}", aws.names.prefix, nanos as u32);
    let mut bench = aws.clone();
    bench.names = Names::new(&prefix);
    eprintln!("bench: scratch deployment {prefix}");
    bench.init(1)?;
    let result = measure(&bench, inputs, seed);
    eprintln!("bench: deleting {prefix}");
    let destroyed = bench.destroy();
    let report = result?;
    destroyed?;
    if as_json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(ExitCode::SUCCESS)
}

fn measure(aws: &Aws, inputs: u64, seed: u64) -> anyhow::Result<serde_json::Value> {
    let scratch = tempfile::Builder::new()
        .prefix("mailshot-bench")
        .tempdir()?;
    let input_path = scratch.path().join("input.ndjson");
    let input = generate_input(&input_path, inputs, seed)?;

    eprintln!("bench: ingesting to Kinesis");
    let t = Instant::now();
    let summary = mailshot_aws::ingest::ingest_sources(
        aws,
        &[LineSource::File(input_path)],
        DEFAULT_MAX_INPUT_BYTES,
        &mut |_| {},
    )?;
    let ingest_secs = t.elapsed().as_secs_f64();

    eprintln!("bench: processing");
    let reads_before = aws.items_read();
    let t = Instant::now();
    let mut processor = Processor::new(aws);
    let processed = mailshot_aws::backend::drain(aws, &mut processor, None)?;
    let process_secs = t.elapsed().as_secs_f64();
    let process_reads = aws.items_read() - reads_before;
    let per_input = |x: u64| x as f64 / summary.inputs.max(1) as f64;

    eprintln!("bench: {STATS_QUERIES} stats queries");
    let mut hist = Histogram::<u64>::new(3)?;
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let now = now();
    let reads_before = aws.items_read();
    for _ in 0..STATS_QUERIES {
        let args = input.stats_args(&mut rng);
        let t = Instant::now();
        let answer = mailshot_aws::queries::run_query(
            aws,
            &Query::from_tool("get_delivery_stats", &args)?,
            now,
        )?;
        hist.record(t.elapsed().as_nanos() as u64)?;
        std::hint::black_box(answer);
    }
    let stats_reads = aws.items_read() - reads_before;
    let round2 = |x: f64| (x * 100.0).round() / 100.0;
    Ok(json!({
        "inputs": summary.inputs,
        "accepted": summary.accepted,
        "records": processed.records,
        "folded": processed.folded,
        "ingest_per_s": round2(summary.inputs as f64 / ingest_secs),
        "process_per_s": round2(processed.records as f64 / process_secs),
        "transactions": processed.transactions,
        "item_writes_per_input": round2(per_input(processed.item_writes)),
        "write_units_per_input": round2(2.0 * per_input(processed.item_writes)),
        "read_units_per_input": round2(per_input(process_reads)),
        "stats_reads_per_query": round2(stats_reads as f64 / STATS_QUERIES as f64),
        "stats_p50_us": hist.value_at_quantile(0.5) as f64 / 1000.0,
        "stats_p99_us": hist.value_at_quantile(0.99) as f64 / 1000.0,
    }))
}
