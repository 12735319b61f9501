//! The rows of the events projection (the events table and its template and sequence
//! indexes), built apart from a write transaction.
//!
//! The events fold only writes, and its rows depend on nothing but the record, so a rebuild
//! folds it on the reading thread into [`EventRows`], sorts each batch's rows there and writes
//! them as a run ([`super::Runs`]); the runs are appended to the emptied tables at the end.

use mailshot_domain::EngagementFact;
use mailshot_domain::log::Offset;
use mailshot_projections::rollups::Counts;
use mailshot_projections::{
    EngagementKey, EventRow, FirstEngagement, LinkKey, Projection, ProjectionWriter, RollupKey,
    Subscriber,
};

use super::keys::{event_key, fact_sort_key, index_key, stored_sort_key};
use super::row_sort::sort_rows;
use super::{StoreError, Table, event_codec};

/// A row to put: its table, key and value.
pub(crate) type Row = (Table, Vec<u8>, Vec<u8>);

/// Queues the event row of `fact` and its two index rows, exactly as
/// `push_row(&EventRow::from_fact(fact), ..)` would, without building the row's text fields.
pub(crate) fn push_fact_rows(fact: &EngagementFact<'_>, out: &mut Vec<Row>) {
    let Some(sort_key) = fact_sort_key(fact.timestamp, fact.event_type, &fact.id) else {
        // A time whose text has no four-digit year: its key is stored as text.
        return push_row(&EventRow::from_fact(fact), out);
    };
    let mut value = Vec::new();
    event_codec::encode_fact(fact, &mut value);
    push_rows(
        out,
        value,
        &fact.email,
        &fact.template_key,
        &fact.sequence_id,
        &sort_key,
    );
}

/// Queues an event row and its two index rows.
pub(crate) fn push_row(row: &EventRow, out: &mut Vec<Row>) {
    let mut value = Vec::new();
    event_codec::encode(row, &mut value);
    let sort_key = stored_sort_key(&row.sort_key);
    push_rows(
        out,
        value,
        &row.email,
        &row.template_key,
        &row.sequence_id,
        &sort_key,
    );
}

fn push_rows(
    out: &mut Vec<Row>,
    value: Vec<u8>,
    email: &str,
    template_key: &str,
    sequence_id: &str,
    sort_key: &[u8],
) {
    out.push((Table::Events, event_key(email, sort_key), value));
    out.push((
        Table::TemplateIndex,
        index_key(template_key, sort_key, email),
        Vec::new(),
    ));
    out.push((
        Table::SequenceIndex,
        index_key(sequence_id, sort_key, email),
        Vec::new(),
    ));
}

/// Rows sorted by table and key, ready to be written as a run ([`super::Runs::write`]).
#[derive(Debug, Default)]
pub struct SortedRows(pub(crate) Vec<Row>);

impl SortedRows {
    /// How many rows there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A [`ProjectionWriter`] for the events fold alone: it gathers event rows and refuses every
/// other call, so a change that made the events fold read or write anything else fails
/// loudly instead of being dropped.
#[derive(Debug, Default)]
pub struct EventRows {
    rows: Vec<Row>,
}

impl EventRows {
    /// The gathered rows, sorted by table and key.
    pub fn into_sorted(mut self) -> SortedRows {
        sort_rows(&mut self.rows);
        SortedRows(self.rows)
    }
}

fn refused(call: &'static str) -> StoreError {
    StoreError::EventRowsOnly { call }
}

impl ProjectionWriter for EventRows {
    type Error = StoreError;

    fn put_event(&mut self, row: &EventRow) -> Result<(), StoreError> {
        push_row(row, &mut self.rows);
        Ok(())
    }

    fn put_fact_event(&mut self, fact: &EngagementFact<'_>) -> Result<(), StoreError> {
        push_fact_rows(fact, &mut self.rows);
        Ok(())
    }

    fn add_counts(&mut self, _: &RollupKey, _: &Counts) -> Result<(), StoreError> {
        Err(refused("add_counts"))
    }

    fn first_engagement(
        &mut self,
        _: &EngagementKey,
    ) -> Result<Option<FirstEngagement>, StoreError> {
        Err(refused("first_engagement"))
    }

    fn set_first_engagement(
        &mut self,
        _: &EngagementKey,
        _: &FirstEngagement,
    ) -> Result<(), StoreError> {
        Err(refused("set_first_engagement"))
    }

    fn subscriber(&mut self, _: &str) -> Result<Option<Subscriber>, StoreError> {
        Err(refused("subscriber"))
    }

