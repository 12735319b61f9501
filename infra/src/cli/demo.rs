//! `mailshot demo`: a realistic month of traffic, ingested, then the answers an operator,
//! an analyst and an auditor would ask for.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use mailshot_domain::workload::{Generator, WorkloadConfig};
use mailshot_domain::{InputBody, parse_line};
use mailshot_projections::query;
use serde_json::json;

use super::render;
use crate::embedded::{LineSource, Writer};
use crate::queries::now;

/// Seed of the demo traffic: on a given day, a second demo finds only duplicates.
const DEMO_SEED: u64 = 2024;

pub fn run(data: &Path, inputs: u64, config: Option<&Path>) -> anyhow::Result<ExitCode> {
    let mut cfg = WorkloadConfig::new(inputs, DEMO_SEED);
    // The month that ends today: event rows expire 365 days after their event time, so an
    // older month would leave the event lists empty.
    cfg.start = mailshot_domain::Day(now().day().0 - cfg.days as i32);
    let (start, days) = (cfg.start, cfg.days);
    println!(
        "== generating {inputs} inputs: {days} days of traffic from {start} (seed {DEMO_SEED})"
    );
    let tmp = tempfile::Builder::new()
        .prefix("mailshot-demo")
        .suffix(".ndjson")
        .tempfile()?;
    let mut templates = BTreeSet::new();
    {
        let mut out = std::io::BufWriter::new(tmp.as_file());
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
    println!("== ingesting into {}", data.display());
    let mut writer = Writer::open(data)?;
    // The shop's app events trigger the example sequences and emails (examples/mailshot.toml).
    super::reactors::attach_demo(&mut writer, config)?;
    let mut rejected = 0;
    let summary = writer.ingest(
        &[LineSource::File(tmp.path().to_path_buf())],
        |_| rejected += 1,
        |_| {},
    )?;
    println!("{}", serde_json::to_string(&summary)?);
    println!(
        "({rejected} malformed inputs were quarantined in {}/quarantine/)",
        data.display()
    );
    if let Some(stats) = writer.reactor_stats() {
        println!("{}", super::reactors::describe(&stats));
    }
    println!(
        "outbox: {} rendered emails (.eml) in {}",
        super::reactors::outbox_count(data),
        crate::reactors::outbox_dir(data).display()
    );

    let snapshot = writer.store.snapshot()?;
    let ask = |tool: &str, args: serde_json::Value| query::run(&snapshot, tool, &args, now());
    let end = mailshot_domain::Day(start.0 + days as i32 - 1);
    println!("\n== delivery stats {start} .. {end}");
    let stats = ask(
        "get_delivery_stats",
        json!({"startDate": start.to_string(), "endDate": end.to_string()}),
    )?;
    print!("{}", render::human("get_delivery_stats", &stats));

    println!("\n== top templates by open rate");
    let mut rows = Vec::new();
    for t in &templates {
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
        let reader = crate::embedded::ReaderView {
            log: &writer.log,
            snapshot: &snapshot,
        };
        let trace = reader.trace(&email)?;
        print!("{}", render::human("trace_subscriber", &trace));
    }
    println!(
        "\nTry: mailshot --data {} stats --template <key> | events subscriber <email> | suppressed",
        data.display()
    );
    Ok(ExitCode::SUCCESS)
}
