//! The fold driver: a logged record decoded once (its compact form, else its raw JSON) and
//! folded into a set of projections. Every runtime folds through it: the embedded ingest,
//! catch-up, rebuilds and backfills, the AWS processor and `replay`, the reactors' view of a
//! subscriber as of a record, and the audit trace.

use std::borrow::Borrow;

use mailshot_domain::compact;
use mailshot_domain::log::LogRecord;
use mailshot_domain::{Input, InputError, parse_input};
use mailshot_projections::{Projection, ProjectionWriter, RecordView, RowSink};

/// A logged record that no longer parses: the log holds only accepted inputs, so this means
/// the parser changed incompatibly or the record is damaged. Never skipped silently.
#[derive(Debug, thiserror::Error)]
#[error("log record {offset} does not parse: {source}")]
pub struct DecodeError {
    pub offset: u64,
    #[source]
    pub source: InputError,
}

/// Why a record could not be folded.
#[derive(Debug, thiserror::Error)]
pub enum FoldError<E: std::error::Error + 'static> {
    /// See [`DecodeError`].
    #[error(transparent)]
    Unparsable(#[from] DecodeError),
    #[error(transparent)]
    Store(E),
}

/// A logged record's input: decoded from its compact form when it carries one of the current
/// version, else parsed from its raw JSON (the compact form is a cache; the raw JSON is the
/// truth). Strings borrow from the record.
pub fn decode(record: &LogRecord) -> Result<Input<'_>, DecodeError> {
    if let Some(Ok((envelope, body))) = record.compact.as_deref().map(compact::decode) {
        return Ok(Input {
            raw: std::borrow::Cow::Borrowed(&record.raw),
            envelope,
            body,
        });
    }
    parse_input(&record.raw).map_err(|source| DecodeError {
        offset: record.offset,
        source,
    })
}

/// A logged record as the folds see it ([`decode`], with its offset and the identities it
/// introduced).
pub fn view(record: &LogRecord) -> Result<RecordView<'_>, DecodeError> {
    Ok(RecordView {
        offset: record.offset,
        input: decode(record)?,
        new_ids: &record.identities,
    })
}

/// Folds a record into each of `projections` (handles or references to them), in turn: the write-only part of its fold, then
/// the stateful part.
pub fn fold<W: ProjectionWriter>(
    record: &RecordView<'_>,
    projections: impl IntoIterator<Item = impl Borrow<Projection>>,
    writer: &mut W,
) -> Result<(), W::Error> {
    for p in projections {
        let p = *p.borrow();
        p.fold_write_only(record, writer)?;
        p.fold_stateful(record, writer)?;
    }
    Ok(())
}

/// The write-only parts of the folds of `projections`: rows that depend on the record alone,
/// into a sink that cannot read (a rebuild gathers them apart from the store).
pub fn fold_write_only<S: RowSink>(
    record: &RecordView<'_>,
    projections: impl IntoIterator<Item = impl Borrow<Projection>>,
    sink: &mut S,
) -> Result<(), S::Error> {
    for p in projections {
        let p = *p.borrow();
        p.fold_write_only(record, sink)?;
    }
    Ok(())
}

/// The stateful parts of the folds of `projections`: with [`fold_write_only`] over the same
/// records, in either order, they write what [`fold`] writes.
pub fn fold_stateful<W: ProjectionWriter>(
    record: &RecordView<'_>,
    projections: impl IntoIterator<Item = impl Borrow<Projection>>,
    writer: &mut W,
) -> Result<(), W::Error> {
    for p in projections {
        let p = *p.borrow();
        p.fold_stateful(record, writer)?;
    }
    Ok(())
}

/// Decodes `record` once ([`decode`]) and folds it into each of `projections`.
pub fn fold_record<W: ProjectionWriter>(
    record: &LogRecord,
    projections: impl IntoIterator<Item = impl Borrow<Projection>>,
    writer: &mut W,
) -> Result<(), FoldError<W::Error>> {
    let view = view(record)?;
    fold(&view, projections, writer).map_err(FoldError::Store)
}

#[cfg(test)]
mod tests {
    use mailshot_domain::Timestamp;
    use mailshot_domain::compact::{self, COMPACT_VERSION};

    use super::*;

    const CLICK: &str = include_str!("../../domain/tests/fixtures/ses-click.json");

    fn logged(compact: Option<Vec<u8>>) -> LogRecord {
        LogRecord {
            offset: 9,
            ingest_time: Timestamp(0),
            identities: Vec::new(),
            raw: CLICK.to_string(),
            compact,
        }
    }

    #[test]
    fn a_logged_input_reads_the_same_from_its_compact_form_or_its_raw_json() {
        let parsed = parse_input(CLICK).expect("fixture parses");
        let mut current = Vec::new();
        assert!(compact::encode(&parsed, &mut current));
        let mut other_version = current.clone();
        other_version[0] = COMPACT_VERSION + 1;
        let mut damaged = current.clone();
        damaged.truncate(current.len() - 1);
        // Only the first decodes; the others fall back to the raw JSON, the log's truth.
        for form in [None, Some(current), Some(other_version), Some(damaged)] {
            let record = logged(form);
            let read = decode(&record).expect("reads");
            assert_eq!((read.envelope, &read.body), (parsed.envelope, &parsed.body));
        }
    }

    #[test]
    fn the_compact_form_is_believed_when_it_is_of_the_current_version() {
        // A compact form saying something else than the raw JSON shows which one was read.
        let other = parse_input(include_str!("../../domain/tests/fixtures/ses-open.json"))
            .expect("fixture parses");
        let mut bytes = Vec::new();
        assert!(compact::encode(&other, &mut bytes));
        let record = logged(Some(bytes));
        assert_eq!(decode(&record).expect("reads").body, other.body);
    }

    #[test]
    fn raw_json_that_no_longer_parses_is_an_error_naming_the_record() {
        let mut record = logged(None);
        record.raw = "{\"eventType\":".to_string();
        let err = decode(&record).expect_err("unparsable");
        assert!(
            err.to_string().starts_with("log record 9 does not parse: "),
            "{err}"
        );
    }
}
