//! One write transaction: the dedup index and the projections, committed with their
//! checkpoints atomically.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use heed::types::Bytes;
use heed::{PutFlags, RwTxn};
use mailshot_domain::log::Offset;
use mailshot_domain::{Day, EngagementFact, FactId, Timestamp};
use mailshot_projections::rollups::Counts;
use mailshot_projections::{
    EngagementKey, EngagementKind, EventRow, FirstEngagement, LinkKey, Projection,
    ProjectionWriter, RollupKey, RowKey, RowSink, Subscriber,
};

use super::event_rows::{push_fact_rows, push_row};
use super::keys::{
    DEDUP_KEY_LEN, dedup_key, engagement_key, link_key, push_history_key, push_part, push_row_key,
};
use super::{LmdbStore, Slots, StoreError, Table, checkpoint_key, version_key};
use crate::bulk::{RowArena, RowRef};

/// A write batch. Rollup additions and subscriber rows are gathered in memory and written
/// once per key at [`BatchWriter::commit`], which is what makes big batches cheap.
pub struct BatchWriter<'s> {
    store: &'s LmdbStore,
    txn: RwTxn<'s>,
    slots: Slots,
    counts: HashMap<Vec<u8>, Counts>,
    /// Fact counts gathered by template, sequence and day; spread over the rollup rows of
    /// every scope and level at commit.
    fact_counts: HashMap<String, HashMap<String, HashMap<Day, Counts>>>,
    subscribers: HashMap<String, Option<Subscriber>>,
    dirty_subscribers: BTreeMap<String, ()>,
    /// Rows of the write-only tables (events, its indexes, history), put in key order at
    /// commit: sorted inserts walk the B-trees once instead of jumping between pages.
    pending: RowArena,
    /// First engagements and generic rows of stateful folds set in this batch, by table and
    /// key: read back from here, and put in key order with the write-only rows.
    stateful_rows: HashMap<(Table, Vec<u8>), Vec<u8>>,
    /// Dedup-index entries, put in key order at commit.
    pending_ids: Vec<([u8; DEDUP_KEY_LEN], Offset)>,
    pending_id_set: HashSet<FactId>,
    /// True when the batch writes only spare slots (a rebuild): its commit is not flushed.
    spare_only: bool,
}

impl<'s> BatchWriter<'s> {
    pub(crate) fn new(
        store: &'s LmdbStore,
        txn: RwTxn<'s>,
        slots: Slots,
        spare_only: bool,
    ) -> Self {
        BatchWriter {
            store,
            txn,
            slots,
            counts: HashMap::new(),
            fact_counts: HashMap::new(),
            subscribers: HashMap::new(),
            dirty_subscribers: BTreeMap::new(),
            pending: RowArena::default(),
            stateful_rows: HashMap::new(),
            pending_ids: Vec::new(),
            pending_id_set: HashSet::new(),
            spare_only,
        }
    }

    fn db(&self, table: Table) -> Result<super::Db, StoreError> {
        self.store
            .table(self.slots[table.projection().index()], table)
    }

    fn err(&self, e: heed::Error) -> StoreError {
        self.store.lmdb(e)
    }

    /// Adds `id` (of an event on `day`, see [`dedup_key`]) to the dedup index as first seen at
    /// `offset`, unless the index (or this batch) already holds it: `true` when it was new. One
    /// B-tree search per identity, where a lookup followed by a put takes two.
    pub fn claim_id(
        &mut self,
        id: &FactId,
        day: Option<Day>,
        offset: Offset,
    ) -> Result<bool, StoreError> {
        if self.pending_id_set.contains(id) {
            return Ok(false);
        }
        let value = offset.to_be_bytes();
        let inserted = self
            .store
            .ids
            .get_or_put(&mut self.txn, &dedup_key(id, day), &value)
            .map_err(|e| self.store.lmdb(e))?
            .is_none();
        Ok(inserted)
    }

    /// Adds identities, each with the day of its event, to the dedup index.
    pub fn put_ids(
        &mut self,
        ids: &[(FactId, Option<Day>)],
        offset: Offset,
    ) -> Result<(), StoreError> {
        for &(id, day) in ids {
            if self.pending_id_set.insert(id) {
                self.pending_ids.push((dedup_key(&id, day), offset));
            }
        }
        Ok(())
    }

