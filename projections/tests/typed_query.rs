//! The typed query: the constructors a CLI calls build the same `Query`, and fail with the same
//! errors in the same order, as `Query::from_tool` on the equivalent JSON; `to_args` round
//! trips through `from_tool`.

use mailshot_domain::{Day, EventType};
use mailshot_projections::Partition;
use mailshot_projections::query::{
    DateRange, EventList, EventsQuery, Limit, Query, QueryError, StatsQuery, TOOLS,
};
use serde_json::{Value, json};

fn day(s: &str) -> Day {
    Day::parse(s).unwrap()
}

fn range(start: Option<&str>, end: Option<&str>) -> DateRange {
    DateRange::new(start.map(day), end.map(day)).unwrap()
}

/// The error's full text, or the query.
fn outcome(result: Result<Query, QueryError>) -> Result<Query, String> {
    result.map_err(|e| e.to_string())
}

fn err(result: Result<Query, QueryError>) -> String {
    result.expect_err("an error").to_string()
}

#[test]
fn constructors_build_the_expected_queries() {
    assert_eq!(
        Query::events(
            EventList::Subscriber,
            " Ada <A@X.io> ",
            Some("OPEN"),
            Some("2024-06-01"),
            Some("2024-06-30"),
            Some(5),
            Some("tok"),
        )
        .unwrap(),
        Query::Events(EventsQuery {
            partition: Partition::Subscriber("a@x.io".into()),
            event_type: Some(EventType::Open),
            range: range(Some("2024-06-01"), Some("2024-06-30")),
            limit: Limit::new(5).unwrap(),
            next_token: Some("tok".into()),
        })
    );
    assert_eq!(
        Query::events(EventList::Template, "", None, None, None, None, None).unwrap(),
        Query::Events(EventsQuery {
            partition: Partition::Template(String::new()),
            event_type: None,
            range: DateRange::ALL,
            limit: Limit::DEFAULT,
            next_token: None,
        })
    );
    assert_eq!(
        Query::events(
            EventList::Sequence,
            "onboarding",
            Some("Rendering Failure"),
            None,
            Some("2024-01-01"),
            Some(1000),
            None,
        )
        .unwrap(),
        Query::Events(EventsQuery {
            partition: Partition::Sequence("onboarding".into()),
            event_type: Some(EventType::RenderingFailure),
            range: range(None, Some("2024-01-01")),
            limit: Limit::new(1000).unwrap(),
            next_token: None,
        })
    );
    assert_eq!(
        Query::delivery_stats(Some("2024-06-01"), None, Some("welcome"), None).unwrap(),
        Query::DeliveryStats(StatsQuery {
            range: range(Some("2024-06-01"), None),
            template_key: Some("welcome".into()),
            sequence_id: None,
        })
    );
    assert_eq!(
        Query::subscriber("A@X.IO").unwrap(),
        Query::Subscriber {
            email: "a@x.io".into()
        }
    );
    assert_eq!(
        Query::trace(" a@x.io").unwrap(),
        Query::Trace {
            email: "a@x.io".into()
        }
    );
    assert_eq!(
        Query::suppressed(None, Some("t")).unwrap(),
        Query::Suppressed {
            limit: Limit::DEFAULT,
            next_token: Some("t".into())
        }
    );
    assert_eq!(
        Query::link_stats(None, None, Some("2024-06-01")).unwrap(),
        Query::LinkStats {
            template_key: None,
            range: range(None, Some("2024-06-01")),
        }
    );
    assert_eq!(
        Query::message(" 010f-Ab ").unwrap(),
        Query::Message {
            message_id: " 010f-Ab ".into()
        }
    );
    assert_eq!(Limit::DEFAULT.get(), 20);
    assert_eq!(Limit::default(), Limit::DEFAULT);
    assert_eq!(Limit::or_default(Some(7)).unwrap().get(), 7);
    assert_eq!(DateRange::default(), DateRange::ALL);
    let r = range(Some("2024-06-01"), Some("2024-06-01"));
    assert_eq!(
        (r.start(), r.end()),
        (Some(day("2024-06-01")), Some(day("2024-06-01")))
    );
}

