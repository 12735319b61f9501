//! The links projection (docs/design.md §5.5): clicks and unique clickers per link, template
//! and day. A recipient counts once per (link, template), on the day of their earliest click
//! of it.

use mailshot_domain::EventType;

use super::{Digest, ProjectionModule, TableSpec};
use crate::{
    EngagementKey, EngagementKind, FirstEngagement, LinkKey, ProjectionWriter, RecordView,
    RowSink,
};

/// Clicks and unique clickers per link, template and day.
pub struct Links;

impl ProjectionModule for Links {
    const NAME: &'static str = "links";
    const VERSION: u32 = 1;
    const TABLES: &'static [TableSpec] = &[
        TableSpec::specialised("links", Digest::Counters),
        TableSpec::specialised("link_first_click", Digest::Exact),
    ];
    const QUERIES: &'static [&'static str] = &["get_link_stats"];

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
        if fact.event_type != EventType::Click {
            continue;
        }
        let Some(url) = fact.link_url.as_deref() else {
            continue;
        };
        let template_key = fact.template_key.to_string();
        let key = |day: i32| LinkKey {
            template_key: template_key.clone(),
            day,
            url: url.to_string(),
        };
        let day = fact.timestamp.day().0;
        let engagement = EngagementKey {
            kind: EngagementKind::LinkClick,
            subject: format!("{template_key}\u{1f}{url}"),
            email: fact.email.clone(),
        };
        let unique = match w.first_engagement(&engagement)? {
            Some(prev) if prev.at <= fact.timestamp => 0,
            Some(prev) => {
                w.add_link_counts(&key(prev.at.day().0), 0, -1)?;
                1
            }
            None => 1,
        };
        if unique == 1 {
            w.set_first_engagement(
                &engagement,
                &FirstEngagement {
                    at: fact.timestamp,
                    template_key: template_key.clone(),
                    sequence_id: fact.sequence_id.to_string(),
                },
            )?;
        }
        w.add_link_counts(&key(day), 1, unique)?;
    }
    Ok(())
}
