//! Folding one log record into a set of projections.

use mailshot_domain::log::LogRecord;
use mailshot_domain::{InputError, parse_input};
use mailshot_processors::{RecordView, fold};
use mailshot_projections::{Projection, ProjectionWriter};

/// Why a record could not be folded.
#[derive(Debug, thiserror::Error)]
pub enum FoldError<E: std::error::Error + 'static> {
    /// A logged record no longer parses: the log holds only accepted inputs, so this means
    /// the parser changed incompatibly or the record is damaged. Never skipped silently.
    #[error("log record {offset} does not parse: {source}")]
    Unparsable {
        offset: u64,
        #[source]
        source: InputError,
    },
    #[error(transparent)]
    Store(E),
}

/// Parses `record` once and folds it into each of `projections`.
pub fn fold_record<W: ProjectionWriter>(
    record: &LogRecord,
    projections: &[Projection],
    writer: &mut W,
) -> Result<(), FoldError<W::Error>> {
    let input = parse_input(&record.raw).map_err(|source| FoldError::Unparsable {
        offset: record.offset,
        source,
    })?;
    let view = RecordView {
        offset: record.offset,
        input,
        new_ids: &record.identities,
    };
    for &p in projections {
        fold(p, &view, writer).map_err(FoldError::Store)?;
    }
    Ok(())
}
