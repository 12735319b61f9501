//! The embedded projection store: one LMDB environment (`<data dir>/store`), readable from
//! other processes while one process writes.
//!
//! Each projection owns a few tables, and each table exists twice (slots `a` and `b`): the
//! tables and projections are those of the registry ([`Table::all`], [`Projection::all`]), so
//! a projection added to it gets its tables here without a change to the store. The tables of
//! the first four projections have layouts of their own (keys, codecs, bulk loading); those of
//! any other hold generic rows (`[u16 BE length] partition, sort key` → value). The `meta`
//! table says which slot of each projection is live. A rebuild fills the other slot
//! while the live one keeps answering, then flips the slot in one transaction: readers in any
//! process see either the old projection or the new one, never a mix. The `ids` table is the
//! log's dedup index (fact identity → offset), not a projection.

mod bulk;
mod event_codec;
mod event_rows;
mod keys;
mod meta;
mod reader;
mod space;
mod sync;
#[cfg(feature = "test-hooks")]
mod test_hooks;
mod writer;

use std::path::{Path, PathBuf};

use heed::types::Bytes;
use heed::{Database, Env, EnvOpenOptions, RoTxn, RwTxn};
use mailshot_domain::log::Offset;
use mailshot_projections::Projection;
pub use mailshot_projections::Table;

pub use bulk::{MappedRuns, Merged, RowArena, RowRef, Runs, SortedRows, WriteOnlyRows};
pub use meta::REACTOR_CHECKPOINT_KEY;
pub use reader::Snapshot;
pub use sync::{SYNC_EVERY, needs_rebuild};
pub use writer::BatchWriter;

/// Errors of the embedded store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("projection store {path}: {source}")]
    Lmdb {
        path: PathBuf,
        #[source]
        source: heed::Error,
    },
    #[error("projection store {path}: {reason}")]
    Io { path: PathBuf, reason: String },
    #[error("corrupt row in table {table}: {reason}")]
    Corrupt { table: &'static str, reason: String },
}

pub(crate) type Db = Database<Bytes, Bytes>;

/// Size of one table ([`LmdbStore::table_stats`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TableStats {
    pub name: String,
    pub rows: u64,
    /// Bytes of the table's pages.
    pub bytes: u64,
}

/// Which of the two copies of a projection's tables.
pub type Slot = usize;

/// A slot per projection, by [`Projection::index`].
pub(crate) type Slots = [Slot; Projection::COUNT];

/// Every projection table in both slots, by slot then [`Table::index`]. `None` only in a
/// read-only store written before the table's projection existed (until a writer opens it).
type Tables = [[Option<Db>; Table::COUNT]; 2];

/// The embedded store. Cheap to clone (the environment is reference-counted).
#[derive(Clone)]
pub struct LmdbStore {
    env: Env,
    path: PathBuf,
    meta: Db,
    ids: Db,
    tables: Tables,
    sync: std::sync::Arc<sync::SyncState>,
    /// The writer's reservation of disk space for the data file; `None` when read-only.
    space: Option<std::sync::Arc<space::Reserved>>,
}

/// Every table of the store by its name, through `open` (creating or opening one; `None` for
/// one that is absent from a read-only store): the meta table, the dedup index, and each
/// projection table of both slots (`<table>.a`, `<table>.b`).
fn open_tables(
    mut open: impl FnMut(&str) -> Result<Option<Db>, StoreError>,
    path: &Path,
) -> Result<(Db, Db, Tables), StoreError> {
    let mut required = |name: &str| {
        open(name)?.ok_or_else(|| StoreError::Io {
            path: path.to_path_buf(),
            reason: format!("the store has no table {name}"),
        })
    };
    let meta = required("meta")?;
    let ids = required("ids")?;
    let mut tables: Tables = [[None; Table::COUNT]; 2];
    for (slot, slot_tables) in tables.iter_mut().enumerate() {
        for &table in Table::all() {
            slot_tables[table.index()] = open(&table_name(table, slot))?;
        }
    }
    Ok((meta, ids, tables))
}

/// The LMDB name of `table` in `slot`.
fn table_name(table: Table, slot: Slot) -> String {
    format!("{}.{}", table.name(), slot_name(slot))
}

/// 1 TiB of address space: LMDB maps the file but only uses what it writes.
const MAP_SIZE: usize = 1 << 40;

/// Named databases: the meta table, the dedup index and each table of the registry in two
/// slots (at least 32, what stores were opened with before the registry set the number).
const MAX_DBS: u32 = {
    let n = 2 * Table::COUNT as u32 + 2;
    if n < 32 { 32 } else { n }
};