    /// Puts the gathered write-only rows and dedup entries, each table in key order (commit
    /// does it too; calling it earlier lets the work overlap with something else).
    pub fn flush_pending(&mut self) -> Result<(), StoreError> {
        let mut ids = std::mem::take(&mut self.pending_ids);
        ids.sort_unstable_by_key(|a| a.0);
        let mut puts = SortedPuts::new(self.store.ids, &mut self.txn, PutFlags::empty())
            .map_err(|e| self.store.lmdb(e))?;
        for (key, offset) in ids {
            puts.put(&key, &offset.to_be_bytes())
                .map_err(|e| self.store.lmdb(e))?;
        }
        drop(puts);
        let mut rows = std::mem::take(&mut self.pending);
        for ((table, key), value) in self.stateful_rows.drain() {
            rows.push(table, &key, &value);
        }
        let rows = rows.into_sorted();
        self.put_in_order(rows.iter(), PutFlags::empty())
    }

    /// Puts rows already sorted by table and key, one cursor per table, with `flags`.
    fn put_in_order<'r>(
        &mut self,
        rows: impl IntoIterator<Item = RowRef<'r>>,
        flags: PutFlags,
    ) -> Result<(), StoreError> {
        let mut rows = rows.into_iter().peekable();
        while let Some(&(table, _, _)) = rows.peek() {
            let db = self.db(table)?;
            let mut puts =
                SortedPuts::new(db, &mut self.txn, flags).map_err(|e| self.store.lmdb(e))?;
            while let Some((_, key, value)) = rows.next_if(|row| row.0 == table) {
                puts.put(key, value).map_err(|e| self.store.lmdb(e))?;
            }
        }
        Ok(())
    }

    /// Appends `rows`, in (table, key) order and one per key, to tables that hold no greater
    /// key (a rebuild's spare slot, emptied for it). `MDB_APPEND` puts each at the end of its
    /// table without a search, and fills pages instead of splitting them in half. A row out of
    /// order is refused by LMDB (`MDB_KEYEXIST`), never stored out of place.
    pub fn append_rows(&mut self, rows: &[RowRef<'_>]) -> Result<(), StoreError> {
        self.put_in_order(rows.iter().copied(), PutFlags::APPEND)
    }

    /// Records that the dedup index holds every identity before `next_offset`.
    pub fn set_ids_checkpoint(&mut self, next_offset: Offset) -> Result<(), StoreError> {
        self.store
            .put_meta(&mut self.txn, "ckpt/ids", &next_offset.to_be_bytes())
    }

    /// The checkpoint of a projection as this batch's target slot sees it.
    pub fn checkpoint(&self, projection: Projection) -> Result<Option<Offset>, StoreError> {
        let slot = self.slots[projection.index()];
        Ok(self
            .store
            .slot_progress(&self.txn, projection, slot)?
            .checkpoint)
    }

    /// Writes the gathered rollups and subscribers, then commits everything atomically.
    pub fn commit(mut self) -> Result<(), StoreError> {
        self.flush_pending()?;
        for (template_key, sequences) in std::mem::take(&mut self.fact_counts) {
            for (sequence_id, days) in sequences {
                for (day, deltas) in days {
                    for key in RollupKey::for_fact(&template_key, &sequence_id, day) {
                        self.counts.entry(key.encode()).or_default().add(&deltas);
                    }
                }
            }
        }
        let rollups = self.db(Table::ROLLUPS)?;
        let mut counts: Vec<_> = std::mem::take(&mut self.counts).into_iter().collect();
        counts.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (key, delta) in counts {
            let mut total = match rollups
                .get(&self.txn, &key)
                .map_err(|e| self.store.lmdb(e))?
            {
                Some(v) => Counts::from_bytes(v),
                None => Counts::default(),
            };
            total.add(&delta);
            rollups
                .put(&mut self.txn, &key, &total.to_bytes())
                .map_err(|e| self.store.lmdb(e))?;
        }
        let subscribers = self.db(Table::SUBSCRIBERS)?;
        let suppressed = self.db(Table::SUPPRESSED)?;
        for email in std::mem::take(&mut self.dirty_subscribers).into_keys() {
            let Some(Some(sub)) = self.subscribers.get(&email) else {
                continue;
            };
            let json = serde_json::to_vec(sub).map_err(|e| StoreError::Corrupt {
                table: "subscribers",
                reason: e.to_string(),
            })?;
            subscribers
                .put(&mut self.txn, email.as_bytes(), &json)
                .map_err(|e| self.store.lmdb(e))?;
            if sub.suppression().is_some() {
                suppressed
                    .put(&mut self.txn, email.as_bytes(), &[])
                    .map_err(|e| self.store.lmdb(e))?;
            } else {
                suppressed
                    .delete(&mut self.txn, email.as_bytes())
                    .map_err(|e| self.store.lmdb(e))?;
            }
        }
        if self.spare_only {
            self.store.commit_unflushed(self.txn)
        } else {
            self.store.commit(self.txn)
        }
    }
}

