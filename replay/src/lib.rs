//! Replaying the log into projections (docs/design.md §5.8): the one fold driver (a logged
//! record decoded once, folded into a set of projections, the write-only and stateful parts
//! apart for bulk rebuilds) used by ingest, catch-up, rebuilds, backfills and the AWS
//! processor; projection digests for `verify`; and the audit trace of one subscriber.
//!
//! Pure: the log and the store come in through the `domain` and `projections` traits. Replay
//! takes no reactor, so it cannot cause side effects.

mod digest;
mod fold;
mod memory;
mod trace;

pub use digest::Digest;
pub use fold::{
    DecodeError, FoldError, decode, fold, fold_record, fold_stateful, fold_write_only, view,
};
pub use memory::MemoryWriter;
pub use trace::{TraceError, trace};
