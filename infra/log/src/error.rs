//! What can go wrong with the log, each as a one-line message naming the file involved.

use std::io;
use std::path::{Path, PathBuf};

use mailshot_domain::log::Offset;

use super::frame::MAX_PAYLOAD_LEN;

/// Everything that can go wrong with the log. Each message is one line naming the file or
/// directory involved.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// An I/O error on a log file.
    #[error("log I/O error on {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Another writer (another process, or another open handle in this one) holds the lock.
    #[error("another mailshot process is writing to {}{}: only one writer at a time", .dir.display(), holder_note(.holder))]
    Locked {
        dir: PathBuf,
        /// Pid recorded by the lock holder, when readable.
        holder: Option<u32>,
    },
    /// Damage in committed records: the log was left untouched.
    #[error("log corrupt at offset {offset} ({} byte {position}): {reason}", .segment.display())]
    Corrupt {
        segment: PathBuf,
        position: u64,
        offset: Offset,
        reason: String,
    },
    /// `append` on a handle from [`SegmentLog::open_read_only`].
    #[error("the log in {} is open read-only: appending needs the writer", .dir.display())]
    ReadOnly { dir: PathBuf },
    /// A record that cannot be framed.
    #[error(
        "record {index} of the batch cannot be logged: {size} bytes of payload (max {MAX_PAYLOAD_LEN}) or {identities} identities (max 65535)"
    )]
    RecordTooLarge {
        index: usize,
        size: usize,
        identities: usize,
    },
    /// An earlier append failed in a way that leaves the tail's state unknown (a failed
    /// `fdatasync`, or a failed cut-back): the handle refuses appends until reopened, when
    /// recovery re-reads the tail.
    #[error("an earlier append to the log in {} failed ({reason}): reopen the log", .dir.display())]
    Poisoned { dir: PathBuf, reason: String },
}

fn holder_note(holder: &Option<u32>) -> String {
    holder.map(|p| format!(" (pid {p})")).unwrap_or_default()
}

impl LogError {
    pub(super) fn io(path: &Path, source: io::Error) -> LogError {
        LogError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// A [`LogError::Corrupt`] at `position` in `path`, where `offset` was expected.
pub(super) fn corrupt(
    path: &Path,
    position: u64,
    offset: Offset,
    reason: impl Into<String>,
) -> LogError {
    LogError::Corrupt {
        segment: path.to_path_buf(),
        position,
        offset,
        reason: reason.into(),
    }
}