/// Puts into one table through one cursor. LMDB starts a cursor's search at the page it
/// points at when the key falls inside that page, so puts in key order skip most of the
/// root-to-leaf descent that a fresh `mdb_put` does each time.
struct SortedPuts<'t> {
    cursor: heed::RwIter<'t, Bytes, Bytes>,
    flags: PutFlags,
}

impl<'t> SortedPuts<'t> {
    /// Puts with `flags`: none for insert-or-replace, `APPEND` for keys after every key of
    /// the table.
    fn new(db: super::Db, txn: &'t mut RwTxn<'_>, flags: PutFlags) -> heed::Result<Self> {
        Ok(SortedPuts {
            cursor: db.iter_mut(txn)?,
            flags,
        })
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> heed::Result<()> {
        // SAFETY: `key` and `value` are owned by the caller, not borrowed from the database,
        // and no reference into the database is held across this call. Without `MDB_CURRENT`
        // this is an insert-or-replace, or with `MDB_APPEND` an insert at the end.
        unsafe {
            self.cursor
                .put_current_with_options::<Bytes>(self.flags, key, value)
        }
    }
}

/// Where the first engagement of `key` is kept: link clicks have their own table.
fn first_engagement_table(key: &EngagementKey) -> Table {
    if key.kind == EngagementKind::LinkClick {
        Table::LINK_FIRST_CLICK
    } else {
        Table::FIRST_ENGAGEMENT
    }
}

fn decode_first(v: &[u8]) -> Option<FirstEngagement> {
    let at = i64::from_be_bytes(v.get(..8)?.try_into().ok()?);
    let rest = v.get(8..)?;
    let len = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
    let template_key = std::str::from_utf8(rest.get(2..2 + len)?).ok()?.to_string();
    let sequence_id = std::str::from_utf8(rest.get(2 + len..)?).ok()?.to_string();
    Some(FirstEngagement {
        at: Timestamp(at),
        template_key,
        sequence_id,
    })
}

fn encode_first(v: &FirstEngagement) -> Vec<u8> {
    let mut out = v.at.0.to_be_bytes().to_vec();
    push_part(&mut out, &v.template_key);
    out.extend_from_slice(v.sequence_id.as_bytes());
    out
}

impl RowSink for BatchWriter<'_> {
    type Error = StoreError;

    fn put_event(&mut self, row: &EventRow) -> Result<(), StoreError> {
        push_row(row, &mut self.pending);
        Ok(())
    }

    fn put_fact_event(&mut self, fact: &EngagementFact<'_>) -> Result<(), StoreError> {
        push_fact_rows(fact, &mut self.pending);
        Ok(())
    }

    fn add_history(&mut self, email: &str, offset: Offset) -> Result<(), StoreError> {
        self.pending.push_with(
            Table::HISTORY,
            |key| push_history_key(key, email, offset),
            |_| {},
        );
        Ok(())
    }

    fn put_row(&mut self, table: Table, key: RowKey<'_>, value: &[u8]) -> Result<(), StoreError> {
        self.pending.push_with(
            table,
            |out| push_row_key(out, key),
            |out| out.extend_from_slice(value),
        );
        Ok(())
    }
}