impl LmdbStore {
    /// Opens (creating if needed) the store in `<data_dir>/store`, for its single writer.
    pub fn open(data_dir: &Path) -> Result<LmdbStore, StoreError> {
        let path = data_dir.join("store");
        std::fs::create_dir_all(&path).map_err(|e| StoreError::Io {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let lmdb = |source| StoreError::Lmdb {
            path: path.clone(),
            source,
        };
        let mut options = EnvOpenOptions::new();
        options.map_size(MAP_SIZE).max_dbs(MAX_DBS).max_readers(256);
        // SAFETY (flags): WRITE_MAP lets a transaction write its pages straight into the map
        // instead of into heap copies written out at commit: less memory and one copy less
        // (without it, 1M inputs ingested 18% slower and peaked at 565 MB instead of 431 MB;
        // BENCHMARKS.md). LMDB stays copy-on-write, so a killed writer leaves the last
        // committed state intact; only stray writes through the map could corrupt it, and we
        // never write through it. LMDB sizes the file to the map, sparse: a page written into
        // a hole needs a block, and on a full disk the fault would kill the process with
        // SIGBUS. So before each write transaction the writer reserves the file's blocks well
        // past the pages in use ([`space::Reserved`]): a full disk is then an error ("No space
        // left on device") before anything is written.
        //
        // NO_SYNC: commits are flushed in groups, not one by one; see the `sync` module for
        // why that is safe (the log is the durable truth) and how a machine crash is detected.
        unsafe { options.flags(heed::EnvFlags::WRITE_MAP | heed::EnvFlags::NO_SYNC) };
        // SAFETY (open): heed requires that the same environment is not opened twice in one
        // process and that the file is not modified by other means: each process opens a data
        // dir's store once.
        let env = unsafe { options.open(&path) }.map_err(lmdb)?;
        let mut wtxn = env.write_txn().map_err(lmdb)?;
        let (meta, ids, tables) = open_tables(
            |name| {
                env.create_database(&mut wtxn, Some(name))
                    .map(Some)
                    .map_err(lmdb)
            },
            &path,
        )?;
        wtxn.commit().map_err(lmdb)?;
        let space = space::Reserved::open(&path.join("data.mdb"))?;
        Ok(LmdbStore {
            env,
            sync: std::sync::Arc::new(sync::SyncState::new(&path)),
            path,
            meta,
            ids,
            tables,
            space: Some(std::sync::Arc::new(space)),
        })
    }

    /// Opens the store in `<data_dir>/store` for queries: read-only, so it works on a
    /// read-only file system and never waits on the writer's transaction (LMDB readers take
    /// no lock but a slot in the reader table; on a read-only file system LMDB does without
    /// it). Only read transactions can be started on it.
    pub fn open_read_only(data_dir: &Path) -> Result<LmdbStore, StoreError> {
        let path = data_dir.join("store");
        let lmdb = |source| StoreError::Lmdb {
            path: path.clone(),
            source,
        };
        let mut options = EnvOpenOptions::new();
        options.map_size(MAP_SIZE).max_dbs(MAX_DBS).max_readers(256);
        // SAFETY (flags): READ_ONLY only forbids write transactions.
        unsafe { options.flags(heed::EnvFlags::READ_ONLY) };
        // SAFETY (open): as in `open`; a process opens a data dir's store once.
        let env = unsafe { options.open(&path) }.map_err(lmdb)?;
        let rtxn = env.read_txn().map_err(lmdb)?;
        // A table missing here belongs to a projection newer than the store: the queries of
        // the other projections answer, and its own say what to do ([`LmdbStore::table`]).
        let open = |name: &str| env.open_database(&rtxn, Some(name)).map_err(lmdb);
        let (meta, ids, tables) = open_tables(open, &path).map_err(|e| match e {
            StoreError::Io { path, reason } => StoreError::Io {
                path,
                reason: format!(
                    "{reason}: run any writer command (`mailshot ingest /dev/null`) to complete it"
                ),
            },
            other => other,
        })?;
        // Committing keeps the table handles open for the environment's later transactions.
        rtxn.commit().map_err(lmdb)?;
        Ok(LmdbStore {
            env,
            sync: std::sync::Arc::new(sync::SyncState::new(&path)),
            path,
            meta,
            ids,
            tables,
            space: None,
        })
    }

    pub(crate) fn lmdb(&self, source: heed::Error) -> StoreError {
        StoreError::Lmdb {
            path: self.path.clone(),
            source,
        }
    }

    /// Reserves the data file's blocks for the pages in use, `extra` bytes more, and the
    /// headroom of [`space::Reserved::reserve`]: what the next write transactions may write
    /// into the map. A rebuild, whose transactions together write about as much as the
    /// projections it rebuilds, reserves that much before it starts.
    ///
    /// # Errors
    /// [`StoreError::Io`] naming the disk's error (ENOSPC: "No space left on device").
    pub fn reserve_beyond_used(&self, extra: u64) -> Result<(), StoreError> {
        if let Some(space) = &self.space {
            let info = self.env.info();
            let page_size = self.env.stat().page_size;
            space.reserve((info.last_page_number as u64 + 1) * u64::from(page_size) + extra)?;
        }
        Ok(())
    }

    /// Starts a write transaction (after making sure a crash before the next flush would be
    /// noticed).
    pub(crate) fn write_txn(&self) -> Result<RwTxn<'_>, StoreError> {
        self.reserve_beyond_used(0)?;
        self.sync.before_commit()?;
        self.env.write_txn().map_err(|e| self.lmdb(e))
    }

    /// Commits a write transaction, flushing the store every [`SYNC_EVERY`] commits.
    pub(crate) fn commit(&self, txn: RwTxn<'_>) -> Result<(), StoreError> {
        txn.commit().map_err(|e| self.lmdb(e))?;
        if self.sync.after_commit() {
            self.sync()?;
        }
        Ok(())
    }

    /// Commits a write transaction that wrote only spare slots, without counting it towards a
    /// flush: a rebuild cut short by a machine crash starts over, and the unsynced marker makes
    /// the next open rebuild the whole store anyway. The rebuild flushes once, after its swap.
    pub(crate) fn commit_unflushed(&self, txn: RwTxn<'_>) -> Result<(), StoreError> {
        txn.commit().map_err(|e| self.lmdb(e))
    }

    /// Flushes every commit so far to disk.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.env.force_sync().map_err(|e| self.lmdb(e))?;
        self.sync.flushed()
    }

