//! The rollups fold: counts per scope and period, and unique opens/clicks on the day of the
//! earliest engagement of each (message, recipient).

use mailshot_domain::{EngagementFact, EventType};
use mailshot_projections::rollups::{Counts, UNIQUE_CLICK, UNIQUE_OPEN};
use mailshot_projections::{EngagementKey, EngagementKind, FirstEngagement, ProjectionWriter};

use crate::RecordView;

pub(crate) fn fold<W: ProjectionWriter>(
    record: &RecordView<'_>,
    w: &mut W,
) -> Result<(), W::Error> {
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
