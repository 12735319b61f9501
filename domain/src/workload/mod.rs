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
//! use mailshot_domain::workload::{Generator, WorkloadConfig};
//! let mut generator = Generator::new(WorkloadConfig::new(1_000, 7));
//! let lines = generator.by_ref().count();
//! assert_eq!(lines, 1_000);
//! let truth = generator.truth();
//! assert_eq!(truth.inputs, truth.accepted + truth.duplicates + truth.rejected);
//! ```

mod catalog;
mod json;
mod model;
mod render;
mod rng;
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

use crate::{Day, EventType};

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

    // ---- the simulation -------------------------------------------------------------------

    fn arrival(&mut self, ts: i64) -> i64 {
        if self.rng.ppm(self.cfg.late_ppm) {
            ts + self.rng.range(HOUR, 72 * HOUR)
        } else if self.rng.below(20) == 0 {
            ts + self.rng.range(MINUTE, 15 * MINUTE)
        } else {
            ts + self.rng.range(0, MINUTE)
        }
    }

    fn push_pending(&mut self, arrival: i64, ev: Ev) {
        self.heap.push(Reverse(Pending {
            arrival,
            seq: self.seq,
            ev,
        }));
        self.seq += 1;
    }

    fn schedule(&mut self, e: SesEv, arrival: Option<i64>) {
        let arrival = match arrival {
            Some(a) => a,
            None => self.arrival(e.ts),
        };
        self.msgs[e.msg as usize].refs += 1;
        self.push_pending(arrival, Ev::Ses(e));
    }

    fn pick_subscriber(&mut self, at: i64) -> u32 {
        let n = u64::from(self.cfg.subscribers);
        let mut idx = 0;
        for _ in 0..3 {
            idx = if self.rng.below(10) < 4 {
                self.rng.below(n).min(self.rng.below(n))
            } else {
                self.rng.below(n)
            } as u32;
            if self.blocked_at[idx as usize] >= at {
                break;
            }
        }
        idx
    }

    fn open_delay(&mut self) -> i64 {
        match self.rng.weighted(&[40, 40, 20]) {
            0 => self.rng.range(5 * SECOND, HOUR),
            1 => self.rng.range(HOUR, DAY),
            _ => self.rng.range(DAY, 5 * DAY),
        }
    }

    fn ev(&mut self, msg: u32, kind: EventType, rmask: u8, p: u8, ts: i64) -> SesEv {
        SesEv {
            msg,
            kind,
            rmask,
            p,
            ts,
            rnd: self.rng.fork(),
        }
    }

    fn block(&mut self, sub: u32, ts: i64) {
        let b = &mut self.blocked_at[sub as usize];
        *b = (*b).min(ts);
    }

    fn create_message(&mut self) {
        let t0 = self.next_send;
        self.next_send += self.rng.range(0, 2 * self.send_gap + 1);
        let weights: [u32; 12] = TEMPLATES.map(|t| t.weight);
        let template = self.rng.weighted(&weights) as u8;
        let mode = match self.rng.below(1000) {
            0..940 => Mode::Both,
            940..980 => Mode::TagOnly,
            _ => Mode::Neither,
        };
        let n: u8 = if self.rng.ppm(50_000) { 2 } else { 1 };
        let r0 = self.pick_subscriber(t0);
        let mut r1 = r0;
        while n == 2 && r1 == r0 {
            r1 = self.pick_subscriber(t0);
        }
        let variant = [
            self.rng.weighted(&[85, 7, 5, 3]) as u8,
            self.rng.weighted(&[85, 7, 5, 3]) as u8,
        ];
        let m = Message {
            bits: (u128::from(self.rng.next_u64()) << 64) | u128::from(self.rng.next_u64()),
            mail_ts: t0,
            seed: self.rng.next_u64(),
            template,
            mode,
            n,
            rcpt: [r0, r1],
            variant,
            refs: 0,
            first_open: [NONE; 2],
            first_click: [NONE; 2],
        };
        let msg = match self.free.pop() {
            Some(slot) => {
                self.msgs[slot as usize] = m;
                slot
            }
            None => {
                self.msgs.push(m);
                (self.msgs.len() - 1) as u32
            }
        };
        let all = (1u8 << n) - 1;
        let send = self.ev(msg, EventType::Send, all, 0, t0);
        self.schedule(send, None);

        let outcome = self.rng.below(1_000_000);
        if outcome < 2_000 {
            let ts = t0 + self.rng.range(50, 900);
            let e = self.ev(msg, EventType::Reject, all, 0, ts);
            self.schedule(e, None);
            return;
        }
        if outcome < 4_000 {
            let ts = t0 + self.rng.range(20, 500);
            let e = self.ev(msg, EventType::RenderingFailure, all, 0, ts);
            self.schedule(e, None);
            return;
        }

        // Per recipient: delivered (maybe after a delay) or bounced.
        let mut delivered = [NONE; 2];
        let mut delayed = [false; 2];
        for slot in 0..usize::from(n) {
            let sub = [r0, r1][slot];
            let bit = 1u8 << slot;
            if self.blocked_at[sub as usize] < t0 {
                let ts = permanent_ts(t0 + self.rng.range(100, 1500));
                let e = self.ev(msg, EventType::Bounce, bit, BOUNCE_ACCOUNT_SUPPRESSED, ts);
                self.schedule(e, None);
                continue;
            }
            let x = self.rng.below(1_000_000);
            if x < 20_000 {
                let kind = self.rng.weighted(&[40, 45, 15]) as u8;
                let ts = permanent_ts(t0 + self.rng.range(800, 10 * SECOND));
                self.block(sub, ts);
                let e = self.ev(msg, EventType::Bounce, bit, kind, ts);
                self.schedule(e, None);
            } else if x < 35_000 {
                let kind = 4 + self.rng.weighted(&[40, 30, 10, 20]) as u8;
                let mut ts = t0 + self.rng.range(4 * HOUR, 14 * HOUR);
                if self.rng.below(2) == 0 {
                    let d = self.delay_event(msg, bit, t0);
                    ts = ts.max(d + HOUR);
                }
                let e = self.ev(msg, EventType::Bounce, bit, kind, ts);
                self.schedule(e, None);
            } else if x < 40_000 {
                let ts = t0 + self.rng.range(MINUTE, 40 * MINUTE);
                let e = self.ev(msg, EventType::Bounce, bit, 8, ts);
                self.schedule(e, None);
            } else if self.rng.ppm(10_000) {
                let d = self.delay_event(msg, bit, t0);
                delivered[slot] = d + self.rng.range(10 * MINUTE, 6 * HOUR);
                delayed[slot] = true;
            } else {
                delivered[slot] = t0 + self.rng.range(300, 5 * SECOND);
            }
        }
        let delivered_mask = (delivered[0] != NONE) as u8 | (((delivered[1] != NONE) as u8) << 1);
        if delivered_mask == 0 {
            return;
        }
        if delivered_mask == 3 && !delayed[0] && !delayed[1] && self.rng.below(100) < 85 {
            let e = self.ev(msg, EventType::Delivery, 3, 0, delivered[0]);
            self.schedule(e, None);
        } else {
            for (slot, &ts) in delivered.iter().enumerate() {
                if ts != NONE {
                    let e = self.ev(msg, EventType::Delivery, 1 << slot, 0, ts);
                    self.schedule(e, None);
                }
            }
        }
        let first_delivery = delivered[0].min(delivered[1]);

        // Engagement.
        let mut first_open = NONE;
        if self.rng.ppm(450_000) {
            let count = 1 + self.rng.weighted(&[50, 25, 15, 10]);
            let mut ts = first_delivery + self.open_delay();
            first_open = ts;
            let mut opens = [(0i64, 0i64); 4];
            for (i, o) in opens.iter_mut().take(count).enumerate() {
                if i > 0 {
                    ts += if self.rng.below(2) == 0 {
                        self.rng.range(SECOND, 30 * MINUTE)
                    } else {
                        self.rng.range(30 * MINUTE, 2 * DAY)
                    };
                }
                *o = (ts, self.arrival(ts));
            }
            // Now and then the first open is held back until after the second has arrived.
            if count >= 2 && self.rng.below(10) == 0 {
                opens[0].1 = opens[1].1 + self.rng.range(MINUTE, 6 * HOUR);
            }
            for &(ts, arrival) in opens.iter().take(count) {
                let e = self.ev(msg, EventType::Open, all, 0, ts);
                self.schedule(e, Some(arrival));
            }
        }
        let clicks = if first_open != NONE {
            self.rng.ppm(200_000)
        } else {
            self.rng.ppm(55_000)
        };
        if clicks {
            let count = 1 + self.rng.weighted(&[60, 28, 12]);
            let mut ts = if first_open != NONE {
                first_open + self.rng.range(3 * SECOND, 10 * MINUTE)
            } else {
                first_delivery + self.open_delay()
            };
            let links = TEMPLATES[usize::from(template)].links.len() as u64;
            for i in 0..count {
                if i > 0 {
                    ts += self.rng.range(2 * SECOND, 2 * DAY);
                }
                let link = self.rng.below(links) as u8;
                let e = self.ev(msg, EventType::Click, all, link, ts);
                self.schedule(e, None);
            }
        }
        for (slot, &ts) in delivered.iter().enumerate() {
            if ts != NONE && self.rng.ppm(1_000) {
                let ts = ts + self.rng.range(HOUR, 4 * DAY);
                let ts = ts - ts.rem_euclid(SECOND);
                let weights: [u32; 5] = FEEDBACK.map(|(_, w)| w);
                let kind = self.rng.weighted(&weights) as u8;
                if kind != FEEDBACK_NOT_SPAM {
                    self.block([r0, r1][slot], ts);
                }
                let e = self.ev(msg, EventType::Complaint, 1 << slot, kind, ts);
                self.schedule(e, None);
            }
        }
        if self.rng.ppm(3_000) {
            let ts = first_delivery + self.rng.range(2 * MINUTE, 5 * DAY);
            let e = self.ev(msg, EventType::Subscription, all, 0, ts);
            self.schedule(e, None);
        }
    }

    /// Schedules a DeliveryDelay for the recipients in `bit`; returns its time.
    fn delay_event(&mut self, msg: u32, bit: u8, t0: i64) -> i64 {
        let weights: [u32; 5] = DELAYS.map(|d| d.3);
        let kind = self.rng.weighted(&weights) as u8;
        let ts = t0 + self.rng.range(15 * MINUTE, 3 * HOUR);
        let e = self.ev(msg, EventType::DeliveryDelay, bit, kind, ts);
        self.schedule(e, None);
        ts
    }

    fn create_app_event(&mut self) {
        let ts = self.next_app;
        self.next_app += self.rng.range(0, 2 * self.app_gap + 1);
        let mut kind = self.rng.weighted(&[40, 15, 25, 20]) as u8;
        let n = u64::from(self.cfg.subscribers);
        let sub = if kind == 0 && self.created < self.cfg.subscribers {
            self.created += 1;
            self.created - 1
        } else {
            if kind == 0 {
                kind = 2;
            }
            let pool = u64::from(self.created).max(1).min(n);
            self.rng.below(pool) as u32
        };
        let a = AppEv {
            sub,
            kind,
            ts,
            rnd: self.rng.fork(),
        };
        let arrival = if self.rng.ppm(self.cfg.late_ppm) {
            ts + self.rng.range(HOUR, 24 * HOUR)
        } else {
            ts + self.rng.range(0, 30 * SECOND)
        };
        self.push_pending(arrival, Ev::App(a));
    }

    fn refill(&mut self) {
        loop {
            let horizon = self.next_send.min(self.next_app);
            if let Some(Reverse(p)) = self.heap.peek()
                && p.arrival <= horizon
            {
                return;
            }
            if self.next_send <= self.next_app {
                self.create_message();
            } else {
                self.create_app_event();
            }
        }
    }

    fn pop(&mut self) -> Pending {
        self.refill();
        let Reverse(p) = self.heap.pop().expect("refill leaves an event");
        self.now = self.now.max(p.arrival);
        p
    }

    fn next_is_ses(&mut self) -> bool {
        self.refill();
        matches!(
            self.heap.peek(),
            Some(Reverse(Pending { ev: Ev::Ses(_), .. }))
        )
    }

    // ---- truth ------------------------------------------------------------------------------

    /// Records the facts of an emitted (new) SES record and releases its message.
    fn accept_ses(&mut self, e: &SesEv, form: Form) {
        let m = &mut self.msgs[e.msg as usize];
        let (tpl, seq) = m.attribution(form);
        let mask = e.fact_mask(m);
        for slot in 0..usize::from(m.n) {
            if mask & (1 << slot) == 0 {
                continue;
            }
            let sub = m.rcpt[slot];
            self.acc.fact(e.kind, e.ts, tpl, seq, sub);
            match e.kind {
                EventType::Open if e.ts < m.first_open[slot] => {
                    self.acc.unique(false, m.first_open[slot], e.ts, tpl, seq);
                    m.first_open[slot] = e.ts;
                }
                EventType::Click if e.ts < m.first_click[slot] => {
                    self.acc.unique(true, m.first_click[slot], e.ts, tpl, seq);
                    m.first_click[slot] = e.ts;
                }
                EventType::Bounce if BOUNCES[usize::from(e.p)].bounce_type == "Permanent" => {
                    self.acc.suppress(sub, e.ts, false);
                }
                EventType::Complaint if e.p != FEEDBACK_NOT_SPAM => {
                    self.acc.suppress(sub, e.ts, true);
                }
                EventType::Subscription => self.acc.unsubscribe(sub, e.ts),
                _ => {}
            }
        }
        self.acc.inputs += 1;
        self.acc.accepted += 1;
        m.refs -= 1;
        if m.refs == 0 {
            self.free.push(e.msg);
        }
    }

    // ---- emission -----------------------------------------------------------------------------

    fn maybe_dup(&mut self, line: &str, single: Option<Span>, inputs: u32) {
        if !self.rng.ppm(self.dup_ppm) {
            return;
        }
        let due = self.lines + 1 + self.rng.below(300);
        let dup = match single {
            Some(span) if self.rng.below(10) < 4 => {
                let record = &line[span.start..span.end];
                let message = if span.escaped {
                    record.to_owned()
                } else {
                    let mut m = String::with_capacity(record.len() * 9 / 8);
                    json::push_escaped(&mut m, record);
                    m
                };
                Dup::Topic {
                    message,
                    ts: span.arrival,
                }
            }
            _ => Dup::Exact {
                line: line.to_owned(),
                inputs,
            },
        };
        self.dups.insert((due, self.seq), dup);
        self.seq += 1;
    }

    fn emit_normal(&mut self, line: &mut String) {
        let p = self.pop();
        let e = match p.ev {
            Ev::App(a) => {
                push_app_event(line, &a, self.salt, None);
                self.acc.inputs += 1;
                self.acc.accepted += 1;
                self.acc.app_event(a.kind);
                self.last = accepted(1);
                self.maybe_dup(line, None, 1);
                return;
            }
            Ev::Ses(e) => e,
        };
        let identity_kind = matches!(
            e.kind,
            EventType::Delivery | EventType::Bounce | EventType::Complaint
        );
        let m = &self.msgs[e.msg as usize];
        let mut span = Span {
            start: 0,
            end: 0,
            escaped: false,
            arrival: p.arrival,
        };
        let form = if identity_kind && self.rng.ppm(150_000) {
            let form = Form::Notification {
                headers: self.rng.ppm(600_000),
            };
            if self.rng.below(10) < 4 {
                push_record(line, m, &e, form, &Broken::default());
            } else {
                push_sns_head(line, &mut self.rng, TOPIC_FEEDBACK);
                span.start = line.len();
                push_record_escaped(line, m, &e, form);
                span.end = line.len();
                span.escaped = true;
                push_sns_tail(line, &mut self.rng, TOPIC_FEEDBACK, p.arrival);
            }
            form
        } else {
            let topic = event_topic(m);
            match self.rng.below(90) {
                0..30 => push_record(line, m, &e, Form::Event, &Broken::default()),
                30..65 => {
                    push_sns_head(line, &mut self.rng, topic);
                    span.start = line.len();
                    push_record_escaped(line, m, &e, Form::Event);
                    span.end = line.len();
                    span.escaped = true;
                    push_sns_tail(line, &mut self.rng, topic, p.arrival);
                }
                65..85 => return self.emit_lambda(line, e, p.arrival),
                _ => {
                    push_eventbridge_head(line, &mut self.rng, m, e.kind, e.ts);
                    span.start = line.len();
                    push_record(line, m, &e, Form::Event, &Broken::default());
                    span.end = line.len();
                    push_eventbridge_tail(line);
                }
            }
            Form::Event
        };
        if span.end == 0 {
            span.end = line.len();
        }
        self.accept_ses(&e, form);
        self.last = accepted(1);
        self.maybe_dup(line, Some(span), 1);
    }

    /// Appends a Lambda SNS record for `e` (rendered straight into its `Message`).
    fn lambda_record(&mut self, line: &mut String, e: &SesEv, arrival: i64) -> Span {
        let m = &self.msgs[e.msg as usize];
        let topic = event_topic(m);
        push_lambda_record_head(line, &mut self.rng, topic);
        let start = line.len();
        push_record_escaped(line, m, e, Form::Event);
        let end = line.len();
        push_lambda_record_tail(line, &mut self.rng, topic, arrival);
        Span {
            start,
            end,
            escaped: true,
            arrival,
        }
    }

    /// A Lambda SNS event with one to three records, the first being `e`.
    fn emit_lambda(&mut self, line: &mut String, e: SesEv, arrival: i64) {
        let k = 1 + self.rng.weighted(&[75, 18, 7]) as u32;
        push_lambda_open(line);
        let span = self.lambda_record(line, &e, arrival);
        self.accept_ses(&e, Form::Event);
        let mut count = 1;
        while count < k && self.next_is_ses() {
            let q = self.pop();
            let Ev::Ses(next) = q.ev else {
                unreachable!("checked")
            };
            line.push(',');
            self.lambda_record(line, &next, q.arrival);
            self.accept_ses(&next, Form::Event);
            count += 1;
        }
        push_lambda_close(line);
        self.last = accepted(count);
        self.maybe_dup(line, (count == 1).then_some(span), count);
    }

    fn emit_dup(&mut self, dup: Dup) -> String {
        match dup {
            Dup::Exact { line, inputs } => {
                self.acc.inputs += u64::from(inputs);
                self.acc.duplicates += u64::from(inputs);
                self.last = LineInfo {
                    inputs,
                    duplicates: inputs,
                    ..LineInfo::default()
                };
                line
            }
            Dup::Topic { message, ts } => {
                let mut line = String::with_capacity(message.len() + 1024);
                let ts = ts + self.rng.range(0, 2 * SECOND);
                if self.rng.below(2) == 0 {
                    push_sns_head(&mut line, &mut self.rng, TOPIC_ARCHIVE);
                    line.push_str(&message);
                    push_sns_tail(&mut line, &mut self.rng, TOPIC_ARCHIVE, ts);
                } else {
                    push_lambda_open(&mut line);
                    push_lambda_record_head(&mut line, &mut self.rng, TOPIC_ARCHIVE);
                    line.push_str(&message);
                    push_lambda_record_tail(&mut line, &mut self.rng, TOPIC_ARCHIVE, ts);
                    push_lambda_close(&mut line);
                }
                self.acc.inputs += 1;
                self.acc.duplicates += 1;
                self.last = LineInfo {
                    inputs: 1,
                    duplicates: 1,
                    ..LineInfo::default()
                };
                line
            }
        }
    }

    /// A message that exists only in one malformed line.
    fn synthetic(&mut self, kinds: &[EventType]) -> (Message, SesEv) {
        let weights: [u32; 12] = TEMPLATES.map(|t| t.weight);
        let template = self.rng.weighted(&weights) as u8;
        let sub = self.rng.below(u64::from(self.cfg.subscribers)) as u32;
        let mail_ts = (self.now - self.rng.range(0, 10 * MINUTE)).max(self.start_ms);
        let m = Message {
            bits: (u128::from(self.rng.next_u64()) << 64) | u128::from(self.rng.next_u64()),
            mail_ts,
            seed: self.rng.next_u64(),
            template,
            mode: Mode::Both,
            n: 1,
            rcpt: [sub, sub],
            variant: [self.rng.weighted(&[85, 7, 5, 3]) as u8, 0],
            refs: 0,
            first_open: [NONE; 2],
            first_click: [NONE; 2],
        };
        let kind = kinds[self.rng.below(kinds.len() as u64) as usize];
        let ts = match kind {
            EventType::Send => mail_ts,
            _ => mail_ts + self.rng.range(SECOND, 2 * HOUR),
        };
        let e = SesEv {
            msg: u32::MAX,
            kind,
            rmask: 1,
            p: 0,
            ts,
            rnd: self.rng.fork(),
        };
        (m, e)
    }

    /// Wraps the record in `self.tmp` into a random non-Lambda envelope.
    fn wrap_tmp(&mut self, line: &mut String, m: &Message, e: &SesEv) {
        let arrival = e.ts + self.rng.range(0, MINUTE);
        match self.rng.below(3) {
            0 => line.push_str(&self.tmp),
            1 => push_sns(line, &mut self.rng, event_topic(m), &self.tmp, arrival),
            _ => push_eventbridge_ses(line, &mut self.rng, m, e.kind, e.ts, &self.tmp),
        }
    }

    fn emit_malformed(&mut self, line: &mut String) {
        const BAD_TS: [&str; 6] = [
            "2024-06-31T10:15:00.000Z",
            "yesterday",
            "2024-06-03 14:02",
            "17/06/2024 09:00:00",
            "2024-13-01T00:00:00Z",
            "",
        ];
        const BAD_EMAIL: [&str; 6] = [
            "jordan.lee.example.net",
            "jordan lee@example.net",
            "jordan.lee@",
            "@example.net",
            "jordan.lee@localhost",
            "undisclosed-recipients:;",
        ];
        let mut kind = self.rng.below(MALFORMED_KINDS.len() as u64) as usize;
        if kind == 7 && !self.next_is_ses() {
            kind = 6;
        }
        let all_kinds = [
            EventType::Send,
            EventType::Delivery,
            EventType::Open,
            EventType::Click,
            EventType::Bounce,
        ];
        match kind {
            0 => {
                // Truncated JSON: a complete line cut short.
                self.tmp.clear();
                let (m, e) = self.synthetic(&all_kinds);
                let mut full = String::with_capacity(4096);
                if self.rng.below(5) == 0 {
                    let a = AppEv {
                        sub: m.rcpt[0],
                        kind: self.rng.below(4) as u8,
                        ts: e.ts,
                        rnd: self.rng.fork(),
                    };
                    push_app_event(&mut full, &a, self.salt, None);
                } else {
                    push_record(&mut self.tmp, &m, &e, Form::Event, &Broken::default());
                    self.wrap_tmp(&mut full, &m, &e);
                }
                let mut cut = self.rng.range(full.len() as i64 / 4, full.len() as i64 - 1) as usize;
                while !full.is_char_boundary(cut) {
                    cut -= 1;
                }
                line.push_str(&full[..cut.max(1)]);
            }
            1 => {
                const NOT_OBJECTS: [&str; 6] = [
                    "[\"Delivery\",\"Bounce\"]",
                    "\"{\\\"eventType\\\":\\\"Send\\\"}\"",
                    "42",
                    "null",
                    "true",
                    "[{\"eventType\":\"Open\",\"mail\":{}}]",
                ];
                line.push_str(NOT_OBJECTS[self.rng.below(6) as usize]);
            }
            2 => match self.rng.below(4) {
                0 => {
                    line.push_str("{\"level\":\"info\",\"msg\":\"ses webhook ok\",\"ts\":\"");
                    json::push_ts(line, self.now);
                    line.push_str("\"}");
                }
                1 => line.push_str(
                    "{\"notificationType\":\"AmazonSnsSubscriptionSucceeded\",\"message\":\"You have successfully subscribed your Amazon SNS topic 'arn:aws:sns:us-east-1:111122223333:ses-feedback-mail-example-com' to receive 'Bounce' notifications from Amazon SES for identity 'mail.example.com'.\"}",
                ),
                2 => {
                    line.push_str("{\"version\":\"0\",\"id\":\"");
                    json::push_uuid(line, &mut self.rng);
                    line.push_str("\",\"detail-type\":\"customer.created\",\"source\":\"com.example.shop\",\"account\":\"111122223333\",\"time\":\"");
                    json::push_ts_secs(line, self.now);
                    line.push_str("\",\"region\":\"us-east-1\",\"resources\":[]}");
                }
                _ => {
                    line.push_str("{\"Type\":\"Notification\",\"MessageId\":\"");
                    json::push_uuid(line, &mut self.rng);
                    line.push_str("\",\"TopicArn\":\"arn:aws:sns:us-east-1:111122223333:ses-events-txn-prod\",\"Subject\":\"Amazon SES Email Event Notification\",\"Timestamp\":\"");
                    json::push_ts(line, self.now);
                    line.push_str("\"}");
                }
            },
            3..=5 => {
                let kinds: &[EventType] = match kind {
                    3 => &all_kinds,
                    4 => &all_kinds[..4],
                    _ => &[EventType::Send, EventType::Open, EventType::Click],
                };
                let (m, e) = self.synthetic(kinds);
                if kind == 4 && self.rng.below(5) == 0 {
                    let a = AppEv {
                        sub: m.rcpt[0],
                        kind: self.rng.below(4) as u8,
                        ts: e.ts,
                        rnd: self.rng.fork(),
                    };
                    let bad = BAD_TS[self.rng.below(BAD_TS.len() as u64) as usize];
                    push_app_event(line, &a, self.salt, Some(bad));
                } else {
                    let brk = Broken {
                        drop_message_id: kind == 3,
                        bad_ts: (kind == 4)
                            .then(|| BAD_TS[self.rng.below(BAD_TS.len() as u64) as usize]),
                        bad_email: (kind == 5)
                            .then(|| BAD_EMAIL[self.rng.below(BAD_EMAIL.len() as u64) as usize]),
                    };
                    self.tmp.clear();
                    push_record(&mut self.tmp, &m, &e, Form::Event, &brk);
                    self.wrap_tmp(line, &m, &e);
                }
            }
            6 => {
                let (m, e) = self.synthetic(&all_kinds);
                self.tmp.clear();
                self.not_json_message(&m, &e);
                let topic = event_topic(&m);
                let tmp = std::mem::take(&mut self.tmp);
                push_sns(line, &mut self.rng, topic, &tmp, e.ts + SECOND);
                self.tmp = tmp;
            }
            _ => return self.emit_lambda_with_bad_record(line),
        }
        self.acc.reject(kind);
        self.last = LineInfo {
            inputs: 1,
            rejected: 1,
            malformed: Some(MALFORMED_KINDS[kind]),
            ..LineInfo::default()
        };
    }

    /// Writes into `self.tmp` an SNS `Message` that is not JSON.
    fn not_json_message(&mut self, m: &Message, e: &SesEv) {
        match self.rng.below(3) {
            0 => {
                self.tmp.push_str("Delivery notification for ");
                model::push_address(&mut self.tmp, m.rcpt[0], 0);
            }
            1 => {
                push_record(&mut self.tmp, m, e, Form::Event, &Broken::default());
                let half = self.tmp.len() / 2;
                let mut cut = half;
                while !self.tmp.is_char_boundary(cut) {
                    cut -= 1;
                }
                self.tmp.truncate(cut);
            }
            _ => self.tmp.push_str(
                "<?xml version=\"1.0\"?><Notification><Type>Bounce</Type></Notification>",
            ),
        }
    }

    /// A Lambda SNS event with one or two good records and one bad one among them. The caller
    /// made sure the next event is an SES one.
    fn emit_lambda_with_bad_record(&mut self, line: &mut String) {
        let mut goods = [None, None];
        goods[0] = Some(self.pop());
        if self.rng.below(2) == 0 && self.next_is_ses() {
            goods[1] = Some(self.pop());
        }
        let good = goods.iter().flatten().count();
        let bad_at = self.rng.below(good as u64 + 1) as usize;
        push_lambda_open(line);
        let mut goods = goods.into_iter().flatten();
        for i in 0..=good {
            if i > 0 {
                line.push(',');
            }
            if i == bad_at {
                let (m, e) = self.synthetic(&[EventType::Open, EventType::Delivery]);
                self.tmp.clear();
                match self.rng.below(3) {
                    0 => self.not_json_message(&m, &e),
                    fault => {
                        let brk = Broken {
                            drop_message_id: fault == 1,
                            bad_ts: (fault == 2).then_some("2024-06-31T10:15:00.000Z"),
                            ..Broken::default()
                        };
                        push_record(&mut self.tmp, &m, &e, Form::Event, &brk);
                    }
                }
                let tmp = std::mem::take(&mut self.tmp);
                push_lambda_record(line, &mut self.rng, event_topic(&m), &tmp, self.now);
                self.tmp = tmp;
            } else {
                let q = goods.next().expect("counted");
                let Ev::Ses(e) = q.ev else {
                    unreachable!("checked before")
                };
                self.lambda_record(line, &e, q.arrival);
                self.accept_ses(&e, Form::Event);
            }
        }
        push_lambda_close(line);
        self.acc.reject(7);
        self.last = LineInfo {
            inputs: good as u32 + 1,
            accepted: good as u32,
            rejected: 1,
            malformed: Some(MALFORMED_KINDS[7]),
            ..LineInfo::default()
        };
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
