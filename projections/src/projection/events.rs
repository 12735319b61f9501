//! The events projection (docs/design.md §5.1): one row per new fact in the events table, with
//! the template and sequence indexes written with it (like a DynamoDB table and its GSIs, they
//! cannot disagree). Write-only: it reads nothing.

use super::{Digest, ProjectionModule, TableSpec};
use crate::{ProjectionWriter, RecordView, RowSink};

/// Per-subscriber events with the template and sequence indexes.
pub struct Events;

impl ProjectionModule for Events {
    const NAME: &'static str = "events";
    // 2: rows stored in a compact binary layout. 3: sort keys in keys stored in 13 binary
    // bytes instead of 46 of text.
    const VERSION: u32 = 3;
    const TABLES: &'static [TableSpec] = &[
        TableSpec::specialised("events", Digest::Exact),
        TableSpec::specialised("template_index", Digest::Exact),
        TableSpec::specialised("sequence_index", Digest::Exact),
    ];
    const QUERIES: &'static [&'static str] = &[
        "get_subscriber_events",
        "get_template_events",
        "get_sequence_events",
    ];

    fn fold_write_only<S: RowSink>(record: &RecordView<'_>, sink: &mut S) -> Result<(), S::Error> {
        for fact in record.new_facts() {
            sink.put_fact_event(fact)?;
        }
        Ok(())
    }

    fn fold_stateful<W: ProjectionWriter>(_: &RecordView<'_>, _: &mut W) -> Result<(), W::Error> {
        Ok(())
    }
}
