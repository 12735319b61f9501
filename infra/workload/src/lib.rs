//! A deterministic, seeded generator of realistic mailshot traffic (NDJSON lines), with the
//! independent ground truth of what those lines must make the pipeline count.
//!
//! The generator simulates `days` days of an online shop's email: subscribers on
//! example.com/.net/.org, app events on EventBridge (`com.example.shop`), and per message the
//! SES events Send, Delivery or Bounce, DeliveryDelay, Reject, Rendering Failure, Open, Click,
//! Complaint and Subscription, with realistic rates and delays. Each event is given an arrival
//! time (event time plus a small jitter, or hours to days for late ones) and lines leave in
//! arrival order, in a mix of envelopes (bare `eventType` records, `notificationType` identity
//! notifications, SNS notifications, Lambda SNS events with one to three records, EventBridge
//! `aws.ses`), plus duplicates (exact redeliveries and the same record through a second SNS
//! topic) and malformed lines of several kinds.
//!
//! Streaming: the generator holds only the events not yet emitted (a priority queue by arrival
//! time), the messages they refer to, a few pending duplicates and dense per-subscriber and
//! per-day counters: never the output. Deterministic: SplitMix64 and integer arithmetic only,
//! so one configuration gives byte-identical output everywhere.
//!
//! ```
//! use mailshot_workload::{Generator, WorkloadConfig};
//! let mut generator = Generator::new(WorkloadConfig::new(1_000, 7));
//! let lines = generator.by_ref().count();
//! assert_eq!(lines, 1_000);
//! let truth = generator.truth();
//! assert_eq!(truth.inputs, truth.accepted + truth.duplicates + truth.rejected);
//! ```

mod catalog;
mod emit;
mod json;
mod malformed;
mod model;
mod render;
mod rng;
mod simulate;
mod truth;

pub use truth::{DayStats, Scope, Suppression, Truth, TypeCounts};

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use catalog::{
    BOUNCE_ACCOUNT_SUPPRESSED, BOUNCES, DELAYS, FEEDBACK, FEEDBACK_NOT_SPAM, TEMPLATES,
    TOPIC_ARCHIVE, TOPIC_FEEDBACK,
};
use model::{AppEv, Broken, Ev, Form, Message, Mode, Pending, SesEv};
use render::{
    event_topic, push_app_event, push_eventbridge_head, push_eventbridge_ses,
    push_eventbridge_tail, push_lambda_close, push_lambda_open, push_lambda_record,
    push_lambda_record_head, push_lambda_record_tail, push_record, push_record_escaped, push_sns,
    push_sns_head, push_sns_tail,
};
use rng::Rng;
use truth::{Accumulator, MALFORMED_KINDS};

use mailshot_domain::{Day, EventType};

const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const NONE: i64 = i64::MAX;

/// SES records per message, ×1000 (measured: Send, outcome, opens, clicks, …).
const RECORDS_PER_MESSAGE_MILLI: u64 = 2_960;
/// SES records per SES line, ×1000 (Lambda lines carry up to three).
const RECORDS_PER_LINE_MILLI: u64 = 1_060;

/// What to generate. Rates are in parts per million.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadConfig {
    /// Number of NDJSON lines to emit.
    pub inputs: u64,
    /// The seed: the same configuration gives byte-identical output.
    pub seed: u64,
    /// The first day of traffic (UTC).
    pub start: Day,
    /// How many days the traffic spans (approximately: it follows the line budget).
    pub days: u32,
    /// Size of the subscriber population.
    pub subscribers: u32,
    /// Share of lines that are application events (ppm; default 5 %).
    pub app_event_ppm: u32,
    /// Share of lines that are duplicates (ppm; default 3 %).
    pub duplicate_ppm: u32,
    /// Share of lines that are malformed (ppm; default 0.5 %).
    pub malformed_ppm: u32,
    /// Share of events that arrive hours to days late (ppm; default 1 %).
    pub late_ppm: u32,
}

impl WorkloadConfig {
    /// `inputs` lines from `seed`: 30 days from 2024-06-01, `max(50, inputs / 25)` subscribers,
    /// default rates.
    pub fn new(inputs: u64, seed: u64) -> Self {
        WorkloadConfig {
            inputs,
            seed,
            start: Day::parse("2024-06-01").expect("valid date"),
            days: 30,
            subscribers: (inputs / 25).clamp(50, u64::from(u32::MAX >> 1)) as u32,
            app_event_ppm: 50_000,
            duplicate_ppm: 30_000,
            malformed_ppm: 5_000,
            late_ppm: 10_000,
        }
    }
}

/// What one emitted line holds, for tests that check a parser line by line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineInfo {
    /// Inputs in the line (Lambda SNS records one by one).
    pub inputs: u32,
    /// Inputs bringing new identities.
    pub accepted: u32,
    /// Inputs whose identities were all emitted before.
    pub duplicates: u32,
    /// Malformed inputs.
    pub rejected: u32,
    /// The kind of fault when `rejected > 0` (see [`Truth::rejected_by_kind`]).
    pub malformed: Option<&'static str>,
}

enum Dup {
    /// The same line again.
    Exact { line: String, inputs: u32 },
    /// The same SES record through the archive topic (new SNS message id and topic); the
    /// record is kept escaped, as it goes into a `Message` string.
    Topic { message: String, ts: i64 },
}

