//! The command line (docs/design.md §8): each query command prints exactly the contract's JSON with
//! `--json`, and a readable table without it.

mod aws;
mod aws_bench;
mod bench;
mod demo;
mod query;
mod query_call;
mod reactors;
mod render;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mailshot_domain::workload::{Generator, WorkloadConfig};
use mailshot_projections::Projection;
use serde_json::json;

pub use self::aws::Backend;
pub use self::query_call::QueryCall;
use crate::embedded::{LineSource, Writer, rebuild, verify};

/// mailshot: the event-sourced engagement log of an email-sequence system.
#[derive(Debug, Parser)]
#[command(name = "mailshot", version, about)]
pub struct Cli {
    /// The data dir of the embedded runtime.
    #[arg(long, global = true, default_value = "./mailshot-data")]
    pub data: PathBuf,
    /// The reactors' configuration (default: ./mailshot.toml if it exists, else no reactors).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The runtime: `embedded` (the data dir) or `aws` (Kinesis + DynamoDB; docs/aws.md).
    #[arg(long, global = true, value_enum, default_value_t = Backend::Embedded)]
    pub backend: Backend,
    /// Prefix of the AWS stream and table names (else $MAILSHOT_AWS_PREFIX, else `mailshot`).
    #[arg(long, global = true)]
    pub aws_prefix: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ingest NDJSON inputs (`-` = stdin); prints {"inputs","accepted","duplicates","rejected"}.
    Ingest {
        #[arg(required = true)]
        files: Vec<String>,
        /// Largest input line in bytes (default 1 MiB, the largest Kinesis record). A longer
        /// line is quarantined as `too large` with its first 1 KiB and its size, and the lines
        /// around it are ingested; it is never read into memory whole.
        #[arg(long, value_name = "N", default_value_t = crate::lines::DEFAULT_MAX_INPUT_BYTES,
              value_parser = clap::value_parser!(u64).range(1..))]
        max_input_bytes: u64,
    },
    /// AWS only: create the stream, tables and indexes if absent (idempotent).
    Init {
        /// Shards of a new stream.
        #[arg(long, default_value_t = 1)]
        shards: i32,
    },
    /// AWS only: drain the stream through the processor, as the Lambda would.
    Process {
        /// Keep polling for new records.
        #[arg(long)]
        follow: bool,
    },
    /// Delivery stats over a date range and scope.
    Stats {
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        template: Option<String>,
        #[arg(long)]
        sequence: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Events of a subscriber, template or sequence, newest first.
    Events {
        /// `subscriber`, `template` or `sequence`.
        kind: String,
        /// The email, template key or sequence id.
        key: String,
        #[arg(long = "type")]
        event_type: Option<String>,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        limit: Option<u64>,
        #[arg(long)]
        next: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// A subscriber's profile, suppression, executions and recent sends.
    Subscriber {
        email: String,
        #[arg(long)]
        json: bool,
    },
    /// A subscriber's whole history from the log, with the state change each input caused.
    Trace {
        email: String,
        #[arg(long)]
        json: bool,
    },
    /// Suppressed subscribers and their causes.
    Suppressed {
        #[arg(long)]
        limit: Option<u64>,
        #[arg(long)]
        next: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Lift a subscriber's suppression (appends a `suppression.removed` admin input).
    Unsuppress {
        email: String,
        #[arg(long)]
        reason: String,
    },
    /// Unsubscribe the address an unsubscribe link's token was signed for.
    Unsubscribe { token: String },
    /// Click stats per link.
    Links {
        #[arg(long)]
        template: Option<String>,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Rebuild one projection (or all) from the log, then swap it in atomically.
    Replay {
        #[arg(long)]
        projection: Option<String>,
    },
    /// Rebuild every projection into scratch space and compare digests with the live ones.
    Verify,
    /// After the end of the log was damaged or deleted: cut a damaged last record (keeping its
    /// bytes in <data>/damaged/), cut the store back to the log by rebuilding it, record the
    /// lost offsets so they are never reused, and report exactly what was lost.
    Repair {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Serve the query tools over MCP on stdin/stdout (for AI assistants).
    Mcp,
    /// Write a deterministic workload as NDJSON on stdout.
    Gen {
        #[arg(long)]
        inputs: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Generate a realistic month of traffic, ingest it and show what the queries answer.
    Demo {
        /// Inputs to generate (default 60000; 400 with --backend aws).
        #[arg(long)]
        inputs: Option<u64>,
    },
    /// Measure ingest, query and replay on N generated inputs in a scratch data dir.
    Bench {
        /// Inputs to generate (default 100000; 500 with --backend aws).
        #[arg(long)]
        inputs: Option<u64>,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        #[arg(long)]
        json: bool,
    },
}

/// Prints `verify`'s reports (one line per projection on stderr, the JSON on stdout); exit 1
/// when a projection differs from its rebuild.
fn print_verify(reports: &[crate::embedded::VerifyReport]) -> anyhow::Result<ExitCode> {
    let mut ok = true;
    for r in reports {
        if r.matches {
            eprintln!(
                "{}: ok ({} rows, digest {})",
                r.projection, r.rows, r.live_digest
            );
        } else {
            ok = false;
            eprintln!(
                "{}: MISMATCH: live {} rebuilt {}; first differing key {}",
                r.projection,
                r.live_digest,
                r.rebuilt_digest,
                r.first_difference.as_deref().unwrap_or("?")
            );
        }
    }
    println!("{}", serde_json::to_string(reports)?);
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Runs the command line; errors are printed as one line on stderr.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mailshot: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `gen`: the deterministic workload as NDJSON on stdout (any backend: it touches no data).
fn generate(inputs: u64, seed: u64) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
    for line in Generator::new(WorkloadConfig::new(inputs, seed)) {
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Gen { inputs, seed } = cli.command {
        return generate(inputs, seed);
    }
    if cli.backend == Backend::Aws {
        return aws::run(cli);
    }
    let data = cli.data;
    let config = cli.config;
    if let Some(call) = cli.command.as_query()? {
        return query::run(&data, call.tool, call.args, call.json);
    }
    match cli.command {
        Command::Ingest {
            files,
            max_input_bytes,
        } => {
            let sources: Vec<LineSource> = files.iter().map(|f| LineSource::parse(f)).collect();
            let mut writer = Writer::open(&data)?;
            writer.set_max_input_bytes(max_input_bytes);
            reactors::attach(&mut writer, config.as_deref())?;
            let summary = writer.ingest(
                &sources,
                |r| eprintln!("{}:{}: rejected: {}", r.source, r.line, r.reason),
                |_| {},
            )?;
            println!("{}", serde_json::to_string(&summary)?);
            if let Some(stats) = writer.reactor_stats() {
                eprintln!("{}", reactors::describe(&stats));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Stats { .. }
        | Command::Events { .. }
        | Command::Subscriber { .. }
        | Command::Trace { .. }
        | Command::Suppressed { .. }
        | Command::Links { .. } => unreachable!("query commands are answered by as_query above"),
        Command::Unsuppress { email, reason } => query::unsuppress(&data, &email, &reason),
        Command::Unsubscribe { token } => reactors::unsubscribe(&data, config.as_deref(), &token),
        Command::Replay { projection } => {
            let projections = match projection {
                Some(name) => vec![name.parse::<Projection>().map_err(anyhow::Error::msg)?],
                None => Projection::ALL.to_vec(),
            };
            let writer = Writer::open_for_rebuild(&data)?;
            let started = std::time::Instant::now();
            let records = rebuild(&writer, &projections)?;
            let names: Vec<_> = projections.iter().map(|p| p.name()).collect();
            eprintln!(
                "replayed {} in {:.1}s",
                names.join(", "),
                started.elapsed().as_secs_f64()
            );
            println!("{}", json!({"projections": names, "records": records}));
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify => {
            let writer = Writer::open_for_rebuild(&data)?;
            print_verify(&verify(&writer)?)
        }
        Command::Repair { json } => {
            let report = crate::embedded::repair(&data)?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print!("{}", render::repair(&report));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Gen { inputs, seed } => generate(inputs, seed),
        Command::Mcp => crate::mcp::serve(&data),
        Command::Init { .. } | Command::Process { .. } => {
            anyhow::bail!(
                "init and process are for --backend aws (the embedded runtime folds on ingest)"
            )
        }
        Command::Demo { inputs } => demo::run(
            &data,
            inputs.unwrap_or(demo::EMBEDDED_INPUTS),
            config.as_deref(),
        ),
        Command::Bench { inputs, seed, json } => {
            bench::run(inputs.unwrap_or(bench::EMBEDDED_INPUTS), seed, json)
        }
    }
}
