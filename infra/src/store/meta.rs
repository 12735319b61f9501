//! Small named values in the `meta` table for components outside the projections (the
//! reactor's checkpoint and its send claims), and the dedup index's lookup and key layout.

use mailshot_domain::{Day, FactId};

use super::{LmdbStore, StoreError};

/// The dedup index's key layout: 2 since keys carry the event day ([`super::keys::dedup_key`]);
/// 1 (no layout stored) was the bare 16-byte identity.
pub const IDS_LAYOUT: u64 = 2;

const IDS_LAYOUT_KEY: &str = "layout/ids";

impl LmdbStore {
    /// The `u64` stored under `key` in the meta table, if any.
    pub fn meta_u64(&self, key: &str) -> Result<Option<u64>, StoreError> {
        let txn = self.env.read_txn().map_err(|e| self.lmdb(e))?;
        let v = self
            .meta
            .get(&txn, key.as_bytes())
            .map_err(|e| self.lmdb(e))?;
        Ok(v.and_then(|v| <[u8; 8]>::try_from(v).ok())
            .map(u64::from_be_bytes))
    }

    /// Every meta key starting with `prefix`, in key order.
    pub fn meta_keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let txn = self.env.read_txn().map_err(|e| self.lmdb(e))?;
        let mut keys = Vec::new();
        for row in self
            .meta
            .prefix_iter(&txn, prefix.as_bytes())
            .map_err(|e| self.lmdb(e))?
        {
            let (k, _) = row.map_err(|e| self.lmdb(e))?;
            keys.push(String::from_utf8_lossy(k).into_owned());
        }
        Ok(keys)
    }

    /// In one durable transaction: sets each `(key, Some(value))`, deletes each `(key, None)`.
    pub fn update_meta(&self, changes: &[(String, Option<u64>)]) -> Result<(), StoreError> {
        let mut txn = self.write_txn()?;
        for (key, value) in changes {
            match value {
                Some(v) => self.put_meta(&mut txn, key, &v.to_be_bytes())?,
                None => self.put_meta(&mut txn, key, &[])?,
            }
        }
        self.commit(txn)
    }

    /// Makes the dedup index's key layout the current one ([`IDS_LAYOUT`]). An index in
    /// another layout (from a data dir written before its keys carried the event day) is
    /// emptied and its checkpoint forgotten, so that catching up rebuilds it from the log.
    /// Returns `true` when an index was discarded.
    pub fn upgrade_ids_layout(&self) -> Result<bool, StoreError> {
        // Only the writer calls this, so nothing changes the layout between read and write.
        if self.meta_u64(IDS_LAYOUT_KEY)? == Some(IDS_LAYOUT) {
            return Ok(false);
        }
        let mut txn = self.write_txn()?;
        let discarded = !self.ids.is_empty(&txn).map_err(|e| self.lmdb(e))?;
        self.ids.clear(&mut txn).map_err(|e| self.lmdb(e))?;
        self.put_meta(&mut txn, "ckpt/ids", &[])?;
        self.put_meta(&mut txn, IDS_LAYOUT_KEY, &IDS_LAYOUT.to_be_bytes())?;
        self.commit(txn)?;
        Ok(discarded)
    }

    /// Rewrites the dedup index as a data dir from before the current layout holds it: keys
    /// are the bare 16-byte identities and no layout is stored. Only for tests of the upgrade.
    #[doc(hidden)]
    pub fn downgrade_ids_layout_for_tests(&self) -> Result<(), StoreError> {
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
    #[doc(hidden)]
    pub fn dedup_keys_for_tests(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        let txn = self.env.read_txn().map_err(|e| self.lmdb(e))?;
        let mut keys = Vec::new();
        for row in self.ids.iter(&txn).map_err(|e| self.lmdb(e))? {
            keys.push(row.map_err(|e| self.lmdb(e))?.0.to_vec());
        }
        Ok(keys)
    }

    /// True when the log's dedup index holds `id`, of an event on `day` (see
    /// [`super::keys::dedup_key`]): the input carrying it is in the log.
    pub fn has_id(&self, id: &FactId, day: Option<Day>) -> Result<bool, StoreError> {
        let txn = self.env.read_txn().map_err(|e| self.lmdb(e))?;
        Ok(self
            .ids
            .get(&txn, &super::keys::dedup_key(id, day))
            .map_err(|e| self.lmdb(e))?
            .is_some())
    }
}
