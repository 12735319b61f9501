//! Read snapshots: every query reads one LMDB read transaction, so it sees one consistent
//! state even while a writer commits.

use std::ops::Bound;

use heed::{RoTxn, WithTls};
use mailshot_domain::log::Offset;
use mailshot_projections::rollups::{Counts, Level, RollupKey, Scope, period_bytes};
use mailshot_projections::{
    EventKey, EventRow, EventScan, LinkCount, Page, Partition, Projection, ProjectionReader, Row,
    RowKey, Subscriber,
};

use super::keys::{
    event_key, parse_link_key, partition_prefix, push_part, push_row_key, read_sort_key,
    sort_bound, split_index_rest, stored_key_from_token, stored_sort_key, token_key,
};
use super::{LmdbStore, Slots, StoreError, Table, event_codec};

/// A consistent read view of the live projections.
pub struct Snapshot<'s> {
    store: &'s LmdbStore,
    txn: RoTxn<'s, WithTls>,
    slots: Slots,
}

impl<'s> Snapshot<'s> {
    pub(crate) fn new(store: &'s LmdbStore, txn: RoTxn<'s, WithTls>, slots: Slots) -> Self {
        Snapshot { store, txn, slots }
    }

    fn db(&self, table: Table) -> Result<super::Db, StoreError> {
        self.store
            .table(self.slots[table.projection().index()], table)
    }

    fn err(&self, e: heed::Error) -> StoreError {
        self.store.lmdb(e)
    }

    fn decode_row(email: &str, sort_key: &str, bytes: &[u8]) -> Result<EventRow, StoreError> {
        event_codec::decode(email, sort_key, bytes).ok_or_else(|| StoreError::Corrupt {
            table: "events",
            reason: format!("undecodable row {email} {sort_key}"),
        })
    }
}

fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    // The smallest key greater than every key starting with `prefix`.
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0xff; prefix.len() + 1]
}

