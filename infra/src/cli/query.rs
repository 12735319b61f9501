//! Query commands: one contract call each, printed as JSON or as a table.

use std::path::Path;
use std::process::ExitCode;

use mailshot_domain::{SystemAction, SystemEvent, normalise_email};
use mailshot_projections::ProjectionReader;
use mailshot_projections::query::QueryError;
use serde_json::Value;

use super::render;
use crate::embedded::{Reader, Writer};
use crate::queries::{now, run_query};

/// Runs one query and prints it; invalid arguments and missing subscribers exit 1.
pub fn run(data: &Path, tool: &str, args: Value, json: bool) -> anyhow::Result<ExitCode> {
    let reader = Reader::open(data)?;
    print_answer(tool, run_query(&reader, tool, &args, now()), json)
}

/// Prints a query's answer (`--json`: exactly the contract's JSON; else a table), or its
/// error: invalid arguments and missing subscribers exit 1, store failures are errors. Both
/// backends print through this.
pub fn print_answer(
    tool: &str,
    answer: Result<Value, QueryError>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    match answer {
        Ok(answer) => {
            if json {
                println!("{}", serde_json::to_string(&answer)?);
            } else {
                print!("{}", render::human(tool, &answer));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ (QueryError::InvalidArgument { .. } | QueryError::NotFound(_))) => {
            eprintln!("mailshot: {e}");
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}

/// A fresh event id for inputs mailshot writes itself: time, process and a counter, hashed.
pub fn new_event_id(salt: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = now().0;
    let h =
        xxhash_rust::xxh3::xxh3_128(format!("{t}/{}/{n}/{salt}", std::process::id()).as_bytes());
    let hex = format!("{h:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// `unsuppress EMAIL --reason TEXT`: appends `suppression.removed` to the log.
pub fn unsuppress(data: &Path, email: &str, reason: &str) -> anyhow::Result<ExitCode> {
    let Some(email) = normalise_email(email) else {
        eprintln!("mailshot: invalid argument `email`: {email:?} is not an email address");
        return Ok(ExitCode::from(1));
    };
    if reason.trim().is_empty() {
        eprintln!("mailshot: invalid argument `reason`: must not be empty");
        return Ok(ExitCode::from(1));
    }
    let mut writer = Writer::open(data)?;
    let suppressed = writer
        .store
        .snapshot()?
        .subscriber(&email)?
        .and_then(|s| s.suppression());
    if suppressed.is_none() {
        eprintln!("mailshot: {email} is not suppressed");
        return Ok(ExitCode::from(1));
    }
    let event = SystemEvent::new(
        new_event_id(&email),
        now(),
        email.clone(),
        SystemAction::SuppressionRemoved {
            reason: reason.to_string(),
            actor: Some(crate::actor::os_user()),
        },
    );
    writer.ingest_raw(&[event.to_json()])?;
    println!(
        "{}",
        serde_json::json!({"email": email, "unsuppressed": true, "eventId": event.event_id})
    );
    Ok(ExitCode::SUCCESS)
}
