//! The ground truth: what the emitted lines must make the pipeline count, computed from the
//! generator's own model as it emits (never by parsing its output).

use std::collections::BTreeMap;

use super::catalog::{APP_TYPES, N_TEMPLATES, SEQUENCES, TEMPLATES};
use super::model::normalised_address;
use mailshot_domain::{Day, EventType, Timestamp};

/// A rollup scope (docs/design.md §5.4): everything, one template key, or one sequence id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Every fact.
    All,
    /// Facts whose normalised `templateKey` is this (`""` when a record carries none).
    Template(String),
    /// Facts whose normalised `sequenceId` is this (`fire_and_forget` when none).
    Sequence(String),
}

/// Distinct facts per event type, indexed by [`EventType::slot`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TypeCounts(pub [u64; 10]);

impl TypeCounts {
    /// The count of one type.
    pub fn get(&self, t: EventType) -> u64 {
        self.0[t.slot()]
    }

    /// The sum over all types (the `total` of `get_delivery_stats`).
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// `(type, count)` for every type, in [`EventType::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (EventType, u64)> + '_ {
        EventType::ALL.into_iter().map(|t| (t, self.get(t)))
    }

    /// The counts keyed by lower-camel type name (`renderingFailure`, …), zeros included: the
    /// `counts` object of `get_delivery_stats`.
    pub fn by_name(&self) -> BTreeMap<&'static str, u64> {
        self.iter().map(|(t, n)| (t.camel_name(), n)).collect()
    }

    fn add(&mut self, other: &TypeCounts) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }

    fn is_zero(&self) -> bool {
        self.0.iter().all(|&n| n == 0)
    }
}

/// What one rollup cell holds: counts per type, unique opens and unique clicks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayStats {
    /// Distinct facts per type.
    pub counts: TypeCounts,
    /// (message, recipient) pairs whose earliest open falls in the cell.
    pub unique_opens: u64,
    /// (message, recipient) pairs whose earliest click falls in the cell.
    pub unique_clicks: u64,
}

impl DayStats {
    fn add(&mut self, other: &DayStats) {
        self.counts.add(&other.counts);
        self.unique_opens += other.unique_opens;
        self.unique_clicks += other.unique_clicks;
    }
}

/// Why and since when a subscriber is suppressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// `"bounce"` (a `Permanent` bounce) or `"complaint"` (feedback type other than `not-spam`).
    pub reason: &'static str,
    /// The event time of the earliest suppressing fact.
    pub at: Timestamp,
}

/// The independent ground truth of one generated workload.
///
/// Input accounting of `ingest` (docs/design.md §8): `inputs = accepted + duplicates + rejected`,
/// where a Lambda SNS line with k records is k inputs and every other line is one. A duplicate
/// is an input all of whose identities appeared earlier in the output; an accepted input
/// brings at least one new identity (in this workload: only new ones).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Truth {
    /// Lines emitted (= `WorkloadConfig::inputs`).
    pub lines: u64,
    /// Inputs (Lambda SNS records counted one by one).
    pub inputs: u64,
    /// Inputs that bring new facts or a new app event.
    pub accepted: u64,
    /// Inputs whose identities were all emitted earlier.
    pub duplicates: u64,
    /// Malformed inputs, which must be rejected.
    pub rejected: u64,
    /// Rejected inputs per kind of fault (`truncated`, `not_an_object`, `unknown_shape`,
    /// `missing_message_id`, `bad_timestamp`, `bad_email`, `sns_message_not_json`,
    /// `lambda_bad_record`).
    pub rejected_by_kind: BTreeMap<String, u64>,
    /// Distinct application events (EventBridge, source `com.example.shop`).
    pub app_events: u64,
    /// Distinct application events per `detail-type`.
    pub app_events_by_type: BTreeMap<String, u64>,
    /// Distinct SES facts per type, over everything.
    pub facts: TypeCounts,
    /// The rollups: per scope and UTC day of event time. Cells with nothing are absent.
    pub rollups: BTreeMap<(Scope, Day), DayStats>,
    /// Suppressed subscribers (normalised address) with the earliest cause.
    pub suppressed: BTreeMap<String, Suppression>,
    /// Subscribers with a `Subscription` fact (`unsubscribeAll: true`), at the earliest one.
    pub unsubscribed: BTreeMap<String, Timestamp>,
    /// Distinct SES facts per subscriber (normalised address).
    pub facts_by_subscriber: BTreeMap<String, u64>,
}

impl Truth {
    /// Distinct facts of one type, over everything.
    pub fn count(&self, t: EventType) -> u64 {
        self.facts.get(t)
    }

    /// Distinct (message, recipient) pairs with at least one open.
    pub fn unique_opens(&self) -> u64 {
        self.by_day(&Scope::All)
            .values()
            .map(|s| s.unique_opens)
            .sum()
    }

