//! The `mailshot` command line (docs/design.md §8): every command is written once against the
//! backend abstraction ([`mailshot_engine::backend::Backend`]), on the embedded runtime or,
//! with the cargo feature `aws`, on AWS. Every query command prints exactly the contract's
//! JSON under `--json`, and a readable table without it.

#[cfg(feature = "aws")]
mod aws;
mod bench;
mod demo;
mod query;
mod query_call;
mod reactors;
mod render;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mailshot_embedded::backend::EmbeddedBackend;
use mailshot_engine::backend::{Backend, BackendError};
use mailshot_engine::lines::LineSource;
use mailshot_projections::Projection;
use mailshot_workload::{Generator, WorkloadConfig};

pub use self::query_call::QueryCall;

/// Which runtime the CLI drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum BackendKind {
    /// A local data dir (segment log + LMDB).
    #[default]
    Embedded,
    /// Kinesis + DynamoDB, configured by the standard AWS settings and `--aws-prefix` (in
    /// builds with the cargo feature `aws`).
    Aws,
}

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
    #[arg(long, global = true, value_enum, default_value_t = BackendKind::Embedded)]
    pub backend: BackendKind,
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
        #[arg(long, value_name = "N", default_value_t = mailshot_engine::lines::DEFAULT_MAX_INPUT_BYTES,
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
    /// What happened to one email: an SES message's template, sequence, send time, and every
    /// event of each recipient.
    Message {
        /// The SES message id (`sesMessageId` of the event lists).
        id: String,
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
fn print_verify(reports: &[mailshot_engine::report::VerifyReport]) -> anyhow::Result<ExitCode> {
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

/// Prints a command's JSON answer, or its error: the caller's mistakes (invalid arguments,
/// refusals) exit 1 with one line on stderr, failures of the backend are errors (exit 2).
fn print_result(result: Result<serde_json::Value, BackendError>) -> anyhow::Result<ExitCode> {
    match result {
        Ok(answer) => {
            println!("{}", serde_json::to_string(&answer)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.is_callers() => {
            eprintln!("mailshot: {e}");
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}

/// The backend the command line names.
fn open_backend(cli: &Cli) -> anyhow::Result<Box<dyn Backend>> {
    match cli.backend {
        BackendKind::Embedded => Ok(Box::new(EmbeddedBackend::new(&cli.data))),
        #[cfg(feature = "aws")]
        BackendKind::Aws => Ok(Box::new(mailshot_aws::backend::AwsBackend::connect(
            cli.aws_prefix.as_deref(),
        )?)),
        #[cfg(not(feature = "aws"))]
        BackendKind::Aws => anyhow::bail!(
            "this mailshot was built without the AWS backend: build it with `cargo build --release --features aws`"
        ),
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Gen { inputs, seed } => return generate(*inputs, *seed),
        Command::Repair { json } => {
            if cli.backend != BackendKind::Embedded {
                anyhow::bail!("repair is for the embedded runtime's data dir");
            }
            let report = mailshot_embedded::repair(&cli.data)?;
            if *json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print!("{}", render::repair(&report));
            }
            return Ok(ExitCode::SUCCESS);
        }
        Command::Bench { inputs, seed, json } if cli.backend == BackendKind::Embedded => {
            let scratch = tempfile::Builder::new()
                .prefix("mailshot-bench")
                .tempdir()?;
            let mut backend = EmbeddedBackend::new(&scratch.path().join("data"));
            let plan = bench::Plan::embedded(*inputs);
            return bench::run(&mut backend, scratch.path(), plan, *seed, *json);
        }
        Command::Init { .. } | Command::Process { .. } if cli.backend == BackendKind::Embedded => {
            anyhow::bail!(
                "init and process are for --backend aws (the embedded runtime folds on ingest)"
            )
        }
        Command::Init { .. } | Command::Process { .. } | Command::Bench { .. } => {
            #[cfg(feature = "aws")]
            return aws::run(&cli);
            #[cfg(not(feature = "aws"))]
            return open_backend(&cli).map(|_| ExitCode::SUCCESS);
        }
        _ => {}
    }
    let mut backend = open_backend(&cli)?;
    if let Some(call) = cli.command.as_query()? {
        let answer = match &call.query {
            Ok(query) => backend.query(query),
            Err(e) => Err(e.clone().into()),
        };
        return query::print_answer(call.query.as_ref().ok(), answer, call.json);
    }
    let config = cli.config;
    match cli.command {
        Command::Ingest {
            files,
            max_input_bytes,
        } => {
            let sources: Vec<LineSource> = files.iter().map(|f| LineSource::parse(f)).collect();
            if backend.folds_at_ingest() {
                // Reactors react where records are folded: here at ingest on the embedded
                // runtime; on AWS in the processor (`process`, the Lambda).
                reactors::attach(backend.as_mut(), config.as_deref())?;
            }
            let summary = backend.ingest(&sources, max_input_bytes, &mut |r| {
                eprintln!("{}:{}: rejected: {}", r.source, r.line, r.reason)
            })?;
            println!("{}", serde_json::to_string(&summary)?);
            if let Some(stats) = backend.reactor_stats() {
                eprintln!("{}", reactors::describe(&stats));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Unsuppress { email, reason } => print_result(mailshot_engine::admin::unsuppress(
            backend.as_mut(),
            &email,
            &reason,
        )),
        Command::Unsubscribe { token } => {
            reactors::unsubscribe(backend.as_mut(), config.as_deref(), &token)
        }
        Command::Replay { projection } => {
            let projection = match projection {
                Some(name) => Some(name.parse::<Projection>().map_err(anyhow::Error::msg)?),
                None => None,
            };
            print_result(backend.replay(projection))
        }
        Command::Verify => print_verify(&backend.verify()?),
        Command::Mcp => mailshot_mcp::serve(backend.queries()),
        Command::Demo { inputs } => demo::run(backend.as_mut(), inputs, config.as_deref()),
        Command::Stats { .. }
        | Command::Events { .. }
        | Command::Subscriber { .. }
        | Command::Trace { .. }
        | Command::Suppressed { .. }
        | Command::Links { .. }
        | Command::Message { .. } => unreachable!("query commands are answered by as_query above"),
        Command::Gen { .. } | Command::Repair { .. } => unreachable!("answered above"),
        Command::Init { .. } | Command::Process { .. } | Command::Bench { .. } => {
            unreachable!("answered by the AWS commands above")
        }
    }
}
