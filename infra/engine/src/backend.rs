//! The backend abstraction: what the embedded runtime and the AWS runtime both do, so that the
//! CLI, the MCP server and the demo are written once.
//!
//! - [`Queries`] answers the query contract (docs/design.md §6). It is all the MCP server
//!   needs, and is `Send + Sync` so that it can answer from any thread.
//! - [`Backend`] adds, from one thread, what changes data: ingest, admin actions, reactors, replay and verify.
//!
//! Commands that exist on one runtime only stay with it: `repair` (a damaged embedded log),
//! `init` and `process` (the AWS stream and tables).

use std::sync::Arc;

use mailshot_domain::SystemEvent;
use mailshot_projections::query::{Query, QueryError};
use mailshot_projections::{Projection, Subscriber};
use mailshot_reactors::Reactor;
use serde_json::Value;

use crate::lines::LineSource;
use crate::reactions::RunnerStats;
use crate::report::{IngestSummary, Rejection, VerifyReport};

/// What a backend's data and work cost so far: the figures `bench` reports beside its
/// timings, each where the backend can tell it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    /// Bytes the data takes on disk (the embedded data dir, allocated blocks).
    pub bytes_on_disk: Option<u64>,
    /// Rows and bytes of each table, where the store can tell them.
    pub tables: Vec<TableUsage>,
    /// Items this process has read from the store so far (DynamoDB: about one read unit
    /// each), where reads are billed.
    pub items_read: Option<u64>,
}

/// The size of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableUsage {
    /// The table's name.
    pub name: String,
    /// Its rows.
    pub rows: u64,
    /// The bytes of its pages.
    pub bytes: u64,
}

/// Why a backend did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// A query failed: bad arguments or an unknown subscriber (the caller's mistake), or the
    /// store.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// The request was understood and refused: the address is not suppressed, the token is
    /// forged or expired, the command does not exist on this backend. The caller's mistake.
    #[error("{0}")]
    Refused(String),
    /// The data could not be reached or changed: I/O, the store, the network, a damaged log.
    #[error(transparent)]
    Failed(Box<dyn std::error::Error + Send + Sync>),
}

impl BackendError {
    /// Wraps a runtime's own error.
    pub fn failed(e: impl std::error::Error + Send + Sync + 'static) -> BackendError {
        BackendError::Failed(Box::new(e))
    }

    /// True for the caller's mistakes (exit status 1 on the command line; a tool error that
    /// names the argument in MCP), false for failures of the backend (exit status 2).
    pub fn is_callers(&self) -> bool {
        match self {
            BackendError::Query(QueryError::InvalidArgument { .. } | QueryError::NotFound(_)) => {
                true
            }
            BackendError::Refused(_) => true,
            BackendError::Query(QueryError::Store(_)) | BackendError::Failed(_) => false,
        }
    }
}

/// The read side of a backend: the query contract.
pub trait Queries: Send + Sync {
    /// Where the answers come from, for people: `data dir ./mailshot-data`,
    /// `AWS prefix mailshot`.
    fn place(&self) -> String;

    /// Answers `query` exactly as the contract specifies its JSON, as of the wall clock
    /// (which hides expired event rows).
    fn query(&self, query: &Query) -> Result<Value, BackendError>;
}

/// A runtime holding a log and its projections.
pub trait Backend {
    /// Where the data lives, for people: `data dir ./mailshot-data`, `AWS prefix mailshot`.
    fn place(&self) -> String;

    /// Answers one query of the contract, as [`Queries::query`] does, from what this backend
    /// holds now (including what it has just ingested).
    fn query(&self, query: &Query) -> Result<Value, BackendError>;

    /// A handle answering queries from any thread (the MCP server's), reading the same data.
    fn queries(&self) -> Arc<dyn Queries>;

    /// The command line that reaches this backend's data, for hints: `mailshot --data DIR`.
    fn command_prefix(&self) -> String;

    /// Where rejected inputs are kept, for people.
    fn quarantine_place(&self) -> String;

    /// Ingests NDJSON inputs from `sources`, lines longer than `max_input_bytes` rejected.
    /// Each rejected input is kept in the quarantine and reported to `on_reject`; the good
    /// inputs around it are kept. Attached reactors react to what was appended.
    fn ingest(
        &mut self,
        sources: &[LineSource],
        max_input_bytes: u64,
        on_reject: &mut dyn FnMut(&Rejection),
    ) -> Result<IngestSummary, BackendError>;

    /// True when ingest folds what it appends at once, and attached reactors react to it
    /// then (the embedded runtime); false where a processor folds it later and reactors run
    /// there (AWS: `process`, the Lambda, [`Backend::settle`]).
    fn folds_at_ingest(&self) -> bool;

    /// Brings the projections up to date with everything ingested so far, and reports what
    /// that took (`None` where ingest folds at once, as on the embedded runtime; the
    /// processing summary on AWS, where the processor drains the stream).
    fn settle(&mut self) -> Result<Option<Value>, BackendError>;

    /// True when effects reach the world (real email through SES): the demo then runs
    /// reactors only with a configuration given on purpose.
    fn effects_are_real(&self) -> bool;

    /// Attaches `reactor`: from now on what this backend appends is reacted to, with this
    /// runtime's effects (the outbox of the data dir; SES and Step Functions on AWS).
    fn attach_reactors(&mut self, reactor: Reactor) -> Result<(), BackendError>;

    /// What the attached reactors did so far.
    fn reactor_stats(&self) -> Option<RunnerStats>;

    /// One line for people on where the effects went (`outbox: 12 rendered emails (.eml) in
    /// DIR`), if the runtime keeps them somewhere to look at.
    fn effects_report(&self) -> Option<String>;

    /// The subscriber row of a normalised address, read as the check of an admin action
    /// that will change data (so the embedded runtime opens its writer for it).
    fn subscriber(&mut self, email: &str) -> Result<Option<Subscriber>, BackendError>;

    /// Who is acting: the OS user on the embedded runtime, the caller's AWS identity on AWS.
    fn actor(&self) -> Result<String, BackendError>;

    /// Appends admin events (authenticated as mailshot's own: signed on AWS), then lets the
    /// attached reactors react to them. On AWS they take effect when processed.
    fn append_admin(&mut self, events: &[SystemEvent]) -> Result<(), BackendError>;

    /// Rebuilds `projection` (or every projection) from the log and swaps it in; the JSON
    /// report the command prints.
    fn replay(&mut self, projection: Option<Projection>) -> Result<Value, BackendError>;

    /// Rebuilds every projection apart and compares its digest with the live one.
    fn verify(&mut self) -> Result<Vec<VerifyReport>, BackendError>;

    /// What the data and the work so far cost (see [`Usage`]).
    fn usage(&mut self) -> Result<Usage, BackendError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_mistakes_are_told_from_failures() {
        let invalid = BackendError::from(QueryError::InvalidArgument {
            name: "limit",
            reason: "must be an integer from 1 to 1000, got 0".into(),
        });
        assert!(invalid.is_callers());
        assert_eq!(
            invalid.to_string(),
            "invalid argument `limit`: must be an integer from 1 to 1000, got 0"
        );
        assert!(
            BackendError::Query(QueryError::NotFound("no subscriber a@b.c".into())).is_callers()
        );
        assert!(BackendError::Refused("a@b.c is not suppressed".into()).is_callers());
        assert!(!BackendError::Query(QueryError::Store("disk".into())).is_callers());
        let io = std::io::Error::other("disk full");
        let failed = BackendError::failed(io);
        assert!(!failed.is_callers());
        assert_eq!(failed.to_string(), "disk full");
    }
}
