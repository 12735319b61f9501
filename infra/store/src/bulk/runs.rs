//! Sorted runs on disk, merged back in key order: how a rebuild loads the write-only tables
//! (events, their indexes, history) without inserting into the middle of a B-tree.
//!
//! A rebuild writes each batch's write-only rows, sorted, as one run file. At the end the runs
//! are mapped into memory and merged into one stream in (table, key) order, which an empty
//! table takes by appending ([`super::BatchWriter::append_rows`]): no search, no page split in
//! the middle, no page copied twice. The merged rows borrow from the maps: no row is copied
//! or allocated on its way from a run into its table.
//!
//! ```text
//! run = row*    row = u8 table | u32 LE key length | key | u32 LE value length | value
//! ```

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::row_arena::{RowRef, SortedRows};
use crate::{StoreError, Table};

/// Bytes of buffer for writing a run.
const BUFFER: usize = 256 * 1024;

/// The run files of one rebuild, in a directory of their own.
#[derive(Debug)]
pub struct Runs {
    dir: PathBuf,
    files: Vec<PathBuf>,
    rows: u64,
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

impl Runs {
    /// Starts with `dir` emptied (a run left by an interrupted rebuild is worthless).
    pub fn create(dir: &Path) -> Result<Runs, StoreError> {
        remove_dir(dir)?;
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        Ok(Runs {
            dir: dir.to_path_buf(),
            files: Vec::new(),
            rows: 0,
        })
    }

    /// Deletes the run files a killed rebuild left in `dir`, if any: they are worthless
    /// (a rebuild starts over) and may be large.
    pub fn discard(dir: &Path) -> Result<(), StoreError> {
        remove_dir(dir)
    }

    /// Writes `rows` as the next run.
    pub fn write(&mut self, rows: &SortedRows) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let path = self.dir.join(format!("{:06}.run", self.files.len()));
        let file = File::create(&path).map_err(|e| io_error(&path, e))?;
        let mut out = BufWriter::with_capacity(BUFFER, file);
        for (table, key, value) in rows.iter() {
            write_row(&mut out, table, key, value).map_err(|e| io_error(&path, e))?;
        }
        out.flush().map_err(|e| io_error(&path, e))?;
        self.files.push(path);
        self.rows += rows.len() as u64;
        Ok(())
    }

    /// How many runs were written.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True when no run was written.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// How many rows the runs hold, counting a key put twice twice.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Maps every run into memory, to be merged ([`MappedRuns::merged`]).
    pub fn map(&self) -> Result<MappedRuns, StoreError> {
        let mut maps = Vec::with_capacity(self.files.len());
        for path in &self.files {
            let file = File::open(path).map_err(|e| io_error(path, e))?;
            // SAFETY: a run file is written whole and closed before it is mapped, in a
            // directory of this rebuild's own (the data dir's lock keeps other processes out),
            // and nothing writes it again; it is removed only after the map is dropped.
            let map = unsafe { Mmap::map(&file) }.map_err(|e| io_error(path, e))?;
            // Each run is read once, front to back: read ahead, drop pages behind.
            #[cfg(unix)]
            let _ = map.advise(memmap2::Advice::Sequential);
            maps.push((path.clone(), map));
        }
        Ok(MappedRuns { maps })
    }

    /// Deletes the run files and their directory.
    pub fn remove(self) -> Result<(), StoreError> {
        remove_dir(&self.dir)
    }
}

fn remove_dir(dir: &Path) -> Result<(), StoreError> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error(dir, e)),
        _ => Ok(()),
    }
}

fn write_row(out: &mut impl Write, table: Table, key: &[u8], value: &[u8]) -> io::Result<()> {
    let too_long = || io::Error::other("row longer than 4 GiB");
    out.write_all(&[table.index() as u8])?;
    out.write_all(
        &u32::try_from(key.len())
            .map_err(|_| too_long())?
            .to_le_bytes(),
    )?;
    out.write_all(key)?;
    out.write_all(
        &u32::try_from(value.len())
            .map_err(|_| too_long())?
            .to_le_bytes(),
    )?;
    out.write_all(value)
}

/// The runs of a rebuild, mapped into memory.
pub struct MappedRuns {
    maps: Vec<(PathBuf, Mmap)>,
}

