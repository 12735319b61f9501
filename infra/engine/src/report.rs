//! What the runtimes report, the same on both: ingest summaries, verify reports, and batch
//! sizes tuned from the environment.

use serde::Serialize;

/// What an ingest did: `inputs = accepted + duplicates + rejected`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct IngestSummary {
    pub inputs: u64,
    /// Inputs newly appended to the log.
    pub accepted: u64,
    /// Inputs all of whose facts the log already held.
    pub duplicates: u64,
    pub rejected: u64,
}

impl IngestSummary {
    /// Adds another summary's counts to this one.
    pub fn add(&mut self, other: IngestSummary) {
        self.inputs += other.inputs;
        self.accepted += other.accepted;
        self.duplicates += other.duplicates;
        self.rejected += other.rejected;
    }
}

/// One rejected input as reported to the caller (the CLI prints it on stderr).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The source: a file path, or `stdin`.
    pub source: String,
    /// The line number in the source, from 1.
    pub line: u64,
    /// Why it was rejected.
    pub reason: String,
}

/// The outcome of `verify` for one projection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub projection: String,
    pub live_digest: String,
    pub rebuilt_digest: String,
    pub rows: u64,
    pub matches: bool,
    /// The first key (table and hex key) where live and rebuilt differ.
    pub first_difference: Option<String>,
}

/// A positive batch size from the environment variable `name`, else `default`.
pub fn batch_size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(default)
}
