//! Bulk loading, used by rebuilds: write-only rows (event rows and the audit trail, which
//! depend on the record alone) are gathered in an arena, sorted as integers, written to disk
//! as sorted runs, and merged into the emptied tables at the end, instead of being put one by
//! one into LMDB's B-trees.

mod row_arena;
mod row_sort;
mod runs;
mod write_only_rows;

pub use row_arena::{RowArena, RowRef, SortedRows};
pub use runs::{MappedRuns, Merged, Runs};
pub use write_only_rows::WriteOnlyRows;