impl MappedRuns {
    /// Every row of every run, in (table, key) order. Where runs hold the same key, the row of
    /// the later run wins (a later batch put it last); the others are skipped.
    pub fn merged(&self) -> Result<Merged<'_>, StoreError> {
        let mut heap = BinaryHeap::with_capacity(self.maps.len());
        let mut readers = Vec::with_capacity(self.maps.len());
        for (run, (path, map)) in self.maps.iter().enumerate() {
            let mut reader = RunReader {
                path,
                bytes: map,
                at: 0,
            };
            if let Some(row) = reader.next_row()? {
                heap.push(Head { row, run });
            }
            readers.push(reader);
        }
        Ok(Merged {
            heap,
            readers,
            pending: None,
        })
    }
}

/// Reads the rows of one mapped run, in order.
struct RunReader<'a> {
    path: &'a Path,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> RunReader<'a> {
    fn next_row(&mut self) -> Result<Option<RowRef<'a>>, StoreError> {
        let Some(&tag) = self.bytes.get(self.at) else {
            return Ok(None);
        };
        let table = Table::from_index(usize::from(tag)).ok_or_else(|| {
            io_error(
                self.path,
                format!("unknown table {tag} at byte {}", self.at),
            )
        })?;
        self.at += 1;
        let key = self.part()?;
        let value = self.part()?;
        Ok(Some((table, key, value)))
    }

    /// A length-prefixed part of a row.
    fn part(&mut self) -> Result<&'a [u8], StoreError> {
        let truncated =
            |at: usize| io_error(self.path, format!("run ends inside a row at byte {at}"));
        let len = self
            .bytes
            .get(self.at..self.at + 4)
            .ok_or_else(|| truncated(self.at))?;
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let start = self.at + 4;
        let part = self
            .bytes
            .get(start..start + len)
            .ok_or_else(|| truncated(start))?;
        self.at = start + len;
        Ok(part)
    }
}

/// The next row of one run. Rows come off the heap in (table, key, run) order; as a run's rows
/// are read in order, rows with the same key come in the order they were put.
struct Head<'a> {
    row: RowRef<'a>,
    run: usize,
}

impl Head<'_> {
    fn order(&self, other: &Head<'_>) -> Ordering {
        (self.row.0, self.row.1)
            .cmp(&(other.row.0, other.row.1))
            .then(self.run.cmp(&other.run))
    }
}

impl PartialEq for Head<'_> {
    fn eq(&self, other: &Head<'_>) -> bool {
        self.order(other) == Ordering::Equal
    }
}

impl Eq for Head<'_> {}

impl PartialOrd for Head<'_> {
    fn partial_cmp(&self, other: &Head<'_>) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Head<'_> {
    fn cmp(&self, other: &Head<'_>) -> Ordering {
        // BinaryHeap is a max-heap: reversed, its top is the smallest key.
        other.order(self)
    }
}

/// The merged rows of [`MappedRuns::merged`], borrowed from the maps.
pub struct Merged<'a> {
    heap: BinaryHeap<Head<'a>>,
    readers: Vec<RunReader<'a>>,
    /// The row to hand out next, unless a later row with the same key replaces it.
    pending: Option<RowRef<'a>>,
}

impl<'a> Merged<'a> {
    fn pop(&mut self) -> Result<Option<RowRef<'a>>, StoreError> {
        let Some(Head { row, run }) = self.heap.pop() else {
            return Ok(None);
        };
        if let Some(next) = self.readers[run].next_row()? {
            self.heap.push(Head { row: next, run });
        }
        Ok(Some(row))
    }

    /// The next row in (table, key) order, one per key: of rows with the same key, the one
    /// put last (by the latest run, and last within it).
    pub fn next_row(&mut self) -> Result<Option<RowRef<'a>>, StoreError> {
        loop {
            let Some(row) = self.pop()? else {
                return Ok(self.pending.take());
            };
            match self.pending.replace(row) {
                Some(held) if self.pending.as_ref().is_some_and(|r| same_key(r, &held)) => {}
                Some(held) => return Ok(Some(held)),
                None => {}
            }
        }
    }

    /// Up to `n` next rows (fewer only at the end).
    pub fn next_rows(&mut self, n: usize) -> Result<Vec<RowRef<'a>>, StoreError> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            match self.next_row()? {
                Some(row) => out.push(row),
                None => break,
            }
        }
        Ok(out)
    }
}

