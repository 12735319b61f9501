//! Helpers of the AWS emulator tests: one deployment per test (its own prefix) on the shared
//! moto server, Lambda payloads read back from the stream, table dumps and query sets.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::process::Output;

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::KinesisEventResponse;
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::{Context, LambdaEvent};
use mailshot_aws::processor::Processor;
use mailshot_aws::{Aws, Names, lambda};
use mailshot_domain::Timestamp;
use mailshot_embedded::Reader;
use mailshot_projections::query::Query;
use serde_json::{Value, json};

/// The emulator's endpoint; fails the test (never skips) when it is not configured.
pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!(
            "AWS_ENDPOINT_URL is not set: the AWS tests need the moto server that \
             scripts/test.sh starts (run the tests through scripts/test.sh)"
        )
    })
}

/// A prefix no other test (or test run) uses.
pub fn unique_prefix(test: &str) -> String {
    format!("t{:08x}-{test}", fastrand::u32(..))
}

/// A deployment on the emulator: its runtime, clients and prefix.
pub struct Env {
    pub rt: tokio::runtime::Runtime,
    pub aws: Aws,
    pub prefix: String,
}

impl Env {
    /// Connects under a fresh prefix and runs `init` (one shard unless said otherwise).
    pub fn new(test: &str, shards: i32) -> Env {
        endpoint();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let prefix = unique_prefix(test);
        let aws = rt.block_on(Aws::connect(Names::new(&prefix)));
        aws.init(shards).expect("init");
        Env { rt, aws, prefix }
    }

    /// Calls the ingest Lambda handler with one event.
    pub fn lambda_ingest(&self, event: Value) -> Value {
        let out = self
            .rt
            .block_on(lambda::ingest_handler(
                &self.aws,
                LambdaEvent::new(event, Context::default()),
            ))
            .expect("ingest handler");
        serde_json::to_value(out).unwrap()
    }

    /// Calls the processor Lambda handler with one Kinesis event.
    pub fn lambda_process(&self, event: KinesisEvent) -> KinesisEventResponse {
        self.rt
            .block_on(lambda::processor_handler(
                &self.aws,
                LambdaEvent::new(event, Context::default()),
            ))
            .expect("processor handler")
    }

    /// Every record of the stream, read back with GetRecords from the start of each shard,
    /// as Lambda Kinesis events of at most `batch` records.
    pub fn read_events(&self, batch: i32) -> Vec<KinesisEvent> {
        let mut events = Vec::new();
        for shard in self.aws.shards().unwrap() {
            let mut iterator = self
                .rt
                .block_on(
                    self.aws
                        .kinesis
                        .get_shard_iterator()
                        .stream_name(self.aws.names.stream())
                        .shard_id(&shard)
                        .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
                        .send(),
                )
                .unwrap()
                .shard_iterator
                .unwrap();
            loop {
                let (event, next, caught_up) =
                    self.aws.get_event(&shard, &iterator, batch).unwrap();
                if event.records.is_empty() && caught_up {
                    break;
                }
                if !event.records.is_empty() {
                    events.push(event);
                }
                match next {
                    Some(n) => iterator = n,
                    None => break,
                }
            }
        }
        events
    }

    /// A processor for in-process use (test hooks).
    pub fn processor(&self) -> Processor {
        Processor::new(&self.aws)
    }

    /// Answers a query from the live generation at `now`.
    pub fn query(&self, tool: &str, args: &Value, now: Timestamp) -> Value {
        mailshot_aws::queries::run_query(&self.aws, &Query::from_tool(tool, args).unwrap(), now)
            .unwrap_or_else(|e| panic!("aws {tool} {args}: {e}"))
    }

