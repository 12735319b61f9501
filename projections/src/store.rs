//! The store traits: what the folds write through and what the queries read through.
//! The embedded LMDB store and the DynamoDB store implement both.

use mailshot_domain::log::Offset;
use mailshot_domain::{Day, EngagementFact, Timestamp};

use crate::rollups::{Counts, Level, RollupKey, Scope};
use crate::{EventKey, EventRow, Partition, Projection, Subscriber, Table};

/// Opens and clicks are counted once per (message, recipient) on the day of the earliest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EngagementKind {
    Open,
    Click,
    /// A click on one link (the links projection): once per (link, template, recipient).
    LinkClick,
}

/// The key of a first-engagement record.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EngagementKey {
    pub kind: EngagementKind,
    /// For opens and clicks the SES message id; for link clicks the link URL and template.
    pub subject: String,
    pub email: String,
}

/// The earliest engagement seen so far for a key, and where its unique count went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstEngagement {
    pub at: Timestamp,
    pub template_key: String,
    pub sequence_id: String,
}

/// The key of a links-projection row: one link of one template on one day.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkKey {
    pub template_key: String,
    pub day: i32,
    pub url: String,
}

/// Clicks on one link of one template, summed over a range of days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkCount {
    pub url: String,
    pub template_key: String,
    pub clicks: i64,
    /// Recipients whose first click of this link falls in the range.
    pub unique_clicks: i64,
}

/// A generic row's key: a partition and a sort key within it (docs/design.md §5). Rows of one
/// partition are read together, in sort-key byte order ([`ProjectionReader::scan_rows`]). The
/// embedded store keys the row `[u16 BE length] partition, sort`; the DynamoDB store keeps it
/// as the item `ROW#<table>#<partition>` / hex of `sort`. Keep keys short: the embedded store
/// refuses a key over 511 bytes, DynamoDB a partition over 2 KB or a sort key over 512 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RowKey<'a> {
    pub partition: &'a str,
    pub sort: &'a [u8],
}

/// A generic row of one partition, as [`ProjectionReader::scan_rows`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Its sort key within the partition.
    pub sort: Vec<u8>,
    pub value: Vec<u8>,
}

/// Where the write-only folds ([`ProjectionModule::fold_write_only`]) put their rows: rows
/// that depend on the record alone, put without reading anything. Putting the same row twice
/// leaves one row. A rebuild gathers them apart from the store and bulk-loads them; a sink
/// that cannot read keeps a write-only fold honest.
///
/// [`ProjectionModule::fold_write_only`]: crate::ProjectionModule::fold_write_only
pub trait RowSink {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Stores an event row in the events table and its template and sequence indexes.
    fn put_event(&mut self, row: &EventRow) -> Result<(), Self::Error>;

    /// Stores the event row of a new fact, exactly as `put_event(&EventRow::from_fact(fact))`
    /// does (the default). Stores with their own row encoding override it to encode straight
    /// from the fact, without building the row's text fields first.
    fn put_fact_event(&mut self, fact: &EngagementFact<'_>) -> Result<(), Self::Error> {
        self.put_event(&EventRow::from_fact(fact))
    }

    /// Notes that the record at `offset` concerns `email` (the audit trail index).
    fn add_history(&mut self, email: &str, offset: Offset) -> Result<(), Self::Error>;

    /// Stores a generic row of `table` (a [`crate::Layout::Rows`] table), replacing any row
    /// with its key.
    fn put_row(&mut self, table: Table, key: RowKey<'_>, value: &[u8]) -> Result<(), Self::Error>;
}

/// The write side, inside one batch: everything a [`RowSink`] takes, and the reads and
/// read-modify-writes of the stateful folds. Reads see the batch's own earlier writes. A batch
/// is committed atomically with the checkpoints set through
/// [`ProjectionWriter::set_checkpoint`].
pub trait ProjectionWriter: RowSink {
    /// Adds `deltas` to a rollup row.
    fn add_counts(&mut self, key: &RollupKey, deltas: &Counts) -> Result<(), Self::Error>;

    /// Adds `deltas` to every rollup row that a fact of this template and sequence on `day`
    /// counts in ([`RollupKey::for_fact`]). Stores may gather these per batch
    /// (many facts share a template, sequence and day); the default adds to each row.
    fn add_fact_counts(
        &mut self,
        template_key: &str,
        sequence_id: &str,
        day: Day,
        deltas: &Counts,
    ) -> Result<(), Self::Error> {
        for key in RollupKey::for_fact(template_key, sequence_id, day) {
            self.add_counts(&key, deltas)?;
        }
        Ok(())
    }

    /// The earliest engagement recorded for `key`.
    fn first_engagement(
        &mut self,
        key: &EngagementKey,
    ) -> Result<Option<FirstEngagement>, Self::Error>;

    /// Records the earliest engagement for `key`.
    fn set_first_engagement(
        &mut self,
        key: &EngagementKey,
        value: &FirstEngagement,
    ) -> Result<(), Self::Error>;

