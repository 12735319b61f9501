//! Rollups: event counts per scope and period, and the plan that answers any date range with
//! a bounded number of reads.
//!
//! Every fact adds to three periods (its day, month and year) in each scope it belongs to
//! (`all`, its template, its sequence, and template × sequence). A range `[a, b]` of days is
//! then covered by at most five contiguous runs: the days up to the first month boundary, the
//! months up to the first year boundary, whole years, the months of the last year, the days of
//! the last month. Each run is one ordered range read; together they touch at most
//! 31 + 11 + Y + 11 + 31 rows, where Y is the number of years *with data* inside the range,
//! whatever the number of events.

use mailshot_domain::{Day, EventType, Timestamp};

/// Counter slots: the ten event types in [`EventType::ALL`] order, then unique opens, unique
/// clicks.
pub const SLOTS: usize = 12;
/// Slot of unique opens.
pub const UNIQUE_OPEN: usize = 10;
/// Slot of unique clicks.
pub const UNIQUE_CLICK: usize = 11;

/// A row of counters. Signed: a unique open moves to an earlier day by -1 / +1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts(pub [i64; SLOTS]);

impl Counts {
    /// Adds `other` slot by slot.
    pub fn add(&mut self, other: &Counts) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }

    /// True when every slot is zero.
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|&v| v == 0)
    }

    /// One count in `slot`.
    pub fn one(slot: usize, delta: i64) -> Counts {
        let mut c = Counts::default();
        c.0[slot] = delta;
        c
    }

    /// Fixed-width little-endian encoding (96 bytes).
    pub fn to_bytes(&self) -> [u8; SLOTS * 8] {
        let mut out = [0u8; SLOTS * 8];
        for (i, v) in self.0.iter().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Decodes [`Counts::to_bytes`]; shorter input (an older format) reads as zeros.
    pub fn from_bytes(bytes: &[u8]) -> Counts {
        let mut c = Counts::default();
        for (i, chunk) in bytes.chunks_exact(8).take(SLOTS).enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            c.0[i] = i64::from_le_bytes(b);
        }
        c
    }

    /// The count of one event type.
    pub fn of(&self, t: EventType) -> i64 {
        self.0[t.slot()]
    }
}

/// Who a count belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    All,
    Template(String),
    Sequence(String),
    TemplateSequence(String, String),
}

impl Scope {
    /// The scopes a fact of this template and sequence counts in.
    pub fn of_fact(template_key: &str, sequence_id: &str) -> [Scope; 4] {
        [
            Scope::All,
            Scope::Template(template_key.to_string()),
            Scope::Sequence(sequence_id.to_string()),
            Scope::TemplateSequence(template_key.to_string(), sequence_id.to_string()),
        ]
    }

    /// The scope a stats query asks for.
    pub fn of_query(template_key: Option<&str>, sequence_id: Option<&str>) -> Scope {
        match (template_key, sequence_id) {
            (None, None) => Scope::All,
            (Some(t), None) => Scope::Template(t.to_string()),
            (None, Some(s)) => Scope::Sequence(s.to_string()),
            (Some(t), Some(s)) => Scope::TemplateSequence(t.to_string(), s.to_string()),
        }
    }

    /// Key prefix: unambiguous because the separator 0x1f cannot appear in tag values or
    /// header values we accept as keys... and, should it appear, the length prefix keeps
    /// scopes apart.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut push = |tag: u8, parts: &[&str]| {
            out.push(tag);
            for p in parts {
                out.extend_from_slice(&(p.len() as u32).to_be_bytes());
                out.extend_from_slice(p.as_bytes());
            }
        };
        match self {
            Scope::All => push(b'a', &[]),
            Scope::Template(t) => push(b't', &[t]),
            Scope::Sequence(s) => push(b's', &[s]),
            Scope::TemplateSequence(t, s) => push(b'x', &[t, s]),
        }
        out
    }

    /// A readable name: `all`, `template:K`, `sequence:S`, `template:K+sequence:S`.
    pub fn label(&self) -> String {
        match self {
            Scope::All => "all".into(),
            Scope::Template(t) => format!("template:{t}"),
            Scope::Sequence(s) => format!("sequence:{s}"),
            Scope::TemplateSequence(t, s) => format!("template:{t}+sequence:{s}"),
        }
    }
}