    /// Every item of every projection table of a generation (test inspection uses Scan; the
    /// queries never do), keyed by table kind, without the `ver` bookkeeping attribute and
    /// the checkpoint items.
    pub fn dump(&self, generation: u64) -> BTreeMap<String, Vec<String>> {
        let tables = self.aws.names.tables(generation);
        let mut out = BTreeMap::new();
        for (kind, name) in [
            ("events", &tables.events),
            ("subscribers", &tables.subscribers),
            ("rollups", &tables.rollups),
            ("aux", &tables.aux),
        ] {
            let mut items = Vec::new();
            let mut start = None;
            loop {
                let page = self
                    .rt
                    .block_on(
                        self.aws
                            .ddb
                            .scan()
                            .table_name(name)
                            .set_exclusive_start_key(start.take())
                            .send(),
                    )
                    .unwrap();
                for item in page.items.unwrap_or_default() {
                    if matches!(item.get("pk"), Some(AttributeValue::S(p)) if p == "CKPT") {
                        continue;
                    }
                    let sorted: BTreeMap<String, String> = item
                        .into_iter()
                        .filter(|(k, _)| k != "ver")
                        .map(|(k, v)| (k, format!("{v:?}")))
                        .collect();
                    items.push(format!("{sorted:?}"));
                }
                match page.last_evaluated_key {
                    Some(k) if !k.is_empty() => start = Some(k),
                    _ => break,
                }
            }
            items.sort();
            out.insert(kind.to_string(), items);
        }
        out
    }

    /// `mailshot --backend aws --aws-prefix <prefix> args…`.
    pub fn cli(&self, args: &[&str]) -> Output {
        std::process::Command::new(crate::common::mailshot_bin())
            .arg("--backend")
            .arg("aws")
            .arg("--aws-prefix")
            .arg(&self.prefix)
            .args(args)
            .output()
            .expect("run mailshot")
    }

    /// Like [`Env::cli`], asserting success and parsing stdout as JSON.
    pub fn cli_json(&self, args: &[&str]) -> Value {
        crate::common::success_json(&format!("mailshot --backend aws {args:?}"), &self.cli(args))
    }
}

/// The embedded runtime's answer to a query over `data` at `now`.
pub fn embedded_query(reader: &Reader, tool: &str, args: &Value, now: Timestamp) -> Value {
    mailshot_embedded::queries::run_query(reader, &Query::from_tool(tool, args).unwrap(), now)
        .unwrap_or_else(|e| panic!("embedded {tool} {args}: {e}"))
}

