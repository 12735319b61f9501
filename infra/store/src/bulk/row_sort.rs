//! Sorting rows by table and key, sixteen bytes at a time.
//!
//! A batch's rows are sorted before they are put (or written as a run), and comparing two
//! byte-string keys costs a call to `memcmp` through two pointers. Instead, each row's
//! table and first fifteen key bytes are packed into one `u128` and an array of
//! `(u128, row index)` pairs is sorted: integer comparisons on contiguous memory. Rows whose
//! packed prefixes are equal are sorted again on their next sixteen bytes, and so on; a group
//! where some key ends within the bytes compared falls back to comparing whole keys. The
//! row index breaks every tie, so the sort is stable, like [`slice::sort_by`]. The rows are
//! not moved: the result is their order ([`sorted_order`]).

use crate::Table;

/// Bytes of a key compared per round.
const CHUNK: usize = 16;

/// The order of `n` rows by table and key, as row indexes; `key(i)` gives row `i`'s table and
/// key. Stable: rows with equal keys keep their order.
pub(crate) fn sorted_order<'k>(n: usize, key: impl Fn(usize) -> (Table, &'k [u8])) -> Vec<u32> {
    let n = u32::try_from(n).expect("a batch holds fewer than 2^32 rows");
    let mut order: Vec<(u128, u32)> = (0..n).map(|i| (0, i)).collect();
    sort_group(&key, &mut order, 0);
    order.into_iter().map(|(_, i)| i).collect()
}

/// Sorts `order` (row indexes whose first `depth` bytes are equal) by the next chunk.
fn sort_group<'k>(
    key: &impl Fn(usize) -> (Table, &'k [u8]),
    order: &mut [(u128, u32)],
    depth: usize,
) {
    for entry in order.iter_mut() {
        entry.0 = chunk(key(entry.1 as usize), depth);
    }
    order.sort_unstable();
    let mut start = 0;
    while start < order.len() {
        let prefix = order[start].0;
        let end = start + order[start..].partition_point(|e| e.0 == prefix);
        let group = &mut order[start..end];
        if group.len() > 1 {
            let ends_here = group
                .iter()
                .any(|e| key(e.1 as usize).1.len() < depth + CHUNK);
            match ends_here {
                // A short key padded with zeros equals a longer one with zeros there: compare
                // whole keys (the table is equal within a group).
                true => group.sort_by(|a, b| {
                    let (ka, kb) = (key(a.1 as usize).1, key(b.1 as usize).1);
                    ka.cmp(kb).then(a.1.cmp(&b.1))
                }),
                false => sort_group(key, group, depth + CHUNK),
            }
        }
        start = end;
    }
}

/// Bytes `depth..depth + 16` of the table byte followed by the key, big-endian, zero-padded.
fn chunk((table, key): (Table, &[u8]), depth: usize) -> u128 {
    let mut bytes = [0u8; CHUNK];
    let (slot, from) = match depth {
        0 => {
            bytes[0] = table.index() as u8;
            (1, 0)
        }
        _ => (0, depth - 1),
    };
    if from < key.len() {
        let take = (key.len() - from).min(CHUNK - slot);
        bytes[slot..slot + take].copy_from_slice(&key[from..from + take]);
    }
    u128::from_be_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Row = (Table, Vec<u8>, Vec<u8>);

    fn sort_rows(rows: &mut Vec<Row>) {
        let order = sorted_order(rows.len(), |i| (rows[i].0, rows[i].1.as_slice()));
        let sorted: Vec<Row> = order.iter().map(|&i| rows[i as usize].clone()).collect();
        *rows = sorted;
    }

    fn std_sorted(rows: &[Row]) -> Vec<Row> {
        let mut expected = rows.to_vec();
        expected.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        expected
    }

    fn row(table: Table, key: &[u8], value: u8) -> Row {
        (table, key.to_vec(), vec![value])
    }

    #[test]
    fn keys_equal_in_their_first_chunks_are_ordered_by_the_rest() {
        let long = b"template-with-a-long-name\0".to_vec();
        let mut keys: Vec<Vec<u8>> = (0..40u8)
            .map(|i| [long.as_slice(), &[39 - i, i]].concat())
            .collect();
        keys.push(long.clone());
        let mut rows: Vec<Row> = keys
            .iter()
            .map(|k| row(Table::TEMPLATE_INDEX, k, 0))
            .collect();
        let expected = std_sorted(&rows);
        sort_rows(&mut rows);
        assert_eq!(rows, expected);
        assert_eq!(rows[0].1, long);
        assert_eq!(rows[1].1, [long.as_slice(), &[0, 39]].concat());
    }

    #[test]
    fn a_key_padded_with_zeros_sorts_after_its_shorter_twin_and_ties_keep_their_order() {
        let mut rows = vec![
            row(Table::EVENTS, b"ab\0\0", 1),
            row(Table::EVENTS, b"ab", 2),
            row(Table::EVENTS, b"ab\0", 3),
            row(Table::EVENTS, b"ab", 4),
            row(Table::EVENTS, b"", 5),
            row(Table::SUBSCRIBERS, b"", 6),
            row(Table::EVENTS, b"ab\0", 7),
        ];
        sort_rows(&mut rows);
        let values: Vec<u8> = rows.iter().map(|r| r.2[0]).collect();
        assert_eq!(values, [5, 2, 4, 3, 7, 1, 6]);
    }

    #[test]
    fn the_table_orders_before_the_key() {
        let mut rows = vec![
            row(Table::HISTORY, b"a", 1),
            row(Table::EVENTS, b"z", 2),
            row(Table::SEQUENCE_INDEX, b"m", 3),
        ];
        sort_rows(&mut rows);
        let tables: Vec<Table> = rows.iter().map(|r| r.0).collect();
        assert_eq!(
            tables,
            [Table::EVENTS, Table::SEQUENCE_INDEX, Table::HISTORY]
        );
    }

    #[test]
    fn random_rows_sort_as_the_standard_stable_sort_does() {
        let mut rng = fastrand::Rng::with_seed(11);
        for round in 0..200 {
            let n = rng.usize(0..300);
            let mut rows: Vec<Row> = (0..n)
                .map(|i| {
                    let table = Table::all()[rng.usize(0..3)];
                    // Few distinct bytes and shared prefixes, so that ties, short keys and
                    // long equal prefixes all occur.
                    let shared = rng.usize(0..40);
                    let mut key = vec![b'k'; shared];
                    key.extend((0..rng.usize(0..4)).map(|_| rng.u8(0..3)));
                    (table, key, (i as u32).to_be_bytes().to_vec())
                })
                .collect();
            let expected = std_sorted(&rows);
            sort_rows(&mut rows);
            assert_eq!(rows, expected, "round {round}");
        }
    }
}
