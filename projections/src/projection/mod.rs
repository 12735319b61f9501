//! The projections, an open set (docs/design.md §5): each is one module implementing
//! [`ProjectionModule`] (its name, version, tables, fold and the queries it answers), listed
//! once in the [`registry!`] at the end of this file. Everything that handles projections in
//! general — the stores (slots, tables, checkpoints), catch-up, rebuilds and backfills on
//! open, `replay`, `verify` and its digests — iterates [`Projection::all`].
//!
//! A [`Projection`] is a small copyable handle into the registry; a [`Table`] one into the
//! tables the registered projections declare, across all of them.
//!
//! Storage: the first four projections (events, subscribers, rollups, links) write through the
//! typed methods of [`ProjectionWriter`] into tables whose layouts the stores specialise
//! ([`Layout::Specialised`]: compact codecs, bulk loading, GSIs). A projection added since
//! declares [`Layout::Rows`] tables and stores generic rows, (partition, sort key) → value,
//! through [`RowSink::put_row`] (write-only folds) or [`ProjectionWriter::get_row`] /
//! [`ProjectionWriter::set_row`] (stateful folds), read back with
//! [`crate::ProjectionReader::get_row`] and [`crate::ProjectionReader::scan_rows`]: every store
//! keeps such tables without knowing them.

use std::fmt;
use std::str::FromStr;

use crate::{ProjectionWriter, RecordView, RowSink};

/// One projection: what the registry knows of it. Implemented by a unit type in the
/// projection's own module and listed once in the [`registry!`]; the folds are pure and
/// arrival-order independent (docs/design.md §5).
pub trait ProjectionModule {
    /// Its name on the command line (`replay --projection`), in the store's bookkeeping and
    /// in `verify`'s report. Lower-case ASCII letters and `_`, unique in the registry; never
    /// renamed (the stores key their slots and checkpoints by it).
    const NAME: &'static str;
    /// The version of its fold and row format. Bump it whenever either changes: a store
    /// holding another version rebuilds the projection from the log when it is opened, and a
    /// store holding none (a projection new in this release) backfills it the same way.
    const VERSION: u32;
    /// Its tables, in the order they are digested. Names are unique across the registry.
    const TABLES: &'static [TableSpec];
    /// The query tools (docs/design.md §6) answered from its rows.
    const QUERIES: &'static [&'static str];

    /// The part of the fold that reads nothing and writes rows that depend on the record
    /// alone. A rebuild runs it apart from the store, on the thread that reads the log, and
    /// bulk-loads its rows; the compiler keeps it from reading, since a [`RowSink`] cannot.
    fn fold_write_only<S: RowSink>(record: &RecordView<'_>, sink: &mut S) -> Result<(), S::Error>;

    /// The rest of the fold, which reads what earlier records wrote. With
    /// [`ProjectionModule::fold_write_only`], in either order, it is the whole fold.
    fn fold_stateful<W: ProjectionWriter>(
        record: &RecordView<'_>,
        writer: &mut W,
    ) -> Result<(), W::Error>;
}

/// One table of a projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSpec {
    /// The table's name, unique across the registry (lower-case ASCII letters and `_`). The
    /// embedded store keeps it as `<name>.a` and `<name>.b`; the DynamoDB store keeps generic
    /// rows as items `ROW#<name>#<partition>` of the generation's aux table.
    pub name: &'static str,
    /// How it is stored.
    pub layout: Layout,
    /// How its rows enter `verify`'s digests.
    pub digest: Digest,
}

impl TableSpec {
    /// A table of generic rows, digested exactly.
    pub const fn rows(name: &'static str) -> TableSpec {
        TableSpec {
            name,
            layout: Layout::Rows,
            digest: Digest::Exact,
        }
    }

    /// A table with a layout of its own in every store, digested as `digest` says.
    pub const fn specialised(name: &'static str, digest: Digest) -> TableSpec {
        TableSpec {
            name,
            layout: Layout::Specialised,
            digest,
        }
    }
}