/// The granularity of a rollup row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Day = 0,
    Month = 1,
    Year = 2,
}

/// The key of one rollup row: scope, level and period number (days since epoch, months since
/// year 0, or the year).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RollupKey {
    pub scope: Scope,
    pub level: Level,
    pub period: i32,
}

impl RollupKey {
    /// Every row a fact of this template and sequence on `day` adds to: each
    /// [`Scope::of_fact`] at each level (12 rows).
    pub fn for_fact(
        template_key: &str,
        sequence_id: &str,
        day: Day,
    ) -> impl Iterator<Item = RollupKey> + use<> {
        Scope::of_fact(template_key, sequence_id)
            .into_iter()
            .flat_map(move |scope| RollupKey::for_day(&scope, day))
    }

    /// The three rows a fact on `day` adds to in `scope`.
    pub fn for_day(scope: &Scope, day: Day) -> [RollupKey; 3] {
        let (y, m, _) = day.civil();
        [
            RollupKey {
                scope: scope.clone(),
                level: Level::Day,
                period: day.0,
            },
            RollupKey {
                scope: scope.clone(),
                level: Level::Month,
                period: y * 12 + m as i32 - 1,
            },
            RollupKey {
                scope: scope.clone(),
                level: Level::Year,
                period: y,
            },
        ]
    }

    /// Byte encoding that sorts by (scope, level, period): the period is big-endian with its
    /// sign bit flipped.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.scope.encode();
        out.push(self.level as u8);
        out.extend_from_slice(&period_bytes(self.period));
        out
    }
}

/// Sort-preserving encoding of a period number.
pub fn period_bytes(period: i32) -> [u8; 4] {
    ((period as u32) ^ 0x8000_0000).to_be_bytes()
}

/// One contiguous run of rollup rows to read: `from..=to` at `level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollupRun {
    pub level: Level,
    pub from: i32,
    pub to: i32,
}

/// Earliest and latest days an open range stands for: every day an input may fall on.
pub const MIN_DAY: Day = Day::FIRST;
/// See [`MIN_DAY`].
pub const MAX_DAY: Day = Day::LAST;

/// Covers the days `from..=to` with at most five runs (see the module doc).
pub fn plan(from: Day, to: Day) -> Vec<RollupRun> {
    let mut runs = Vec::new();
    if from > to {
        return runs;
    }
    let month_of = |d: Day| {
        let (y, m, _) = d.civil();
        y * 12 + m as i32 - 1
    };
    let first_of_month = |mi: i32| {
        Day::from_civil(mi.div_euclid(12), mi.rem_euclid(12) as u32 + 1, 1)
            .expect("day 1 of a month 1..=12 exists")
    };
    let (fm, tm) = (month_of(from), month_of(to));
    // Whole months inside [from, to].
    let first_full_month = if first_of_month(fm) == from {
        fm
    } else {
        fm + 1
    };
    let last_full_month = if first_of_month(tm + 1).0 - 1 == to.0 {
        tm
    } else {
        tm - 1
    };
    if first_full_month > last_full_month {
        // No whole month: one run of days (at most 61 days across one month boundary).
        runs.push(RollupRun {
            level: Level::Day,
            from: from.0,
            to: to.0,
        });
        return runs;
    }
    if first_of_month(first_full_month) > from {
        runs.push(RollupRun {
            level: Level::Day,
            from: from.0,
            to: first_of_month(first_full_month).0 - 1,
        });
    }
    // Whole years inside the whole months.
    let first_full_year = (first_full_month + 11).div_euclid(12);
    let last_full_year = (last_full_month + 1).div_euclid(12) - 1;
    if first_full_year <= last_full_year {
        if first_full_month < first_full_year * 12 {
            runs.push(RollupRun {
                level: Level::Month,
                from: first_full_month,
                to: first_full_year * 12 - 1,
            });
        }
        runs.push(RollupRun {
            level: Level::Year,
            from: first_full_year,
            to: last_full_year,
        });
        if (last_full_year + 1) * 12 <= last_full_month {
            runs.push(RollupRun {
                level: Level::Month,
                from: (last_full_year + 1) * 12,
                to: last_full_month,
            });
        }
    } else {
        runs.push(RollupRun {
            level: Level::Month,
            from: first_full_month,
            to: last_full_month,
        });
    }
    let after_months = first_of_month(last_full_month + 1);
    if after_months <= to {
        runs.push(RollupRun {
            level: Level::Day,
            from: after_months.0,
            to: to.0,
        });
    }
    runs
}

