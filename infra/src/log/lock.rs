//! The single-writer lock: an exclusive `flock` on `<data dir>/log/LOCK`.
//!
//! `flock` locks belong to the open file description, so a second `open` in the same process
//! conflicts just like another process does, and the kernel drops the lock when the holder
//! dies (even by SIGKILL): no stale lock files to clean up. The standard library's
//! `File::try_lock` is `flock(LOCK_EX | LOCK_NB)` on Linux, so no extra crate is needed.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::LogError;

/// Holds the writer lock for as long as it lives.
#[derive(Debug)]
pub struct WriterLock {
    _file: File,
}

/// Takes the lock without waiting: `LogError::Locked` at once if anyone holds it.
pub fn acquire(data_dir: &Path, log_dir: &Path) -> Result<WriterLock, LogError> {
    let path = log_dir.join("LOCK");
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| LogError::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            // The holder wrote its pid there: worth naming in the message, best effort.
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            return Err(LogError::Locked {
                dir: data_dir.to_path_buf(),
                holder: holder.trim().parse().ok(),
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(LogError::io(&path, e)),
    }
    // Record our pid for the message another process would print (not needed for safety).
    let pid = std::process::id().to_string();
    file.set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| file.write_all(pid.as_bytes()))
        .map_err(|e| LogError::io(&path, e))?;
    Ok(WriterLock { _file: file })
}
