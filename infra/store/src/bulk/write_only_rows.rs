//! The rows of the write-only folds (the events projection's tables, the subscribers'
//! history, and the generic rows of write-only projections), gathered apart from a write
//! transaction.
//!
//! Those folds read nothing, and their rows depend on the record alone, so a rebuild runs them
//! on the reading thread into [`WriteOnlyRows`], sorts each batch's rows there and writes them
//! as a run ([`super::Runs`]); the runs are appended to the emptied tables at the end.

use mailshot_domain::EngagementFact;
use mailshot_domain::log::Offset;
use mailshot_projections::{EventRow, RowKey, RowSink};

use super::row_arena::{RowArena, SortedRows};
use crate::event_rows::{push_fact_rows, push_row};
use crate::keys::{push_history_key, push_row_key};
use crate::{StoreError, Table};

/// The [`RowSink`] of the write-only folds run apart from the store
/// (`mailshot_replay::fold_write_only`): it gathers their rows in an arena. A sink cannot
/// read or call a stateful writer method, so a fold that did would not compile.
#[derive(Debug, Default)]
pub struct WriteOnlyRows {
    rows: RowArena,
}

impl WriteOnlyRows {
    /// The gathered rows, sorted by table and key.
    pub fn into_sorted(self) -> SortedRows {
        self.rows.into_sorted()
    }

    /// Gathers the next batch's rows in the memory of a batch already written.
    pub fn reusing(written: SortedRows) -> WriteOnlyRows {
        WriteOnlyRows {
            rows: written.into_empty_arena(),
        }
    }
}

impl RowSink for WriteOnlyRows {
    type Error = StoreError;

    fn put_event(&mut self, row: &EventRow) -> Result<(), StoreError> {
        push_row(row, &mut self.rows);
        Ok(())
    }

    fn put_fact_event(&mut self, fact: &EngagementFact<'_>) -> Result<(), StoreError> {
        push_fact_rows(fact, &mut self.rows);
        Ok(())
    }

    fn add_history(&mut self, email: &str, offset: Offset) -> Result<(), StoreError> {
        self.rows.push_with(
            Table::HISTORY,
            |key| push_history_key(key, email, offset),
            |_| {},
        );
        Ok(())
    }

    fn put_row(&mut self, table: Table, key: RowKey<'_>, value: &[u8]) -> Result<(), StoreError> {
        self.rows.push_with(
            table,
            |out| push_row_key(out, key),
            |out| out.extend_from_slice(value),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use mailshot_projections::{EventKey, Projection, ProjectionReader};

    use super::*;
    use crate::LmdbStore;
    use crate::bulk::RowRef;
    use crate::event_rows::generated_facts as facts;
    use crate::keys::push_history_key;

    #[test]
    fn rows_come_out_sorted_and_a_key_queued_twice_keeps_its_later_value() {
        let mut rows = WriteOnlyRows::default();
        let all = facts(300);
        for fact in all.iter().rev() {
            rows.put_fact_event(fact).expect("taken");
        }
        let mut again = all[7].clone();
        again.subject = Some("second".into());
        rows.put_fact_event(&again).expect("taken");
        let sorted = rows.into_sorted();
        assert_eq!(sorted.len(), 3 * (all.len() + 1));
        let sorted: Vec<RowRef<'_>> = sorted.iter().collect();
        assert!(
            sorted
                .windows(2)
                .all(|w| (w[0].0, w[0].1) <= (w[1].0, w[1].1))
        );
        let (mut first, mut second) = (RowArena::default(), RowArena::default());
        push_fact_rows(&all[7], &mut first);
        push_fact_rows(&again, &mut second);
        let (first, last) = (first.iter().next().unwrap(), second.iter().next().unwrap());
        let at = sorted
            .iter()
            .rposition(|r| r.0 == Table::EVENTS && r.1 == last.1)
            .expect("present");
        assert_eq!(sorted[at].2, last.2);
        assert_eq!(sorted[at - 1].2, first.2);
    }

    fn history_key(email: &str, offset: Offset) -> Vec<u8> {
        let mut out = Vec::new();
        push_history_key(&mut out, email, offset);
        out
    }

    #[test]
    fn history_rows_are_taken_and_sorted_with_the_event_rows() {
        let mut rows = WriteOnlyRows::default();
        let fact = facts(20).remove(0);
        rows.add_history("b@example.com", 9).expect("taken");
        rows.add_history("a@example.com", 12).expect("taken");
        rows.put_fact_event(&fact).expect("taken");
        rows.add_history("a@example.com", 4).expect("taken");
        let sorted = rows.into_sorted();
        let sorted: Vec<RowRef<'_>> = sorted.iter().collect();
        let tables: Vec<Table> = sorted.iter().map(|r| r.0).collect();
        assert_eq!(
            tables,
            [
                Table::EVENTS,
                Table::TEMPLATE_INDEX,
                Table::SEQUENCE_INDEX,
                Table::HISTORY,
                Table::HISTORY,
                Table::HISTORY
            ]
        );
        let history: Vec<&[u8]> = sorted[3..].iter().map(|r| r.1).collect();
        assert_eq!(
            history,
            [
                history_key("a@example.com", 4).as_slice(),
                &history_key("a@example.com", 12),
                &history_key("b@example.com", 9)
            ]
        );
    }

    #[test]
    fn appended_rows_read_back_and_a_row_out_of_order_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LmdbStore::open(dir.path()).expect("open");
        let mut rows = WriteOnlyRows::default();
        let mut all = facts(50);
        // The workload repeats some facts (duplicate deliveries); a rebuild folds each once.
        let mut seen = std::collections::HashSet::new();
        all.retain(|f| seen.insert(f.id));
        for fact in &all {
            rows.put_fact_event(fact).expect("taken");
        }
        let rows = rows.into_sorted();
        let mut writer = store.begin_rebuild(&[Projection::EVENTS]).expect("begin");
        let refs: Vec<RowRef<'_>> = rows.iter().collect();
        writer.append_rows(&refs).expect("in order");
        writer.commit().expect("commit");
        store.swap_rebuilt(Projection::EVENTS).expect("swap");
        let snapshot = store.snapshot().expect("snapshot");
        for fact in &all {
            let row = EventRow::from_fact(fact);
            let key = EventKey {
                email: row.email.clone(),
                sort_key: row.sort_key.clone(),
            };
            assert_eq!(snapshot.event(&key).expect("read"), Some(row));
        }
        drop(snapshot);

        // A key before the table's last one cannot be appended.
        let mut writer = store.begin().expect("begin");
        let err = writer.append_rows(&refs[..1]).expect_err("out of order");
        assert!(
            matches!(
                err,
                StoreError::Lmdb {
                    source: heed::Error::Mdb(heed::MdbError::KeyExist),
                    ..
                }
            ),
            "{err}"
        );
    }
}
