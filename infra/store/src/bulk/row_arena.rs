//! Rows gathered in one buffer, to be put (or written as a run) in key order.
//!
//! A batch queues hundreds of thousands of rows before it sorts and puts them. Kept as
//! `(Table, Vec<u8>, Vec<u8>)` that is two allocations per row, freed again at commit, and a
//! sort that chases a pointer per key. A [`RowArena`] writes every key and value into one
//! growing buffer instead: no allocation per row, and keys lie next to each other in the order
//! they were queued.

use super::row_sort::sorted_order;
use crate::Table;

/// A row borrowed from elsewhere (an arena, a mapped run): its table, key and value.
pub type RowRef<'a> = (Table, &'a [u8], &'a [u8]);

/// Where one row lies in the arena's buffer: its key, then its value.
#[derive(Debug, Clone, Copy)]
struct Span {
    table: Table,
    start: usize,
    key_len: u32,
    value_len: u32,
}

/// Rows in the order they were queued, their bytes in one buffer.
#[derive(Debug, Default)]
pub struct RowArena {
    bytes: Vec<u8>,
    spans: Vec<Span>,
}

impl RowArena {
    /// Queues a row of `table` whose key and value the closures append to the buffer they are
    /// given.
    pub(crate) fn push_with(
        &mut self,
        table: Table,
        key: impl FnOnce(&mut Vec<u8>),
        value: impl FnOnce(&mut Vec<u8>),
    ) {
        let start = self.bytes.len();
        key(&mut self.bytes);
        let key_len = self.bytes.len() - start;
        value(&mut self.bytes);
        let value_len = self.bytes.len() - start - key_len;
        self.spans.push(Span {
            table,
            start,
            // LMDB keys are at most 511 bytes, and a value of 4 GiB would not fit a page map.
            key_len: u32::try_from(key_len).unwrap_or(u32::MAX),
            value_len: u32::try_from(value_len).unwrap_or(u32::MAX),
        });
    }

    /// Queues a row whose key and value are at hand.
    pub(crate) fn push(&mut self, table: Table, key: &[u8], value: &[u8]) {
        self.push_with(
            table,
            |out| out.extend_from_slice(key),
            |out| out.extend_from_slice(value),
        );
    }

    /// How many rows are queued.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Drops every row, keeping the memory for the next batch.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.spans.clear();
    }

    /// True when none is.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Row `i`, in the order rows were queued.
    fn row(&self, i: usize) -> RowRef<'_> {
        let span = self.spans[i];
        let key_end = span.start + span.key_len as usize;
        (
            span.table,
            &self.bytes[span.start..key_end],
            &self.bytes[key_end..key_end + span.value_len as usize],
        )
    }

    /// Every row, in the order rows were queued.
    pub fn iter(&self) -> impl Iterator<Item = RowRef<'_>> {
        (0..self.len()).map(|i| self.row(i))
    }

    /// The rows, to be read in (table, key) order. Stable: of two rows with one key, the one
    /// queued later comes later, so it is the one that lands.
    pub fn into_sorted(self) -> SortedRows {
        let order = sorted_order(self.len(), |i| {
            let (table, key, _) = self.row(i);
            (table, key)
        });
        SortedRows { rows: self, order }
    }
}

/// Rows to be read in (table, key) order ([`RowArena::into_sorted`]), ready to be put or
/// written as a run ([`super::Runs::write`]).
#[derive(Debug, Default)]
pub struct SortedRows {
    rows: RowArena,
    order: Vec<u32>,
}

impl SortedRows {
    /// How many rows there are.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Every row in (table, key) order.
    pub fn iter(&self) -> impl Iterator<Item = RowRef<'_>> {
        self.order.iter().map(|&i| self.rows.row(i as usize))
    }

    /// The arena, emptied, its memory kept for the next batch (a batch's buffer grows to tens
    /// of megabytes; growing it again from nothing copies it several times).
    pub fn into_empty_arena(self) -> RowArena {
        let mut rows = self.rows;
        rows.clear();
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_read_back_as_queued_and_sorted_with_later_duplicates_last() {
        let mut arena = RowArena::default();
        arena.push(Table::HISTORY, b"b", b"");
        arena.push(Table::EVENTS, b"k", b"first");
        arena.push_with(
            Table::EVENTS,
            |out| out.extend_from_slice(b"a"),
            |out| out.extend_from_slice(b"value of a"),
        );
        arena.push(Table::EVENTS, b"k", b"second");
        let queued: Vec<RowRef<'_>> = arena.iter().collect();
        assert_eq!(
            queued,
            [
                (Table::HISTORY, &b"b"[..], &b""[..]),
                (Table::EVENTS, b"k", b"first"),
                (Table::EVENTS, b"a", b"value of a"),
                (Table::EVENTS, b"k", b"second"),
            ]
        );
        let sorted = arena.into_sorted();
        assert_eq!(sorted.len(), 4);
        let rows: Vec<RowRef<'_>> = sorted.iter().collect();
        assert_eq!(
            rows,
            [
                (Table::EVENTS, &b"a"[..], &b"value of a"[..]),
                (Table::EVENTS, b"k", b"first"),
                (Table::EVENTS, b"k", b"second"),
                (Table::HISTORY, b"b", b""),
            ]
        );
        let mut again = sorted.into_empty_arena();
        assert!(again.is_empty());
        again.push(Table::EVENTS, b"z", b"reused");
        assert_eq!(
            again.iter().collect::<Vec<_>>(),
            [(Table::EVENTS, &b"z"[..], &b"reused"[..])]
        );
    }

    #[test]
    fn an_empty_arena_sorts_to_nothing() {
        let sorted = RowArena::default().into_sorted();
        assert!(sorted.is_empty());
        assert_eq!(sorted.iter().count(), 0);
    }
}
