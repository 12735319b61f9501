//! The commands that exist on AWS only (cargo feature `aws`): `init` (the stream and tables),
//! `process` (drain the stream as the Lambda would) and the AWS `bench`. Everything else is
//! written once against the backend abstraction.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use mailshot_aws::Names;
use mailshot_aws::backend::AwsBackend;
use mailshot_engine::backend::Backend;

use super::{Cli, Command};

/// Runs one AWS-only command.
pub fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    let mut backend = AwsBackend::connect(cli.aws_prefix.as_deref())?;
    match &cli.command {
        Command::Init { shards } => {
            let report = backend.aws().init(*shards)?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Process { follow } => process(&mut backend, *follow, cli.config.as_deref()),
        Command::Bench { inputs, seed, json } => bench(&backend, *inputs, *seed, *json),
        _ => unreachable!("the caller passes init, process and bench only"),
    }
}

/// `bench` on AWS: in a scratch deployment next to `backend`'s (same account and endpoint,
/// prefix `<prefix>-bench-<hex>`), deleted at the end.
fn bench(
    backend: &AwsBackend,
    inputs: Option<u64>,
    seed: u64,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let prefix = format!("{}-bench-{:08x}", backend.aws().names.prefix, nanos as u32);
    eprintln!("bench: scratch deployment {prefix}");
    let mut scratch = AwsBackend::connect_to(Names::new(&prefix))?;
    scratch.aws().init(1)?;
    let dir = tempfile::Builder::new()
        .prefix("mailshot-bench")
        .tempdir()?;
    let plan = super::bench::Plan::remote(inputs);
    let result = super::bench::run(&mut scratch, dir.path(), plan, seed, json);
    eprintln!("bench: deleting {prefix}");
    let destroyed = scratch.aws().destroy();
    let code = result?;
    destroyed?;
    Ok(code)
}

/// `process [--follow]`: drains the stream through the processor, with the reactors of the
/// config in force (if any) on every batch. With `--follow` it keeps polling until SIGINT or
/// SIGTERM, then finishes the batch in flight and prints the summary like a plain `process`.
fn process(
    backend: &mut AwsBackend,
    follow: bool,
    config: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    super::reactors::attach(backend, config)?;
    let stop = Arc::new(AtomicBool::new(false));
    if follow {
        stop_on_signal(backend.runtime(), Arc::clone(&stop))?;
    }
    let total = backend.drain(follow.then_some(&*stop))?;
    if let Some(stats) = backend.reactor_stats() {
        eprintln!("{}", super::reactors::describe(&stats));
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
