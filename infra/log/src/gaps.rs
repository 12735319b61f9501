//! Gaps: offsets that were lost from the log and are never given out again.
//!
//! When acknowledged records are lost from the end of the log (a damaged or deleted last
//! segment) and an operator chooses `mailshot repair`, the store is cut back to the log. The
//! lost offsets may still be written down elsewhere (a trace an auditor kept, an exported
//! suppression list, a note in a ticket), so they must never come to name other records:
//! the log skips them. A gap is a small file `<from>.gap` (zero-padded to 20 digits, like a
//! segment) in the log dir, holding one JSON object:
//!
//! ```text
//! {"from":202104,"to":413307,"reason":"…","recordedAtMs":1765083600000}
//! ```
//!
//! Offsets `from..to` exist nowhere; the segment after the gap starts at `to`. The segment
//! before it ends at `from`, so the log stays dense everywhere else: every check of density
//! accepts exactly the recorded gaps and nothing more.

use std::fs::{self, File};
use std::path::Path;

use mailshot_domain::log::Offset;
use serde::{Deserialize, Serialize};

use super::{LogError, corrupt, sync_dir, write_synced};

/// One recorded gap: offsets `from..to` were lost and are skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Gap {
    /// The first lost offset: where the segment before the gap ends.
    pub from: Offset,
    /// One past the last lost offset: where the segment after the gap starts.
    pub to: Offset,
    /// Why the offsets were skipped, as the repair recorded it.
    pub reason: String,
    /// When the gap was recorded (ms since the Unix epoch).
    pub recorded_at_ms: i64,
}

/// `00000000000000000042.gap` for a gap starting at 42.
pub fn gap_name(from: Offset) -> String {
    format!("{from:020}.gap")
}

/// Every gap recorded in `log_dir`, by `from`. A gap file that does not parse, or whose name
/// disagrees with its content, is damage: reported, never guessed at.
pub fn list(log_dir: &Path) -> Result<Vec<Gap>, LogError> {
    let entries = match fs::read_dir(log_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(LogError::io(log_dir, e)),
    };
    let mut gaps = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| LogError::io(log_dir, e))?;
        let name = entry.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".gap")) else {
            continue;
        };
        let Ok(from) = stem.parse::<Offset>() else {
            continue;
        };
        if stem.len() != 20 {
            continue;
        }
        gaps.push(read(log_dir, from)?);
    }
    gaps.sort_by_key(|g| g.from);
    Ok(gaps)
}

/// The gap starting at `from`, if its file exists.
pub fn find(log_dir: &Path, from: Offset) -> Result<Option<Gap>, LogError> {
    if log_dir.join(gap_name(from)).exists() {
        read(log_dir, from).map(Some)
    } else {
        Ok(None)
    }
}

fn read(log_dir: &Path, from: Offset) -> Result<Gap, LogError> {
    let path = log_dir.join(gap_name(from));
    let bytes = fs::read(&path).map_err(|e| LogError::io(&path, e))?;
    let gap: Gap = serde_json::from_slice(&bytes)
        .map_err(|e| corrupt(&path, 0, from, format!("gap file does not parse: {e}")))?;
    if gap.from != from || gap.to <= gap.from {
        return Err(corrupt(
            &path,
            0,
            from,
            format!(
                "gap file names offsets {}..{}, which do not fit its name",
                gap.from, gap.to
            ),
        ));
    }
    Ok(gap)
}

/// Records `gap` durably: written to a temporary file, fsynced, renamed into place, and the
/// directory fsynced, so that a crash leaves either no gap or the whole one.
pub fn write(log_dir: &Path, gap: &Gap) -> Result<(), LogError> {
    let path = log_dir.join(gap_name(gap.from));
    let tmp = log_dir.join(format!("{}.tmp", gap_name(gap.from)));
    let mut json = serde_json::to_vec(gap).map_err(|e| LogError::io(&path, e.into()))?;
    json.push(b'\n');
    write_synced(&tmp, &json)?;
    fs::rename(&tmp, &path).map_err(|e| LogError::io(&path, e))?;
    sync_dir(log_dir)?;
    // The rename is durable; make sure the content is too on file systems that reorder.
    File::open(&path)
        .and_then(|f| f.sync_all())
        .map_err(|e| LogError::io(&path, e))
}

/// Where the segment before the one starting at `next_base` ends: at the gap's start when a
/// gap leads to `next_base`, else at `next_base` itself.
pub fn end_before(gaps: &[Gap], next_base: Offset) -> Offset {
    gaps.iter()
        .find(|g| g.to == next_base)
        .map_or(next_base, |g| g.from)
}

/// The first offset at or after `offset` that is not inside a gap.
pub fn skip(gaps: &[Gap], offset: Offset) -> Offset {
    gaps.iter()
        .find(|g| (g.from..g.to).contains(&offset))
        .map_or(offset, |g| g.to)
}
