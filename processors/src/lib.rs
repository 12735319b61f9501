//! The processors of mailshot: pure, deterministic folds from log records to projection
//! writes (docs/design.md §1, §5). Each projection has its own fold; all of them read the same
//! parsed record. No clock and no I/O: time comes from the events, storage from the
//! [`ProjectionWriter`] they are given.
//!
//! Every fold is arrival-order independent: counts are sums, first engagements keep the
//! earliest, profiles are last-writer-wins by (event time, event id), suppression keeps every
//! cause and picks the earliest.

mod events;
mod links;
mod record;
mod rollups;
mod subscribers;

use mailshot_projections::{Projection, ProjectionWriter};

pub use record::RecordView;

/// Folds one record into one projection: [`fold_write_only`], then [`fold_stateful`].
pub fn fold<W: ProjectionWriter>(
    projection: Projection,
    record: &RecordView<'_>,
    writer: &mut W,
) -> Result<(), W::Error> {
    fold_write_only(projection, record, writer)?;
    fold_stateful(projection, record, writer)
}

/// The part of a projection's fold that reads nothing and writes rows that depend on the
/// record alone: every event row, and the subscribers' audit trail. A rebuild runs it apart
/// from the store, on another thread, and bulk-loads its rows.
pub fn fold_write_only<W: ProjectionWriter>(
    projection: Projection,
    record: &RecordView<'_>,
    writer: &mut W,
) -> Result<(), W::Error> {
    match projection {
        Projection::Events => events::fold(record, writer),
        Projection::Subscribers => subscribers::fold_history(record, writer),
        Projection::Rollups | Projection::Links => Ok(()),
    }
}

/// The rest of a projection's fold, which reads what earlier records wrote: with
/// [`fold_write_only`], in either order, it does what [`fold`] does.
pub fn fold_stateful<W: ProjectionWriter>(
    projection: Projection,
    record: &RecordView<'_>,
    writer: &mut W,
) -> Result<(), W::Error> {
    match projection {
        Projection::Events => Ok(()),
        Projection::Subscribers => subscribers::fold_state(record, writer),
        Projection::Rollups => rollups::fold(record, writer),
        Projection::Links => links::fold(record, writer),
    }
}
