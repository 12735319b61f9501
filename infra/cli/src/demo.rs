//! `mailshot demo`: a realistic month of traffic, ingested, then the answers an operator,
//! an analyst and an auditor would ask for. The same report on both backends: the embedded
//! runtime ingests into the data dir (with the example reactors writing the outbox); AWS
//! ingests to Kinesis and processes (reactors only with an explicit `--config`: the demo
//! never sends real email on its own).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use mailshot_domain::{Day, InputBody, parse_line};
use mailshot_engine::backend::Backend;
use mailshot_engine::clock::now;
use mailshot_engine::lines::{DEFAULT_MAX_INPUT_BYTES, LineSource};
use mailshot_projections::query::Query;
use mailshot_workload::{Generator, WorkloadConfig};
use serde_json::{Value, json};

use super::render;

/// Seed of the demo traffic: on a given day, a second demo finds only duplicates.
const DEMO_SEED: u64 = 2024;
/// Inputs of the demo on the embedded runtime, unless `--inputs` says otherwise.
pub const EMBEDDED_INPUTS: u64 = 60_000;
/// Inputs of the demo on AWS, unless `--inputs` says otherwise (a small month: every input
/// is a Kinesis record and a DynamoDB transaction).
pub const AWS_INPUTS: u64 = 400;

/// The demo traffic, written to a temporary NDJSON file.
struct Traffic {
    file: tempfile::NamedTempFile,
    templates: BTreeSet<String>,
    start: Day,
    days: u32,
}

fn generate(inputs: u64) -> anyhow::Result<Traffic> {
    let mut cfg = WorkloadConfig::new(inputs, DEMO_SEED);
    // The month that ends today: event rows expire 365 days after their event time, so an
    // older month would leave the event lists empty.
    cfg.start = Day(now().day().0 - cfg.days as i32);
    let (start, days) = (cfg.start, cfg.days);
    println!(
        "== generating {inputs} inputs: {days} days of traffic from {start} (seed {DEMO_SEED})"
    );
    let file = tempfile::Builder::new()
        .prefix("mailshot-demo")
        .suffix(".ndjson")
        .tempfile()?;
    let mut templates = BTreeSet::new();
    {
        let mut out = std::io::BufWriter::new(file.as_file());
        for line in Generator::new(cfg) {
            for input in parse_line(line.as_bytes()).into_iter().flatten() {
                if let InputBody::Ses(facts) = &input.body {
                    templates.extend(facts.iter().map(|f| f.template_key.to_string()));
                }
            }
            out.write_all(line.as_bytes())?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
    }
    Ok(Traffic {
        file,
        templates,
        start,
        days,
    })
}

/// The questions and their answers, asked of `backend`.
fn report(traffic: &Traffic, backend: &dyn Backend) -> anyhow::Result<()> {
    let ask = |tool: &str, args: Value| -> anyhow::Result<Value> {
        Ok(backend.query(&Query::from_tool(tool, &args)?)?)
    };
    let (start, days) = (traffic.start, traffic.days);
    let end = Day(start.0 + days as i32 - 1);
    println!("\n== delivery stats {start} .. {end}");
    let stats = ask(
        "get_delivery_stats",
        json!({"startDate": start.to_string(), "endDate": end.to_string()}),
    )?;
    print!("{}", render::human("get_delivery_stats", &stats));

    println!("\n== top templates by open rate");
    let mut rows = Vec::new();
    for t in &traffic.templates {
        let s = ask("get_delivery_stats", json!({"templateKey": t}))?;
        rows.push((
            s["rates"]["open"].as_f64().unwrap_or(0.0),
            t.clone(),
            s["counts"]["delivery"].clone(),
        ));
    }
    rows.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    for (rate, t, delivered) in rows.iter().take(5) {
        let name = if t.is_empty() {
            "(no template)"
        } else {
            t.as_str()
        };
        println!("{:>6.1}%  {name:<24} ({delivered} delivered)", rate * 100.0);
    }

    let suppressed = ask("list_suppressed", json!({"limit": 1}))?;
    if let Some(first) = suppressed["items"].as_array().and_then(|a| a.first()) {
        let email = first["email"].as_str().unwrap_or_default().to_string();
        println!("\n== a suppressed subscriber and its cause");
        println!(
            "{email}: {} ({}) at {}, event {} at log offset {}",
            first["reason"].as_str().unwrap_or("?"),
            first["bounceType"].as_str().unwrap_or("-"),
            first["at"].as_str().unwrap_or("?"),
            first["eventId"].as_str().unwrap_or("?"),
            first["offset"]
        );
        println!("\n== trace of {email}");
        let trace = ask("trace_subscriber", json!({"email": email}))?;
        print!("{}", render::human("trace_subscriber", &trace));
    }
    println!(
        "\nTry: {} stats --template <key> | events subscriber <email> | suppressed",
        backend.command_prefix()
    );
    Ok(())
}

/// `mailshot demo`: generate, ingest (with the demo's reactors), bring the projections up to
/// date (on AWS: process the stream), then report. `inputs` defaults by backend: a month of a
/// small shop where ingest folds at once, a small month where every input is a Kinesis record
/// and a DynamoDB transaction.
pub fn run(
    backend: &mut dyn Backend,
    inputs: Option<u64>,
    config: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let default_inputs = if backend.folds_at_ingest() {
        EMBEDDED_INPUTS
    } else {
        AWS_INPUTS
    };
    let traffic = generate(inputs.unwrap_or(default_inputs))?;
    println!("== ingesting into {}", backend.place());
    // The shop's app events trigger the example sequences and emails (examples/mailshot.toml).
    super::reactors::attach_demo(backend, config)?;
    let mut rejected = 0;
    let summary = backend.ingest(
        &[LineSource::File(traffic.file.path().to_path_buf())],
        DEFAULT_MAX_INPUT_BYTES,
        &mut |_| rejected += 1,
    )?;
    println!("{}", serde_json::to_string(&summary)?);
    println!(
        "({rejected} malformed inputs were quarantined in {})",
        backend.quarantine_place()
    );
    if !backend.folds_at_ingest() {
        println!("== processing");
    }
    if let Some(processed) = backend.settle()? {
        println!("{processed}");
    }
    if let Some(stats) = backend.reactor_stats() {
        println!("{}", super::reactors::describe(&stats));
    }
    if let Some(effects) = backend.effects_report() {
        println!("{effects}");
    }
    report(&traffic, backend)?;
    Ok(ExitCode::SUCCESS)
}
