//! Owner-only data: a data dir holds personal data (addresses, names, working unsubscribe
//! links in the log, the quarantine and the outbox), so it and everything in it are readable
//! and writable by its owner only: directories 0700, files 0600.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The mode of every directory mailshot creates or tightens.
pub const DIR_MODE: u32 = 0o700;
/// The mode of every file mailshot creates or tightens.
pub const FILE_MODE: u32 = 0o600;

/// Makes every file and directory this process creates from now on owner-only, whatever umask
/// it inherited: LMDB, the log, the quarantine, run files and the outbox all create theirs with
/// the default modes (0666 / 0777), which this umask cuts to exactly 0600 / 0700. Set once by the
/// `mailshot` binary at start, before any other thread exists (the umask is per process).
pub fn owner_only_umask() {
    // SAFETY: umask only swaps the process's file mode creation mask; it cannot fail.
    unsafe { libc::umask(0o077) };
}

/// Tightens an existing data dir written without [`owner_only_umask`] (an older mailshot, or
/// the library used from another program): every directory under `dir` becomes 0700 and every
/// file 0600. Symbolic links are left alone (their target may be anything). A dir that is
/// already 0700 is not walked: whatever is inside cannot be reached by other users.
pub fn tighten(dir: &Path) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(dir)?;
    if meta.is_dir() && meta.permissions().mode() & 0o7777 == DIR_MODE {
        return Ok(());
    }
    tighten_tree(dir)
}

fn tighten_tree(dir: &Path) -> io::Result<()> {
    // Children first: once the dir itself is 0700 a later failure still leaves it closed.
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let path = entry.path();
        if kind.is_dir() {
            tighten_tree(&path)?;
        } else if !kind.is_symlink() {
            set_mode(&path, FILE_MODE)?;
        }
    }
    set_mode(dir, DIR_MODE)
}

fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    let current = std::fs::symlink_metadata(path)?.permissions().mode() & 0o7777;
    if current != mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn tightening_makes_every_dir_0700_and_every_file_0600() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        std::fs::create_dir_all(data.join("log/sub")).unwrap();
        std::fs::write(data.join("log/0.seg"), b"x").unwrap();
        std::fs::write(data.join("log/sub/f"), b"x").unwrap();
        for (path, m) in [
            (data.clone(), 0o755),
            (data.join("log"), 0o777),
            (data.join("log/sub"), 0o751),
            (data.join("log/0.seg"), 0o644),
            (data.join("log/sub/f"), 0o755),
        ] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(m)).unwrap();
        }
        tighten(&data).unwrap();
        assert_eq!(
            [
                mode(&data),
                mode(&data.join("log")),
                mode(&data.join("log/sub")),
                mode(&data.join("log/0.seg")),
                mode(&data.join("log/sub/f")),
            ],
            [0o700, 0o700, 0o700, 0o600, 0o600]
        );
    }
}