impl ProjectionWriter for BatchWriter<'_> {
    fn add_counts(&mut self, key: &RollupKey, deltas: &Counts) -> Result<(), StoreError> {
        self.counts.entry(key.encode()).or_default().add(deltas);
        Ok(())
    }

    fn add_fact_counts(
        &mut self,
        template_key: &str,
        sequence_id: &str,
        day: Day,
        deltas: &Counts,
    ) -> Result<(), StoreError> {
        // Lookups by &str: no allocation unless the template or sequence is new to the batch.
        if !self.fact_counts.contains_key(template_key) {
            self.fact_counts
                .insert(template_key.to_string(), HashMap::new());
        }
        let sequences = self
            .fact_counts
            .get_mut(template_key)
            .expect("inserted above");
        if !sequences.contains_key(sequence_id) {
            sequences.insert(sequence_id.to_string(), HashMap::new());
        }
        sequences
            .get_mut(sequence_id)
            .expect("inserted above")
            .entry(day)
            .or_default()
            .add(deltas);
        Ok(())
    }

    fn first_engagement(
        &mut self,
        key: &EngagementKey,
    ) -> Result<Option<FirstEngagement>, StoreError> {
        let table = first_engagement_table(key);
        let stored_key = (table, engagement_key(key));
        let value = match self.stateful_rows.get(&stored_key) {
            Some(v) => Some(v.as_slice()),
            None => self
                .db(table)?
                .get(&self.txn, &stored_key.1)
                .map_err(|e| self.err(e))?,
        };
        match value {
            None => Ok(None),
            Some(v) => decode_first(v).map(Some).ok_or(StoreError::Corrupt {
                table: table.name(),
                reason: "undecodable first engagement".into(),
            }),
        }
    }

    fn set_first_engagement(
        &mut self,
        key: &EngagementKey,
        value: &FirstEngagement,
    ) -> Result<(), StoreError> {
        self.stateful_rows.insert(
            (first_engagement_table(key), engagement_key(key)),
            encode_first(value),
        );
        Ok(())
    }

    fn subscriber(&mut self, email: &str) -> Result<Option<Subscriber>, StoreError> {
        if let Some(cached) = self.subscribers.get(email) {
            return Ok(cached.clone());
        }
        let db = self.db(Table::SUBSCRIBERS)?;
        let loaded =
            match db
                .get(&self.txn, email.as_bytes())
                .map_err(|e| self.err(e))?
            {
                None => None,
                Some(v) => Some(serde_json::from_slice::<Subscriber>(v).map_err(|e| {
                    StoreError::Corrupt {
                        table: "subscribers",
                        reason: format!("{email}: {e}"),
                    }
                })?),
            };
        self.subscribers.insert(email.to_string(), loaded.clone());
        Ok(loaded)
    }

    fn has_subscriber(&mut self, email: &str) -> Result<bool, StoreError> {
        if let Some(cached) = self.subscribers.get(email) {
            return Ok(cached.is_some());
        }
        let db = self.db(Table::SUBSCRIBERS)?;
        Ok(db
            .get(&self.txn, email.as_bytes())
            .map_err(|e| self.err(e))?
            .is_some())
    }

    fn put_subscriber(&mut self, subscriber: &Subscriber) -> Result<(), StoreError> {
        self.subscribers
            .insert(subscriber.email.clone(), Some(subscriber.clone()));
        self.dirty_subscribers.insert(subscriber.email.clone(), ());
        Ok(())
    }

    fn add_link_counts(
        &mut self,
        key: &LinkKey,
        clicks: i64,
        unique: i64,
    ) -> Result<(), StoreError> {
        let db = self.db(Table::LINKS)?;
        let k = link_key(key);
        let (mut c, mut u) = match db.get(&self.txn, &k).map_err(|e| self.err(e))? {
            Some(v) if v.len() == 16 => (
                i64::from_be_bytes(v[..8].try_into().expect("8 bytes")),
                i64::from_be_bytes(v[8..].try_into().expect("8 bytes")),
            ),
            _ => (0, 0),
        };
        c += clicks;
        u += unique;
        let mut v = [0u8; 16];
        v[..8].copy_from_slice(&c.to_be_bytes());
        v[8..].copy_from_slice(&u.to_be_bytes());
        db.put(&mut self.txn, &k, &v)
            .map_err(|e| self.store.lmdb(e))
    }

    fn get_row(&mut self, table: Table, key: RowKey<'_>) -> Result<Option<Vec<u8>>, StoreError> {
        let mut stored = Vec::new();
        push_row_key(&mut stored, key);
        let stored_key = (table, stored);
        if let Some(v) = self.stateful_rows.get(&stored_key) {
            return Ok(Some(v.clone()));
        }
        Ok(self
            .db(table)?
            .get(&self.txn, &stored_key.1)
            .map_err(|e| self.err(e))?
            .map(<[u8]>::to_vec))
    }

    fn set_row(&mut self, table: Table, key: RowKey<'_>, value: &[u8]) -> Result<(), StoreError> {
        let mut stored = Vec::new();
        push_row_key(&mut stored, key);
        self.stateful_rows.insert((table, stored), value.to_vec());
        Ok(())
    }

    fn set_checkpoint(
        &mut self,
        projection: Projection,
        next_offset: Offset,
    ) -> Result<(), StoreError> {
        let slot = self.slots[projection.index()];
        self.store.put_meta(
            &mut self.txn,
            &checkpoint_key(projection, slot),
            &next_offset.to_be_bytes(),
        )?;
        self.store.put_meta(
            &mut self.txn,
            &version_key(projection, slot),
            &u64::from(projection.version()).to_be_bytes(),
        )
    }
}