#[test]
fn from_tool_builds_the_expected_queries() {
    assert_eq!(
        Query::from_tool(
            "get_subscriber_events",
            &json!({"email": "A@x.io", "eventType": "click", "limit": 3, "nextToken": null})
        )
        .unwrap(),
        Query::Events(EventsQuery {
            partition: Partition::Subscriber("a@x.io".into()),
            event_type: Some(EventType::Click),
            range: DateRange::ALL,
            limit: Limit::new(3).unwrap(),
            next_token: None,
        })
    );
    assert_eq!(
        Query::from_tool("get_delivery_stats", &Value::Null).unwrap(),
        Query::DeliveryStats(StatsQuery {
            range: DateRange::ALL,
            template_key: None,
            sequence_id: None,
        })
    );
    assert_eq!(
        Query::from_tool(
            "get_link_stats",
            &json!({"templateKey": "w", "startDate": "2024-01-01"})
        )
        .unwrap(),
        Query::LinkStats {
            template_key: Some("w".into()),
            range: range(Some("2024-01-01"), None),
        }
    );
    // Extra arguments are ignored, as before.
    assert_eq!(
        Query::from_tool("get_subscriber", &json!({"email": "a@x.io", "limit": "x"})).unwrap(),
        Query::Subscriber {
            email: "a@x.io".into()
        }
    );
}

/// Values tried for each argument: absent, good, and bad in each way a typed value can be.
const EMAILS: [&str; 4] = ["a@x.io", " Ada <A@X.io> ", "nope", ""];
const KEYS: [&str; 2] = ["welcome", ""];
const EVENT_TYPES: [Option<&str>; 4] = [None, Some("OPEN"), Some("delivery_delay"), Some("opened")];
const STARTS: [Option<&str>; 4] = [
    None,
    Some("2024-06-01"),
    Some("2024-13-01"),
    Some("2024-06-31"),
];
const ENDS: [Option<&str>; 4] = [None, Some("2024-06-30"), Some("2024-05-31"), Some("x")];
const LIMITS: [Option<u64>; 6] = [
    None,
    Some(1),
    Some(1000),
    Some(0),
    Some(1001),
    Some(u64::MAX),
];
const TOKENS: [Option<&str>; 2] = [None, Some("zz")];

/// Every combination of the values above gives the same query or the same error text either
/// way; so the checks, their texts and their order agree.
#[test]
fn constructors_agree_with_from_tool() {
    let (mut ok, mut bad) = (0, 0);
    let mut check = |typed: Result<Query, QueryError>, tool: &str, args: Value| {
        let typed = outcome(typed);
        assert_eq!(
            typed,
            outcome(Query::from_tool(tool, &args)),
            "{tool} {args}"
        );
        if typed.is_ok() { ok += 1 } else { bad += 1 }
    };
    for list in EventList::ALL {
        let keys: &[&str] = if list == EventList::Subscriber {
            &EMAILS
        } else {
            &KEYS
        };
        for key in keys {
            for event_type in EVENT_TYPES {
                for start in STARTS {
                    for end in ENDS {
                        for limit in LIMITS {
                            for token in TOKENS {
                                let mut args = json!({"eventType": event_type,
                                    "startDate": start, "endDate": end, "limit": limit,
                                    "nextToken": token});
                                args[list.key_name()] = json!(key);
                                let typed =
                                    Query::events(list, key, event_type, start, end, limit, token);
                                check(typed, list.tool(), args);
                            }
                        }
                    }
                }
            }
        }
    }
    for start in STARTS {
        for end in ENDS {
            for template in [None, Some("welcome")] {
                for sequence in [None, Some("onboarding")] {
                    check(
                        Query::delivery_stats(start, end, template, sequence),
                        "get_delivery_stats",
                        json!({"startDate": start, "endDate": end, "templateKey": template,
                               "sequenceId": sequence}),
                    );
                }
                check(
                    Query::link_stats(template, start, end),
                    "get_link_stats",
                    json!({"templateKey": template, "startDate": start, "endDate": end}),
                );
            }
        }
    }
    for limit in LIMITS {
        for token in TOKENS {
            check(
                Query::suppressed(limit, token),
                "list_suppressed",
                json!({"limit": limit, "nextToken": token}),
            );
        }
    }
    for email in EMAILS {
        check(
            Query::subscriber(email),
            "get_subscriber",
            json!({"email": email}),
        );
        check(
            Query::trace(email),
            "trace_subscriber",
            json!({"email": email}),
        );
    }
    for id in ["010f018fd5a3b7c1-5e2a9c3d", "", "#x", " "] {
        check(
            Query::message(id),
            "get_message",
            json!({ "messageId": id }),
        );
    }
    assert!(ok > 100 && bad > 1000, "{ok} good, {bad} bad");
}