/// How a table is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// A layout each store implements for it (the typed methods of [`ProjectionWriter`]):
    /// the tables of the events, subscribers, rollups and links projections.
    Specialised,
    /// Generic rows: (partition, sort key) → value bytes, kept by every store as they are
    /// ([`RowSink::put_row`], [`ProjectionWriter::set_row`]).
    Rows,
}

/// How a table's rows are compared by `verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    /// Key and value as stored.
    Exact,
    /// Rows of counters that folds add to: a counter of 0 is the same as none, and a row of
    /// zeros the same as no row (a live row keeps a count that went +1 then −1, a rebuilt row
    /// written at once never has it). Only the DynamoDB store, whose live and rebuilt rows are
    /// batched differently, needs the distinction.
    Counters,
}

/// What the registry holds of one projection.
#[derive(Debug)]
struct Entry {
    name: &'static str,
    version: u32,
    tables: &'static [TableSpec],
    queries: &'static [&'static str],
}

impl Entry {
    const fn of<M: ProjectionModule>() -> Entry {
        Entry {
            name: M::NAME,
            version: M::VERSION,
            tables: M::TABLES,
            queries: M::QUERIES,
        }
    }
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A projection: a handle into the registry, in fold order (the order of the registry).
/// `Ord` is that order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Projection(u8);

/// Every registered projection, in registry order.
static ALL: [Projection; Projection::COUNT] = {
    let mut all = [Projection(0); Projection::COUNT];
    let mut i = 0;
    while i < Projection::COUNT {
        all[i] = Projection(i as u8);
        i += 1;
    }
    all
};

impl Projection {
    /// How many projections are registered.
    pub const COUNT: usize = REGISTRY.len();

    /// Per-subscriber events with the template and sequence indexes.
    pub const EVENTS: Projection = Projection::named("events");
    /// Subscribers: profile, suppression, unsubscription, executions, the audit history.
    pub const SUBSCRIBERS: Projection = Projection::named("subscribers");
    /// Daily, monthly and yearly counts per scope, with unique opens and clicks.
    pub const ROLLUPS: Projection = Projection::named("rollups");
    /// Clicks and unique clickers per link, template and day.
    pub const LINKS: Projection = Projection::named("links");

    /// Every projection, in fold order.
    pub fn all() -> &'static [Projection] {
        &ALL
    }

    /// The projection registered under `name`; at compile time, a build error when there is
    /// none.
    pub const fn named(name: &str) -> Projection {
        let mut i = 0;
        while i < REGISTRY.len() {
            if same(REGISTRY[i].name, name) {
                return Projection(i as u8);
            }
            i += 1;
        }
        panic!("no projection of that name is registered")
    }

    /// The handle of the projection implemented by `M`.
    pub const fn of<M: ProjectionModule>() -> Projection {
        Projection::named(M::NAME)
    }

    fn entry(self) -> &'static Entry {
        &REGISTRY[usize::from(self.0)]
    }

    /// Its position in [`Projection::all`].
    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    /// The name used on the command line and in the stores.
    pub fn name(self) -> &'static str {
        self.entry().name
    }

    /// The version of its fold ([`ProjectionModule::VERSION`]).
    pub fn version(self) -> u32 {
        self.entry().version
    }

    /// Its tables.
    pub fn tables(self) -> impl Iterator<Item = Table> {
        Table::all()
            .iter()
            .copied()
            .filter(move |t| t.projection() == self)
    }

    /// The query tools answered from it.
    pub fn queries(self) -> &'static [&'static str] {
        self.entry().queries
    }

    /// The projection that answers the query tool `tool`, if any.
    pub fn answering(tool: &str) -> Option<Projection> {
        Projection::all()
            .iter()
            .copied()
            .find(|p| p.queries().contains(&tool))
    }
}

impl fmt::Display for Projection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Debug for Projection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Projection({})", self.name())
    }
}

