//! The events fold: one row per new fact (the template and sequence indexes come with it).

use mailshot_projections::ProjectionWriter;

use crate::RecordView;

pub(crate) fn fold<W: ProjectionWriter>(
    record: &RecordView<'_>,
    w: &mut W,
) -> Result<(), W::Error> {
    for fact in record.new_facts() {
        w.put_fact_event(fact)?;
    }
    Ok(())
}
