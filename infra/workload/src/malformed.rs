//! Malformed lines of every kind the ingest must reject (bad JSON, missing fields, bad
//! timestamps and addresses, unknown shapes), each recorded in the truth with its kind.

use super::*;

impl Generator {
    /// A message that exists only in one malformed line.
    pub(super) fn synthetic(&mut self, kinds: &[EventType]) -> (Message, SesEv) {
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
    pub(super) fn wrap_tmp(&mut self, line: &mut String, m: &Message, e: &SesEv) {
        let arrival = e.ts + self.rng.range(0, MINUTE);
        match self.rng.below(3) {
            0 => line.push_str(&self.tmp),
            1 => push_sns(line, &mut self.rng, event_topic(m), &self.tmp, arrival),
            _ => push_eventbridge_ses(line, &mut self.rng, m, e.kind, e.ts, &self.tmp),
        }
    }

    pub(super) fn emit_malformed(&mut self, line: &mut String) {
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
    pub(super) fn not_json_message(&mut self, m: &Message, e: &SesEv) {
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
    pub(super) fn emit_lambda_with_bad_record(&mut self, line: &mut String) {
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
