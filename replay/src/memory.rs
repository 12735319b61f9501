//! An in-memory projection writer: the reference store for tests and for the audit trace.

use std::collections::BTreeMap;

use mailshot_domain::log::Offset;
use mailshot_projections::rollups::Counts;
use mailshot_projections::{
    EngagementKey, EventRow, FirstEngagement, LinkKey, Projection, ProjectionWriter, RollupKey,
    RowKey, RowSink, Subscriber, Table,
};

/// Every projection in ordered maps. Infallible.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MemoryWriter {
    pub events: BTreeMap<(String, String), EventRow>,
    pub counts: BTreeMap<RollupKey, Counts>,
    pub first: BTreeMap<EngagementKey, (i64, String, String)>,
    pub subscribers: BTreeMap<String, Subscriber>,
    pub history: BTreeMap<String, Vec<Offset>>,
    pub links: BTreeMap<LinkKey, (i64, i64)>,
    /// Generic rows by (table, partition, sort key).
    pub rows: BTreeMap<(Table, String, Vec<u8>), Vec<u8>>,
    pub checkpoints: BTreeMap<Projection, Offset>,
}

impl RowSink for MemoryWriter {
    type Error = std::convert::Infallible;

    fn put_event(&mut self, row: &EventRow) -> Result<(), Self::Error> {
        self.events
            .insert((row.email.clone(), row.sort_key.clone()), row.clone());
        Ok(())
    }

    fn add_history(&mut self, email: &str, offset: Offset) -> Result<(), Self::Error> {
        let h = self.history.entry(email.to_string()).or_default();
        if let Err(at) = h.binary_search(&offset) {
            h.insert(at, offset);
        }
        Ok(())
    }

    fn put_row(&mut self, table: Table, key: RowKey<'_>, value: &[u8]) -> Result<(), Self::Error> {
        self.rows.insert(
            (table, key.partition.to_string(), key.sort.to_vec()),
            value.to_vec(),
        );
        Ok(())
    }
}

impl ProjectionWriter for MemoryWriter {
    fn add_counts(&mut self, key: &RollupKey, deltas: &Counts) -> Result<(), Self::Error> {
        self.counts.entry(key.clone()).or_default().add(deltas);
        Ok(())
    }

    fn first_engagement(
        &mut self,
        key: &EngagementKey,
    ) -> Result<Option<FirstEngagement>, Self::Error> {
        Ok(self.first.get(key).map(|(at, t, s)| FirstEngagement {
            at: mailshot_domain::Timestamp(*at),
            template_key: t.clone(),
            sequence_id: s.clone(),
        }))
    }

    fn set_first_engagement(
        &mut self,
        key: &EngagementKey,
        v: &FirstEngagement,
    ) -> Result<(), Self::Error> {
        self.first.insert(
            key.clone(),
            (v.at.0, v.template_key.clone(), v.sequence_id.clone()),
        );
        Ok(())
    }

    fn subscriber(&mut self, email: &str) -> Result<Option<Subscriber>, Self::Error> {
        Ok(self.subscribers.get(email).cloned())
    }

    fn put_subscriber(&mut self, subscriber: &Subscriber) -> Result<(), Self::Error> {
        self.subscribers
            .insert(subscriber.email.clone(), subscriber.clone());
        Ok(())
    }

    fn add_link_counts(
        &mut self,
        key: &LinkKey,
        clicks: i64,
        unique: i64,
    ) -> Result<(), Self::Error> {
        let e = self.links.entry(key.clone()).or_default();
        e.0 += clicks;
        e.1 += unique;
        Ok(())
    }

    fn get_row(&mut self, table: Table, key: RowKey<'_>) -> Result<Option<Vec<u8>>, Self::Error> {
        Ok(self
            .rows
            .get(&(table, key.partition.to_string(), key.sort.to_vec()))
            .cloned())
    }

    fn set_row(&mut self, table: Table, key: RowKey<'_>, value: &[u8]) -> Result<(), Self::Error> {
        self.put_row(table, key, value)
    }

    fn set_checkpoint(
        &mut self,
        projection: Projection,
        next_offset: Offset,
    ) -> Result<(), Self::Error> {
        self.checkpoints.insert(projection, next_offset);
        Ok(())
    }
}