impl FromStr for Projection {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Projection::all()
            .iter()
            .copied()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Projection::all().iter().map(|p| p.name()).collect();
                format!(
                    "unknown projection {s:?}: expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// How many tables the registered projections declare together.
const TABLE_COUNT: usize = {
    let mut n = 0;
    let mut i = 0;
    while i < REGISTRY.len() {
        n += REGISTRY[i].tables.len();
        i += 1;
    }
    n
};

/// A table of a registered projection: a handle into every table the registry declares, in
/// registry order (each projection's tables in its own order). `Ord` is that order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Table(u8);

/// Every table with its projection and spec.
static TABLES: [(Projection, &TableSpec); TABLE_COUNT] = {
    const NONE: TableSpec = TableSpec::rows("");
    let mut all = [(Projection(0), &NONE); TABLE_COUNT];
    let (mut p, mut n) = (0, 0);
    while p < REGISTRY.len() {
        let mut t = 0;
        while t < REGISTRY[p].tables.len() {
            all[n] = (Projection(p as u8), &REGISTRY[p].tables[t]);
            t += 1;
            n += 1;
        }
        p += 1;
    }
    all
};

static ALL_TABLES: [Table; TABLE_COUNT] = {
    let mut all = [Table(0); TABLE_COUNT];
    let mut i = 0;
    while i < TABLE_COUNT {
        all[i] = Table(i as u8);
        i += 1;
    }
    all
};

impl Table {
    /// How many tables there are.
    pub const COUNT: usize = TABLE_COUNT;

    /// The events table.
    pub const EVENTS: Table = Table::named("events");
    /// The template index of the events.
    pub const TEMPLATE_INDEX: Table = Table::named("template_index");
    /// The sequence index of the events.
    pub const SEQUENCE_INDEX: Table = Table::named("sequence_index");
    /// The subscriber rows.
    pub const SUBSCRIBERS: Table = Table::named("subscribers");
    /// The suppressed list.
    pub const SUPPRESSED: Table = Table::named("suppressed");
    /// The audit history index.
    pub const HISTORY: Table = Table::named("history");
    /// The rollup counters.
    pub const ROLLUPS: Table = Table::named("rollups");
    /// The first opens and clicks of each (message, recipient).
    pub const FIRST_ENGAGEMENT: Table = Table::named("first_engagement");
    /// The link counters.
    pub const LINKS: Table = Table::named("links");
    /// The first click of each (link, template, recipient).
    pub const LINK_FIRST_CLICK: Table = Table::named("link_first_click");

    /// Every table, in registry order.
    pub fn all() -> &'static [Table] {
        &ALL_TABLES
    }

    /// The table named `name`; at compile time, a build error when there is none.
    pub const fn named(name: &str) -> Table {
        let mut i = 0;
        while i < TABLE_COUNT {
            if same(TABLES[i].1.name, name) {
                return Table(i as u8);
            }
            i += 1;
        }
        panic!("no registered projection declares a table of that name")
    }

    /// The table named `name`, if any.
    pub fn by_name(name: &str) -> Option<Table> {
        Table::all().iter().copied().find(|t| t.name() == name)
    }

    /// The table at `index` of [`Table::all`], if any.
    pub fn from_index(index: usize) -> Option<Table> {
        Table::all().get(index).copied()
    }

    /// Its position in [`Table::all`].
    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        TABLES[self.index()].1.name
    }

    /// The projection it belongs to.
    pub fn projection(self) -> Projection {
        TABLES[self.index()].0
    }

    /// How it is stored.
    pub fn layout(self) -> Layout {
        TABLES[self.index()].1.layout
    }

    /// How `verify` compares its rows.
    pub fn digest(self) -> Digest {
        TABLES[self.index()].1.digest
    }
}

