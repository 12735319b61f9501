//! A log record as the folds see it: decoded once, shared by every projection.

use mailshot_domain::log::Offset;
use mailshot_domain::{EngagementFact, FactId, Input, InputBody};

/// A parsed log record: its offset, its input, and the identities it introduced.
#[derive(Debug, Clone)]
pub struct RecordView<'a> {
    pub offset: Offset,
    pub input: Input<'a>,
    /// Identities new at this record (from the log record). Facts not listed here were
    /// already folded from an earlier record and must not count again.
    pub new_ids: &'a [FactId],
}

impl<'a> RecordView<'a> {
    /// The SES facts of this record that are new.
    pub fn new_facts(&self) -> impl Iterator<Item = &EngagementFact<'a>> {
        let facts: &[EngagementFact<'a>] = match &self.input.body {
            InputBody::Ses(facts) => facts,
            _ => &[],
        };
        facts.iter().filter(|f| self.new_ids.contains(&f.id))
    }
}
