//! When the store reaches the disk.
//!
//! The store is derived from the log, which is fsynced per batch; flushing LMDB on every commit
//! as well would double the I/O of ingest. So the environment is opened with `NO_SYNC` and
//! flushed at the end of each ingest, replay and catch-up ([`LmdbStore::sync`]), and every
//! [`SYNC_EVERY`] commits in between.
//!
//! Unflushed commits survive a killed process (they sit in the kernel's page cache), but not a
//! machine crash, which may leave the file torn. So before the first unflushed commit the
//! store writes the marker file `store/unsynced` holding the kernel's boot id, and removes it
//! after the next flush. On open, the writer finds a marker from another boot only if the
//! machine went down with unflushed commits: it then discards the store and rebuilds every
//! projection and the dedup index from the log ([`needs_rebuild`]).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use super::StoreError;

/// Commits between two flushes during a long ingest or replay.
pub const SYNC_EVERY: u32 = 16;

const MARKER: &str = "unsynced";

/// The kernel's boot id: different after every restart of the machine. Where the platform has
/// none, every marker counts as left by a crash.
fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// True when `store_dir` holds commits that were never flushed and the machine has restarted
/// since: the store may be torn and must be rebuilt from the log.
pub fn needs_rebuild(store_dir: &Path) -> bool {
    match std::fs::read_to_string(store_dir.join(MARKER)) {
        Ok(left_by) => {
            let now = boot_id();
            now.is_empty() || left_by.trim() != now
        }
        Err(_) => false,
    }
}

/// The flush state of one open store, shared by its clones.
#[derive(Debug)]
pub(crate) struct SyncState {
    marker: PathBuf,
    /// True while the marker is on disk (commits since the last flush).
    marked: AtomicBool,
    commits: AtomicU32,
}

impl SyncState {
    pub(crate) fn new(store_dir: &Path) -> SyncState {
        let marker = store_dir.join(MARKER);
        let marked = marker.exists();
        SyncState {
            marker,
            marked: AtomicBool::new(marked),
            commits: AtomicU32::new(0),
        }
    }

    fn io(&self, e: std::io::Error) -> StoreError {
        StoreError::Io {
            path: self.marker.clone(),
            reason: e.to_string(),
        }
    }

    /// Makes sure the marker is durable before a commit that will not be flushed.
    pub(crate) fn before_commit(&self) -> Result<(), StoreError> {
        if self.marked.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut file = std::fs::File::create(&self.marker).map_err(|e| self.io(e))?;
        file.write_all(boot_id().as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| self.io(e))?;
        sync_dir(&self.marker).map_err(|e| self.io(e))?;
        self.marked.store(true, Ordering::Release);
        Ok(())
    }

    /// Counts a commit; true when it is time for a flush.
    pub(crate) fn after_commit(&self) -> bool {
        self.commits.fetch_add(1, Ordering::AcqRel) + 1 >= SYNC_EVERY
    }

    /// After a flush: nothing is pending, the marker goes.
    pub(crate) fn flushed(&self) -> Result<(), StoreError> {
        self.commits.store(0, Ordering::Release);
        if self.marked.swap(false, Ordering::AcqRel) {
            match std::fs::remove_file(&self.marker) {
                Ok(()) => sync_dir(&self.marker).map_err(|e| self.io(e))?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(self.io(e)),
            }
        }
        Ok(())
    }
}

fn sync_dir(file: &Path) -> std::io::Result<()> {
    match file.parent() {
        Some(dir) => std::fs::File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_from_this_boot_needs_no_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!needs_rebuild(dir.path()));
        let state = SyncState::new(dir.path());
        state.before_commit().unwrap();
        assert!(dir.path().join(MARKER).exists());
        assert_eq!(needs_rebuild(dir.path()), boot_id().is_empty());
        state.flushed().unwrap();
        assert!(!dir.path().join(MARKER).exists());
        assert!(!needs_rebuild(dir.path()));
    }

    #[test]
    fn a_marker_from_another_boot_needs_a_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MARKER), "00000000-another-boot").unwrap();
        assert!(needs_rebuild(dir.path()));
    }

    #[test]
    fn flushes_are_due_every_sync_every_commits() {
        let dir = tempfile::tempdir().unwrap();
        let state = SyncState::new(dir.path());
        let due: Vec<bool> = (0..SYNC_EVERY).map(|_| state.after_commit()).collect();
        assert_eq!(due.iter().filter(|d| **d).count(), 1);
        assert_eq!(due.last(), Some(&true));
        state.flushed().unwrap();
        assert!(!state.after_commit());
    }
}
