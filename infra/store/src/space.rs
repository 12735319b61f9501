//! Disk space for the store's data file, reserved ahead of LMDB's writes.
//!
//! With `WRITE_MAP`, LMDB writes a transaction's pages straight into a shared map of a file it
//! sizes to the whole map, sparse. A page written into a hole needs a block from the file
//! system; on a full disk there is none, and the fault kills the process with SIGBUS. So before
//! each write transaction the writer makes sure the file has blocks allocated (`fallocate`,
//! keeping the file's size) well past the pages in use: a full disk then fails there, with
//! ENOSPC, before anything is written. Allocated blocks read as zeros and cost no I/O until
//! written. The reservation grows in steps, so `fallocate` runs once per [`STEP`] of growth,
//! not per transaction. The headroom covers any one transaction of ingest or catch-up (an ingest
//! batch of 16,384 inputs grows the file by well under [`STEP`]); a rebuild reserves the size
//! of what it rebuilds before it starts ([`super::LmdbStore::reserve_beyond_used`]).

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::StoreError;

/// Bytes reserved at a time, and the least headroom past the pages in use.
pub(crate) const STEP: u64 = 64 << 20;

/// The reservation of one open store's data file.
#[derive(Debug)]
pub(crate) struct Reserved {
    file: File,
    path: PathBuf,
    /// Bytes from the start of the file known to have blocks.
    up_to: AtomicU64,
}

impl Reserved {
    pub(crate) fn open(path: &Path) -> Result<Reserved, StoreError> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| StoreError::Io {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        Ok(Reserved {
            file,
            path: path.to_path_buf(),
            up_to: AtomicU64::new(0),
        })
    }

    /// Makes sure blocks are allocated for `used` bytes plus the headroom (an eighth of
    /// `used`, at least [`STEP`]).
    pub(crate) fn reserve(&self, used: u64) -> Result<(), StoreError> {
        let headroom = (used / 8).max(STEP);
        if used + headroom / 2 <= self.up_to.load(Ordering::Acquire) {
            return Ok(());
        }
        let want = (used + headroom).div_ceil(STEP) * STEP;
        // SAFETY: fallocate on an open descriptor; KEEP_SIZE allocates blocks without
        // changing the file's size, so LMDB sees the same file.
        let rc = unsafe {
            libc::fallocate(
                self.file.as_raw_fd(),
                libc::FALLOC_FL_KEEP_SIZE,
                0,
                want as libc::off_t,
            )
        };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            return Err(StoreError::Io {
                path: self.path.clone(),
                reason: format!("reserving {} MiB for the store: {e}", want >> 20),
            });
        }
        self.up_to.store(want, Ordering::Release);
        Ok(())
    }
}
