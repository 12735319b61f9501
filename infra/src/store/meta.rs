//! Small named values in the `meta` table for components outside the projections (the
//! reactor's checkpoint and its send claims), and a read-only dedup lookup.

use mailshot_domain::FactId;

use super::{LmdbStore, StoreError};

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

    /// True when the log's dedup index holds `id` (the input carrying it is in the log).
    pub fn has_id(&self, id: &FactId) -> Result<bool, StoreError> {
        let txn = self.env.read_txn().map_err(|e| self.lmdb(e))?;
        Ok(self
            .ids
            .get(&txn, &id.0)
            .map_err(|e| self.lmdb(e))?
            .is_some())
    }
}
