//! Replaying the log into projections (docs/design.md §5.8): the one fold driver used by ingest,
//! catch-up, rebuilds and backfills; projection digests for `verify`; and the audit trace of
//! one subscriber.
//!
//! Pure: the log and the store come in through the `domain` and `projections` traits. Replay
//! takes no reactor, so it cannot cause side effects.

mod digest;
mod fold;
mod memory;
mod trace;

pub use digest::Digest;
pub use fold::{FoldError, fold_record};
pub use memory::MemoryWriter;
pub use trace::{TraceError, trace};