#[test]
fn errors_are_the_contract_texts() {
    let events = |key, event_type, start, end, limit| {
        err(Query::events(
            EventList::Subscriber,
            key,
            event_type,
            start,
            end,
            limit,
            None,
        ))
    };
    assert_eq!(
        events("nope", None, None, None, None),
        "invalid argument `email`: \"nope\" is not an email address"
    );
    assert_eq!(
        err(Query::subscriber("a@")),
        "invalid argument `email`: \"a@\" is not an email address"
    );
    assert_eq!(
        err(Query::trace("")),
        "invalid argument `email`: \"\" is not an email address"
    );
    assert_eq!(
        err(Query::message("")),
        "invalid argument `messageId`: must not be empty"
    );
    assert_eq!(
        err(Query::from_tool("get_message", &json!({}))),
        "invalid argument `messageId`: is required"
    );
    assert_eq!(
        err(Query::from_tool("get_message", &json!({"messageId": 7}))),
        "invalid argument `messageId`: must be a string"
    );
    assert_eq!(
        events("a@x.io", Some("opened"), None, None, None),
        "invalid argument `eventType`: unknown event type \"opened\"; expected one of send, \
         delivery, open, click, bounce, complaint, reject, renderingFailure, deliveryDelay, \
         subscription"
    );
    assert_eq!(
        events("a@x.io", None, Some("2024-13-01"), None, None),
        "invalid argument `startDate`: \"2024-13-01\" is not a date (YYYY-MM-DD)"
    );
    assert_eq!(
        DateRange::parse(None, Some("2024-02-30"))
            .unwrap_err()
            .to_string(),
        "invalid argument `endDate`: \"2024-02-30\" is not a date (YYYY-MM-DD)"
    );
    assert_eq!(
        err(Query::delivery_stats(
            Some("2024-06-02"),
            Some("2024-06-01"),
            None,
            None
        )),
        "invalid argument `startDate`: 2024-06-02 is after endDate 2024-06-01"
    );
    assert_eq!(
        DateRange::new(Some(day("2024-06-02")), Some(day("2024-06-01")))
            .unwrap_err()
            .to_string(),
        "invalid argument `startDate`: 2024-06-02 is after endDate 2024-06-01"
    );
    assert_eq!(
        events("a@x.io", None, None, None, Some(0)),
        "invalid argument `limit`: must be an integer from 1 to 1000, got 0"
    );
    assert_eq!(
        err(Query::suppressed(Some(1001), None)),
        "invalid argument `limit`: must be an integer from 1 to 1000, got 1001"
    );
    assert_eq!(
        Limit::new(u64::MAX).unwrap_err().to_string(),
        "invalid argument `limit`: must be an integer from 1 to 1000, got 18446744073709551615"
    );
    // Errors only JSON can make.
    let from_tool = |tool: &str, args: Value| err(Query::from_tool(tool, &args));
    assert_eq!(
        from_tool("x", json!({})),
        "invalid argument `tool`: unknown tool \"x\""
    );
    assert_eq!(
        from_tool("x", json!([])),
        "invalid argument `arguments`: must be a JSON object"
    );
    assert_eq!(
        from_tool("get_subscriber", json!("a@x.io")),
        "invalid argument `arguments`: must be a JSON object"
    );
    assert_eq!(
        from_tool("get_template_events", json!({})),
        "invalid argument `templateKey`: is required"
    );
    assert_eq!(
        from_tool("get_delivery_stats", json!({"sequenceId": 5})),
        "invalid argument `sequenceId`: must be a string"
    );
    assert_eq!(
        from_tool("list_suppressed", json!({"limit": "5"})),
        "invalid argument `limit`: must be an integer from 1 to 1000, got \"5\""
    );
    assert_eq!(
        from_tool("list_suppressed", json!({"limit": 2.0})),
        "invalid argument `limit`: must be an integer from 1 to 1000, got 2.0"
    );
    assert_eq!(
        from_tool("list_suppressed", json!({"nextToken": false})),
        "invalid argument `nextToken`: must be a string"
    );
}

