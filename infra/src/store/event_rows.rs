//! The rows of the events projection (the events table and its template and sequence
//! indexes), encoded straight from a fact or an event row.

use mailshot_domain::EngagementFact;
use mailshot_projections::EventRow;

use super::keys::{event_key, fact_sort_key, index_key, stored_sort_key};
use super::{Table, event_codec};

/// A row to put: its table, key and value.
pub(crate) type Row = (Table, Vec<u8>, Vec<u8>);

/// A row borrowed from elsewhere (a mapped run, a [`Row`]): its table, key and value.
pub type RowRef<'a> = (Table, &'a [u8], &'a [u8]);

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

#[cfg(test)]
mod tests {
    use mailshot_domain::workload::{Generator, WorkloadConfig};
    use mailshot_domain::{InputBody, Timestamp, parse_line};

    use super::*;

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
}
