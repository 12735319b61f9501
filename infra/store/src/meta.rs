//! Small named values in the `meta` table for components outside the projections (the
//! reactor's checkpoint and its send claims), and the dedup index's lookup and key layout.

use mailshot_domain::log::Offset;
use mailshot_domain::{Day, FactId};
use mailshot_projections::Projection;

use super::{LmdbStore, StoreError};

/// Meta key of the reactor checkpoint: every record before this offset has been reacted to
/// and its outcomes are in the log (the embedded runtime's reactor runner keeps it).
pub const REACTOR_CHECKPOINT_KEY: &str = "reactor/next";

/// The dedup index's key layout: 2 since keys carry the event day ([`super::keys::dedup_key`]);
/// 1 (no layout stored) was the bare 16-byte identity.
pub const IDS_LAYOUT: u64 = 2;

pub(crate) const IDS_LAYOUT_KEY: &str = "layout/ids";

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

    /// The highest point any part of the store has taken the log in to: one past the last
    /// record folded into the dedup index, a live projection or the reactors, with the name
    /// of the part. `None` for an empty store. A store whose point lies past the end of its
    /// log has lost acknowledged records from the log.
    pub fn high_water(&self) -> Result<Option<(Offset, String)>, StoreError> {
        let mut high: Option<(Offset, String)> = None;
        let mut consider = |offset: Option<Offset>, part: String| {
            if let Some(o) = offset
                && high.as_ref().is_none_or(|(h, _)| o > *h)
            {
                high = Some((o, part));
            }
        };
        let ids = self.ids_checkpoint()?;
        consider((ids > 0).then_some(ids), "the dedup index".to_owned());
        for &p in Projection::all() {
            consider(
                self.progress(p, false)?.checkpoint,
                format!("projection {p}"),
            );
        }
        consider(
            self.meta_u64(REACTOR_CHECKPOINT_KEY)?,
            "the reactors".to_owned(),
        );
        Ok(high)
    }

    /// How many entries of the dedup index were taken from records at `from` or later, and
    /// how many subscribers have such records in their history: what a repair that cuts the
    /// store back to offset `from` forgets.
    pub fn taken_in_from(&self, from: Offset) -> Result<(u64, u64), StoreError> {
        let txn = self.env.read_txn().map_err(|e| self.lmdb(e))?;
        let mut facts = 0;
        for row in self.ids.iter(&txn).map_err(|e| self.lmdb(e))? {
            let (_, value) = row.map_err(|e| self.lmdb(e))?;
            if <[u8; 8]>::try_from(value).is_ok_and(|v| u64::from_be_bytes(v) >= from) {
                facts += 1;
            }
        }
        drop(txn);
        let mut subscribers = 0;
        let mut last: Vec<u8> = Vec::new();
        self.for_each_row(Projection::SUBSCRIBERS, false, |table, key, _| {
            // History keys are `[email] offset`: the last 8 bytes are the offset.
            if table != super::Table::HISTORY || key.len() < 8 {
                return;
            }
            let (who, offset) = key.split_at(key.len() - 8);
            let offset = u64::from_be_bytes(offset.try_into().unwrap_or([0; 8]));
            if offset >= from && who != last.as_slice() {
                subscribers += 1;
                last = who.to_vec();
            }
        })?;
        Ok((facts, subscribers))
    }

    /// Empties the dedup index and forgets its checkpoint, so that catching up rebuilds it
    /// from the log (a repair that cut the store back to the log).
    pub fn forget_ids(&self) -> Result<(), StoreError> {
        let mut txn = self.write_txn()?;
        self.ids.clear(&mut txn).map_err(|e| self.lmdb(e))?;
        self.put_meta(&mut txn, "ckpt/ids", &[])?;
        self.commit(txn)
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