fn same_key(a: &RowRef<'_>, b: &RowRef<'_>) -> bool {
    a.0 == b.0 && a.1 == b.1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bulk::RowArena;

    type Row = (Table, Vec<u8>, Vec<u8>);

    fn row(table: Table, key: &str, value: &str) -> Row {
        (table, key.as_bytes().to_vec(), value.as_bytes().to_vec())
    }

    fn sorted(rows: Vec<Row>) -> SortedRows {
        let mut arena = RowArena::default();
        for (table, key, value) in &rows {
            arena.push(*table, key, value);
        }
        arena.into_sorted()
    }

    fn all(runs: &Runs) -> Vec<Row> {
        let maps = runs.map().expect("map");
        let mut merged = maps.merged().expect("merge");
        let mut out = Vec::new();
        while let Some((table, key, value)) = merged.next_row().expect("row") {
            out.push((table, key.to_vec(), value.to_vec()));
        }
        out
    }

    #[test]
    fn runs_merge_in_table_and_key_order_and_the_last_put_of_a_key_wins() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut runs = Runs::create(&dir.path().join("runs")).expect("create");
        runs.write(&sorted(vec![
            row(Table::TEMPLATE_INDEX, "b", ""),
            row(Table::EVENTS, "m", "run0"),
            row(Table::EVENTS, "a", "run0"),
            row(Table::EVENTS, "z", "run0 first"),
            row(Table::EVENTS, "z", "run0 second"),
        ]))
        .expect("write");
        runs.write(&SortedRows::default())
            .expect("an empty run is skipped");
        runs.write(&sorted(vec![
            row(Table::EVENTS, "m", "run1"),
            row(Table::EVENTS, "c", "run1"),
            row(Table::TEMPLATE_INDEX, "a", ""),
        ]))
        .expect("write");
        runs.write(&sorted(vec![row(Table::EVENTS, "m", "run2")]))
            .expect("write");
        assert_eq!((runs.len(), runs.rows()), (3, 9));
        assert_eq!(
            all(&runs),
            vec![
                row(Table::EVENTS, "a", "run0"),
                row(Table::EVENTS, "c", "run1"),
                row(Table::EVENTS, "m", "run2"),
                row(Table::EVENTS, "z", "run0 second"),
                row(Table::TEMPLATE_INDEX, "a", ""),
                row(Table::TEMPLATE_INDEX, "b", ""),
            ]
        );
        let maps = runs.map().expect("map");
        let mut merged = maps.merged().expect("merge");
        assert_eq!(merged.next_rows(4).expect("rows").len(), 4);
        assert_eq!(merged.next_rows(4).expect("rows").len(), 2);
        assert!(merged.next_rows(4).expect("rows").is_empty());
    }

    #[test]
    fn creating_runs_empties_what_an_interrupted_rebuild_left_and_remove_deletes_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("runs");
        std::fs::create_dir_all(&path).expect("mkdir");
        std::fs::write(path.join("000000.run"), b"left by a killed rebuild").expect("write");
        let mut runs = Runs::create(&path).expect("create");
        assert!(runs.is_empty());
        assert_eq!(std::fs::read_dir(&path).expect("list").count(), 0);
        runs.write(&sorted(vec![row(Table::EVENTS, "k", "v")]))
            .expect("write");
        runs.remove().expect("remove");
        assert!(!path.exists());
    }

    #[test]
    fn a_damaged_run_is_an_error_naming_its_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut runs = Runs::create(&dir.path().join("runs")).expect("create");
        runs.write(&sorted(vec![row(Table::EVENTS, "key", "value")]))
            .expect("write");
        let file = dir.path().join("runs").join("000000.run");
        let bytes = std::fs::read(&file).expect("read");
        std::fs::write(&file, &bytes[..bytes.len() - 2]).expect("truncate");
        let err = runs
            .map()
            .and_then(|m| m.merged().map(|_| ()))
            .expect_err("damaged");
        assert!(err.to_string().contains("000000.run"), "{err}");
        assert!(
            err.to_string().contains("run ends inside a row at byte 12"),
            "{err}"
        );
        std::fs::write(&file, [42u8]).expect("bad table");
        let err = runs
            .map()
            .and_then(|m| m.merged().map(|_| ()))
            .expect_err("damaged");
        assert!(
            err.to_string().contains("unknown table 42 at byte 0"),
            "{err}"
        );
    }
}
