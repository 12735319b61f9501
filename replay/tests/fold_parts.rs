//! A rebuild runs each fold in two parts on two threads: the write-only part as records are
//! read, the stateful part behind it. Together, whole passes apart, they must write exactly
//! what the whole fold writes.

use std::collections::HashSet;

use mailshot_domain::{FactId, Input, parse_line};
use mailshot_projections::{Projection, RecordView};
use mailshot_replay::{MemoryWriter, fold, fold_stateful, fold_write_only};
use mailshot_workload::{Generator, WorkloadConfig};

/// The accepted inputs of a generated workload as log records would carry them: each with its
/// offset and the identities it introduced (none for a redelivered duplicate).
fn records(inputs: u64, seed: u64) -> Vec<(u64, Input<'static>, Vec<FactId>)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for line in Generator::new(WorkloadConfig::new(inputs, seed)) {
        for input in parse_line(line.as_bytes()).into_iter().flatten() {
            let input = input.into_owned();
            let new_ids: Vec<FactId> = input
                .identities()
                .into_iter()
                .filter(|id| seen.insert(*id))
                .collect();
            out.push((out.len() as u64, input, new_ids));
        }
    }
    out
}

fn each_record(records: &[(u64, Input<'static>, Vec<FactId>)], mut f: impl FnMut(&RecordView<'_>)) {
    for (offset, input, new_ids) in records {
        f(&RecordView {
            offset: *offset,
            input: input.clone(),
            new_ids,
        });
    }
}

#[test]
fn the_write_only_pass_then_the_stateful_pass_write_what_the_whole_fold_writes() {
    let records = records(4_000, 17);
    let mut whole = MemoryWriter::default();
    each_record(&records, |view| {
        let Ok(()) = fold(view, Projection::all(), &mut whole);
    });

    let mut parts = MemoryWriter::default();
    each_record(&records, |view| {
        let Ok(()) = fold_write_only(view, Projection::all(), &mut parts);
    });
    // The write-only part wrote event rows, history and generic rows, and nothing else.
    assert_eq!(parts.events.len(), whole.events.len());
    assert_eq!(parts.history, whole.history);
    assert_eq!(parts.rows, whole.rows);
    assert!(parts.subscribers.is_empty() && parts.counts.is_empty());
    assert!(parts.first.is_empty() && parts.links.is_empty());
    each_record(&records, |view| {
        let Ok(()) = fold_stateful(view, Projection::all(), &mut parts);
    });
    assert_eq!(parts, whole);

    // The comparison covers every kind of row.
    assert!(whole.events.len() > 4_000, "{}", whole.events.len());
    assert!(whole.history.len() > 100, "{}", whole.history.len());
    assert!(!whole.counts.is_empty() && !whole.links.is_empty() && !whole.first.is_empty());
    assert!(
        whole
            .subscribers
            .values()
            .any(|s| !s.suppression_causes.is_empty()),
        "no suppressed subscriber in the workload"
    );
}

#[test]
fn the_history_lists_each_address_once_per_record_that_concerns_it() {
    let records = records(2_000, 4);
    let mut history = MemoryWriter::default();
    each_record(&records, |view| {
        let Ok(()) = fold_write_only(view, [Projection::SUBSCRIBERS], &mut history);
    });
    let mut expected: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
    for (offset, input, new_ids) in &records {
        let mut emails: Vec<String> = match &input.body {
            mailshot_domain::InputBody::Ses(facts) => facts
                .iter()
                .filter(|f| new_ids.contains(&f.id))
                .map(|f| f.email.to_string())
                .collect(),
            mailshot_domain::InputBody::App(app) => {
                app.email.iter().map(|e| e.to_string()).collect()
            }
            mailshot_domain::InputBody::System(sys) => vec![sys.email.clone()],
        };
        emails.dedup();
        let mut once = HashSet::new();
        for email in emails.into_iter().filter(|e| once.insert(e.clone())) {
            expected.entry(email).or_default().push(*offset);
        }
    }
    assert_eq!(history.history, expected);
}
