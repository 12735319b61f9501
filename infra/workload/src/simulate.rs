//! The simulation: subscribers, messages and their SES events on a timeline, each given an
//! arrival time; and the ground truth recorded as events are emitted.

use std::cmp::Reverse;

use super::*;

impl Generator {
    pub(super) fn arrival(&mut self, ts: i64) -> i64 {
        if self.rng.ppm(self.cfg.late_ppm) {
            ts + self.rng.range(HOUR, 72 * HOUR)
        } else if self.rng.below(20) == 0 {
            ts + self.rng.range(MINUTE, 15 * MINUTE)
        } else {
            ts + self.rng.range(0, MINUTE)
        }
    }

    pub(super) fn push_pending(&mut self, arrival: i64, ev: Ev) {
        self.heap.push(Reverse(Pending {
            arrival,
            seq: self.seq,
            ev,
        }));
        self.seq += 1;
    }

    pub(super) fn schedule(&mut self, e: SesEv, arrival: Option<i64>) {
        let arrival = match arrival {
            Some(a) => a,
            None => self.arrival(e.ts),
        };
        self.msgs[e.msg as usize].refs += 1;
        self.push_pending(arrival, Ev::Ses(e));
    }

    pub(super) fn pick_subscriber(&mut self, at: i64) -> u32 {
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

    pub(super) fn open_delay(&mut self) -> i64 {
        match self.rng.weighted(&[40, 40, 20]) {
            0 => self.rng.range(5 * SECOND, HOUR),
            1 => self.rng.range(HOUR, DAY),
            _ => self.rng.range(DAY, 5 * DAY),
        }
    }

    pub(super) fn ev(&mut self, msg: u32, kind: EventType, rmask: u8, p: u8, ts: i64) -> SesEv {
        SesEv {
            msg,
            kind,
            rmask,
            p,
            ts,
            rnd: self.rng.fork(),
        }
    }

    pub(super) fn block(&mut self, sub: u32, ts: i64) {
        let b = &mut self.blocked_at[sub as usize];
        *b = (*b).min(ts);
    }

    pub(super) fn create_message(&mut self) {
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
    pub(super) fn delay_event(&mut self, msg: u32, bit: u8, t0: i64) -> i64 {
        let weights: [u32; 5] = DELAYS.map(|d| d.3);
        let kind = self.rng.weighted(&weights) as u8;
        let ts = t0 + self.rng.range(15 * MINUTE, 3 * HOUR);
        let e = self.ev(msg, EventType::DeliveryDelay, bit, kind, ts);
        self.schedule(e, None);
        ts
    }

    pub(super) fn create_app_event(&mut self) {
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

    pub(super) fn refill(&mut self) {
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

    pub(super) fn pop(&mut self) -> Pending {
        self.refill();
        let Reverse(p) = self.heap.pop().expect("refill leaves an event");
        self.now = self.now.max(p.arrival);
        p
    }

    pub(super) fn next_is_ses(&mut self) -> bool {
        self.refill();
        matches!(
            self.heap.peek(),
            Some(Reverse(Pending { ev: Ev::Ses(_), .. }))
        )
    }

    // ---- truth ------------------------------------------------------------------------------

    /// Records the facts of an emitted (new) SES record and releases its message.
    pub(super) fn accept_ses(&mut self, e: &SesEv, form: Form) {
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
}