impl ProjectionReader for Snapshot<'_> {
    type Error = StoreError;

    fn scan_events(&self, scan: &EventScan<'_>) -> Result<Page<EventRow>, StoreError> {
        let (table, is_index) = match scan.partition {
            Partition::Subscriber(_) => (Table::EVENTS, false),
            Partition::Template(_) => (Table::TEMPLATE_INDEX, true),
            Partition::Sequence(_) => (Table::SEQUENCE_INDEX, true),
        };
        let prefix = partition_prefix(scan.partition);
        let mut lower = prefix.clone();
        lower.extend_from_slice(&sort_bound(&scan.sort_from));
        let mut upper = prefix.clone();
        upper.extend_from_slice(&sort_bound(&scan.sort_to));
        if let Some(after) = scan.after {
            // Tokens carry keys with text sort keys (see `token_key`).
            let Some(after) = stored_key_from_token(after, &prefix, is_index) else {
                return Ok(Page {
                    items: vec![],
                    next: None,
                });
            };
            if after < upper {
                upper = after;
            }
        }
        let db = self.db(table)?;
        let events = self.db(Table::EVENTS)?;
        let range = (
            Bound::Included(lower.as_slice()),
            Bound::Excluded(upper.as_slice()),
        );
        let mut items = Vec::new();
        let mut last_key: Option<Vec<u8>> = None;
        for entry in db.rev_range(&self.txn, &range).map_err(|e| self.err(e))? {
            let (key, value) = entry.map_err(|e| self.err(e))?;
            let row = if is_index {
                let Some((sort_key, stored, email)) = split_index_rest(&key[prefix.len()..]) else {
                    return Err(StoreError::Corrupt {
                        table: table.name(),
                        reason: "bad index key".into(),
                    });
                };
                // Cheap type filter before touching the row: the type is in the sort key.
                if let Some(t) = scan.event_type
                    && sort_key.split('#').nth(2) != Some(t)
                {
                    continue;
                }
                match events
                    .get(&self.txn, &event_key(email, stored))
                    .map_err(|e| self.err(e))?
                {
                    Some(bytes) => Self::decode_row(email, &sort_key, bytes)?,
                    None => continue,
                }
            } else {
                let Some((sort_key, _)) = read_sort_key(&key[prefix.len()..]) else {
                    return Err(StoreError::Corrupt {
                        table: table.name(),
                        reason: "bad event key".into(),
                    });
                };
                if let Some(t) = scan.event_type
                    && sort_key.split('#').nth(2) != Some(t)
                {
                    continue;
                }
                let Partition::Subscriber(email) = scan.partition else {
                    unreachable!("the events table is read for subscriber partitions only")
                };
                Self::decode_row(email, &sort_key, value)?
            };
            if row.expired(scan.now) {
                continue;
            }
            if items.len() == scan.limit {
                // One more matching row exists: the page has a successor.
                return Ok(Page {
                    items,
                    next: last_key,
                });
            }
            last_key = Some(token_key(
                &prefix,
                &row.sort_key,
                is_index.then_some(row.email.as_str()),
            ));
            items.push(row);
        }
        Ok(Page { items, next: None })
    }

    fn event(&self, key: &EventKey) -> Result<Option<EventRow>, StoreError> {
        match self
            .db(Table::EVENTS)?
            .get(
                &self.txn,
                &event_key(&key.email, &stored_sort_key(&key.sort_key)),
            )
            .map_err(|e| self.err(e))?
        {
            Some(bytes) => Ok(Some(Self::decode_row(&key.email, &key.sort_key, bytes)?)),
            None => Ok(None),
        }
    }

    fn sum_counts(
        &self,
        scope: &Scope,
        level: Level,
        from: i32,
        to: i32,
    ) -> Result<Counts, StoreError> {
        let lo = RollupKey {
            scope: scope.clone(),
            level,
            period: from,
        }
        .encode();
        let mut hi = RollupKey {
            scope: scope.clone(),
            level,
            period: to,
        }
        .encode();
        let _ = period_bytes;
        hi.push(0); // make the upper bound inclusive of `to`
        let mut total = Counts::default();
        let range = (
            Bound::Included(lo.as_slice()),
            Bound::Excluded(hi.as_slice()),
        );
        for entry in self
            .db(Table::ROLLUPS)?
            .range(&self.txn, &range)
            .map_err(|e| self.err(e))?
        {
            let (_, v) = entry.map_err(|e| self.err(e))?;
            total.add(&Counts::from_bytes(v));
        }
        Ok(total)
    }

    fn subscriber(&self, email: &str) -> Result<Option<Subscriber>, StoreError> {
        match self
            .db(Table::SUBSCRIBERS)?
            .get(&self.txn, email.as_bytes())
            .map_err(|e| self.err(e))?
        {
            None => Ok(None),
            Some(v) => serde_json::from_slice(v)
                .map(Some)
                .map_err(|e| StoreError::Corrupt {
                    table: "subscribers",
                    reason: e.to_string(),
                }),
        }
    }

    fn suppressed(
        &self,
        limit: usize,
        after: Option<&[u8]>,
    ) -> Result<Page<Subscriber>, StoreError> {
        let lower = match after {
            Some(a) => Bound::Excluded(a),
            None => Bound::Unbounded,
        };
        let mut items = Vec::new();
        let mut last: Option<Vec<u8>> = None;
        for entry in self
            .db(Table::SUPPRESSED)?
            .range(&self.txn, &(lower, Bound::Unbounded))
            .map_err(|e| self.err(e))?
        {
            let (key, _) = entry.map_err(|e| self.err(e))?;
            if items.len() == limit {
                return Ok(Page { items, next: last });
            }
            let email = std::str::from_utf8(key).unwrap_or("");
            if let Some(sub) = ProjectionReader::subscriber(self, email)? {
                items.push(sub);
                last = Some(key.to_vec());
            }
        }
        Ok(Page { items, next: None })
    }

    fn history(&self, email: &str) -> Result<Vec<Offset>, StoreError> {
        let mut prefix = Vec::new();
        push_part(&mut prefix, email);
        let mut out = Vec::new();
        for entry in self
            .db(Table::HISTORY)?
            .prefix_iter(&self.txn, &prefix)
            .map_err(|e| self.err(e))?
        {
            let (key, _) = entry.map_err(|e| self.err(e))?;
            if let Some(bytes) = key
                .get(prefix.len()..)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
            {
                out.push(u64::from_be_bytes(bytes));
            }
        }
        Ok(out)
    }

    fn link_counts(
        &self,
        template_key: Option<&str>,
        from_day: i32,
        to_day: i32,
    ) -> Result<Vec<LinkCount>, StoreError> {
        let db = self.db(Table::LINKS)?;
        let mut prefix = Vec::new();
        if let Some(t) = template_key {
            push_part(&mut prefix, t);
        }
        let end = prefix_end(&prefix);
        // LMDB refuses an empty key (MDB_BAD_VALSIZE): with no template, scan the whole table.
        let range = if prefix.is_empty() {
            (Bound::Unbounded, Bound::Unbounded)
        } else {
            (
                Bound::Included(prefix.as_slice()),
                Bound::Excluded(end.as_slice()),
            )
        };
        let mut sums: std::collections::BTreeMap<(String, String), (i64, i64)> = Default::default();
        for entry in db.range(&self.txn, &range).map_err(|e| self.err(e))? {
            let (key, v) = entry.map_err(|e| self.err(e))?;
            let Some(k) = parse_link_key(key) else {
                continue;
            };
            if k.day < from_day || k.day > to_day || v.len() != 16 {
                continue;
            }
            let clicks = i64::from_be_bytes(v[..8].try_into().expect("8 bytes"));
            let unique = i64::from_be_bytes(v[8..].try_into().expect("8 bytes"));
            let e = sums.entry((k.url, k.template_key)).or_default();
            e.0 += clicks;
            e.1 += unique;
        }
        Ok(sums
            .into_iter()
            .map(|((url, template_key), (clicks, unique_clicks))| LinkCount {
                url,
                template_key,
                clicks,
                unique_clicks,
            })
            .collect())
    }

    fn get_row(&self, table: Table, key: RowKey<'_>) -> Result<Option<Vec<u8>>, StoreError> {
        let mut stored = Vec::new();
        push_row_key(&mut stored, key);
        Ok(self
            .db(table)?
            .get(&self.txn, &stored)
            .map_err(|e| self.err(e))?
            .map(<[u8]>::to_vec))
    }

    fn scan_rows(
        &self,
        table: Table,
        partition: &str,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Page<Row>, StoreError> {
        let mut prefix = Vec::new();
        push_part(&mut prefix, partition);
        let end = prefix_end(&prefix);
        let mut start = prefix.clone();
        let lower = match after {
            Some(after) => {
                start.extend_from_slice(after);
                Bound::Excluded(start.as_slice())
            }
            None => Bound::Included(start.as_slice()),
        };
        let range = (lower, Bound::Excluded(end.as_slice()));
        let mut items: Vec<Row> = Vec::new();
        for entry in self
            .db(table)?
            .range(&self.txn, &range)
            .map_err(|e| self.err(e))?
        {
            let (key, value) = entry.map_err(|e| self.err(e))?;
            if items.len() == limit {
                let next = items.last().map(|r| r.sort.clone());
                return Ok(Page { items, next });
            }
            items.push(Row {
                sort: key[prefix.len()..].to_vec(),
                value: value.to_vec(),
            });
        }
        Ok(Page { items, next: None })
    }

    fn checkpoint(&self, projection: Projection) -> Result<Option<Offset>, StoreError> {
        let slot = self.slots[projection.index()];
        Ok(self
            .store
            .slot_progress(&self.txn, projection, slot)?
            .checkpoint)
    }
}

