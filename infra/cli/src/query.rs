//! Query commands: one contract call each, printed as JSON or as a table.

use std::process::ExitCode;

use mailshot_engine::backend::BackendError;
use mailshot_projections::query::Query;
use serde_json::Value;

use super::render;

/// Prints a query's answer (`--json`: exactly the contract's JSON; else a table), or its
/// error: invalid arguments and missing subscribers exit 1, store failures are errors.
pub fn print_answer(
    query: Option<&Query>,
    answer: Result<Value, BackendError>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    match answer {
        Ok(answer) => {
            if json {
                println!("{}", serde_json::to_string(&answer)?);
            } else {
                print!("{}", render::human(query.map_or("", Query::tool), &answer));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.is_callers() => {
            eprintln!("mailshot: {e}");
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}