/// A set of queries covering every tool, built from what the embedded store knows: stats
/// over several ranges and scopes, event lists (two pages each), subscribers, traces, the
/// suppressed list (paged), link stats, and the messages of some subscribers.
pub fn query_set(reader: &Reader, now: Timestamp) -> Vec<(String, Value)> {
    let mut set: Vec<(String, Value)> = Vec::new();
    let stats = "get_delivery_stats".to_string();
    set.push((stats.clone(), json!({})));
    set.push((
        stats.clone(),
        json!({"startDate": "2024-06-01", "endDate": "2024-06-30"}),
    ));
    set.push((
        stats.clone(),
        json!({"startDate": "2024-05-17", "endDate": "2024-07-09"}),
    ));
    set.push((stats.clone(), json!({"endDate": "2024-06-15"})));
    // Templates, sequences and emails from the template-less event lists.
    let all = embedded_query(reader, "get_delivery_stats", &json!({}), now);
    assert!(all["total"].as_i64().unwrap_or(0) > 0, "empty corpus");
    let mut emails = std::collections::BTreeSet::new();
    let mut templates = std::collections::BTreeSet::new();
    let mut sequences = std::collections::BTreeSet::new();
    let suppressed = embedded_query(reader, "list_suppressed", &json!({"limit": 1000}), now);
    for item in suppressed["items"].as_array().unwrap() {
        if emails.len() < 5 {
            emails.insert(item["email"].as_str().unwrap().to_string());
        }
    }
    // Subscribers seen in the history of the first log records.
    for offset in 0..400u64 {
        let Some(record) = reader.log.read_at(offset).unwrap() else {
            break;
        };
        if let Ok(input) = mailshot_domain::parse_input(&record.raw) {
            let pk = input.partition_key();
            if pk.contains('@') && emails.len() < 12 {
                emails.insert(pk);
            }
            if let mailshot_domain::InputBody::Ses(facts) = &input.body {
                for f in facts {
                    if templates.len() < 4 {
                        templates.insert(f.template_key.to_string());
                    }
                    if sequences.len() < 3 {
                        sequences.insert(f.sequence_id.to_string());
                    }
                }
            }
        }
    }
    for t in &templates {
        set.push((stats.clone(), json!({"templateKey": t})));
        set.push(("get_link_stats".into(), json!({"templateKey": t})));
        set.push((
            "get_template_events".into(),
            json!({"templateKey": t, "limit": 7}),
        ));
        set.push((
            "get_template_events".into(),
            json!({"templateKey": t, "eventType": "open", "startDate": "2024-06-01"}),
        ));
    }
    for q in &sequences {
        set.push((stats.clone(), json!({"sequenceId": q})));
        set.push((
            "get_sequence_events".into(),
            json!({"sequenceId": q, "limit": 5}),
        ));
        if let Some(t) = templates.iter().next() {
            set.push((stats.clone(), json!({"templateKey": t, "sequenceId": q})));
        }
    }
    set.push(("get_link_stats".into(), json!({})));
    // Messages of those subscribers: each with its recipients and their events.
    let mut messages = std::collections::BTreeSet::new();
    for e in &emails {
        let events = embedded_query(
            reader,
            "get_subscriber_events",
            &json!({"email": e, "limit": 5}),
            now,
        );
        for item in events["items"].as_array().unwrap() {
            messages.insert(item["sesMessageId"].as_str().unwrap().to_string());
        }
    }
    assert!(!messages.is_empty(), "no message among {emails:?}");
    for m in &messages {
        set.push(("get_message".into(), json!({"messageId": m})));
    }
    for e in &emails {
        set.push(("get_subscriber".into(), json!({"email": e})));
        set.push((
            "get_subscriber_events".into(),
            json!({"email": e, "limit": 3}),
        ));
        set.push((
            "get_subscriber_events".into(),
            json!({"email": e, "eventType": "delivery"}),
        ));
        set.push(("trace_subscriber".into(), json!({"email": e})));
    }
    set.push(("list_suppressed".into(), json!({"limit": 2})));
    set.push(("list_suppressed".into(), json!({"limit": 1000})));
    // Second pages, through the first pages' tokens.
    let mut follow = Vec::new();
    for (tool, args) in &set {
        if tool.ends_with("_events") || tool == "list_suppressed" {
            let answer = embedded_query(reader, tool, args, now);
            if let Some(token) = answer["nextToken"].as_str() {
                let mut next = args.clone();
                next["nextToken"] = json!(token);
                follow.push((tool.clone(), next));
            }
        }
    }
    set.extend(follow);
    set
}

/// Asserts that AWS answers every query of `set` exactly as the embedded runtime does.
pub fn assert_same_answers(env: &Env, reader: &Reader, set: &[(String, Value)], now: Timestamp) {
    for (tool, args) in set {
        let expected = embedded_query(reader, tool, args, now);
        let actual = env.query(tool, args, now);
        if tool == "trace_subscriber" {
            // ingestTime is the wall clock of each runtime's append.
            let strip = |mut v: Value| {
                for item in v["items"].as_array_mut().unwrap() {
                    item.as_object_mut().unwrap().remove("ingestTime");
                }
                v
            };
            assert_eq!(strip(actual), strip(expected), "{tool} {args}");
        } else {
            assert_eq!(actual, expected, "{tool} {args}");
        }
    }
}

/// The names of the tables that exist and start with `prefix`, sorted (every ListTables page).
pub fn tables_with_prefix(env: &Env, prefix: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let out = env
            .rt
            .block_on(
                env.aws
                    .ddb
                    .list_tables()
                    .set_exclusive_start_table_name(start.take())
                    .send(),
            )
            .unwrap();
        names.extend(
            out.table_names()
                .iter()
                .filter(|n| n.starts_with(prefix))
                .cloned(),
        );
        match out.last_evaluated_table_name {
            Some(last) => start = Some(last),
            None => break,
        }
    }
    names.sort();
    names
}
