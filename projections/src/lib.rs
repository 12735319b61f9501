//! The projections of mailshot (docs/design.md §5): their rows and keys, the store traits that the
//! embedded LMDB store and the DynamoDB store implement, and the query contract (docs/design.md §6)
//! answered from them.
//!
//! Each projection is one module implementing [`ProjectionModule`] (its name, version, tables,
//! pure fold and the queries it answers), listed once in the registry of
//! `src/projection/mod.rs` ([`Projection::all`]).
//!
//! Pure and runtime-free. What it is not: the fold driver (`replay`) or any storage engine
//! (`infra`).

mod event_row;
mod projection;
pub mod query;
mod record;
pub mod rollups;
pub mod sort_key;
mod store;
mod subscriber;

pub use event_row::{EventKey, EventRow, Partition, TTL_DAYS};
pub use projection::{Digest, Layout, Projection, ProjectionModule, Table, TableSpec};
pub use record::RecordView;
pub use rollups::{Counts, RollupKey, Scope};
pub use store::{
    EngagementKey, EngagementKind, EventScan, FirstEngagement, LinkCount, LinkKey, Page,
    ProjectionReader, ProjectionWriter, Row, RowKey, RowSink, SuppressedEntry,
};
pub use subscriber::{Execution, Subscriber, Suppression, SuppressionCause, Unsubscription};
