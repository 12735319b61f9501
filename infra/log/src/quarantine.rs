//! The dead-letter file for rejected inputs: `<data dir>/quarantine/rejected.ndjson`.
//!
//! Invariant: append-only, one JSON object per line, each holding the rejected input's bytes
//! verbatim with where it came from and why it was refused. [`Quarantine::append`] returns
//! `Ok` only once its lines are on disk, so a rejected input is never lost.
//!
//! Line shape:
//! `{"at":"<RFC 3339 now>","source":"<file|stdin|lambda>","line":<n>,"reason":"…","input":"…"}`
//!
//! `input` is the input as a JSON string when it is UTF-8. Bytes that are not UTF-8 cannot be
//! a JSON string without being changed, so such an input is written as `"input_base64":"…"`
//! (standard alphabet, padded) instead: reading the entry back gives the exact bytes either
//! way. An input over the size limit is kept only in part: its first bytes, with
//! `"input_size":<n>` giving its whole size in bytes.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use mailshot_domain::Timestamp;
use serde::{Deserialize, Serialize};

/// Errors of the quarantine file, naming it.
#[derive(Debug, thiserror::Error)]
pub enum QuarantineError {
    #[error("quarantine I/O error on {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("quarantine file {} line {line} is not a quarantine entry: {source}", .path.display())]
    Malformed {
        path: PathBuf,
        line: u64,
        #[source]
        source: serde_json::Error,
    },
}

fn io_err(path: &Path, source: io::Error) -> QuarantineError {
    QuarantineError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One rejected input, to be quarantined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedInput {
    /// File name, `stdin` or `lambda`.
    pub source: String,
    /// 1-based line number in the source (or record index for Lambda events).
    pub line: u64,
    /// One-line reason (newlines are replaced by spaces when written).
    pub reason: String,
    /// The input's bytes exactly as received (only its first bytes when `input_size` is set).
    pub input: Vec<u8>,
    /// The whole input's size in bytes when `input` holds only its first bytes (an input
    /// over the size limit, too large to keep whole).
    pub input_size: Option<u64>,
}

/// One line of the quarantine file as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantineEntry {
    /// When it was quarantined, RFC 3339 UTC with milliseconds.
    pub at: String,
    pub source: String,
    pub line: u64,
    pub reason: String,
    /// The input's bytes exactly as received (only its first bytes when `input_size` is set).
    pub input: Vec<u8>,
    /// The whole input's size in bytes when `input` holds only its first bytes.
    pub input_size: Option<u64>,
}

impl QuarantineEntry {
    /// The input as text, for display: invalid UTF-8 is shown as U+FFFD.
    pub fn input_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.input)
    }
}

/// A quarantine line as written and read: exactly one of `input` and `input_base64`.
#[derive(Serialize, Deserialize)]
struct EntryLine<'a> {
    at: std::borrow::Cow<'a, str>,
    source: std::borrow::Cow<'a, str>,
    line: u64,
    reason: std::borrow::Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    input: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    input_base64: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    input_size: Option<u64>,
}

impl EntryLine<'_> {
    /// The entry it holds: the input's bytes decoded from whichever field holds them.
    fn into_entry(self) -> Result<QuarantineEntry, serde_json::Error> {
        use serde::de::Error as _;
        let input = match (self.input, self.input_base64) {
            (Some(text), None) => text.into_owned().into_bytes(),
            (None, Some(encoded)) => BASE64.decode(&encoded).map_err(|e| {
                serde_json::Error::custom(format!("field `input_base64` is not base64: {e}"))
            })?,
            (Some(_), Some(_)) => {
                return Err(serde_json::Error::custom(
                    "both `input` and `input_base64`: expected one",
                ));
            }
            (None, None) => return Err(serde_json::Error::missing_field("input")),
        };
        Ok(QuarantineEntry {
            at: self.at.into_owned(),
            source: self.source.into_owned(),
            line: self.line,
            reason: self.reason.into_owned(),
            input,
            input_size: self.input_size,
        })
    }
}

/// The open dead-letter file. Several processes may append at once: each batch is one
/// `O_APPEND` write, which the kernel does not interleave with other writes to the file.
#[derive(Debug)]
pub struct Quarantine {
    path: PathBuf,
    file: File,
}

/// `<data dir>/quarantine/rejected.ndjson`.
pub fn quarantine_path(data_dir: &Path) -> PathBuf {
    data_dir.join("quarantine").join("rejected.ndjson")
}

