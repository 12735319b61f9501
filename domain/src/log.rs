//! The append-only log as the core sees it: records, and separate traits for appending to
//! and reading from it. Implemented by the embedded segment log and by Kinesis + archive.

use crate::{FactId, Timestamp};

/// Position of a record in the log: dense, starting at 0, never reused.
pub type Offset = u64;

/// One record of the log: one accepted input, verbatim, with the identities it introduced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub offset: Offset,
    /// Wall-clock time of the append. For auditors only: folds never read it.
    pub ingest_time: Timestamp,
    /// The identities this record introduced (those not already in the log when it was
    /// appended). Folds apply only the facts whose identity is listed here, so a record that
    /// repeats part of an earlier one never counts twice.
    pub identities: Vec<FactId>,
    /// The input's original JSON (see `Input::raw`).
    pub raw: String,
    /// The input as parsed, in its [compact form](crate::compact), when the record carries
    /// one: replays decode it instead of parsing `raw`.
    pub compact: Option<Vec<u8>>,
}

/// A record waiting to be appended: everything but its offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecord {
    pub ingest_time: Timestamp,
    pub identities: Vec<FactId>,
    pub raw: String,
    /// See [`LogRecord::compact`].
    pub compact: Option<Vec<u8>>,
}

/// The write side of the log. One appender per log at a time.
pub trait LogAppender {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Appends a batch and returns the offset given to its first record. When this returns
    /// `Ok`, the whole batch is durable (acknowledged); on `Err`, none of it is acknowledged.
    fn append(&mut self, batch: &[NewRecord]) -> Result<Offset, Self::Error>;

    /// The offset the next appended record will get (= number of records in the log).
    fn next_offset(&self) -> Offset;
}

/// A stream of log records, oldest first.
pub type Records<'a, E> = Box<dyn Iterator<Item = Result<LogRecord, E>> + 'a>;

/// The read side of the log. Readers may run while an appender appends.
pub trait LogReader {
    type Error: std::error::Error + Send + Sync + 'static;

    /// The records from `offset` on, oldest first, up to the end as of the call.
    fn read_from(&self, offset: Offset) -> Result<Records<'_, Self::Error>, Self::Error>;

    /// The record at `offset`, if the log has it.
    fn read_at(&self, offset: Offset) -> Result<Option<LogRecord>, Self::Error>;

    /// The offset one past the last committed record.
    fn end_offset(&self) -> Result<Offset, Self::Error>;
}
