//! The rows of the events projection (the events table and its template and sequence
//! indexes), encoded straight from a fact or an event row.

use mailshot_domain::EngagementFact;
use mailshot_projections::EventRow;

use super::keys::{fact_sort_key, push_event_key, push_index_key, stored_sort_key};
use super::{Table, event_codec};
use crate::bulk::RowArena;

/// Queues the event row of `fact` and its two index rows, exactly as
/// `push_row(&EventRow::from_fact(fact), ..)` would, without building the row's text fields.
pub(crate) fn push_fact_rows(fact: &EngagementFact<'_>, out: &mut RowArena) {
    let Some(sort_key) = fact_sort_key(fact.timestamp, fact.event_type, &fact.id) else {
        // A time whose text has no four-digit year: its key is stored as text.
        return push_row(&EventRow::from_fact(fact), out);
    };
    push_rows(
        out,
        |value| event_codec::encode_fact(fact, value),
        &fact.email,
        &fact.template_key,
        &fact.sequence_id,
        &sort_key,
    );
}

/// Queues an event row and its two index rows.
pub(crate) fn push_row(row: &EventRow, out: &mut RowArena) {
    let sort_key = stored_sort_key(&row.sort_key);
    push_rows(
        out,
        |value| event_codec::encode(row, value),
        &row.email,
        &row.template_key,
        &row.sequence_id,
        &sort_key,
    );
}

fn push_rows(
    out: &mut RowArena,
    value: impl FnOnce(&mut Vec<u8>),
    email: &str,
    template_key: &str,
    sequence_id: &str,
    sort_key: &[u8],
) {
    out.push_with(
        Table::EVENTS,
        |key| push_event_key(key, email, sort_key),
        value,
    );
    out.push_with(
        Table::TEMPLATE_INDEX,
        |key| push_index_key(key, template_key, sort_key, email),
        |_| {},
    );
    out.push_with(
        Table::SEQUENCE_INDEX,
        |key| push_index_key(key, sequence_id, sort_key, email),
        |_| {},
    );
}

/// The SES facts of a generated workload of `inputs` lines (seed 5), for tests.
#[cfg(test)]
pub(crate) fn generated_facts(inputs: u64) -> Vec<EngagementFact<'static>> {
    use mailshot_domain::{InputBody, parse_line};
    use mailshot_workload::{Generator, WorkloadConfig};

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

#[cfg(test)]
mod tests {
    use mailshot_domain::Timestamp;

    use super::*;

    #[test]
    fn a_facts_rows_are_those_of_its_event_row() {
        let mut all = generated_facts(1_000);
        // A time outside the four-digit years takes the row path; the rows must still agree.
        let mut far = all[0].clone();
        far.timestamp = Timestamp(-70_000_000_000_000);
        all.push(far);
        for fact in &all {
            let (mut by_fact, mut by_row) = (RowArena::default(), RowArena::default());
            push_fact_rows(fact, &mut by_fact);
            push_row(&EventRow::from_fact(fact), &mut by_row);
            let by_fact: Vec<_> = by_fact.iter().collect();
            assert_eq!(by_fact, by_row.iter().collect::<Vec<_>>(), "{fact:?}");
            let tables: Vec<Table> = by_fact.iter().map(|r| r.0).collect();
            assert_eq!(
                tables,
                [Table::EVENTS, Table::TEMPLATE_INDEX, Table::SEQUENCE_INDEX]
            );
        }
    }
}
