//! The projections of mailshot (docs/design.md §5): their rows and keys, the store traits that the
//! embedded LMDB store and the DynamoDB store implement, and the query contract (docs/design.md §6)
//! answered from them.
//!
//! Pure and runtime-free. What it is not: the folds that fill projections (`processors`) or any
//! storage engine (`infra`).

mod event_row;
mod projection;
pub mod query;
pub mod rollups;
mod store;
mod subscriber;

pub use event_row::{EventKey, EventRow, Partition, TTL_DAYS};
pub use projection::Projection;
pub use rollups::{Counts, RollupKey, Scope};
pub use store::{
    EngagementKey, EngagementKind, EventScan, FirstEngagement, LinkCount, LinkKey, Page,
    ProjectionReader, ProjectionWriter, SuppressedEntry,
};
pub use subscriber::{Execution, Subscriber, Suppression, SuppressionCause, Unsubscription};
