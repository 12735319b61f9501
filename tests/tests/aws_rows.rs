//! Generic rows on DynamoDB (the store of any projection without a layout of its own), against
//! the moto emulator (scripts/test.sh starts it; this test fails, never skips, without it):
//! rows read back by partition in sort order and in pages; a stateful fold's row is read with
//! its version and written back only if nobody changed it meanwhile.

mod aws_support;
mod common;

use aws_sdk_dynamodb::types::TransactWriteItem;
use aws_support::*;
use mailshot_aws::store::{DynamoReader, RecordWriter, RowCache};
use mailshot_projections::{Layout, ProjectionReader, ProjectionWriter, RowKey, RowSink, Table};

fn rows_table() -> Table {
    *Table::all()
        .iter()
        .find(|t| t.layout() == Layout::Rows)
        .expect("a registered projection keeps generic rows")
}

fn key<'a>(partition: &'a str, sort: &'a [u8]) -> RowKey<'a> {
    RowKey { partition, sort }
}

fn transact(env: &Env, items: Vec<TransactWriteItem>) -> Result<(), String> {
    env.rt
        .block_on(
            env.aws
                .ddb
                .transact_write_items()
                .set_transact_items(Some(items))
                .send(),
        )
        .map(|_| ())
        .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string())
}

#[test]
fn aws_generic_rows_read_back_and_stateful_rows_are_written_at_the_version_read() {
    let env = Env::new("rows", 1);
    let tables = env.aws.live_tables().unwrap();
    let table = rows_table();

    // Write-only rows: out of order, one put twice, partitions sharing a prefix.
    let mut cache = RowCache::default();
    let mut writer = RecordWriter::new(&env.aws, &tables, &mut cache);
    for (partition, sort, value) in [
        ("m1", &b"\x02"[..], &b"2"[..]),
        ("m1", b"\x01", b"1"),
        ("m1x", b"\x01", b"other partition"),
        ("m1", b"\xff\x00", b"3"),
        ("m1", b"", b"0"),
        ("m1", b"\x01", b"1"),
    ] {
        writer.put_row(table, key(partition, sort), value).unwrap();
    }
    assert_eq!(writer.item_count(), 5);
    let (items, update) = writer.into_items().unwrap();
    transact(&env, items).unwrap();
    update.apply(&mut cache);

    let reader = DynamoReader::new(&env.aws, tables.clone());
    let all = reader.scan_rows(table, "m1", None, 10).unwrap();
    let got: Vec<(&[u8], &[u8])> = all
        .items
        .iter()
        .map(|r| (r.sort.as_slice(), r.value.as_slice()))
        .collect();
    assert_eq!(
        got,
        [
            (&b""[..], &b"0"[..]),
            (b"\x01", b"1"),
            (b"\x02", b"2"),
            (b"\xff\x00", b"3")
        ]
    );
    assert_eq!(all.next, None);
    let first = reader.scan_rows(table, "m1", None, 3).unwrap();
    assert_eq!(first.items, all.items[..3]);
    assert_eq!(first.next.as_deref(), Some(&b"\x02"[..]));
    let rest = reader
        .scan_rows(table, "m1", first.next.as_deref(), 3)
        .unwrap();
    assert_eq!((rest.items, rest.next), (all.items[3..].to_vec(), None));
    assert_eq!(
        reader.get_row(table, key("m1x", b"\x01")).unwrap(),
        Some(b"other partition".to_vec())
    );
    assert_eq!(reader.get_row(table, key("m2", b"")).unwrap(), None);

    // Stateful rows: read, then set; the write holds only at the version read.
    let mut a_cache = RowCache::default();
    let mut a = RecordWriter::new(&env.aws, &tables, &mut a_cache);
    assert_eq!(a.get_row(table, key("s", b"k")).unwrap(), None);
    a.set_row(table, key("s", b"k"), b"a1").unwrap();
    assert_eq!(
        a.get_row(table, key("s", b"k")).unwrap(),
        Some(b"a1".to_vec())
    );
    let (items, update) = a.into_items().unwrap();
    transact(&env, items).unwrap();
    update.apply(&mut a_cache);

    // Another writer changes it; the first one's cached version is now stale.
    let mut b_cache = RowCache::default();
    let mut b = RecordWriter::new(&env.aws, &tables, &mut b_cache);
    assert_eq!(
        b.get_row(table, key("s", b"k")).unwrap(),
        Some(b"a1".to_vec())
    );
    b.set_row(table, key("s", b"k"), b"b2").unwrap();
    let (items, _) = b.into_items().unwrap();
    transact(&env, items).unwrap();

    let mut a = RecordWriter::new(&env.aws, &tables, &mut a_cache);
    assert_eq!(
        a.get_row(table, key("s", b"k")).unwrap(),
        Some(b"a1".to_vec()),
        "read through the first writer's cache"
    );
    a.set_row(table, key("s", b"k"), b"a3").unwrap();
    let (items, _) = a.into_items().unwrap();
    let err = transact(&env, items).expect_err("a stale version is refused");
    assert!(err.contains("ConditionalCheckFailed"), "{err}");
    assert_eq!(
        reader.get_row(table, key("s", b"k")).unwrap(),
        Some(b"b2".to_vec())
    );

    // Read afresh, it goes through.
    a_cache.clear();
    let mut a = RecordWriter::new(&env.aws, &tables, &mut a_cache);
    assert_eq!(
        a.get_row(table, key("s", b"k")).unwrap(),
        Some(b"b2".to_vec())
    );
    a.set_row(table, key("s", b"k"), b"a3").unwrap();
    let (items, _) = a.into_items().unwrap();
    transact(&env, items).unwrap();
    assert_eq!(
        reader.get_row(table, key("s", b"k")).unwrap(),
        Some(b"a3".to_vec())
    );
}
