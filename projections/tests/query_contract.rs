//! The query contract's JSON, pinned: every answer and every error of `query::run` for a table
//! of arguments, against a fake reader that echoes what it was asked into what it answers, and
//! the store reads each query made. The expected text is `tests/query_contract.golden`; run
//! with `MAILSHOT_BLESS=1` to rewrite it after an intended change (and review the diff).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt::Write as _;

use mailshot_domain::Timestamp;
use mailshot_domain::log::Offset;
use mailshot_projections::query::{self, EventList, Query};
use mailshot_projections::rollups::{Counts, Level, SLOTS};
use mailshot_projections::{
    EventKey, EventRow, EventScan, Execution, LinkCount, Page, Projection, ProjectionReader, Row,
    RowKey, Scope, Subscriber, SuppressedEntry, SuppressionCause, Table,
};
use serde_json::{Value, json};

/// A reader that logs every read and answers with rows made from the read's arguments.
#[derive(Default)]
struct Fake {
    reads: RefCell<Vec<String>>,
}

impl Fake {
    fn log(&self, read: String) {
        self.reads.borrow_mut().push(read);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn suppressed(email: &str, removed: bool) -> Subscriber {
    let mut sub = Subscriber::new(email);
    sub.suppression_causes.push(SuppressionCause {
        at_ms: 1_717_200_000_000,
        event_id: "e1".into(),
        reason: "bounce".into(),
        bounce_type: Some("Permanent".into()),
        ses_message_id: "m1".into(),
        offset: 7,
    });
    if removed {
        sub.suppression_removed = Some((1_717_300_000_000, "e2".into(), "manual".into()));
    }
    sub
}

impl ProjectionReader for Fake {
    type Error = Infallible;

    fn scan_events(&self, scan: &EventScan<'_>) -> Result<Page<EventRow>, Infallible> {
        self.log(format!("scan_events {scan:?}"));
        let row = EventRow {
            email: format!("{:?}", scan.partition),
            event_type: scan.event_type.unwrap_or("send").to_string(),
            template_key: scan.sort_from.clone(),
            sequence_id: scan.sort_to.clone(),
            subject: Some(format!("limit {}", scan.limit)),
            timestamp: "2024-06-01T00:00:00.000Z".into(),
            ses_message_id: scan.after.map_or_else(|| "-".into(), hex),
            link_url: None,
            user_agent: Some("ua".into()),
            bounce_type: None,
            bounce_sub_type: None,
            diagnostic_code: None,
            feedback_type: None,
            ttl: scan.now.as_secs(),
            sort_key: "EVT#internal".into(),
        };
        Ok(Page {
            items: vec![row],
            next: Some(b"p1".to_vec()),
        })
    }

    fn event(&self, key: &EventKey) -> Result<Option<EventRow>, Infallible> {
        self.log(format!("event {} {}", key.email, key.sort_key));
        // b's event has expired; a's open row is missing.
        if key.sort_key.contains("#open#") {
            return Ok(None);
        }
        let ttl = if key.email == "b@x.io" {
            NOW.as_secs()
        } else {
            NOW.as_secs() + 1
        };
        Ok(Some(EventRow {
            email: key.email.clone(),
            event_type: key.sort_key.split('#').nth(2).unwrap_or("?").to_string(),
            template_key: "welcome".into(),
            sequence_id: "onboarding".into(),
            subject: None,
            timestamp: key.sort_key.split('#').nth(1).unwrap_or("?").to_string(),
            ses_message_id: "m1".into(),
            link_url: None,
            user_agent: None,
            bounce_type: None,
            bounce_sub_type: None,
            diagnostic_code: None,
            feedback_type: None,
            ttl,
            sort_key: key.sort_key.clone(),
        }))
    }

    fn sum_counts(
        &self,
        scope: &Scope,
        level: Level,
        from: i32,
        to: i32,
    ) -> Result<Counts, Infallible> {
        self.log(format!("sum_counts {scope:?} {level:?} {from}..={to}"));
        let n = i64::from(to - from + 1) * (level as i64 + 1);
        let mut counts = [0; SLOTS];
        for (i, c) in counts.iter_mut().enumerate() {
            *c = n * (i as i64 % 4 + 1);
        }
        Ok(Counts(counts))
    }

    fn subscriber(&self, email: &str) -> Result<Option<Subscriber>, Infallible> {
        self.log(format!("subscriber {email}"));
        if email != "a@x.io" {
            return Ok(None);
        }
        let mut sub = suppressed(email, false);
        sub.first_name = Some("Ada".into());
        sub.attributes = json!({"plan": "pro"});
        sub.created_at = Some("2024-01-01T00:00:00.000Z".into());
        sub.executions = BTreeMap::from([(
            "arn:1".to_string(),
            Execution {
                sequence_id: "onboarding".into(),
                started_at: "2024-01-02T00:00:00.000Z".into(),
                status: "RUNNING".into(),
                stopped_at: None,
            },
        )]);
        Ok(Some(sub))
    }

    fn suppressed(
        &self,
        limit: usize,
        after: Option<&[u8]>,
    ) -> Result<Page<SuppressedEntry>, Infallible> {
        self.log(format!("suppressed {limit} after {:?}", after.map(hex)));
        Ok(Page {
            items: vec![suppressed("b@x.io", false), suppressed("c@x.io", true)],
            next: Some(b"s2".to_vec()),
        })
    }

    fn history(&self, _: &str) -> Result<Vec<Offset>, Infallible> {
        unreachable!("no projection query reads the history")
    }

    fn get_row(&self, _: Table, _: RowKey<'_>) -> Result<Option<Vec<u8>>, Infallible> {
        unreachable!("no query reads one generic row")
    }

    /// Message rows (the layout of the messages projection): partition `m1` has three rows
    /// over two pages, any other none.
    fn scan_rows(
        &self,
        table: Table,
        partition: &str,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Page<Row>, Infallible> {
        self.log(format!(
            "scan_rows {table} {partition} after {:?} limit {limit}",
            after.map(hex)
        ));
        if partition != "m1" {
            return Ok(Page {
                items: vec![],
                next: None,
            });
        }
        let row = |email: &str, sort_key: &str| {
            let mut sort = email.as_bytes().to_vec();
            sort.push(0);
            mailshot_projections::sort_key::push_sort_key(&mut sort, sort_key);
            let mut value = 1_717_200_000_000i64.to_be_bytes().to_vec();
            value.extend_from_slice(&7u16.to_be_bytes());
            value.extend_from_slice(b"welcomeonboarding");
            Row { sort, value }
        };
        Ok(match after {
            None => {
                let items = vec![
                    row("a@x.io", "EVT#2024-06-01T00:00:00.000Z#send#00000001"),
                    row("a@x.io", "EVT#2024-06-01T00:05:00.000Z#open#00000002"),
                ];
                let next = Some(items[1].sort.clone());
                Page { items, next }
            }
            Some(_) => Page {
                items: vec![
                    row("a@x.io", "EVT#2024-06-01T00:07:00.000Z#click#00000003"),
                    row("b@x.io", "EVT#2024-06-01T00:00:00.000Z#send#00000004"),
                ],
                next: None,
            },
        })
    }

    fn link_counts(
        &self,
        template_key: Option<&str>,
        from_day: i32,
        to_day: i32,
    ) -> Result<Vec<LinkCount>, Infallible> {
        self.log(format!(
            "link_counts {template_key:?} {from_day}..={to_day}"
        ));
        let link = |url: &str, template: &str, clicks, unique_clicks| LinkCount {
            url: url.into(),
            template_key: template.into(),
            clicks,
            unique_clicks,
        };
        Ok(vec![
            link("https://b", "welcome", 3, 2),
            link("https://z", "news", 0, 0),
            link("https://a", "welcome", 3, 1),
            link("https://c", "news", 5, 5),
            link("https://d", "news", 3, 3),
            link("https://e", "news", 0, 1),
        ])
    }

    fn checkpoint(&self, _: Projection) -> Result<Option<Offset>, Infallible> {
        unreachable!("no query reads checkpoints")
    }
}

const NOW: Timestamp = Timestamp(1_720_000_000_000);

/// Runs one query and describes it: the call, the reads, the answer or the error.
fn describe(out: &mut String, tool: &str, args: &Value) {
    let reader = Fake::default();
    let result = query::run(&reader, tool, args, NOW);
    writeln!(out, "{tool} {args}").unwrap();
    for read in reader.reads.borrow().iter() {
        writeln!(out, "  read {read}").unwrap();
    }
    match result {
        Ok(answer) => writeln!(out, "  => {}", serde_json::to_string(&answer).unwrap()),
        Err(e) => writeln!(out, "  => error {e:?}: {e}"),
    }
    .unwrap();
}

/// The `nextToken` a first page of `tool` with `args` answers.
fn next_token(tool: &str, args: &Value) -> String {
    let answer = query::run(&Fake::default(), tool, args, NOW).unwrap();
    answer["nextToken"].as_str().unwrap().to_string()
}

fn cases() -> Vec<(&'static str, Value)> {
    let sub_token = next_token("get_subscriber_events", &json!({"email": "a@x.io"}));
    let tpl_token = next_token("get_template_events", &json!({"templateKey": "welcome"}));
    let sup_token = next_token("list_suppressed", &json!({}));
    let upper = sub_token.to_uppercase();
    vec![
        // get_message: rows over two pages; a missing event row and an expired one left out.
        ("get_message", json!({"messageId": "m1"})),
        ("get_message", json!({"messageId": "m2"})),
        ("get_message", json!({"messageId": ""})),
        ("get_message", json!({"messageId": 1})),
        ("get_message", json!({})),
        // Tools and arguments.
        ("no_such_tool", json!({})),
        ("no_such_tool", json!(5)),
        ("trace_subscriber", json!({"email": "a@x.io"})),
        ("trace_subscriber", json!({})),
        ("get_delivery_stats", json!([])),
        ("get_subscriber", json!("a@x.io")),
        ("list_suppressed", json!(true)),
        // get_subscriber_events
        ("get_subscriber_events", json!({"email": " Ada <A@X.io> "})),
        ("get_subscriber_events", json!(null)),
        ("get_subscriber_events", json!({})),
        ("get_subscriber_events", json!({"email": null})),
        ("get_subscriber_events", json!({"email": 5})),
        ("get_subscriber_events", json!({"email": "nope"})),
        (
            "get_subscriber_events",
            json!({"email": "a@x.io", "eventType": "OPEN", "startDate": "2024-06-01",
                   "endDate": "2024-06-30", "limit": 5}),
        ),
        (
            "get_subscriber_events",
            json!({"email": "a@x.io", "eventType": "Rendering Failure", "limit": 1000,
                   "nextToken": sub_token}),
        ),
        (
            "get_subscriber_events",
            json!({"email": "A@x.io", "nextToken": upper}),
        ),
        (
            "get_subscriber_events",
            json!({"email": "b@x.io", "nextToken": sub_token}),
        ),
        (
            "get_subscriber_events",
            json!({"email": "a@x.io", "nextToken": sup_token}),
        ),
        (
            "get_subscriber_events",
            json!({"email": "a@x.io", "nextToken": "zz"}),
        ),
        (
            "get_subscriber_events",
            json!({"email": "a@x.io", "nextToken": 5}),
        ),
        (
            "get_subscriber_events",
            json!({"email": "a@x.io", "eventType": "opened"}),
        ),
        (
            "get_subscriber_events",
            json!({"email": "a@x.io", "eventType": 5}),
        ),
        (
            "get_subscriber_events",
            json!({"email": "a@x.io", "startDate": "2024-13-01"}),
        ),
        (
            "get_subscriber_events",
            json!({"email": "a@x.io", "startDate": 20240101}),
        ),
        (
            "get_subscriber_events",
            json!({"email": "a@x.io", "endDate": "2024-02-30"}),
        ),
        (
            "get_subscriber_events",
            json!({"email": "a@x.io", "startDate": "2024-06-02", "endDate": "2024-06-01"}),
        ),
        (
            "get_subscriber_events",
            json!({"email": "a@x.io", "limit": 0}),
        ),
        (
            "get_subscriber_events",
            json!({"email": "a@x.io", "limit": 1001}),
        ),
        (
            "get_subscriber_events",
            json!({"email": "a@x.io", "limit": -1}),
        ),
        (
            "get_subscriber_events",
            json!({"email": "a@x.io", "limit": 1.5}),
        ),
        (
            "get_subscriber_events",
            json!({"email": "a@x.io", "limit": "5"}),
        ),
        (
            "get_subscriber_events",
            json!({"email": "a@x.io", "limit": null}),
        ),
        // Two bad arguments: which one is named.
        (
            "get_subscriber_events",
            json!({"email": "nope", "eventType": "opened"}),
        ),
        (
            "get_subscriber_events",
            json!({"email": "a@x.io", "eventType": "opened", "startDate": "x"}),
        ),
        (
            "get_subscriber_events",
            json!({"email": "a@x.io", "startDate": "x", "endDate": 5}),
        ),
        (
            "get_subscriber_events",
            json!({"email": "a@x.io", "endDate": "x", "limit": 0}),
        ),
        (
            "get_subscriber_events",
            json!({"email": "a@x.io", "startDate": "2024-06-02", "endDate": "2024-06-01",
                   "limit": 0}),
        ),
        (
            "get_subscriber_events",
            json!({"email": "a@x.io", "limit": 0, "nextToken": 5}),
        ),
        (
            "get_subscriber_events",
            json!({"email": "a@x.io", "limit": 0, "nextToken": "zz"}),
        ),
        // get_template_events, get_sequence_events
        ("get_template_events", json!({"templateKey": "welcome"})),
        ("get_template_events", json!({"templateKey": ""})),
        (
            "get_template_events",
            json!({"templateKey": "welcome", "nextToken": tpl_token, "eventType": "click"}),
        ),
        (
            "get_template_events",
            json!({"templateKey": "other", "nextToken": tpl_token}),
        ),
        (
            "get_sequence_events",
            json!({"sequenceId": "welcome", "nextToken": tpl_token}),
        ),
        ("get_template_events", json!({})),
        ("get_template_events", json!({"email": "a@x.io"})),
        ("get_template_events", json!({"templateKey": 5})),
        (
            "get_sequence_events",
            json!({"sequenceId": "onboarding", "startDate": "2024-01-01",
                   "eventType": "DELIVERY_DELAY"}),
        ),
        ("get_sequence_events", json!({"sequenceId": null})),
        // get_delivery_stats
        ("get_delivery_stats", json!({})),
        ("get_delivery_stats", json!(null)),
        ("get_delivery_stats", json!({"templateKey": "welcome"})),
        ("get_delivery_stats", json!({"sequenceId": "onboarding"})),
        (
            "get_delivery_stats",
            json!({"templateKey": "welcome", "sequenceId": "onboarding"}),
        ),
        (
            "get_delivery_stats",
            json!({"startDate": "2024-06-01", "endDate": "2024-06-01"}),
        ),
        (
            "get_delivery_stats",
            json!({"startDate": "2023-12-15", "endDate": "2025-02-10", "templateKey": null}),
        ),
        ("get_delivery_stats", json!({"endDate": "2024-03-01"})),
        ("get_delivery_stats", json!({"startDate": "2024-03-01"})),
        (
            "get_delivery_stats",
            json!({"startDate": "2024-06-02", "endDate": "2024-06-01"}),
        ),
        ("get_delivery_stats", json!({"templateKey": 5})),
        (
            "get_delivery_stats",
            json!({"templateKey": 5, "startDate": "bad"}),
        ),
        (
            "get_delivery_stats",
            json!({"templateKey": 5, "sequenceId": 5}),
        ),
        ("get_delivery_stats", json!({"sequenceId": []})),
        // get_subscriber
        ("get_subscriber", json!({"email": "a@x.io"})),
        ("get_subscriber", json!({"email": "Ada <A@X.IO>"})),
        ("get_subscriber", json!({"email": "nobody@x.io"})),
        ("get_subscriber", json!({"email": 5})),
        ("get_subscriber", json!({})),
        ("get_subscriber", json!({"email": "a@"})),
        // list_suppressed
        ("list_suppressed", json!({})),
        ("list_suppressed", json!(null)),
        (
            "list_suppressed",
            json!({"limit": 2, "nextToken": sup_token}),
        ),
        ("list_suppressed", json!({"nextToken": sub_token})),
        ("list_suppressed", json!({"nextToken": 5})),
        ("list_suppressed", json!({"limit": 0, "nextToken": "zz"})),
        ("list_suppressed", json!({"limit": 1000})),
        ("list_suppressed", json!({"limit": 1001})),
        // get_link_stats
        ("get_link_stats", json!({})),
        ("get_link_stats", json!(null)),
        (
            "get_link_stats",
            json!({"templateKey": "welcome", "startDate": "2024-06-01"}),
        ),
        ("get_link_stats", json!({"endDate": "2024-06-01"})),
        ("get_link_stats", json!({"templateKey": 5})),
        (
            "get_link_stats",
            json!({"templateKey": 5, "startDate": "bad"}),
        ),
        (
            "get_link_stats",
            json!({"startDate": "2024-06-02", "endDate": "2024-06-01"}),
        ),
    ]
}

#[test]
fn answers_and_errors_are_as_pinned() {
    let mut out = String::new();
    for (tool, args) in cases() {
        describe(&mut out, tool, &args);
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/query_contract.golden");
    if std::env::var_os("MAILSHOT_BLESS").is_some() {
        std::fs::write(path, &out).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap();
    for (i, (got, want)) in out.lines().zip(expected.lines()).enumerate() {
        assert_eq!(got, want, "line {} of {path} differs", i + 1);
    }
    assert_eq!(out.lines().count(), expected.lines().count(), "line count");
}

#[test]
fn typed_queries_answer_as_tool_calls_do() {
    let token = next_token("get_template_events", &json!({"templateKey": "welcome"}));
    let typed = Query::events(
        EventList::Template,
        "welcome",
        Some("click"),
        Some("2024-06-01"),
        None,
        Some(3),
        Some(&token),
    )
    .unwrap();
    let (a, b) = (Fake::default(), Fake::default());
    assert_eq!(
        query::answer(&a, &typed, NOW).unwrap(),
        query::run(&b, typed.tool(), &typed.to_args(), NOW).unwrap()
    );
    assert_eq!(a.reads, b.reads);
    let wrong = Query::events(
        EventList::Sequence,
        "welcome",
        None,
        None,
        None,
        None,
        Some(&token),
    );
    assert_eq!(
        query::answer(&a, &wrong.unwrap(), NOW)
            .unwrap_err()
            .to_string(),
        "invalid argument `nextToken`: not a token returned by this query"
    );
    let trace = Query::trace("a@x.io").unwrap();
    let reader = Fake::default();
    assert_eq!(
        query::answer(&reader, &trace, NOW).unwrap_err().to_string(),
        "invalid argument `tool`: trace_subscriber is answered from the log \
         (mailshot_replay::trace), not from the projections"
    );
    assert!(reader.reads.borrow().is_empty());
}