/// The day a timestamp's counts go to.
pub fn day_of(ts: Timestamp) -> Day {
    ts.day()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Day {
        Day::parse(s).unwrap()
    }

    fn days_covered(runs: &[RollupRun]) -> Vec<i32> {
        let mut days = Vec::new();
        let mut day = MIN_DAY.0.max(d("1990-01-01").0);
        while day <= d("2030-12-31").0 {
            let (y, m, _) = Day(day).civil();
            let mi = y * 12 + m as i32 - 1;
            let hits = runs
                .iter()
                .filter(|r| match r.level {
                    Level::Day => (r.from..=r.to).contains(&day),
                    Level::Month => (r.from..=r.to).contains(&mi),
                    Level::Year => (r.from..=r.to).contains(&y),
                })
                .count();
            assert!(hits <= 1, "day {day} covered twice by {runs:?}");
            if hits == 1 {
                days.push(day);
            }
            day += 1;
        }
        days
    }

    #[test]
    fn plans_cover_exactly_the_range_with_at_most_five_runs() {
        let cases = [
            ("2024-06-03", "2024-06-03"),
            ("2024-06-01", "2024-06-30"),
            ("2024-05-17", "2024-06-09"),
            ("2024-01-01", "2024-12-31"),
            ("2023-11-15", "2026-02-03"),
            ("2024-03-01", "2025-02-28"),
            ("2024-02-29", "2024-03-01"),
            ("1995-07-04", "2029-09-30"),
        ];
        assert!(plan(MIN_DAY, MAX_DAY).len() <= 5);
        for (a, b) in cases {
            let runs = plan(d(a), d(b));
            assert!(runs.len() <= 5, "{a}..{b}: {runs:?}");
            let covered = days_covered(&runs);
            let expected: Vec<i32> = (d(a).0..=d(b).0).collect();
            assert_eq!(covered, expected, "{a}..{b}: {runs:?}");
        }
    }

    #[test]
    fn a_whole_year_is_one_row() {
        assert_eq!(
            plan(d("2024-01-01"), d("2024-12-31")),
            vec![RollupRun {
                level: Level::Year,
                from: 2024,
                to: 2024
            }]
        );
        assert_eq!(plan(d("2024-06-02"), d("2024-06-01")), vec![]);
    }

    #[test]
    fn a_fact_counts_in_every_scope_at_every_level() {
        let keys: Vec<(Scope, Level, i32)> =
            RollupKey::for_fact("welcome", "onboarding", d("2024-06-03"))
                .map(|k| (k.scope, k.level, k.period))
                .collect();
        let (day, month, year) = (d("2024-06-03").0, 2024 * 12 + 5, 2024);
        let mut expected = Vec::new();
        for scope in [
            Scope::All,
            Scope::Template("welcome".into()),
            Scope::Sequence("onboarding".into()),
            Scope::TemplateSequence("welcome".into(), "onboarding".into()),
        ] {
            expected.push((scope.clone(), Level::Day, day));
            expected.push((scope.clone(), Level::Month, month));
            expected.push((scope, Level::Year, year));
        }
        assert_eq!(keys, expected);
    }

    #[test]
    fn counts_round_trip_through_bytes() {
        let mut c = Counts::default();
        c.0[3] = 7;
        c.0[UNIQUE_OPEN] = -1;
        assert_eq!(Counts::from_bytes(&c.to_bytes()), c);
    }

    #[test]
    fn keys_sort_by_period_including_negative() {
        let k = |p| {
            RollupKey {
                scope: Scope::All,
                level: Level::Day,
                period: p,
            }
            .encode()
        };
        assert!(k(-5) < k(-1));
        assert!(k(-1) < k(0));
        assert!(k(0) < k(20_000));
    }
}