    /// Distinct (message, recipient) pairs with at least one click.
    pub fn unique_clicks(&self) -> u64 {
        self.by_day(&Scope::All)
            .values()
            .map(|s| s.unique_clicks)
            .sum()
    }

    /// The cells of one scope, by day.
    pub fn by_day(&self, scope: &Scope) -> BTreeMap<Day, DayStats> {
        self.rollups
            .range((scope.clone(), Day(i32::MIN))..=(scope.clone(), Day(i32::MAX)))
            .map(|((_, d), s)| (*d, *s))
            .collect()
    }

    /// Facts of one type per day, over everything.
    pub fn facts_by_day(&self, t: EventType) -> BTreeMap<Day, u64> {
        self.by_day(&Scope::All)
            .into_iter()
            .filter(|(_, s)| s.counts.get(t) > 0)
            .map(|(d, s)| (d, s.counts.get(t)))
            .collect()
    }

    /// What `get_delivery_stats` must answer for a scope and an inclusive, optionally open,
    /// range of days.
    pub fn stats(&self, scope: &Scope, from: Option<Day>, to: Option<Day>) -> DayStats {
        let lo = (scope.clone(), from.unwrap_or(Day(i32::MIN)));
        let hi = (scope.clone(), to.unwrap_or(Day(i32::MAX)));
        let mut out = DayStats::default();
        if lo.1 > hi.1 {
            return out;
        }
        for s in self.rollups.range(lo..=hi).map(|(_, s)| s) {
            out.add(s);
        }
        out
    }

    /// Fact counts per template key, over all days.
    pub fn by_template(&self) -> BTreeMap<String, TypeCounts> {
        self.by_scope(|s| match s {
            Scope::Template(k) => Some(k),
            _ => None,
        })
    }

    /// Fact counts per sequence id, over all days.
    pub fn by_sequence(&self) -> BTreeMap<String, TypeCounts> {
        self.by_scope(|s| match s {
            Scope::Sequence(k) => Some(k),
            _ => None,
        })
    }

    fn by_scope(&self, key: impl Fn(&Scope) -> Option<&String>) -> BTreeMap<String, TypeCounts> {
        let mut out: BTreeMap<String, TypeCounts> = BTreeMap::new();
        for ((scope, _), s) in &self.rollups {
            if let Some(k) = key(scope) {
                out.entry(k.clone()).or_default().add(&s.counts);
            }
        }
        out
    }
}

/// Scope slots inside the accumulator: 0 all, then templates (the last one is `""`), then
/// sequences.
const N_SCOPES: usize = 1 + N_TEMPLATES + 1 + SEQUENCES.len();

fn template_scope(t: usize) -> usize {
    1 + t
}

fn sequence_scope(s: usize) -> usize {
    1 + N_TEMPLATES + 1 + s
}

#[derive(Clone)]
struct DayAcc {
    counts: [[u64; 10]; N_SCOPES],
    unique_opens: [u64; N_SCOPES],
    unique_clicks: [u64; N_SCOPES],
}

const NO_TS: i64 = i64::MAX;
const REASON_BOUNCE: u8 = 1;
const REASON_COMPLAINT: u8 = 2;

/// Reasons an input is malformed, in `Truth::rejected_by_kind` spelling.
pub(crate) const MALFORMED_KINDS: [&str; 8] = [
    "truncated",
    "not_an_object",
    "unknown_shape",
    "missing_message_id",
    "bad_timestamp",
    "bad_email",
    "sns_message_not_json",
    "lambda_bad_record",
];

/// Dense counters updated per emitted fact, turned into a [`Truth`] at the end.
pub(crate) struct Accumulator {
    start_day: i64,
    days: Vec<DayAcc>,
    suppressed: Vec<(i64, u8)>,
    unsubscribed: Vec<i64>,
    sub_facts: Vec<u64>,
    pub inputs: u64,
    pub accepted: u64,
    pub duplicates: u64,
    pub rejected: u64,
    rejected_by_kind: [u64; MALFORMED_KINDS.len()],
    app_by_type: [u64; APP_TYPES.len()],
}

impl Accumulator {
    pub(crate) fn new(start_day: Day, subscribers: u32) -> Accumulator {
        Accumulator {
            start_day: i64::from(start_day.0),
            days: Vec::new(),
            suppressed: vec![(NO_TS, 0); subscribers as usize],
            unsubscribed: vec![NO_TS; subscribers as usize],
            sub_facts: vec![0; subscribers as usize],
            inputs: 0,
            accepted: 0,
            duplicates: 0,
            rejected: 0,
            rejected_by_kind: [0; MALFORMED_KINDS.len()],
            app_by_type: [0; APP_TYPES.len()],
        }
    }

    fn day(&mut self, ts: i64) -> &mut DayAcc {
        let d = ts.div_euclid(86_400_000) - self.start_day;
        let d = usize::try_from(d).expect("events never precede the first day");
        if d >= self.days.len() {
            self.days.resize(
                d + 1,
                DayAcc {
                    counts: [[0; 10]; N_SCOPES],
                    unique_opens: [0; N_SCOPES],
                    unique_clicks: [0; N_SCOPES],
                },
            );
        }
        &mut self.days[d]
    }

