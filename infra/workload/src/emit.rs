//! Emission: turning the next due event into an NDJSON line in one of the envelopes, and
//! scheduling the duplicates of lines already emitted.

use super::*;

impl Generator {
    pub(super) fn maybe_dup(&mut self, line: &str, single: Option<Span>, inputs: u32) {
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

    pub(super) fn emit_normal(&mut self, line: &mut String) {
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
    pub(super) fn lambda_record(&mut self, line: &mut String, e: &SesEv, arrival: i64) -> Span {
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
    pub(super) fn emit_lambda(&mut self, line: &mut String, e: SesEv, arrival: i64) {
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

    pub(super) fn emit_dup(&mut self, dup: Dup) -> String {
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
}