    fn put_subscriber(&mut self, _: &Subscriber) -> Result<(), StoreError> {
        Err(refused("put_subscriber"))
    }

    fn add_history(&mut self, _: &str, _: Offset) -> Result<(), StoreError> {
        Err(refused("add_history"))
    }

    fn add_link_counts(&mut self, _: &LinkKey, _: i64, _: i64) -> Result<(), StoreError> {
        Err(refused("add_link_counts"))
    }

    fn set_checkpoint(&mut self, _: Projection, _: Offset) -> Result<(), StoreError> {
        Err(refused("set_checkpoint"))
    }
}

#[cfg(test)]
mod tests {
    use mailshot_domain::workload::{Generator, WorkloadConfig};
    use mailshot_domain::{InputBody, Timestamp, parse_line};
    use mailshot_projections::{EventKey, ProjectionReader};

    use super::*;
    use crate::store::LmdbStore;

    fn facts(inputs: u64) -> Vec<EngagementFact<'static>> {
        let mut out = Vec::new();
        for line in Generator::new(WorkloadConfig::new(inputs, 5)) {
            for input in parse_line(line.as_bytes()).into_iter().flatten() {
                if let InputBody::Ses(list) = input.body {
                    out.extend(list.into_iter().map(EngagementFact::into_owned));
                }
            }
        }
        out
    }

    #[test]
    fn a_facts_rows_are_those_of_its_event_row() {
        let mut all = facts(1_000);
        // A time outside the four-digit years takes the row path; the rows must still agree.
        let mut far = all[0].clone();
        far.timestamp = Timestamp(-70_000_000_000_000);
        all.push(far);
        for fact in &all {
            let (mut by_fact, mut by_row) = (Vec::new(), Vec::new());
            push_fact_rows(fact, &mut by_fact);
            push_row(&EventRow::from_fact(fact), &mut by_row);
            assert_eq!(by_fact, by_row, "{fact:?}");
            let tables: Vec<Table> = by_fact.iter().map(|r| r.0).collect();
            assert_eq!(
                tables,
                [Table::Events, Table::TemplateIndex, Table::SequenceIndex]
            );
        }
    }

    #[test]
    fn rows_come_out_sorted_and_a_key_queued_twice_keeps_its_later_value() {
        let mut rows = EventRows::default();
        let all = facts(300);
        for fact in all.iter().rev() {
            rows.put_fact_event(fact).expect("taken");
        }
        let mut again = all[7].clone();
        again.subject = Some("second".into());
        rows.put_fact_event(&again).expect("taken");
        let sorted = rows.into_sorted();
        assert_eq!(sorted.len(), 3 * (all.len() + 1));
        assert!(
            sorted
                .0
                .windows(2)
                .all(|w| (w[0].0, &w[0].1) <= (w[1].0, &w[1].1))
        );
        let mut second = Vec::new();
        push_fact_rows(&again, &mut second);
        let (mut first, last) = (Vec::new(), &second[0]);
        push_fact_rows(&all[7], &mut first);
        let at = sorted
            .0
            .iter()
            .rposition(|r| r.0 == Table::Events && r.1 == last.1)
            .expect("present");
        assert_eq!(sorted.0[at].2, last.2);
        assert_eq!(sorted.0[at - 1].2, first[0].2);
    }

    #[test]
    fn every_other_call_is_refused_by_name() {
        let mut rows = EventRows::default();
        let err = rows.subscriber("a@example.com").expect_err("refused");
        assert_eq!(
            err.to_string(),
            "the events projection is built apart from the store and cannot call `subscriber`"
        );
        assert!(matches!(
            rows.add_history("a@example.com", 3),
            Err(StoreError::EventRowsOnly {
                call: "add_history"
            })
        ));
        assert!(rows.into_sorted().is_empty());
    }

    #[test]
    fn appended_rows_read_back_and_a_row_out_of_order_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LmdbStore::open(dir.path()).expect("open");
        let mut rows = EventRows::default();
        let mut all = facts(50);
        // The workload repeats some facts (duplicate deliveries); a rebuild folds each once.
        let mut seen = std::collections::HashSet::new();
        all.retain(|f| seen.insert(f.id));
        for fact in &all {
            rows.put_fact_event(fact).expect("taken");
        }
        let rows = rows.into_sorted().0;
        let mut writer = store.begin_rebuild(&[Projection::Events]).expect("begin");
        writer.append_rows(rows.clone()).expect("in order");
        writer.commit().expect("commit");
        store.swap_rebuilt(Projection::Events).expect("swap");
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
        let first = rows.into_iter().next().expect("a row");
        let err = writer.append_rows(vec![first]).expect_err("out of order");
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
