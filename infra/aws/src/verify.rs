//! `--backend aws verify` (docs/design.md §10.8): rebuilds every projection from the archive
//! into a scratch generation of tables, compares per-projection digests of the live and the
//! scratch tables, names the first differing key of a projection that differs, and deletes
//! the scratch tables. The live generation is neither changed nor swapped.
//!
//! # Why this reads whole tables with Scan
//!
//! The queries never Scan (docs/design.md §6.1). A digest of a whole table, though, must read every
//! item, and no Query can enumerate the partitions of a table: a paginated `Scan` (1 MB
//! pages, followed through `LastEvaluatedKey`, consistent reads) is the one correct way to
//! read a table whole, and verify is an operator's audit, not a query path. It is used here
//! only.
//!
//! # Digests
//!
//! Each item is reduced to a canonical line: its table kind, its key, and every other
//! attribute in name order, without `ver` (the optimistic-concurrency version, which counts
//! writes, not content) and without the checkpoint items (`CKPT`, where each generation
//! records how far it has folded). A projection's digest is the sum (mod 2¹²⁸) of the
//! 128-bit hashes of its items' lines and its item count, so it does not depend on Scan
//! order and memory stays bounded while digesting. Only for a projection whose digests
//! differ are the keys read again and sorted, to name the first differing one.
//!
//! Items belong to the registry's tables (and so to their projections) by DynamoDB table and
//! key: the events table (with its GSIs, which DynamoDB derives from it) is `events`; the
//! subscribers table holds `subscribers` (profiles), `suppressed` and `history`; the rollups
//! table is `rollups`; in aux, first opens and clicks (`FE#o`, `FE#c`) are
//! `first_engagement`, first link clicks (`FE#l`) `link_first_click`, link counters (`LINK#`)
//! `links`, and generic rows (`ROW#<table>#…`) the registered table they name. Tables whose
//! rows are counters ([`Digest::Counters`]) are compared by meaning (below). Every projection
//! of the registry is reported, in registry order.

use std::collections::BTreeMap;

use mailshot_projections::{Digest, Layout, Projection, Table};

use super::item::{Item, to_json};
use super::processor::build_generation;
use super::store::ROW_PK_PREFIX;
use super::{Aws, AwsError, Tables};
/// The same report as the embedded runtime's `verify` (the same JSON).
pub use mailshot_engine::report::VerifyReport;

/// The registry table an item of table kind `kind` belongs to; `None` for bookkeeping items
/// (checkpoints) and for anything else not a projection's.
fn table_of(kind: &str, pk: &str, sk: &str) -> Option<Table> {
    match kind {
        "events" => Some(Table::EVENTS),
        "subscribers" if pk == super::store::SUPPRESSED_PK => Some(Table::SUPPRESSED),
        "subscribers" if sk.starts_with("HIST#") => Some(Table::HISTORY),
        "subscribers" => Some(Table::SUBSCRIBERS),
        "rollups" => Some(Table::ROLLUPS),
        _ if pk.starts_with("LINK#") => Some(Table::LINKS),
        _ if pk.starts_with("FE#l#") => Some(Table::LINK_FIRST_CLICK),
        _ if pk.starts_with("FE#") => Some(Table::FIRST_ENGAGEMENT),
        _ => {
            let rest = pk.strip_prefix(ROW_PK_PREFIX)?;
            let table = Table::by_name(rest.split('#').next()?)?;
            (table.layout() == Layout::Rows).then_some(table)
        }
    }
}