/// The workload generator: an iterator of exactly `cfg.inputs` NDJSON lines (without
/// trailing newline). See the [module documentation](self).
pub struct Generator {
    cfg: WorkloadConfig,
    rng: Rng,
    salt: u64,
    seq: u64,
    heap: BinaryHeap<Reverse<Pending>>,
    msgs: Vec<Message>,
    free: Vec<u32>,
    blocked_at: Vec<i64>,
    created: u32,
    start_ms: i64,
    next_send: i64,
    send_gap: i64,
    next_app: i64,
    app_gap: i64,
    now: i64,
    dup_ppm: u32,
    dups: BTreeMap<(u64, u64), Dup>,
    lines: u64,
    last: LineInfo,
    acc: Accumulator,
    truth: Truth,
    tmp: String,
}

/// Where the single record of a line sits in it, for redelivery through another topic.
#[derive(Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    escaped: bool,
    arrival: i64,
}

impl Generator {
    /// A generator for `cfg`.
    pub fn new(cfg: WorkloadConfig) -> Self {
        let mut rng = Rng::new(cfg.seed ^ 0x6D61_696C_7368_6F74);
        let salt = rng.fork();
        let subscribers = cfg.subscribers.max(2);
        let start_ms = cfg.start.start().0;
        let span = i64::from(cfg.days.max(1)) * DAY;
        let ppm = |p: u32| u128::from(p.min(1_000_000));
        let lines = u128::from(cfg.inputs.max(1));
        let app_lines = lines * ppm(cfg.app_event_ppm) / 1_000_000;
        let other = ppm(cfg.app_event_ppm) + ppm(cfg.duplicate_ppm) + ppm(cfg.malformed_ppm);
        let ses_lines = lines * 1_000_000u128.saturating_sub(other).max(1) / 1_000_000;
        let messages = (ses_lines * u128::from(RECORDS_PER_LINE_MILLI)
            / u128::from(RECORDS_PER_MESSAGE_MILLI))
        .max(1);
        let send_gap = (span as u128 / messages) as i64;
        let app_gap = (span as u128)
            .checked_div(app_lines)
            .map_or(NONE, |g| g as i64);
        let dup = u64::from(cfg.duplicate_ppm.min(900_000));
        let dup_ppm = (dup * 1_000_000 / (1_000_000 - dup)) as u32;
        let next_send = start_ms + rng.range(0, send_gap.max(1));
        let next_app = if app_gap == NONE {
            NONE
        } else {
            start_ms + rng.range(0, app_gap.max(1))
        };
        let mut g = Generator {
            acc: Accumulator::new(cfg.start, subscribers),
            blocked_at: vec![NONE; subscribers as usize],
            cfg: WorkloadConfig { subscribers, ..cfg },
            rng,
            salt,
            seq: 0,
            heap: BinaryHeap::new(),
            msgs: Vec::new(),
            free: Vec::new(),
            created: 0,
            start_ms,
            next_send,
            send_gap,
            next_app,
            app_gap,
            now: start_ms,
            dup_ppm,
            dups: BTreeMap::new(),
            lines: 0,
            last: LineInfo::default(),
            truth: Truth::default(),
            tmp: String::with_capacity(4096),
        };
        if g.cfg.inputs == 0 {
            g.truth = g.acc.truth(0);
        }
        g
    }

    /// The ground truth of everything emitted. Complete once the iterator is exhausted (that
    /// is, after the last line was produced); before that it is empty.
    pub fn truth(&self) -> &Truth {
        &self.truth
    }

    /// What the line most recently returned by `next` holds.
    pub fn last_line_info(&self) -> LineInfo {
        self.last
    }

    /// How many things the generator holds in memory right now: events not yet emitted,
    /// duplicates waiting to be emitted, and message slots (live or free for reuse). Bounded by
    /// the traffic of a few simulated days, whatever the number of lines.
    pub fn backlog(&self) -> usize {
        self.heap.len() + self.dups.len() + self.msgs.len()
    }

    /// The configuration (with `subscribers` as actually used).
    pub fn config(&self) -> &WorkloadConfig {
        &self.cfg
    }
}

fn accepted(n: u32) -> LineInfo {
    LineInfo {
        inputs: n,
        accepted: n,
        ..LineInfo::default()
    }
}

/// Permanent bounces never fall on a whole second, complaints always do: a bounce and a
/// complaint of one subscriber never tie, so the earliest cause is unambiguous.
fn permanent_ts(ts: i64) -> i64 {
    if ts.rem_euclid(SECOND) == 0 {
        ts + 1
    } else {
        ts
    }
}

impl Iterator for Generator {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        if self.lines >= self.cfg.inputs {
            return None;
        }
        let due = matches!(self.dups.first_key_value(), Some((&(due, _), _)) if due <= self.lines);
        let line = if due {
            let (_, dup) = self.dups.pop_first().expect("checked");
            self.emit_dup(dup)
        } else {
            let mut line = String::with_capacity(3072);
            if self.rng.ppm(self.cfg.malformed_ppm) {
                self.emit_malformed(&mut line);
            } else {
                self.emit_normal(&mut line);
            }
            line
        };
        self.lines += 1;
        if self.lines == self.cfg.inputs {
            self.truth = self.acc.truth(self.lines);
        }
        Some(line)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.cfg.inputs - self.lines) as usize;
        (left, Some(left))
    }
}