    /// `table` in `slot`. Every table exists in a store a writer has opened; a read-only
    /// store written before the table's projection existed lacks it, and reading it fails
    /// saying how to complete the store.
    pub(crate) fn table(&self, slot: Slot, table: Table) -> Result<Db, StoreError> {
        self.tables[slot][table.index()].ok_or_else(|| StoreError::Io {
            path: self.path.clone(),
            reason: format!(
                "the store has no table {} (projection {} is newer than this data dir): run any \
                 writer command (`mailshot ingest /dev/null`) to build it",
                table_name(table, slot),
                table.projection()
            ),
        })
    }

    /// The live slot of each projection, by [`Projection::index`]: the meta keys
    /// `slot/<projection>` (slot `a` when absent), read with one cursor (every query's snapshot
    /// starts here).
    pub(crate) fn live_slots(&self, txn: &RoTxn) -> Result<Slots, StoreError> {
        let mut slots = [0; Projection::COUNT];
        for row in self
            .meta
            .prefix_iter(txn, SLOT_KEY_PREFIX.as_bytes())
            .map_err(|e| self.lmdb(e))?
        {
            let (key, value) = row.map_err(|e| self.lmdb(e))?;
            let name = &key[SLOT_KEY_PREFIX.len()..];
            if let Some(p) = Projection::all()
                .iter()
                .find(|p| p.name().as_bytes() == name)
            {
                slots[p.index()] = usize::from(value.first().copied().unwrap_or(0) & 1);
            }
        }
        Ok(slots)
    }