fn key_text(v: Option<&aws_sdk_dynamodb::types::AttributeValue>) -> String {
    match v.map(to_json) {
        Some(serde_json::Value::String(s)) => s,
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// `(projection, "kind/pk/sk", hash of the canonical line)` of an item.
fn digest_item(kind: &str, item: &Item) -> Option<(Projection, String, u128)> {
    let pk = key_text(item.get("pk"));
    let sk = key_text(item.get("sk"));
    let table = table_of(kind, &pk, &sk)?;
    let projection = table.projection();
    let key = format!("{kind}/{pk}/{sk}");
    // Counters are compared by meaning: a live row keeps a counter that went back to 0 (an
    // `ADD` of +1, later of -1: a unique open moving to an earlier day) where a rebuilt row,
    // written at once, never has it. A counter of 0 is the same as none, and a counter row
    // with only zeros the same as no row.
    let counters = table.digest() == Digest::Counters;
    let attributes: BTreeMap<&str, serde_json::Value> = item
        .iter()
        .filter(|(name, _)| name.as_str() != "ver")
        .map(|(name, v)| (name.as_str(), to_json(v)))
        .filter(|(name, v)| !(counters && !matches!(*name, "pk" | "sk") && *v == 0))
        .collect();
    if counters && attributes.keys().all(|name| matches!(*name, "pk" | "sk")) {
        return None;
    }
    let line = format!(
        "{key}\x1f{}",
        serde_json::to_string(&attributes).unwrap_or_default()
    );
    Some((
        projection,
        key,
        xxhash_rust::xxh3::xxh3_128(line.as_bytes()),
    ))
}

/// The table kinds of a generation with their names.
fn kinds(tables: &Tables) -> [(&'static str, &str); 4] {
    [
        ("events", &tables.events),
        ("subscribers", &tables.subscribers),
        ("rollups", &tables.rollups),
        ("aux", &tables.aux),
    ]
}

impl Aws {
    /// Every item of `table`, page by page (paginated, consistent Scan: see the module doc
    /// for why this one place reads whole tables).
    fn scan_each(&self, table: &str, mut visit: impl FnMut(&Item)) -> Result<(), AwsError> {
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .block(
                    self.ddb
                        .scan()
                        .table_name(table)
                        .consistent_read(true)
                        .set_exclusive_start_key(start.take())
                        .send(),
                )
                .map_err(|e| AwsError::sdk("Scan", table, e))?;
            for item in out.items() {
                visit(item);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(()),
            }
        }
    }

    /// Per projection: (sum of item hashes, item count).
    fn digests(&self, tables: &Tables) -> Result<BTreeMap<Projection, (u128, u64)>, AwsError> {
        let mut out: BTreeMap<Projection, (u128, u64)> =
            Projection::all().iter().map(|p| (*p, (0, 0))).collect();
        for (kind, table) in kinds(tables) {
            self.scan_each(table, |item| {
                if let Some((p, _, h)) = digest_item(kind, item) {
                    let d = out.entry(p).or_default();
                    d.0 = d.0.wrapping_add(h);
                    d.1 += 1;
                }
            })?;
        }
        Ok(out)
    }

    /// Every `(key, hash)` of one projection, in key order.
    fn keyed(&self, tables: &Tables, p: Projection) -> Result<BTreeMap<String, u128>, AwsError> {
        let mut out = BTreeMap::new();
        for (kind, table) in kinds(tables) {
            self.scan_each(table, |item| {
                if let Some((q, key, h)) = digest_item(kind, item)
                    && q == p
                {
                    out.insert(key, h);
                }
            })?;
        }
        Ok(out)
    }

    /// Deletes the tables of a generation (those that exist).
    pub fn delete_generation(&self, tables: &Tables) -> Result<(), AwsError> {
        for table in tables.all() {
            match self.block(self.ddb.delete_table().table_name(table).send()) {
                Ok(_) => {}
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) => {}
                Err(e) => return Err(AwsError::sdk("DeleteTable", table, e)),
            }
        }
        Ok(())
    }
}

/// The first key where two keyed projections differ.
fn first_difference(
    live: &BTreeMap<String, u128>,
    rebuilt: &BTreeMap<String, u128>,
) -> Option<String> {
    let mut a = live.iter().peekable();
    let mut b = rebuilt.iter().peekable();
    loop {
        match (a.peek(), b.peek()) {
            (None, None) => return None,
            (Some((k, _)), None) | (None, Some((k, _))) => return Some((*k).clone()),
            (Some((ka, ha)), Some((kb, hb))) => {
                if ka != kb {
                    return Some(ka.min(kb).to_string());
                }
                if ha != hb {
                    return Some((*ka).clone());
                }
                a.next();
                b.next();
            }
        }
    }
}

/// Rebuilds every projection into a scratch generation, compares it with the live one, and
/// deletes the scratch tables (also when the comparison fails).
pub fn verify(aws: &Aws) -> Result<Vec<VerifyReport>, AwsError> {
    let live = aws.live_tables()?;
    let scratch = build_generation(aws, "verifying")?;
    let result = compare(aws, &live, &scratch.tables);
    let deleted = aws.delete_generation(&scratch.tables);
    let reports = result?;
    deleted?;
    Ok(reports)
}

fn compare(aws: &Aws, live: &Tables, scratch: &Tables) -> Result<Vec<VerifyReport>, AwsError> {
    let live_digests = aws.digests(live)?;
    let rebuilt_digests = aws.digests(scratch)?;
    let mut reports = Vec::new();
    for &p in Projection::all() {
        let l = live_digests.get(&p).copied().unwrap_or_default();
        let r = rebuilt_digests.get(&p).copied().unwrap_or_default();
        let matches = l == r;
        let first_difference = if matches {
            None
        } else {
            first_difference(&aws.keyed(live, p)?, &aws.keyed(scratch, p)?)
        };
        reports.push(VerifyReport {
            projection: p.name().to_string(),
            live_digest: format!("{:032x}", l.0),
            rebuilt_digest: format!("{:032x}", r.0),
            rows: l.1,
            matches,
            first_difference,
        });
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyed(items: &[(&str, u128)]) -> BTreeMap<String, u128> {
        items.iter().map(|(k, h)| (k.to_string(), *h)).collect()
    }

    #[test]
    fn the_first_difference_is_the_smallest_differing_key() {
        let live = keyed(&[("a", 1), ("b", 2), ("c", 3)]);
        assert_eq!(first_difference(&live, &live), None);
        assert_eq!(
            first_difference(&live, &keyed(&[("a", 1), ("b", 9), ("c", 4)])),
            Some("b".into())
        );
        assert_eq!(
            first_difference(&live, &keyed(&[("a", 1), ("c", 3)])),
            Some("b".into())
        );
        assert_eq!(
            first_difference(&live, &keyed(&[("a", 1), ("b", 2), ("c", 3), ("d", 0)])),
            Some("d".into())
        );
    }

    #[test]
    fn items_belong_to_tables_by_table_and_key() {
        assert_eq!(table_of("events", "SUB#a", "EVT#x"), Some(Table::EVENTS));
        assert_eq!(
            table_of("subscribers", "SUB#a", "PROFILE"),
            Some(Table::SUBSCRIBERS)
        );
        assert_eq!(
            table_of("subscribers", "SUB#a", "HIST#00000000000000000001"),
            Some(Table::HISTORY)
        );
        assert_eq!(
            table_of("subscribers", "SUPPRESSED", "a@example.com"),
            Some(Table::SUPPRESSED)
        );
        assert_eq!(
            table_of("rollups", "R#d#all", "20000"),
            Some(Table::ROLLUPS)
        );
        assert_eq!(table_of("aux", "LINK#ALL", "x"), Some(Table::LINKS));
        assert_eq!(
            table_of("aux", "FE#o#00", "-"),
            Some(Table::FIRST_ENGAGEMENT)
        );
        assert_eq!(
            table_of("aux", "FE#l#00", "-"),
            Some(Table::LINK_FIRST_CLICK)
        );
        assert_eq!(table_of("aux", "CKPT", "events"), None);
        // Generic rows name their table; a specialised table or an unknown name is no row.
        for t in Table::all().iter().filter(|t| t.layout() == Layout::Rows) {
            let pk = format!("ROW#{}#anything#else", t.name());
            assert_eq!(table_of("aux", &pk, "00"), Some(*t));
        }
        assert_eq!(table_of("aux", "ROW#events#x", "00"), None);
        assert_eq!(table_of("aux", "ROW#nope#x", "00"), None);
    }
}