impl Quarantine {
    /// Opens (creating if needed) the quarantine file of `data_dir`.
    pub fn open(data_dir: impl AsRef<Path>) -> Result<Quarantine, QuarantineError> {
        let path = quarantine_path(data_dir.as_ref());
        let dir = data_dir.as_ref().join("quarantine");
        if !dir.is_dir() {
            std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        }
        let file = OpenOptions::new()
            .append(true)
            .read(true)
            .create(true)
            .open(&path)
            .map_err(|e| io_err(&path, e))?;
        // Make the file's directory entry durable, so that a later fsync of the file is enough.
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_err(&dir, e))?;
        Ok(Quarantine { path, file })
    }

    /// Path of the file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends the entries (stamped with the current time) with one write, then fsyncs.
    /// On `Ok` they are durable.
    pub fn append(&mut self, entries: &[RejectedInput]) -> Result<(), QuarantineError> {
        if entries.is_empty() {
            return Ok(());
        }
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let at = Timestamp(now_ms).to_string();
        let mut buf = Vec::new();
        // A crash mid-write can leave a last line without its newline: start on a fresh line
        // so that the torn fragment does not swallow this batch's first entry.
        let len = self
            .file
            .metadata()
            .map_err(|e| io_err(&self.path, e))?
            .len();
        if len > 0 {
            let mut last = [0u8; 1];
            self.file
                .read_exact_at(&mut last, len - 1)
                .map_err(|e| io_err(&self.path, e))?;
            if last[0] != b'\n' {
                buf.push(b'\n');
            }
        }
        for e in entries {
            let (input, input_base64) = match std::str::from_utf8(&e.input) {
                Ok(text) => (Some(text.into()), None),
                Err(_) => (None, Some(BASE64.encode(&e.input))),
            };
            let entry = EntryLine {
                at: at.as_str().into(),
                source: e.source.as_str().into(),
                line: e.line,
                reason: one_line(&e.reason).into(),
                input,
                input_base64,
                input_size: e.input_size,
            };
            serde_json::to_writer(&mut buf, &entry)
                .map_err(|err| io_err(&self.path, io::Error::other(err)))?;
            buf.push(b'\n');
        }
        self.file
            .write_all(&buf)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| io_err(&self.path, e))
    }

    /// All entries of `data_dir`'s quarantine, oldest first (none if there is no file). A
    /// line torn by a crash mid-write (one not ending in a newline, or not parsing and
    /// followed by a newline added by the next append) belonged to a batch that was never
    /// acknowledged and is skipped; any other malformed line is an error.
    pub fn read_all(data_dir: impl AsRef<Path>) -> Result<Vec<QuarantineEntry>, QuarantineError> {
        let mut out = Vec::new();
        Self::for_each(data_dir.as_ref(), |e| out.push(e))?;
        Ok(out)
    }

    /// Number of entries in `data_dir`'s quarantine, streaming (constant memory).
    pub fn count(data_dir: impl AsRef<Path>) -> Result<u64, QuarantineError> {
        let mut n = 0;
        Self::for_each(data_dir.as_ref(), |_| n += 1)?;
        Ok(n)
    }

    fn for_each(
        data_dir: &Path,
        mut f: impl FnMut(QuarantineEntry),
    ) -> Result<(), QuarantineError> {
        let path = quarantine_path(data_dir);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err(&path, e)),
        };
        let mut reader = BufReader::new(file);
        let mut line = Vec::new();
        let mut n = 0u64;
        loop {
            line.clear();
            let read = reader
                .read_until(b'\n', &mut line)
                .map_err(|e| io_err(&path, e))?;
            if read == 0 {
                return Ok(());
            }
            n += 1;
            let complete = line.last() == Some(&b'\n');
            let text = line.strip_suffix(b"\n").unwrap_or(&line);
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<EntryLine>(text).and_then(EntryLine::into_entry) {
                Ok(entry) => f(entry),
                // Torn: no newline at the end of the file.
                Err(_) if !complete => return Ok(()),
                // Torn then closed by the next append's leading newline: such a line never
                // starts a valid object to its end, and the line after it is an entry.
                Err(_) if !text.ends_with(b"}") => continue,
                Err(source) => {
                    return Err(QuarantineError::Malformed {
                        path,
                        line: n,
                        source,
                    });
                }
            }
        }
    }
}

fn one_line(reason: &str) -> String {
    reason
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn reasons_are_kept_on_one_line() {
        assert_eq!(one_line("a\nb\r\nc"), "a b  c");
    }
}