    /// A consistent read snapshot of the live projections.
    pub fn snapshot(&self) -> Result<Snapshot<'_>, StoreError> {
        let txn = self.env.read_txn().map_err(|e| self.lmdb(e))?;
        let slots = self.live_slots(&txn)?;
        Ok(Snapshot::new(self, txn, slots))
    }

    /// Starts a write batch on the live projections.
    pub fn begin(&self) -> Result<BatchWriter<'_>, StoreError> {
        let txn = self.write_txn()?;
        let slots = self.live_slots(&txn)?;
        Ok(BatchWriter::new(self, txn, slots, false))
    }

    /// Starts a write batch whose writes to `projections` go to their *other* (rebuilding)
    /// slots. Its commit is not flushed ([`LmdbStore::commit_unflushed`]).
    pub fn begin_rebuild(&self, projections: &[Projection]) -> Result<BatchWriter<'_>, StoreError> {
        let txn = self.write_txn()?;
        let mut slots = self.live_slots(&txn)?;
        for &p in projections {
            slots[p.index()] ^= 1;
        }
        Ok(BatchWriter::new(self, txn, slots, true))
    }

    /// Empties the rebuilding slot of `projection` and marks it as not yet folded.
    pub fn reset_rebuild(&self, projection: Projection) -> Result<(), StoreError> {
        let mut txn = self.write_txn()?;
        let slot = self.live_slots(&txn)?[projection.index()] ^ 1;
        for table in projection.tables() {
            self.table(slot, table)?
                .clear(&mut txn)
                .map_err(|e| self.lmdb(e))?;
        }
        self.put_meta(&mut txn, &checkpoint_key(projection, slot), &[])?;
        self.commit(txn)
    }

    /// Makes the rebuilt slot of `projection` live, in one transaction, and empties the old one.
    pub fn swap_rebuilt(&self, projection: Projection) -> Result<(), StoreError> {
        let mut txn = self.write_txn()?;
        let old = self.live_slots(&txn)?[projection.index()];
        let new = old ^ 1;
        self.put_meta(
            &mut txn,
            &format!("{SLOT_KEY_PREFIX}{}", projection.name()),
            &[new as u8],
        )?;
        for table in projection.tables() {
            self.table(old, table)?
                .clear(&mut txn)
                .map_err(|e| self.lmdb(e))?;
        }
        self.put_meta(&mut txn, &checkpoint_key(projection, old), &[])?;
        self.commit(txn)
    }

    /// The checkpoint and fold version of a projection's live or rebuilding slot.
    pub fn progress(
        &self,
        projection: Projection,
        rebuilding: bool,
    ) -> Result<SlotProgress, StoreError> {
        let txn = self.env.read_txn().map_err(|e| self.lmdb(e))?;
        let mut slot = self.live_slots(&txn)?[projection.index()];
        if rebuilding {
            slot ^= 1;
        }
        self.slot_progress(&txn, projection, slot)
    }

    pub(crate) fn slot_progress(
        &self,
        txn: &RoTxn,
        projection: Projection,
        slot: Slot,
    ) -> Result<SlotProgress, StoreError> {
        let get = |key: String| -> Result<Option<u64>, StoreError> {
            let v = self
                .meta
                .get(txn, key.as_bytes())
                .map_err(|e| self.lmdb(e))?;
            Ok(v.and_then(|v| <[u8; 8]>::try_from(v).ok())
                .map(u64::from_be_bytes))
        };
        let checkpoint = get(checkpoint_key(projection, slot))?;
        let version = get(version_key(projection, slot))?.map(|v| v as u32);
        Ok(SlotProgress {
            checkpoint,
            version,
        })
    }

    /// The offset up to which the dedup index holds every identity of the log.
    pub fn ids_checkpoint(&self) -> Result<Offset, StoreError> {
        let txn = self.env.read_txn().map_err(|e| self.lmdb(e))?;
        let v = self.meta.get(&txn, b"ckpt/ids").map_err(|e| self.lmdb(e))?;
        Ok(v.and_then(|v| <[u8; 8]>::try_from(v).ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0))
    }

    pub(crate) fn put_meta(
        &self,
        txn: &mut RwTxn,
        key: &str,
        value: &[u8],
    ) -> Result<(), StoreError> {
        if value.is_empty() {
            self.meta
                .delete(txn, key.as_bytes())
                .map_err(|e| self.lmdb(e))?;
            Ok(())
        } else {
            self.meta
                .put(txn, key.as_bytes(), value)
                .map_err(|e| self.lmdb(e))
        }
    }

    /// Bytes the store occupies on disk.
    pub fn disk_size(&self) -> u64 {
        self.env.real_disk_size().unwrap_or(0)
    }

    /// Rows and pages of every live table and of the dedup index: where the store's bytes go.
    pub fn table_stats(&self) -> Result<Vec<TableStats>, StoreError> {
        let txn = self.env.read_txn().map_err(|e| self.lmdb(e))?;
        let slots = self.live_slots(&txn)?;
        let mut out = Vec::new();
        let mut add = |name: &str, db: Db| -> Result<(), StoreError> {
            let stat = db.stat(&txn).map_err(|e| self.lmdb(e))?;
            let pages = stat.branch_pages + stat.leaf_pages + stat.overflow_pages;
            out.push(TableStats {
                name: name.to_string(),
                rows: stat.entries as u64,
                bytes: (pages * stat.page_size as usize) as u64,
            });
            Ok(())
        };
        add("ids", self.ids)?;
        for &table in Table::all() {
            let slot = slots[table.projection().index()];
            add(table.name(), self.table(slot, table)?)?;
        }
        Ok(out)
    }

    /// Bytes of the pages of the live tables of `projections`: about what rebuilding them
    /// writes.
    pub fn live_bytes(&self, projections: &[Projection]) -> Result<u64, StoreError> {
        let txn = self.env.read_txn().map_err(|e| self.lmdb(e))?;
        let slots = self.live_slots(&txn)?;
        let mut bytes = 0;
        for &p in projections {
            for table in p.tables() {
                let stat = self
                    .table(slots[p.index()], table)?
                    .stat(&txn)
                    .map_err(|e| self.lmdb(e))?;
                let pages = stat.branch_pages + stat.leaf_pages + stat.overflow_pages;
                bytes += (pages * stat.page_size as usize) as u64;
            }
        }
        Ok(bytes)
    }

    /// Visits every row of a projection's live tables in key order (for digests).
    pub fn for_each_row(
        &self,
        projection: Projection,
        rebuilding: bool,
        mut visit: impl FnMut(Table, &[u8], &[u8]),
    ) -> Result<(), StoreError> {
        let txn = self.env.read_txn().map_err(|e| self.lmdb(e))?;
        let mut slot = self.live_slots(&txn)?[projection.index()];
        if rebuilding {
            slot ^= 1;
        }
        for table in projection.tables() {
            for row in self
                .table(slot, table)?
                .iter(&txn)
                .map_err(|e| self.lmdb(e))?
            {
                let (k, v) = row.map_err(|e| self.lmdb(e))?;
                visit(table, k, v);
            }
        }
        Ok(())
    }

    /// Walks a projection's live and rebuilding slots side by side, in key order, visiting
    /// every row of each, and returns the first table and key where they differ (a key in one
    /// slot only, or the same key with another value). Memory stays flat whatever the size.
    pub fn compare_slots(
        &self,
        projection: Projection,
        mut visit_live: impl FnMut(Table, &[u8], &[u8]),
        mut visit_rebuilt: impl FnMut(Table, &[u8], &[u8]),
    ) -> Result<Option<(Table, Vec<u8>)>, StoreError> {
        let txn = self.env.read_txn().map_err(|e| self.lmdb(e))?;
        let live_slot = self.live_slots(&txn)?[projection.index()];
        let mut first: Option<(Table, Vec<u8>)> = None;
        for table in projection.tables() {
            let mut live = self
                .table(live_slot, table)?
                .iter(&txn)
                .map_err(|e| self.lmdb(e))?;
            let mut rebuilt = self
                .table(live_slot ^ 1, table)?
                .iter(&txn)
                .map_err(|e| self.lmdb(e))?;
            let mut a = live.next().transpose().map_err(|e| self.lmdb(e))?;
            let mut b = rebuilt.next().transpose().map_err(|e| self.lmdb(e))?;
            loop {
                let (advance_live, advance_rebuilt) = match (a, b) {
                    (None, None) => break,
                    (Some((ka, va)), Some((kb, vb))) if ka == kb => {
                        if va != vb && first.is_none() {
                            first = Some((table, ka.to_vec()));
                        }
                        (true, true)
                    }
                    (Some((ka, _)), Some((kb, _))) if ka < kb => {
                        first.get_or_insert_with(|| (table, ka.to_vec()));
                        (true, false)
                    }
                    (Some((ka, _)), None) => {
                        first.get_or_insert_with(|| (table, ka.to_vec()));
                        (true, false)
                    }
                    (_, Some((kb, _))) => {
                        first.get_or_insert_with(|| (table, kb.to_vec()));
                        (false, true)
                    }
                };
                if advance_live {
                    if let Some((k, v)) = a {
                        visit_live(table, k, v);
                    }
                    a = live.next().transpose().map_err(|e| self.lmdb(e))?;
                }
                if advance_rebuilt {
                    if let Some((k, v)) = b {
                        visit_rebuilt(table, k, v);
                    }
                    b = rebuilt.next().transpose().map_err(|e| self.lmdb(e))?;
                }
            }
        }
        Ok(first)
    }
}

/// How far a projection slot has folded, and with which fold version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotProgress {
    /// Every record before this offset is folded (`None`: the slot was never written).
    pub checkpoint: Option<Offset>,
    pub version: Option<u32>,
}

/// The meta keys of the live slots: `slot/<projection>`.
const SLOT_KEY_PREFIX: &str = "slot/";

fn slot_name(slot: Slot) -> char {
    if slot == 0 { 'a' } else { 'b' }
}

pub(crate) fn checkpoint_key(p: Projection, slot: Slot) -> String {
    format!("ckpt/{}.{}", p.name(), slot_name(slot))
}

pub(crate) fn version_key(p: Projection, slot: Slot) -> String {
    format!("version/{}.{}", p.name(), slot_name(slot))
}
