//! The processors of mailshot: pure, deterministic folds from log records to projection
//! writes (DESIGN §1). Each projection has its own fold; all of them read the same parsed
//! record. No clock and no I/O: time comes from the events, storage from the
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

/// Folds one record into one projection.
pub fn fold<W: ProjectionWriter>(
    projection: Projection,
    record: &RecordView<'_>,
    writer: &mut W,
) -> Result<(), W::Error> {
    match projection {
        Projection::Events => events::fold(record, writer),
        Projection::Subscribers => subscribers::fold(record, writer),
        Projection::Rollups => rollups::fold(record, writer),
        Projection::Links => links::fold(record, writer),
    }
}