#[test]
fn the_first_bad_argument_in_check_order_is_named() {
    let events = |key, event_type, start, end, limit| {
        let e = err(Query::events(
            EventList::Subscriber,
            key,
            event_type,
            start,
            end,
            limit,
            None,
        ));
        e[..e.find(':').unwrap()].to_string()
    };
    let bad = Some("bad");
    assert_eq!(
        events("nope", bad, bad, bad, Some(0)),
        "invalid argument `email`"
    );
    assert_eq!(
        events("a@x.io", bad, bad, bad, Some(0)),
        "invalid argument `eventType`"
    );
    assert_eq!(
        events("a@x.io", None, bad, bad, Some(0)),
        "invalid argument `startDate`"
    );
    assert_eq!(
        events("a@x.io", None, None, bad, Some(0)),
        "invalid argument `endDate`"
    );
    assert_eq!(
        events(
            "a@x.io",
            None,
            Some("2024-06-02"),
            Some("2024-06-01"),
            Some(0)
        ),
        "invalid argument `startDate`"
    );
    // A JSON type error of a later argument does not win over a bad earlier value.
    assert_eq!(
        err(Query::from_tool(
            "get_subscriber_events",
            &json!({"email": "a@x.io", "startDate": "bad", "endDate": 5})
        )),
        "invalid argument `startDate`: \"bad\" is not a date (YYYY-MM-DD)"
    );
    assert_eq!(
        err(Query::from_tool(
            "get_delivery_stats",
            &json!({"templateKey": 5, "sequenceId": 5, "endDate": "x"})
        )),
        "invalid argument `endDate`: \"x\" is not a date (YYYY-MM-DD)"
    );
    assert_eq!(
        err(Query::from_tool("nope", &json!(1))),
        "invalid argument `arguments`: must be a JSON object"
    );
}

#[test]
fn to_args_round_trips_through_from_tool() {
    let queries = [
        Query::events(
            EventList::Subscriber,
            "Ada <A@X.io>",
            Some("DELIVERY_DELAY"),
            Some("2024-06-01"),
            Some("2024-06-01"),
            Some(1),
            Some("0123456789abcdef"),
        ),
        Query::events(EventList::Template, "", None, None, None, None, None),
        Query::events(
            EventList::Sequence,
            "s",
            Some("send"),
            None,
            Some("9999-12-31"),
            None,
            None,
        ),
        Query::delivery_stats(None, None, None, None),
        Query::delivery_stats(Some("0001-01-01"), Some("2024-02-29"), Some("t"), Some("s")),
        Query::subscriber("a@x.io"),
        Query::trace("B@X.IO"),
        Query::suppressed(Some(1000), Some("t")),
        Query::suppressed(None, None),
        Query::link_stats(Some("welcome"), Some("2024-06-01"), None),
        Query::link_stats(None, None, None),
        Query::message("010f018fd5a3b7c1-5e2a9c3d"),
    ];
    for q in queries {
        let q = q.unwrap();
        assert_eq!(
            Query::from_tool(q.tool(), &q.to_args()).unwrap(),
            q,
            "{q:?}"
        );
    }
    assert_eq!(
        Query::events(
            EventList::Subscriber,
            "A@x.io",
            Some("OPEN"),
            None,
            Some("2024-06-30"),
            None,
            Some("t")
        )
        .unwrap()
        .to_args(),
        json!({"email": "a@x.io", "eventType": "open", "startDate": null,
               "endDate": "2024-06-30", "limit": 20, "nextToken": "t"})
    );
    assert_eq!(
        Query::delivery_stats(Some("2024-06-01"), None, Some("a/b"), None)
            .unwrap()
            .to_args(),
        json!({"startDate": "2024-06-01", "endDate": null, "templateKey": "a/b",
               "sequenceId": null})
    );
    assert_eq!(
        Query::suppressed(None, Some("t")).unwrap().to_args(),
        json!({"limit": 20, "nextToken": "t"})
    );
}

#[test]
fn every_tool_has_its_query() {
    let minimal = |tool: &str| match tool {
        "get_template_events" => json!({"templateKey": "k"}),
        "get_sequence_events" => json!({"sequenceId": "k"}),
        "get_subscriber_events" | "get_subscriber" | "trace_subscriber" => {
            json!({"email": "a@x.io"})
        }
        "get_message" => json!({"messageId": "m"}),
        _ => json!({}),
    };
    for tool in TOOLS {
        assert_eq!(Query::from_tool(tool, &minimal(tool)).unwrap().tool(), tool);
    }
    for list in EventList::ALL {
        assert_eq!(EventList::from_name(list.name()), Some(list));
        assert_eq!(EventList::from_tool(list.tool()), Some(list));
        let q = Query::events(list, "a@x.io", None, None, None, None, None).unwrap();
        let Query::Events(events) = &q else {
            panic!("{q:?}")
        };
        assert_eq!((events.list(), events.key()), (list, "a@x.io"));
    }
    assert_eq!(EventList::from_name("campaign"), None);
    assert_eq!(EventList::from_tool("get_subscriber"), None);
}
