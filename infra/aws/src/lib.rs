//! The AWS runtime (docs/design.md §10, issue #5): the same core over Kinesis, DynamoDB and Lambda.
//!
//! ```text
//!  SNS (SES events) ─┐                                   ┌─► <prefix>-log      archive (dense offsets),
//!  EventBridge ──────┼─► ingest ─► Kinesis <prefix>-inputs ─► processor ─┤   dedupe index, dead letters
//!  `mailshot ingest` ┘   (parse,     (partition key =       (Lambda or  └─► <prefix>-g<N>-*  projections
//!                         validate)   subscriber email)      `process`)
//! ```
//!
//! # Exactly-once effect over at-least-once delivery
//!
//! Kinesis and Lambda deliver every record at least once: a batch may be delivered twice, or
//! fail part-way and be retried from the failed record. The processor makes each record's
//! effect happen exactly once:
//!
//! 1. The record's identities (docs/design.md §3.5) are looked up in the **dedupe index** (items
//!    `ID#<fact id>` of the log table, each holding the offset of the record that introduced it
//!    and a hash of that record). Identities already there are not new; a record with no new
//!    identity is a duplicate and changes nothing.
//! 2. A record with new identities gets an **offset**: one `UpdateItem ADD` on the counter item
//!    reserves offsets for every new record of a batch at once. A record that committed part of
//!    its identities earlier (see 4) keeps the offset its markers name.
//! 3. The record is folded into every registered projection (`mailshot_replay::fold_record`)
//!    through a buffering [`store::RecordWriter`]: rollup additions are aggregated per row,
//!    subscriber and first-engagement rows are read (consistently) and written back whole,
//!    generic rows (the messages projection's) are put as they are.
//! 4. Everything is committed in **one `TransactWriteItems`**: the archive item
//!    (`attribute_not_exists`), a conditional put of the dedupe marker of every new identity
//!    (`attribute_not_exists`), the event rows, the rollup `ADD`s, the links `ADD`s, the
//!    history items, the generic rows, and the subscriber and first-engagement rows, each
//!    conditioned on the version (`ver`) read in 3 (optimistic concurrency: two shards may
//!    touch one subscriber when an SES record has several recipients). Either all of it
//!    happens or none: a redelivered record fails its marker conditions and the whole
//!    transaction is rejected.
//!    A transaction holds at most 100 items, so a record with many recipients is folded in
//!    several transactions over disjoint subsets of its identities (the fold applies only the
//!    facts listed as new); each subset is exactly-once by its own markers, and the archive
//!    item goes with the first.
//!    Consecutive new records of a batch are committed together, as many per transaction as
//!    fit in 100 items: their rollup and links `ADD`s and subscriber rows merge (one write per
//!    row for the whole run), and every record's archive item and markers are conditions of
//!    that one transaction, so the run is exactly-once as a whole; a rejected run is retried
//!    one record at a time.
//! 5. A rejected transaction (a duplicate, or a concurrent writer changed a row we read) is
//!    retried from 1 with fresh reads: the identities committed meanwhile drop out.
//!
//! So a batch delivered twice, or failed and retried, leaves every count and row unchanged.
//! Offsets are unique and never reused; they are dense except where a reserved offset was not
//! used (its record turned out to be a duplicate, or the process died between reservation and
//! commit): the archive reader skips such holes.
//!
//! # Blocking
//!
//! The core traits are synchronous; the SDK is async. [`Aws`] runs SDK futures with
//! `Handle::block_on` on the runtime it was connected on, so its synchronous methods must be
//! called outside that runtime's worker threads (the CLI's main thread, or `spawn_blocking`
//! as the Lambda handlers do).

pub mod archive;
pub mod backend;
pub mod config;
pub mod effects;
pub mod ingest;
mod item;
pub mod kinesis;
pub mod lambda;
mod outgoing;
pub mod processor;
pub mod queries;
pub mod reactors;
pub mod schema;
pub mod signing;
pub mod store;
pub mod verify;

pub use outgoing::Outgoing;

use std::future::Future;

pub use config::{Names, Tables};

/// Errors of the AWS runtime; each names the operation and resource that failed.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// An AWS call failed.
    #[error("{op} on {resource}: {message}")]
    Sdk {
        op: &'static str,
        resource: String,
        message: String,
    },
    /// An item does not have the shape this code writes.
    #[error("corrupt item in {table}: {reason}")]
    Corrupt { table: String, reason: String },
    /// A transaction was rejected (a condition failed); the caller re-reads and retries.
    #[error("transaction on {resource} rejected: {message}")]
    Conflict { resource: String, message: String },
    /// Anything else, with its context.
    #[error("{0}")]
    Other(String),
}

impl AwsError {
    pub(crate) fn sdk<E>(op: &'static str, resource: &str, e: E) -> AwsError
    where
        E: std::error::Error + 'static,
    {
        AwsError::Sdk {
            op,
            resource: resource.to_string(),
            message: aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string(),
        }
    }
}

/// Connected AWS clients and the names of one deployment. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Aws {
    pub ddb: aws_sdk_dynamodb::Client,
    pub kinesis: aws_sdk_kinesis::Client,
    /// Only for [`Aws::caller_identity`].
    sts: aws_sdk_sts::Client,
    pub names: Names,
    handle: tokio::runtime::Handle,
    /// Items read so far by this handle and its clones (see [`Aws::items_read`]).
    reads: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// The deployment's signing key once read (see [`signing`]).
    signing_key: std::sync::Arc<signing::KeyCache>,
}

impl Aws {
    /// Loads the standard AWS configuration and connects the clients. Must run inside the
    /// tokio runtime (multi-thread) that will drive the SDK calls.
    pub async fn connect(names: Names) -> Aws {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Aws {
            ddb: aws_sdk_dynamodb::Client::new(&config),
            kinesis: aws_sdk_kinesis::Client::new(&config),
            sts: aws_sdk_sts::Client::new(&config),
            names,
            handle: tokio::runtime::Handle::current(),
            reads: Default::default(),
            signing_key: Default::default(),
        }
    }

    /// Items read from DynamoDB so far by this handle and its clones: one per `GetItem`, one
    /// per key of a `BatchGetItem`, and the items of each `Query` page (at least one per
    /// page). Strongly consistent reads of items under 4 KB cost one read unit each, so this
    /// is the read-unit figure of `bench` (an upper bound for Query pages, which are billed
    /// by their total size). The verify digests' Scans are not counted.
    pub fn items_read(&self) -> u64 {
        self.reads.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Counts `n` items read (see [`Aws::items_read`]).
    pub(crate) fn count_reads(&self, n: u64) {
        self.reads
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// Who is calling: the ARN of the caller's AWS identity (STS `GetCallerIdentity`), the
    /// actor recorded with admin actions on AWS. Asked of STS rather than taken from the
    /// configuration, which names at most an access key or a profile, not a principal.
    pub fn caller_identity(&self) -> Result<String, AwsError> {
        let out = self
            .block(self.sts.get_caller_identity().send())
            .map_err(|e| AwsError::sdk("GetCallerIdentity", "sts", e))?;
        out.arn
            .ok_or_else(|| AwsError::Other("GetCallerIdentity on sts: no ARN in the answer".into()))
    }

    /// Runs `f` to completion on the connected runtime (see the module doc on blocking).
    pub(crate) fn block<F: Future>(&self, f: F) -> F::Output {
        self.handle.block_on(f)
    }
}
