//! The rollups projection (docs/design.md §5.4): counts per scope and period, and unique
//! opens/clicks on the day of the earliest engagement of each (message, recipient).

use mailshot_domain::{EngagementFact, EventType};

use super::{Digest, ProjectionModule, TableSpec};
use crate::rollups::{Counts, UNIQUE_CLICK, UNIQUE_OPEN};
use crate::{
    EngagementKey, EngagementKind, FirstEngagement, ProjectionWriter, RecordView, RowSink,
};

/// Daily, monthly and yearly counts per scope, with unique opens and clicks.
pub struct Rollups;

impl ProjectionModule for Rollups {
    const NAME: &'static str = "rollups";
    const VERSION: u32 = 1;
    const TABLES: &'static [TableSpec] = &[
        TableSpec::specialised("rollups", Digest::Counters),
        TableSpec::specialised("first_engagement", Digest::Exact),
    ];
    const QUERIES: &'static [&'static str] = &["get_delivery_stats"];

    fn fold_write_only<S: RowSink>(_: &RecordView<'_>, _: &mut S) -> Result<(), S::Error> {
        Ok(())
    }

    fn fold_stateful<W: ProjectionWriter>(
        record: &RecordView<'_>,
        writer: &mut W,
    ) -> Result<(), W::Error> {
        fold(record, writer)
    }
}

fn fold<W: ProjectionWriter>(record: &RecordView<'_>, w: &mut W) -> Result<(), W::Error> {
    for fact in record.new_facts() {
        add(
            w,
            &fact.template_key,
            &fact.sequence_id,
            fact.timestamp.day(),
            fact.event_type.slot(),
            1,
        )?;
        let kind = match fact.event_type {
            EventType::Open => EngagementKind::Open,
            EventType::Click => EngagementKind::Click,
            _ => continue,
        };
        first_engagement(w, kind, fact)?;
    }
    Ok(())
}

/// Moves the unique count of (message, recipient) to the day of its earliest engagement.
fn first_engagement<W: ProjectionWriter>(
    w: &mut W,
    kind: EngagementKind,
    fact: &EngagementFact<'_>,
) -> Result<(), W::Error> {
    let slot = if kind == EngagementKind::Open {
        UNIQUE_OPEN
    } else {
        UNIQUE_CLICK
    };
    let key = EngagementKey {
        kind,
        subject: fact.ses_message_id.to_string(),
        email: fact.email.clone(),
    };
    let previous = w.first_engagement(&key)?;
    if let Some(prev) = &previous {
        if prev.at <= fact.timestamp {
            return Ok(());
        }
        // An earlier engagement arrived late: take the unique count back from where it went.
        add(
            w,
            &prev.template_key,
            &prev.sequence_id,
            prev.at.day(),
            slot,
            -1,
        )?;
    }
    add(
        w,
        &fact.template_key,
        &fact.sequence_id,
        fact.timestamp.day(),
        slot,
        1,
    )?;
    w.set_first_engagement(
        &key,
        &FirstEngagement {
            at: fact.timestamp,
            template_key: fact.template_key.to_string(),
            sequence_id: fact.sequence_id.to_string(),
        },
    )
}

fn add<W: ProjectionWriter>(
    w: &mut W,
    template_key: &str,
    sequence_id: &str,
    day: mailshot_domain::Day,
    slot: usize,
    delta: i64,
) -> Result<(), W::Error> {
    w.add_fact_counts(template_key, sequence_id, day, &Counts::one(slot, delta))
}
