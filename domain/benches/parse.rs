//! Parse throughput: parse + normalise + identify over ~200k realistic NDJSON lines.
//!
//! Run with `cargo bench -p mailshot-domain --bench parse`. No harness: the lines are built
//! in memory from the fixtures (varied message ids, recipients and timestamps), then parsed
//! in a timed loop on one core; the best of a few passes is reported in inputs/s of this
//! thread's CPU time (robust when other jobs share the machine).
//!
//! A second case times one SES delivery event with 100,000 recipients (10% of them case
//! variants of another, which collapse into one fact): the recipient dedup must stay linear.
//! `cargo bench -p mailshot-domain --bench parse -- recipients` runs that case alone.

use std::hint::black_box;
use std::time::Instant;

use serde_json::{Value, json};

const LINES: usize = 200_000;

/// This thread's CPU time in seconds, from `/proc/thread-self/schedstat` (Linux), so the
/// figure is not diluted when other processes share the cores; else wall-clock time.
struct Clock {
    wall: Instant,
    cpu: Option<f64>,
}

fn thread_cpu_secs() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

impl Clock {
    fn start() -> Clock {
        Clock {
            wall: Instant::now(),
            cpu: thread_cpu_secs(),
        }
    }

    /// Seconds of CPU time spent by this thread since `start` (wall time as a fallback).
    fn elapsed(&self) -> f64 {
        match (self.cpu, thread_cpu_secs()) {
            (Some(a), Some(b)) => b - a,
            _ => self.wall.elapsed().as_secs_f64(),
        }
    }
}

const SES_FIXTURES: [&str; 11] = [
    include_str!("../tests/fixtures/ses-delivery.json"),
    include_str!("../tests/fixtures/ses-open.json"),
    include_str!("../tests/fixtures/ses-click.json"),
    include_str!("../tests/fixtures/ses-send.json"),
    include_str!("../tests/fixtures/ses-bounce-permanent.json"),
    include_str!("../tests/fixtures/ses-bounce-transient.json"),
    include_str!("../tests/fixtures/ses-complaint.json"),
    include_str!("../tests/fixtures/ses-delivery-delay.json"),
    include_str!("../tests/fixtures/ses-reject.json"),
    include_str!("../tests/fixtures/ses-rendering-failure.json"),
    include_str!("../tests/fixtures/ses-subscription.json"),
];
const SNS: &str = include_str!("../tests/fixtures/sns-envelope-delivery.json");
const LAMBDA_SNS: &str = include_str!("../tests/fixtures/lambda-sns-event-open.json");
const EVENTBRIDGE: &str = include_str!("../tests/fixtures/eventbridge-customer-created.json");

/// A tiny deterministic PRNG (xorshift), so runs are comparable.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn timestamp(rng: &mut Rng) -> String {
    format!(
        "2024-06-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        1 + rng.below(28),
        rng.below(24),
        rng.below(60),
        rng.below(60),
        rng.below(1000)
    )
}

/// One SES record with a fresh message id, recipient and timestamps.
fn ses_record(rng: &mut Rng, template: &Value) -> Value {
    let mut v = template.clone();
    let email = format!("user{}@example{}.net", rng.below(1_000_000), rng.below(50));
    let message_id = format!(
        "0100018f{:08x}-{:08x}-4c8e-4a57-9f21-7d0e8b5c3a91-000000",
        rng.next() as u32,
        rng.next() as u32
    );
    v["mail"]["messageId"] = json!(message_id);
    v["mail"]["timestamp"] = json!(timestamp(rng));
    v["mail"]["destination"] = json!([email]);
    for key in [
        "delivery",
        "open",
        "click",
        "bounce",
        "complaint",
        "deliveryDelay",
        "subscription",
    ] {
        if let Some(obj) = v.get_mut(key) {
            obj["timestamp"] = json!(timestamp(rng));
            if obj.get("recipients").is_some() {
                obj["recipients"] = json!([email]);
            }
            for list in [
                "bouncedRecipients",
                "complainedRecipients",
                "delayedRecipients",
            ] {
                if let Some(Value::Array(items)) = obj.get_mut(list) {
                    for item in items {
                        item["emailAddress"] = json!(email);
                    }
                }
            }
        }
    }
    v
}

fn build_lines() -> Vec<String> {
    let templates: Vec<Value> = SES_FIXTURES
        .iter()
        .map(|s| serde_json::from_str(s).unwrap())
        .collect();
    let sns: Value = serde_json::from_str(SNS).unwrap();
    let lambda: Value = serde_json::from_str(LAMBDA_SNS).unwrap();
    let eventbridge: Value = serde_json::from_str(EVENTBRIDGE).unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut lines = Vec::with_capacity(LINES);
    for i in 0..LINES {
        // Weighted like production traffic: mostly delivery/open/click/send records.
        let weights = [30u64, 25, 10, 20, 2, 1, 1, 1, 1, 1, 1];
        let mut pick = rng.below(weights.iter().sum());
        let mut t = 0;
        while pick >= weights[t] {
            pick -= weights[t];
            t += 1;
        }
        let record = ses_record(&mut rng, &templates[t]);
        let line = match i % 20 {
            // 60 % bare SES records (Firehose / raw delivery).
            0..=11 => record.to_string(),
            // 15 % SNS HTTP envelopes.
            12..=14 => {
                let mut env = sns.clone();
                env["MessageId"] = json!(format!("{:016x}", rng.next()));
                env["Message"] = json!(record.to_string());
                env.to_string()
            }
            // 10 % Lambda SNS events.
            15 | 16 => {
                let mut ev = lambda.clone();
                ev["Records"][0]["Sns"]["Message"] = json!(record.to_string());
                ev.to_string()
            }
            // 5 % SES through EventBridge.
            17 => json!({
                "version": "0", "id": format!("{:016x}", rng.next()), "detail-type": "Email Delivered",
                "source": "aws.ses", "account": "111122223333", "time": "2024-06-03T14:02:12Z",
                "region": "us-east-1", "resources": [], "detail": record,
            })
            .to_string(),
            // 10 % application events.
            _ => {
                let mut ev = eventbridge.clone();
                ev["id"] = json!(format!("{:08x}-6d4e-4b8a-a1f5-0c7e92d4b6e8", rng.next() as u32));
                ev["detail"]["email"] = json!(format!("Customer{}@Example.net", rng.below(1_000_000)));
                ev.to_string()
            }
        };
        lines.push(line);
    }
    lines
}