    /// A subscriber row.
    fn subscriber(&mut self, email: &str) -> Result<Option<Subscriber>, Self::Error>;

    /// True when a subscriber row exists for `email` (cheaper than reading it).
    fn has_subscriber(&mut self, email: &str) -> Result<bool, Self::Error> {
        Ok(self.subscriber(email)?.is_some())
    }

    /// Stores a subscriber row and keeps the suppressed-subscribers index in step.
    fn put_subscriber(&mut self, subscriber: &Subscriber) -> Result<(), Self::Error>;

    /// Adds clicks and unique clickers to a links row.
    fn add_link_counts(
        &mut self,
        key: &LinkKey,
        clicks: i64,
        unique: i64,
    ) -> Result<(), Self::Error>;

    /// A generic row of a stateful fold's table, as this batch sees it (its own
    /// [`ProjectionWriter::set_row`]s included). A table is written either through
    /// [`RowSink::put_row`] (write-only) or through `set_row` (stateful), never both: rows put
    /// through `put_row` in the current batch may not be read back.
    fn get_row(&mut self, table: Table, key: RowKey<'_>) -> Result<Option<Vec<u8>>, Self::Error>;

    /// Stores a generic row read (or found absent) through [`ProjectionWriter::get_row`] in
    /// this batch. Stores that others may write concurrently (DynamoDB) commit it only if
    /// the row is still as it was read.
    fn set_row(&mut self, table: Table, key: RowKey<'_>, value: &[u8]) -> Result<(), Self::Error>;

    /// Records that `projection` has folded every record before `next_offset`.
    fn set_checkpoint(
        &mut self,
        projection: Projection,
        next_offset: Offset,
    ) -> Result<(), Self::Error>;
}

/// One page of a list query.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Where the next page starts (an opaque store key), when there may be more.
    pub next: Option<Vec<u8>>,
}

/// What an event-list read asks the store for. `sort_from..sort_to` bounds the sort key
/// (`EVT#…` strings, half-open); rows come newest first, filtered before the limit.
#[derive(Debug, Clone, PartialEq)]
pub struct EventScan<'a> {
    pub partition: &'a Partition,
    pub sort_from: String,
    pub sort_to: String,
    pub event_type: Option<&'a str>,
    pub limit: usize,
    /// Continue after this position (from a previous page's `next`).
    pub after: Option<&'a [u8]>,
    /// Rows whose ttl has passed at `now` are skipped.
    pub now: Timestamp,
}

/// A suppressed subscriber as `list_suppressed` answers it.
pub type SuppressedEntry = Subscriber;

/// The read side. Implementations read a consistent snapshot per call.
pub trait ProjectionReader {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Event rows of a partition, newest first (see [`EventScan`]).
    fn scan_events(&self, scan: &EventScan<'_>) -> Result<Page<EventRow>, Self::Error>;

    /// One event row.
    fn event(&self, key: &EventKey) -> Result<Option<EventRow>, Self::Error>;

    /// Event rows by key, in the order of `keys` (`None` where there is none). Stores that
    /// can read many keys in one call (DynamoDB's BatchGetItem) override the default, which
    /// reads them one by one.
    fn events(&self, keys: &[EventKey]) -> Result<Vec<Option<EventRow>>, Self::Error> {
        keys.iter().map(|key| self.event(key)).collect()
    }

    /// The sum of the rollup rows of `scope` at `level` with periods `from..=to`: one ordered
    /// range read.
    fn sum_counts(
        &self,
        scope: &Scope,
        level: Level,
        from: i32,
        to: i32,
    ) -> Result<Counts, Self::Error>;

    /// A subscriber row.
    fn subscriber(&self, email: &str) -> Result<Option<Subscriber>, Self::Error>;

    /// Suppressed subscribers in email order, after `after`.
    fn suppressed(
        &self,
        limit: usize,
        after: Option<&[u8]>,
    ) -> Result<Page<SuppressedEntry>, Self::Error>;

    /// Log offsets of the records that concern `email`, oldest first.
    fn history(&self, email: &str) -> Result<Vec<Offset>, Self::Error>;

    /// Link rows of a template (or all templates) between two days, summed over the days.
    fn link_counts(
        &self,
        template_key: Option<&str>,
        from_day: i32,
        to_day: i32,
    ) -> Result<Vec<LinkCount>, Self::Error>;

    /// One generic row.
    fn get_row(&self, table: Table, key: RowKey<'_>) -> Result<Option<Vec<u8>>, Self::Error>;

    /// The generic rows of one partition of `table` in sort-key order, after the sort key
    /// `after` when given, at most `limit` of them; `next` is the last sort key returned when
    /// more may follow.
    fn scan_rows(
        &self,
        table: Table,
        partition: &str,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Page<Row>, Self::Error>;

    /// The offset each projection has folded up to (the checkpoint), if any.
    fn checkpoint(&self, projection: Projection) -> Result<Option<Offset>, Self::Error>;
}
