//! The single-writer lock: an exclusive `flock` on `<data dir>/log/LOCK`.
//!
//! `flock` locks belong to the open file description, so a second `open` in the same process
//! conflicts just like another process does, and the kernel drops the lock when the holder
//! dies (even by SIGKILL): no stale lock files to clean up. The standard library's
//! `File::try_lock` is `flock(LOCK_EX | LOCK_NB)` on Linux, so no extra crate is needed.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use super::LogError;

/// How long a lock recorded under this process's own pid is retried before it counts as held.
const OWN_PID_GRACE: Duration = Duration::from_millis(500);

/// Holds the writer lock for as long as it lives.
#[derive(Debug)]
pub struct WriterLock {
    _file: File,
}

/// Takes the lock without waiting: `LogError::Locked` at once if another process holds it
/// (after [`OWN_PID_GRACE`] if this process does).
pub fn acquire(data_dir: &Path, log_dir: &Path) -> Result<WriterLock, LogError> {
    let path = log_dir.join("LOCK");
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| LogError::io(&path, e))?;
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock) => {
                // The holder wrote its pid there: worth naming in the message, best effort.
                let mut holder = String::new();
                let _ = file.seek(SeekFrom::Start(0));
                let _ = file.read_to_string(&mut holder);
                let holder: Option<u32> = holder.trim().parse().ok();
                // Our own pid: either this process holds the lock twice, or a child it is
                // spawning on another thread still shares the descriptor of a writer this
                // process has already closed (a spawned child holds copies of every descriptor
                // until its `exec` closes them). The second lasts moments: wait it out.
                if holder == Some(std::process::id()) && started.elapsed() < OWN_PID_GRACE {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
                return Err(LogError::Locked {
                    dir: data_dir.to_path_buf(),
                    holder,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(LogError::io(&path, e)),
        }
    }
    // Record our pid for the message another process would print (not needed for safety).
    let pid = std::process::id().to_string();
    file.set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| file.write_all(pid.as_bytes()))
        .map_err(|e| LogError::io(&path, e))?;
    Ok(WriterLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A spawned child briefly keeps a copy of the lock's descriptor after this process
    /// closed its own (until the child's `exec`). Reopening in that moment waits for the copy
    /// to go instead of failing.
    #[test]
    fn a_lock_kept_by_a_short_lived_copy_of_our_descriptor_is_waited_for() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = acquire(dir.path(), dir.path()).expect("first");
        let copy = first._file.try_clone().expect("dup");
        drop(first);
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            drop(copy);
        });
        let started = Instant::now();
        let second = acquire(dir.path(), dir.path()).expect("the copy went away");
        assert!(started.elapsed() >= Duration::from_millis(90));
        releaser.join().expect("releaser");

        // A lock this process really holds is still refused, once the grace is over.
        let err = acquire(dir.path(), dir.path()).expect_err("held");
        assert!(
            matches!(err, LogError::Locked { holder: Some(pid), .. } if pid == std::process::id()),
            "{err}"
        );
        drop(second);
    }
}
