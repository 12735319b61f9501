//! Parsing inputs: shape detection, typed borrowing deserialisation, normalisation.

use crate::{Input, InputError};

/// Parses one NDJSON line (or one Lambda event payload) into its inputs. A Lambda SNS or
/// Kinesis event yields one result per record, so one bad record rejects only itself.
pub fn parse_line(line: &[u8]) -> Vec<Result<Input<'_>, InputError>> {
    let _ = line;
    todo!("parse_line")
}

/// Parses exactly one stored input (the `raw` of an [`Input`]), as the log replays it.
pub fn parse_input(raw: &str) -> Result<Input<'_>, InputError> {
    let _ = raw;
    todo!("parse_input")
}