/// Recipients of the many-recipients case, and how many of them are distinct addresses.
const RECIPIENTS: usize = 100_000;
const DISTINCT_RECIPIENTS: usize = 90_000;

/// One SES delivery event listing [`RECIPIENTS`] recipients: the first [`DISTINCT_RECIPIENTS`]
/// distinct, the rest upper-case spellings of earlier ones (the same address once normalised).
fn many_recipients_line() -> String {
    let mut v: Value = serde_json::from_str(SES_FIXTURES[0]).unwrap();
    let recipients: Vec<String> = (0..RECIPIENTS)
        .map(|i| {
            let address = format!("user{}@example.net", i % DISTINCT_RECIPIENTS);
            if i < DISTINCT_RECIPIENTS {
                address
            } else {
                address.to_uppercase()
            }
        })
        .collect();
    v["mail"]["destination"] = json!(recipients);
    v["delivery"]["recipients"] = json!(recipients);
    v.to_string()
}

/// Parses the many-recipients event (best of 3 passes) and prints the time.
fn many_recipients() {
    let line = many_recipients_line();
    let mut best = f64::MAX;
    let mut facts = 0;
    for _ in 0..3 {
        let start = Clock::start();
        let inputs = mailshot_domain::parse_line(line.as_bytes());
        best = best.min(start.elapsed());
        facts = inputs
            .iter()
            .map(|r| {
                r.as_ref()
                    .expect("the benchmark event is valid")
                    .identities()
                    .len()
            })
            .sum();
        black_box(inputs);
    }
    assert_eq!(
        facts, DISTINCT_RECIPIENTS,
        "one fact per distinct recipient"
    );
    println!(
        "one SES event, {RECIPIENTS} recipients ({} bytes), {facts} facts: {:.3}s",
        line.len(),
        best
    );
}

fn main() {
    if std::env::args().any(|a| a == "recipients") {
        many_recipients();
        return;
    }
    many_recipients();
    let lines = build_lines();
    let bytes: usize = lines.iter().map(String::len).sum();
    println!(
        "built {} lines, {:.0} bytes/line on average",
        lines.len(),
        bytes as f64 / lines.len() as f64
    );
    let mut best = f64::MAX;
    let mut inputs = 0usize;
    for _ in 0..5 {
        let start = Clock::start();
        inputs = 0;
        for line in &lines {
            for result in mailshot_domain::parse_line(line.as_bytes()) {
                let input = result.expect("benchmark lines are valid");
                black_box(&input);
                inputs += 1;
            }
        }
        best = best.min(start.elapsed());
    }
    println!(
        "mixed: {inputs} inputs in {:.3}s: {:.0} inputs/s, {:.0} MB/s",
        best,
        inputs as f64 / best,
        bytes as f64 / best / 1e6
    );
    // Per shape, to see where the time goes.
    type IsShape = fn(&str) -> bool;
    let shapes: [(&str, IsShape); 5] = [
        ("bare SES record", |l| {
            !l.contains("\"Records\"") && !l.contains("\"Type\"") && !l.contains("\"detail-type\"")
        }),
        ("SNS notification", |l| {
            l.contains("\"Type\":\"Notification\"") && !l.starts_with("{\"Records\"")
        }),
        ("Lambda SNS event", |l| l.starts_with("{\"Records\"")),
        ("EventBridge aws.ses", |l| {
            l.contains("\"source\":\"aws.ses\"")
        }),
        ("EventBridge app", |l| {
            l.contains("\"source\":\"com.example.crm\"")
        }),
    ];
    for (name, is) in shapes {
        let subset: Vec<&String> = lines.iter().filter(|l| is(l)).collect();
        let mut best = f64::MAX;
        for _ in 0..5 {
            let start = Clock::start();
            for line in &subset {
                black_box(mailshot_domain::parse_line(line.as_bytes()));
            }
            best = best.min(start.elapsed());
        }
        println!(
            "  {name}: {} lines, {:.0} inputs/s",
            subset.len(),
            subset.len() as f64 / best
        );
    }
    let mut best = f64::MAX;
    for _ in 0..3 {
        let start = Clock::start();
        for line in &lines {
            black_box(serde_json::from_str::<Value>(line).unwrap());
        }
        best = best.min(start.elapsed());
    }
    println!(
        "reference, serde_json::Value only: {:.0} lines/s",
        lines.len() as f64 / best
    );
}
