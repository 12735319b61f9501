//! Ways to damage or age a store on purpose, for tests of verify, rebuilds and upgrades. Only
//! in builds with the cargo feature `test-hooks` (the tests crate enables it; the `mailshot`
//! binary never does).

use mailshot_projections::Projection;

use crate::meta::IDS_LAYOUT_KEY;
use crate::{LmdbStore, StoreError, Table, checkpoint_key, version_key};

impl LmdbStore {
    /// Overwrites one row of a live table. Only for tests that corrupt a projection on purpose.
    pub fn corrupt_row(&self, table: Table, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        let mut txn = self.write_txn()?;
        let slot = self.live_slots(&txn)?[table.projection().index()];
        self.table(slot, table)?
            .put(&mut txn, key, value)
            .map_err(|e| self.lmdb(e))?;
        self.commit(txn)
    }

    /// Empties a projection's live tables and forgets its checkpoint and version, as in a data
    /// dir written before the projection existed. Only for tests of backfills.
    pub fn forget_projection(&self, projection: Projection) -> Result<(), StoreError> {
        let mut txn = self.write_txn()?;
        let slot = self.live_slots(&txn)?[projection.index()];
        for table in projection.tables() {
            self.table(slot, table)?
                .clear(&mut txn)
                .map_err(|e| self.lmdb(e))?;
        }
        self.put_meta(&mut txn, &checkpoint_key(projection, slot), &[])?;
        self.put_meta(&mut txn, &version_key(projection, slot), &[])?;
        self.commit(txn)
    }

    /// Overwrites the stored fold version of a projection's live slot. Only for tests of
    /// rebuild-on-version-change.
    pub fn set_version(&self, projection: Projection, version: u32) -> Result<(), StoreError> {
        let mut txn = self.write_txn()?;
        let slot = self.live_slots(&txn)?[projection.index()];
        self.put_meta(
            &mut txn,
            &version_key(projection, slot),
            &u64::from(version).to_be_bytes(),
        )?;
        self.commit(txn)
    }

    /// Rewrites the dedup index as a data dir from before the current layout holds it: keys
    /// are the bare 16-byte identities and no layout is stored. Only for tests of the upgrade.
    pub fn downgrade_ids_layout(&self) -> Result<(), StoreError> {
        let mut txn = self.write_txn()?;
        let mut rows = Vec::new();
        for row in self.ids.iter(&txn).map_err(|e| self.lmdb(e))? {
            let (key, value) = row.map_err(|e| self.lmdb(e))?;
            rows.push((key[4..].to_vec(), value.to_vec()));
        }
        self.ids.clear(&mut txn).map_err(|e| self.lmdb(e))?;
        for (key, value) in rows {
            self.ids
                .put(&mut txn, &key, &value)
                .map_err(|e| self.lmdb(e))?;
        }
        self.put_meta(&mut txn, IDS_LAYOUT_KEY, &[])?;
        self.commit(txn)
    }

    /// Every key of the dedup index. Only for tests.
    pub fn dedup_keys(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        let txn = self.env.read_txn().map_err(|e| self.lmdb(e))?;
        let mut keys = Vec::new();
        for row in self.ids.iter(&txn).map_err(|e| self.lmdb(e))? {
            keys.push(row.map_err(|e| self.lmdb(e))?.0.to_vec());
        }
        Ok(keys)
    }
}
