//! `mailshot --backend aws …`: the command-line contract of docs/design.md §8 against AWS, with the
//! same JSON as the embedded runtime, plus `init` and `process`.

use std::ops::ControlFlow;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use mailshot_domain::{SystemAction, SystemEvent, normalise_email};
use mailshot_projections::ProjectionReader;
use serde_json::{Value, json};

use super::{Cli, Command};
use crate::aws::kinesis::Outgoing;
use crate::aws::processor::{ProcessSummary, Processor, replay};
use crate::aws::queries::run_query;
use crate::aws::store::DynamoReader;
use crate::aws::{Aws, Names};
use crate::embedded::LineSource;
use crate::queries::now;

/// Which runtime the CLI drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Backend {
    /// A local data dir (segment log + LMDB).
    #[default]
    Embedded,
    /// Kinesis + DynamoDB, configured by the standard AWS settings and `--aws-prefix`.
    Aws,
}

fn print_query(aws: &Aws, tool: &str, args: Value, json: bool) -> anyhow::Result<ExitCode> {
    super::query::print_answer(tool, run_query(aws, tool, &args, now()), json)
}

/// Runs one command against AWS.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime for the AWS SDK")?;
    let names = Names::resolve(cli.aws_prefix.as_deref());
    let aws = runtime.block_on(Aws::connect(names));
    if let Some(call) = cli.command.as_query()? {
        return print_query(&aws, call.tool, call.args, call.json);
    }
    match cli.command {
        Command::Init { shards } => {
            let report = aws.init(shards)?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Ingest {
            files,
            max_input_bytes,
        } => {
            let sources: Vec<LineSource> = files.iter().map(|f| LineSource::parse(f)).collect();
            aws.live_tables()?;
            let summary =
                crate::aws::ingest::ingest_sources(&aws, &sources, max_input_bytes, &mut |r| {
                    eprintln!("{}:{}: rejected: {}", r.source, r.line, r.reason)
                })?;
            println!("{}", serde_json::to_string(&summary)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Process { follow } => {
            process(&aws, follow, cli.config.as_deref(), runtime.handle())
        }
        Command::Unsuppress { email, reason } => unsuppress(&aws, &email, &reason),
        Command::Replay { projection } => {
            if projection.is_some() {
                anyhow::bail!(
                    "replay --projection: on AWS, replay rebuilds every projection into a new table generation"
                );
            }
            let started = std::time::Instant::now();
            let report = replay(&aws)?;
            eprintln!(
                "replayed {} records into generation {} in {:.1}s (generation {} left in place)",
                report.records,
                report.generation,
                started.elapsed().as_secs_f64(),
                report.previous_generation
            );
            println!("{}", serde_json::to_string(&report)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Mcp => crate::mcp::serve_aws(&aws),
        Command::Unsubscribe { token } => {
            super::reactors::unsubscribe_aws(&aws, cli.config.as_deref(), &token)
        }
        Command::Demo { inputs } => super::demo::run_aws(
            &aws,
            inputs.unwrap_or(super::demo::AWS_INPUTS),
            cli.config.as_deref(),
        ),
        Command::Bench { inputs, seed, json } => super::aws_bench::run(
            &aws,
            inputs.unwrap_or(super::aws_bench::AWS_INPUTS),
            seed,
            json,
        ),
        Command::Verify => super::print_verify(&crate::aws::verify::verify(&aws)?),
        other => anyhow::bail!(
            "{} is not available with --backend aws",
            format!("{other:?}")
                .split([' ', '{', '('])
                .next()
                .unwrap_or("this command")
                .to_lowercase()
        ),
    }
}

/// `process [--follow]`: drains the stream through the processor, with the reactors of the
/// config in force (if any) on every batch. With `--follow` it keeps polling until SIGINT or
/// SIGTERM, then finishes the batch in flight and prints the summary like a plain `process`.
fn process(
    aws: &Aws,
    follow: bool,
    config: Option<&Path>,
    runtime: &tokio::runtime::Handle,
) -> anyhow::Result<ExitCode> {
    let mut processor = Processor::new(aws);
    if let Some(reactors) = super::reactors::aws_reactors(config)? {
        processor = processor.with_reactors(reactors);
    }
    let stop = Arc::new(AtomicBool::new(false));
    if follow {
        stop_on_signal(runtime, Arc::clone(&stop))?;
    }
    let total = drain_all(aws, &mut processor, follow.then_some(&*stop))?;
    if let Some(reactors) = processor.reactors() {
        eprintln!("{}", super::reactors::describe(&reactors.stats()));
    }
    println!("{}", serde_json::to_string(&total)?);
    Ok(ExitCode::SUCCESS)
}

/// Sets `stop` on the first SIGINT or SIGTERM (instead of dying mid-batch).
fn stop_on_signal(runtime: &tokio::runtime::Handle, stop: Arc<AtomicBool>) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let _entered = runtime.enter();
    let mut interrupt = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    runtime.spawn(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        stop.store(true, Ordering::SeqCst);
    });
    Ok(())
}

/// Drains the stream through `processor`, with progress on a terminal. With `follow`, keeps
/// polling (every second) until the flag is set; without, drains again while the reactors put
/// outcomes, so that they are folded before it returns.
pub(super) fn drain_all(
    aws: &Aws,
    processor: &mut Processor,
    follow: Option<&AtomicBool>,
) -> anyhow::Result<ProcessSummary> {
    let mut progress = crate::progress::Progress::new("processing", None, "records");
    let mut total = ProcessSummary::default();
    loop {
        let mut last = 0;
        let summary = aws.drain(processor, |t| {
            progress.inc(t.records - last);
            last = t.records;
            // A stop request ends the drain after the batch in flight, not after the backlog.
            match follow {
                Some(stop) if stop.load(Ordering::SeqCst) => ControlFlow::Break(()),
                _ => ControlFlow::Continue(()),
            }
        })?;
        total.add(&summary);
        match follow {
            Some(stop) => {
                // Poll once a second, noticing a stop request within a tenth of that.
                for _ in 0..10 {
                    if stop.load(Ordering::SeqCst) {
                        progress.finish();
                        return Ok(total);
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
            }
            None if summary.outcomes == 0 => break,
            None => {}
        }
    }
    progress.finish();
    Ok(total)
}

/// `unsuppress EMAIL --reason TEXT` on AWS: puts `suppression.removed` to the stream; it takes
/// effect when processed.
fn unsuppress(aws: &Aws, email: &str, reason: &str) -> anyhow::Result<ExitCode> {
    let Some(email) = normalise_email(email) else {
        eprintln!("mailshot: invalid argument `email`: {email:?} is not an email address");
        return Ok(ExitCode::from(1));
    };
    if reason.trim().is_empty() {
        eprintln!("mailshot: invalid argument `reason`: must not be empty");
        return Ok(ExitCode::from(1));
    }
    let reader = DynamoReader::new(aws, aws.live_tables()?);
    if reader
        .subscriber(&email)?
        .and_then(|s| s.suppression())
        .is_none()
    {
        eprintln!("mailshot: {email} is not suppressed");
        return Ok(ExitCode::from(1));
    }
    let event = SystemEvent::new(
        super::query::new_event_id(&email),
        now(),
        email.clone(),
        SystemAction::SuppressionRemoved {
            reason: reason.to_string(),
            actor: Some(aws.caller_identity()?),
        },
    );
    aws.put_signed(&[Outgoing {
        partition_key: email.clone(),
        data: event.to_json(),
    }])?;
    println!(
        "{}",
        json!({"email": email, "unsuppressed": true, "eventId": event.event_id})
    );
    Ok(ExitCode::SUCCESS)
}