impl fmt::Debug for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Table({})", self.name())
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The registry: every projection, in fold order, one line each (`module::Type`: the module,
/// a file of this directory, is declared here too). Generates the list the handles index and
/// the dispatch of the folds (static: a projection's fold is called directly, as a `match` on
/// its index).
macro_rules! registry {
    ($($module:ident :: $ty:ident),+ $(,)?) => {
        $(pub mod $module;)+

        const REGISTRY: &[Entry] = &[$(Entry::of::<$module::$ty>()),+];

        impl Projection {
            /// Runs the write-only part of this projection's fold
            /// ([`ProjectionModule::fold_write_only`]). The runtimes fold through the driver
            /// of `mailshot-replay`, which calls this.
            pub fn fold_write_only<S: RowSink>(
                self,
                record: &RecordView<'_>,
                sink: &mut S,
            ) -> Result<(), S::Error> {
                match self.0 {
                    $(i if i == const { Projection::of::<$module::$ty>().0 } => {
                        <$module::$ty as ProjectionModule>::fold_write_only(record, sink)
                    })+
                    _ => unreachable!("a projection handle indexes the registry"),
                }
            }

            /// Runs the stateful part of this projection's fold
            /// ([`ProjectionModule::fold_stateful`]).
            pub fn fold_stateful<W: ProjectionWriter>(
                self,
                record: &RecordView<'_>,
                writer: &mut W,
            ) -> Result<(), W::Error> {
                match self.0 {
                    $(i if i == const { Projection::of::<$module::$ty>().0 } => {
                        <$module::$ty as ProjectionModule>::fold_stateful(record, writer)
                    })+
                    _ => unreachable!("a projection handle indexes the registry"),
                }
            }
        }
    };
}

registry![
    events::Events,
    subscribers::Subscribers,
    rollups::Rollups,
    links::Links,
    messages::Messages,
];

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn names_are_unique_and_tables_disjoint() {
        let names: HashSet<&str> = Projection::all().iter().map(|p| p.name()).collect();
        assert_eq!(names.len(), Projection::COUNT);
        let tables: HashSet<&str> = Table::all().iter().map(|t| t.name()).collect();
        assert_eq!(tables.len(), Table::COUNT, "a table declared twice");
        for name in names.iter().chain(&tables) {
            assert!(
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{name:?}: names are lower-case ASCII letters and `_`"
            );
        }
        // Each table belongs to exactly one projection, and each projection has one.
        for p in Projection::all() {
            assert!(p.tables().count() > 0, "{p} has no table");
            for t in p.tables() {
                assert_eq!(t.projection(), *p);
                assert_eq!(Table::by_name(t.name()), Some(t));
            }
        }
        let owned: usize = Projection::all().iter().map(|p| p.tables().count()).sum();
        assert_eq!(owned, Table::COUNT);
        assert!(Projection::COUNT <= usize::from(u8::MAX) && Table::COUNT < 0xff);
    }

    #[test]
    fn handles_name_version_and_parse() {
        // The first four keep the names, versions and order their stores were written with.
        let builtins: Vec<(&str, u32)> = Projection::all()[..4]
            .iter()
            .map(|p| (p.name(), p.version()))
            .collect();
        assert_eq!(
            builtins,
            [
                ("events", 3),
                ("subscribers", 1),
                ("rollups", 1),
                ("links", 1)
            ]
        );
        assert_eq!(Projection::EVENTS, Projection::all()[0]);
        assert_eq!(Projection::LINKS.to_string(), "links");
        for p in Projection::all() {
            assert_eq!(p.name().parse::<Projection>(), Ok(*p));
            assert_eq!(Projection::all()[p.index()], *p);
        }
        let err = "nope".parse::<Projection>().unwrap_err();
        assert!(
            err.starts_with("unknown projection \"nope\": expected one of events, subscribers"),
            "{err}"
        );
        assert_eq!(Table::EVENTS.projection(), Projection::EVENTS);
        assert_eq!(Table::LINK_FIRST_CLICK.projection(), Projection::LINKS);
        assert_eq!(Table::ROLLUPS.digest(), Digest::Counters);
        assert_eq!(Table::HISTORY.layout(), Layout::Specialised);
    }

    #[test]
    fn every_query_tool_is_answered_by_one_projection() {
        let mut answered = HashSet::new();
        for p in Projection::all() {
            for tool in p.queries() {
                assert!(answered.insert(*tool), "{tool} is answered twice");
                assert!(crate::query::TOOLS.contains(tool), "{tool} is not a tool");
            }
        }
        for tool in crate::query::TOOLS {
            assert!(
                Projection::answering(tool).is_some(),
                "no projection answers {tool}"
            );
        }
    }
}