#[cfg(test)]
mod tests {
    use mailshot_projections::{Layout, ProjectionWriter, RowSink};

    use super::*;

    /// A table of generic rows from the registry.
    fn rows_table() -> Table {
        *Table::all()
            .iter()
            .find(|t| t.layout() == Layout::Rows)
            .expect("a registered projection keeps generic rows")
    }

    fn key<'a>(partition: &'a str, sort: &'a [u8]) -> RowKey<'a> {
        RowKey { partition, sort }
    }

    #[test]
    fn generic_rows_read_back_by_partition_in_sort_order_and_in_pages() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LmdbStore::open(dir.path()).expect("open");
        let table = rows_table();
        let mut writer = store.begin().expect("begin");
        // Out of order, a key put twice, and partitions that share a prefix.
        for (partition, sort, value) in [
            ("m1", &b"b"[..], &b"2"[..]),
            ("m1", b"a", b"1"),
            ("m1x", b"a", b"other partition"),
            ("m", b"a", b"other partition"),
            ("m1", b"c", b"first"),
            ("m1", b"c", b"3"),
            ("m1", b"", b"0"),
        ] {
            writer
                .put_row(table, key(partition, sort), value)
                .expect("put");
        }
        writer.commit().expect("commit");
        let snapshot = store.snapshot().expect("snapshot");
        let all = snapshot.scan_rows(table, "m1", None, 10).expect("scan");
        let rows: Vec<(&[u8], &[u8])> = all
            .items
            .iter()
            .map(|r| (r.sort.as_slice(), r.value.as_slice()))
            .collect();
        assert_eq!(
            rows,
            [
                (&b""[..], &b"0"[..]),
                (b"a", b"1"),
                (b"b", b"2"),
                (b"c", b"3")
            ]
        );
        assert_eq!(all.next, None);
        let first = snapshot.scan_rows(table, "m1", None, 2).expect("scan");
        assert_eq!(first.items.len(), 2);
        assert_eq!(first.next.as_deref(), Some(&b"a"[..]));
        let second = snapshot
            .scan_rows(table, "m1", first.next.as_deref(), 2)
            .expect("scan");
        assert_eq!(second.items, all.items[2..]);
        assert_eq!(second.next, None);
        assert!(
            snapshot
                .scan_rows(table, "nope", None, 5)
                .expect("scan")
                .items
                .is_empty()
        );
        assert_eq!(
            snapshot.get_row(table, key("m1", b"b")).expect("get"),
            Some(b"2".to_vec())
        );
        assert_eq!(snapshot.get_row(table, key("m1", b"z")).expect("get"), None);
    }

    #[test]
    fn a_stateful_fold_reads_its_own_rows_within_a_batch_and_after() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LmdbStore::open(dir.path()).expect("open");
        let table = rows_table();
        let mut writer = store.begin().expect("begin");
        assert_eq!(writer.get_row(table, key("p", b"k")).expect("get"), None);
        writer.set_row(table, key("p", b"k"), b"1").expect("set");
        assert_eq!(
            writer.get_row(table, key("p", b"k")).expect("get"),
            Some(b"1".to_vec())
        );
        writer.commit().expect("commit");
        let mut writer = store.begin().expect("begin");
        let v = writer.get_row(table, key("p", b"k")).expect("get");
        assert_eq!(v, Some(b"1".to_vec()));
        writer.set_row(table, key("p", b"k"), b"2").expect("set");
        writer.commit().expect("commit");
        let snapshot = store.snapshot().expect("snapshot");
        assert_eq!(
            snapshot.get_row(table, key("p", b"k")).expect("get"),
            Some(b"2".to_vec())
        );
    }
}