    /// One new fact.
    pub(crate) fn fact(&mut self, kind: EventType, ts: i64, tpl: usize, seq: usize, sub: u32) {
        let k = kind.slot();
        let day = self.day(ts);
        day.counts[0][k] += 1;
        day.counts[template_scope(tpl)][k] += 1;
        day.counts[sequence_scope(seq)][k] += 1;
        self.sub_facts[sub as usize] += 1;
    }

    /// The earliest open (or click) of a pair moved from `old` (or nowhere) to `new`.
    pub(crate) fn unique(&mut self, click: bool, old: i64, new: i64, tpl: usize, seq: usize) {
        let scopes = [0, template_scope(tpl), sequence_scope(seq)];
        if old != NO_TS {
            let day = self.day(old);
            let cells = if click {
                &mut day.unique_clicks
            } else {
                &mut day.unique_opens
            };
            for s in scopes {
                cells[s] -= 1;
            }
        }
        let day = self.day(new);
        let cells = if click {
            &mut day.unique_clicks
        } else {
            &mut day.unique_opens
        };
        for s in scopes {
            cells[s] += 1;
        }
    }

    /// A suppressing fact (`complaint` false: a Permanent bounce).
    pub(crate) fn suppress(&mut self, sub: u32, ts: i64, complaint: bool) {
        let cell = &mut self.suppressed[sub as usize];
        if ts < cell.0 {
            *cell = (
                ts,
                if complaint {
                    REASON_COMPLAINT
                } else {
                    REASON_BOUNCE
                },
            );
        }
    }

    /// An unsubscribe fact.
    pub(crate) fn unsubscribe(&mut self, sub: u32, ts: i64) {
        let cell = &mut self.unsubscribed[sub as usize];
        *cell = (*cell).min(ts);
    }

    /// A new application event.
    pub(crate) fn app_event(&mut self, kind: u8) {
        self.app_by_type[usize::from(kind)] += 1;
    }

    /// A rejected input.
    pub(crate) fn reject(&mut self, kind: usize) {
        self.inputs += 1;
        self.rejected += 1;
        self.rejected_by_kind[kind] += 1;
    }

    /// The truth so far, after `lines` lines.
    pub(crate) fn truth(&self, lines: u64) -> Truth {
        let mut t = Truth {
            lines,
            inputs: self.inputs,
            accepted: self.accepted,
            duplicates: self.duplicates,
            rejected: self.rejected,
            ..Truth::default()
        };
        for (i, &n) in self.rejected_by_kind.iter().enumerate() {
            if n > 0 {
                t.rejected_by_kind.insert(MALFORMED_KINDS[i].to_string(), n);
            }
        }
        for (i, &n) in self.app_by_type.iter().enumerate() {
            t.app_events += n;
            if n > 0 {
                t.app_events_by_type.insert(APP_TYPES[i].to_string(), n);
            }
        }
        let scope_of = |s: usize| -> Scope {
            if s == 0 {
                Scope::All
            } else if s <= N_TEMPLATES {
                Scope::Template(TEMPLATES[s - 1].key.to_string())
            } else if s == N_TEMPLATES + 1 {
                Scope::Template(String::new())
            } else {
                Scope::Sequence(SEQUENCES[s - N_TEMPLATES - 2].to_string())
            }
        };
        for (d, acc) in self.days.iter().enumerate() {
            let day = Day((self.start_day + d as i64) as i32);
            for s in 0..N_SCOPES {
                let cell = DayStats {
                    counts: TypeCounts(acc.counts[s]),
                    unique_opens: acc.unique_opens[s],
                    unique_clicks: acc.unique_clicks[s],
                };
                if cell.counts.is_zero() && cell.unique_opens == 0 && cell.unique_clicks == 0 {
                    continue;
                }
                if s == 0 {
                    t.facts.add(&cell.counts);
                }
                t.rollups.insert((scope_of(s), day), cell);
            }
        }
        for (sub, &(ts, reason)) in self.suppressed.iter().enumerate() {
            if ts != NO_TS {
                let reason = if reason == REASON_COMPLAINT {
                    "complaint"
                } else {
                    "bounce"
                };
                t.suppressed.insert(
                    normalised_address(sub as u32),
                    Suppression {
                        reason,
                        at: Timestamp(ts),
                    },
                );
            }
        }
        for (sub, &ts) in self.unsubscribed.iter().enumerate() {
            if ts != NO_TS {
                t.unsubscribed
                    .insert(normalised_address(sub as u32), Timestamp(ts));
            }
        }
        for (sub, &n) in self.sub_facts.iter().enumerate() {
            if n > 0 {
                t.facts_by_subscriber
                    .insert(normalised_address(sub as u32), n);
            }
        }
        t
    }
}
