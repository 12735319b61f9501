//! The workload generator: determinism, exact line counts, streaming, the shapes of its lines,
//! and a truth that agrees with an independent reading of the lines (docs/design.md §3, §5).

use std::collections::{BTreeMap, HashMap, HashSet};

use mailshot_domain::{Day, EventType, FactId, InputBody, Timestamp, normalise_email};
use mailshot_workload::{DayStats, Generator, LineInfo, Scope, Truth, WorkloadConfig};
use serde_json::{Map, Value};

fn lines(cfg: WorkloadConfig) -> Vec<String> {
    Generator::new(cfg).collect()
}

#[test]
fn same_seed_gives_identical_lines_and_another_seed_does_not() {
    let a = lines(WorkloadConfig::new(1_500, 11));
    let b = lines(WorkloadConfig::new(1_500, 11));
    let c = lines(WorkloadConfig::new(1_500, 12));
    assert_eq!(a, b);
    assert_ne!(a, c);
    let same = a.iter().zip(&c).filter(|(x, y)| x == y).count();
    assert!(same < 10, "{same} identical lines across seeds");

    let mut g1 = Generator::new(WorkloadConfig::new(1_500, 11));
    let mut g2 = Generator::new(WorkloadConfig::new(1_500, 11));
    g1.by_ref().for_each(drop);
    g2.by_ref().for_each(drop);
    assert_eq!(g1.truth(), g2.truth());
}

#[test]
fn emits_exactly_the_requested_number_of_lines() {
    for n in [0u64, 1, 2, 7, 333] {
        let mut g = Generator::new(WorkloadConfig::new(n, 5));
        assert_eq!(g.size_hint(), (n as usize, Some(n as usize)));
        let mut count = 0;
        for line in g.by_ref() {
            assert!(!line.is_empty() && !line.contains('\n') && !line.ends_with('\r'));
            count += 1;
        }
        assert_eq!(count, n);
        assert_eq!(g.next(), None);
        let t = g.truth();
        assert_eq!(t.lines, n);
        assert_eq!(t.inputs, t.accepted + t.duplicates + t.rejected);
        assert!(t.inputs >= n);
    }
}

#[test]
fn streams_two_hundred_thousand_lines_in_bounded_memory() {
    let n = 200_000;
    let mut g = Generator::new(WorkloadConfig::new(n, 99));
    let (mut bytes, mut count) = (0usize, 0u64);
    let mut peak = [0usize; 2];
    while let Some(line) = g.next() {
        bytes += line.len();
        peak[(count * 2 / n) as usize] = peak[(count * 2 / n) as usize].max(g.backlog());
        count += 1;
    }
    assert_eq!(count, n);
    assert!(bytes > 200 * n as usize, "{bytes} bytes");
    // What the generator holds is a few simulated days of traffic, not the output: it does not
    // grow with the number of lines emitted.
    assert!(
        peak[0] < 40_000 && peak[1] < 40_000,
        "backlog peaked at {peak:?}"
    );
    assert!(peak[1] < peak[0] * 3 / 2, "backlog keeps growing: {peak:?}");
    let t = g.truth();
    assert_eq!(t.lines, n);
    assert_eq!(t.inputs, t.accepted + t.duplicates + t.rejected);
}

// ---- shapes ---------------------------------------------------------------------------------

fn obj<'a>(v: &'a Value, key: &str) -> &'a Map<String, Value> {
    v.get(key)
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("`{key}` is not an object in {v}"))
}

fn string<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("`{key}` is not a string in {v}"))
}

fn assert_ses_id(id: &str) {
    let parts: Vec<&str> = id.split('-').collect();
    assert_eq!(parts.len(), 7, "{id}");
    assert_eq!(parts[0].len(), 16, "{id}");
    assert_eq!(parts[6], "000000", "{id}");
    assert!(
        id.bytes().all(|c| c.is_ascii_hexdigit() || c == b'-'),
        "{id}"
    );
}

fn assert_uuid(id: &str) {
    let lens: Vec<usize> = id.split('-').map(str::len).collect();
    assert_eq!(lens, [8, 4, 4, 4, 12], "{id}");
}

fn assert_ses_record(rec: &Value, identity_notification_allowed: bool) {
    let kind = match (rec.get("eventType"), rec.get("notificationType")) {
        (Some(t), None) => t.as_str().unwrap(),
        (None, Some(t)) => {
            assert!(identity_notification_allowed);
            let t = t.as_str().unwrap();
            assert!(matches!(t, "Bounce" | "Complaint" | "Delivery"), "{t}");
            assert!(
                rec["mail"].get("tags").is_none(),
                "identity notifications have no tags"
            );
            t
        }
        _ => panic!("not an SES record: {rec}"),
    };
    let t = EventType::from_ses_name(kind).unwrap_or_else(|| panic!("type {kind}"));
    let mail = &rec["mail"];
    assert_ses_id(string(mail, "messageId"));
    assert!(Timestamp::parse(string(mail, "timestamp")).is_some());
    assert_eq!(string(mail, "sendingAccountId"), "111122223333");
    assert!(!mail["destination"].as_array().unwrap().is_empty());
    let key = match t {
        EventType::RenderingFailure => "failure",
        other => {
            let camel = other.camel_name();
            if camel == "send" { "send" } else { camel }
        }
    };
    let detail = obj(rec, key);
    if let Some(ts) = detail.get("timestamp") {
        assert!(Timestamp::parse(ts.as_str().unwrap()).is_some());
    }
    if rec.get("eventType").is_some() {
        let tags = obj(mail, "tags");
        assert!(
            tags.values()
                .all(|v| v.as_array().is_some_and(|a| a.len() == 1))
        );
        if let Some(tk) = tags.get("templateKey") {
            assert!(
                !tk[0].as_str().unwrap().contains('/'),
                "tag values cannot hold `/`"
            );
        }
    }
}

fn assert_sns_fields(sns: &Value, lambda: bool) {
    assert_eq!(string(sns, "Type"), "Notification");
    assert_uuid(string(sns, "MessageId"));
    assert!(string(sns, "TopicArn").starts_with("arn:aws:sns:us-east-1:111122223333:"));
    assert!(Timestamp::parse(string(sns, "Timestamp")).is_some());
    if lambda {
        assert!(sns["Subject"].is_null());
        assert!(string(sns, "SigningCertUrl").starts_with("https://sns.us-east-1.amazonaws.com/"));
        assert!(sns.get("SigningCertURL").is_none());
    } else {
        assert!(sns.get("Subject").is_none());
        assert!(string(sns, "SigningCertURL").starts_with("https://sns.us-east-1.amazonaws.com/"));
    }
}

/// Checks a line of a well-formed kind; returns a short name of its shape.
fn assert_shape(v: &Value) -> &'static str {
    let o = v.as_object().expect("an object");
    if o.contains_key("eventType") || o.contains_key("notificationType") {
        assert_ses_record(v, true);
        return "ses";
    }
    if o.contains_key("Records") {
        let records = v["Records"].as_array().unwrap();
        assert!((1..=3).contains(&records.len()));
        for r in records {
            assert_eq!(string(r, "EventSource"), "aws:sns");
            let sns = &r["Sns"];
            assert_sns_fields(sns, true);
            assert_ses_record(&serde_json::from_str(string(sns, "Message")).unwrap(), true);
        }
        return "lambda-sns";
    }
    if o.contains_key("Type") {
        assert_sns_fields(v, false);
        assert_ses_record(&serde_json::from_str(string(v, "Message")).unwrap(), true);
        return "sns";
    }
    assert_eq!(string(v, "version"), "0");
    assert_uuid(string(v, "id"));
    let time = string(v, "time");
    assert!(
        time.ends_with('Z') && Timestamp::parse(time).is_some(),
        "{time}"
    );
    let detail = &v["detail"];
    match string(v, "source") {
        "aws.ses" => {
            assert!(string(v, "detail-type").starts_with("Email "));
            assert_ses_record(detail, false);
            "eventbridge-ses"
        }
        "com.example.shop" => {
            let dt = string(v, "detail-type");
            assert!(
                [
                    "customer.created",
                    "customer.first_sale",
                    "cart.abandoned",
                    "order.shipped"
                ]
                .contains(&dt)
            );
            assert!(normalise_email(string(detail, "email")).is_some());
            assert!(string(detail, "customerId").starts_with("cus_"));
            assert!(!string(detail, "firstName").is_empty());
            "app"
        }
        other => panic!("source {other}"),
    }
}

#[test]
fn well_formed_lines_have_the_accepted_shapes_and_malformed_ones_are_broken() {
    let mut cfg = WorkloadConfig::new(4_000, 3);
    cfg.malformed_ppm = 30_000;
    let mut g = Generator::new(cfg);
    let mut shapes: BTreeMap<&str, u64> = BTreeMap::new();
    let mut faults: BTreeMap<&str, u64> = BTreeMap::new();
    while let Some(line) = g.next() {
        let info = g.last_line_info();
        let parsed: Result<Value, _> = serde_json::from_str(&line);
        match info.malformed {
            None => {
                let v = parsed.unwrap_or_else(|e| panic!("{e}: {line}"));
                *shapes.entry(assert_shape(&v)).or_default() += 1;
            }
            Some(kind) => {
                *faults.entry(kind).or_default() += 1;
                match kind {
                    "truncated" => assert!(parsed.is_err(), "{line}"),
                    "not_an_object" => assert!(!parsed.unwrap().is_object()),
                    _ => assert!(parsed.unwrap().is_object(), "{line}"),
                }
            }
        }
    }
    assert_eq!(shapes.len(), 5, "{shapes:?}");
    assert_eq!(faults.len(), 8, "{faults:?}");
    let total: u64 = shapes.values().sum();
    let share = |k: &str| shapes[k] as f64 / total as f64;
    assert!(share("ses") > 0.2 && share("sns") > 0.25 && share("lambda-sns") > 0.12);
    assert!(share("app") > 0.02 && share("eventbridge-ses") > 0.02);
}

// ---- an independent reading of the lines ------------------------------------------------------

struct Fact {
    id: FactId,
    kind: EventType,
    ts: Timestamp,
    email: String,
    message_id: String,
    template: String,
    sequence: String,
    suppresses: Option<&'static str>,
}

enum Parsed {
    Ses(Vec<Fact>),
    App(FactId, String),
}

fn ts_at(v: &Value, path: &[&str]) -> Result<Timestamp, String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p).ok_or_else(|| format!("missing {path:?}"))?;
    }
    cur.as_str()
        .and_then(Timestamp::parse)
        .ok_or_else(|| format!("bad {path:?}"))
}

fn ses_facts(rec: &Value) -> Result<Vec<Fact>, String> {
    let name = rec
        .get("eventType")
        .or_else(|| rec.get("notificationType"))
        .and_then(Value::as_str)
        .ok_or("no type")?;
    let kind = EventType::from_ses_name(name).ok_or("unknown type")?;
    let mail = rec.get("mail").filter(|m| m.is_object()).ok_or("no mail")?;
    let message_id = mail
        .get("messageId")
        .and_then(Value::as_str)
        .ok_or("no messageId")?;
    let ts = match kind {
        EventType::Send | EventType::Reject | EventType::RenderingFailure => {
            ts_at(mail, &["timestamp"])?
        }
        other => ts_at(rec, &[other.camel_name(), "timestamp"])?,
    };
    let addresses = |v: Option<&Value>, field: Option<&str>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|x| match field {
                        Some(f) => x[f].as_str().unwrap_or("").to_owned(),
                        None => x.as_str().unwrap_or("").to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let recipients = match kind {
        EventType::Bounce => {
            addresses(rec["bounce"].get("bouncedRecipients"), Some("emailAddress"))
        }
        EventType::Complaint => addresses(
            rec["complaint"].get("complainedRecipients"),
            Some("emailAddress"),
        ),
        EventType::DeliveryDelay => addresses(
            rec["deliveryDelay"].get("delayedRecipients"),
            Some("emailAddress"),
        ),
        EventType::Delivery if rec["delivery"].get("recipients").is_some() => {
            addresses(rec["delivery"].get("recipients"), None)
        }
        _ => addresses(mail.get("destination"), None),
    };
    if recipients.is_empty() {
        return Err("no recipients".into());
    }
    let header = |name: &str| -> Option<String> {
        mail.get("headers")?
            .as_array()?
            .iter()
            .find(|h| h["name"] == name)
            .and_then(|h| h["value"].as_str().map(str::to_owned))
    };
    let tag = |name: &str| -> Option<String> {
        mail.get("tags")?
            .get(name)?
            .get(0)?
            .as_str()
            .map(str::to_owned)
    };
    let template = header("X-Template-Key")
        .or_else(|| tag("templateKey").map(|t| t.replace("--", "/")))
        .unwrap_or_default();
    let sequence = header("X-Sequence-Id")
        .or_else(|| tag("sequenceId"))
        .unwrap_or_else(|| "fire_and_forget".into());
    let link = (kind == EventType::Click).then(|| rec["click"]["link"].as_str().unwrap_or(""));
    let suppresses = match kind {
        EventType::Bounce if rec["bounce"]["bounceType"] == "Permanent" => Some("bounce"),
        EventType::Complaint
            if rec["complaint"].get("complaintFeedbackType") != Some(&Value::from("not-spam")) =>
        {
            Some("complaint")
        }
        _ => None,
    };
    recipients
        .into_iter()
        .map(|r| {
            let email = normalise_email(&r).ok_or_else(|| format!("bad email {r}"))?;
            Ok(Fact {
                id: FactId::of_ses_fact(message_id, kind, ts, &email, link),
                kind,
                ts,
                email,
                message_id: message_id.to_owned(),
                template: template.clone(),
                sequence: sequence.clone(),
                suppresses,
            })
        })
        .collect()
}

fn parse_embedded(message: Option<&Value>) -> Result<Parsed, String> {
    let text = message.and_then(Value::as_str).ok_or("no Message")?;
    let inner: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    ses_facts(&inner).map(Parsed::Ses)
}

/// docs/design.md §3, read independently of the generator: one result per input of the line.
fn reference_parse(line: &str) -> Vec<Result<Parsed, String>> {
    let Ok(v) = serde_json::from_str::<Value>(line) else {
        return vec![Err("not JSON".into())];
    };
    let Some(o) = v.as_object() else {
        return vec![Err("not an object".into())];
    };
    if let Some(records) = o.get("Records").and_then(Value::as_array) {
        return records
            .iter()
            .map(|r| parse_embedded(r["Sns"].get("Message")))
            .collect();
    }
    if o.get("Type").and_then(Value::as_str) == Some("Notification") {
        return vec![parse_embedded(o.get("Message"))];
    }
    if o.contains_key("eventType") || o.contains_key("notificationType") {
        return vec![ses_facts(&v).map(Parsed::Ses)];
    }
    if o.contains_key("detail-type") {
        let ok = ["id", "detail-type", "source"]
            .iter()
            .all(|k| o.get(*k).is_some_and(Value::is_string))
            && ts_at(&v, &["time"]).is_ok()
            && o.get("detail").is_some_and(Value::is_object);
        if !ok {
            return vec![Err("bad EventBridge event".into())];
        }
        if v["source"] == "aws.ses" {
            return vec![ses_facts(&v["detail"]).map(Parsed::Ses)];
        }
        let id = v["id"].as_str().unwrap();
        return vec![Ok(Parsed::App(
            FactId::of_event_id(id),
            string(&v, "detail-type").into(),
        ))];
    }
    vec![Err("unknown shape".into())]
}

/// The crate's own parser, read into the same shape as the reference.
fn crate_parse(line: &str) -> Vec<Result<Parsed, String>> {
    mailshot_domain::parse_line(line.as_bytes())
        .into_iter()
        .map(|r| match r {
            Err(e) => Err(e.to_string()),
            Ok(input) => Ok(match input.body {
                InputBody::Ses(facts) => Parsed::Ses(
                    facts
                        .into_iter()
                        .map(|f| Fact {
                            id: f.id,
                            kind: f.event_type,
                            ts: f.timestamp,
                            suppresses: f.suppresses().then_some(
                                if f.event_type == EventType::Bounce {
                                    "bounce"
                                } else {
                                    "complaint"
                                },
                            ),
                            email: f.email,
                            message_id: f.ses_message_id.into_owned(),
                            template: f.template_key.into_owned(),
                            sequence: f.sequence_id.into_owned(),
                        })
                        .collect(),
                ),
                InputBody::App(app) => Parsed::App(app.id, app.detail_type.into_owned()),
                InputBody::System(_) => panic!("the workload writes no system events: {line}"),
            }),
        })
        .collect()
}

/// Folds a reading of every line into a [`Truth`], checking each line's [`LineInfo`] on the
/// way.
fn reference_truth(
    cfg: WorkloadConfig,
    reference_parse: fn(&str) -> Vec<Result<Parsed, String>>,
) -> (Truth, Truth) {
    let mut g = Generator::new(cfg);
    let mut seen: HashSet<FactId> = HashSet::new();
    let mut t = Truth::default();
    let mut first_open: HashMap<(String, String), (Timestamp, String, String)> = HashMap::new();
    let mut first_click: HashMap<(String, String), (Timestamp, String, String)> = HashMap::new();
    let mut suppressed: BTreeMap<String, (Timestamp, &'static str)> = BTreeMap::new();
    let mut no = 0;
    while let Some(line) = g.next() {
        no += 1;
        let mut info = LineInfo::default();
        for input in reference_parse(&line) {
            info.inputs += 1;
            let facts = match input {
                Err(_) => {
                    info.rejected += 1;
                    continue;
                }
                Ok(Parsed::App(id, kind)) => {
                    if seen.insert(id) {
                        info.accepted += 1;
                        t.app_events += 1;
                        *t.app_events_by_type.entry(kind).or_default() += 1;
                    } else {
                        info.duplicates += 1;
                    }
                    continue;
                }
                Ok(Parsed::Ses(facts)) => facts,
            };
            let new: Vec<Fact> = facts.into_iter().filter(|f| seen.insert(f.id)).collect();
            if new.is_empty() {
                info.duplicates += 1;
                continue;
            }
            info.accepted += 1;
            for f in new {
                let day = f.ts.day();
                for scope in [
                    Scope::All,
                    Scope::Template(f.template.clone()),
                    Scope::Sequence(f.sequence.clone()),
                ] {
                    t.rollups.entry((scope, day)).or_default().counts.0[f.kind.slot()] += 1;
                }
                t.facts.0[f.kind.slot()] += 1;
                *t.facts_by_subscriber.entry(f.email.clone()).or_default() += 1;
                let firsts = match f.kind {
                    EventType::Open => Some(&mut first_open),
                    EventType::Click => Some(&mut first_click),
                    _ => None,
                };
                if let Some(firsts) = firsts {
                    let cell = firsts
                        .entry((f.message_id.clone(), f.email.clone()))
                        .or_insert((f.ts, f.template.clone(), f.sequence.clone()));
                    if f.ts < cell.0 {
                        *cell = (f.ts, f.template.clone(), f.sequence.clone());
                    }
                }
                if let Some(reason) = f.suppresses {
                    let cell = suppressed.entry(f.email.clone()).or_insert((f.ts, reason));
                    assert!(
                        f.ts != cell.0 || reason == cell.1,
                        "tied causes for {}",
                        f.email
                    );
                    if f.ts < cell.0 {
                        *cell = (f.ts, reason);
                    }
                }
                if f.kind == EventType::Subscription {
                    let cell = t.unsubscribed.entry(f.email.clone()).or_insert(f.ts);
                    *cell = (*cell).min(f.ts);
                }
            }
        }
        let expected = g.last_line_info();
        assert_eq!(
            (info.inputs, info.accepted, info.duplicates, info.rejected),
            (
                expected.inputs,
                expected.accepted,
                expected.duplicates,
                expected.rejected
            ),
            "line {no} ({:?}): {line}",
            expected.malformed
        );
        t.inputs += u64::from(info.inputs);
        t.accepted += u64::from(info.accepted);
        t.duplicates += u64::from(info.duplicates);
        t.rejected += u64::from(info.rejected);
        t.lines += 1;
    }
    for (click, firsts) in [(false, first_open), (true, first_click)] {
        for (ts, template, sequence) in firsts.into_values() {
            for scope in [
                Scope::All,
                Scope::Template(template.clone()),
                Scope::Sequence(sequence.clone()),
            ] {
                let cell: &mut DayStats = t.rollups.entry((scope, ts.day())).or_default();
                if click {
                    cell.unique_clicks += 1;
                } else {
                    cell.unique_opens += 1;
                }
            }
        }
    }
    t.suppressed = suppressed
        .into_iter()
        .map(|(email, (at, reason))| (email, mailshot_workload::Suppression { reason, at }))
        .collect();
    let mut generated = g.truth().clone();
    generated.rejected_by_kind.clear();
    (generated, t)
}

fn assert_truths_agree(cfg: WorkloadConfig) -> Truth {
    assert_truths_agree_with(cfg, reference_parse)
}

fn assert_truths_agree_with(
    cfg: WorkloadConfig,
    parse: fn(&str) -> Vec<Result<Parsed, String>>,
) -> Truth {
    let (generated, reference) = reference_truth(cfg, parse);
    assert_eq!(
        (
            generated.lines,
            generated.inputs,
            generated.accepted,
            generated.duplicates,
            generated.rejected
        ),
        (
            reference.lines,
            reference.inputs,
            reference.accepted,
            reference.duplicates,
            reference.rejected
        )
    );
    assert_eq!(generated.facts, reference.facts);
    assert_eq!(generated.app_events_by_type, reference.app_events_by_type);
    assert_eq!(generated.suppressed, reference.suppressed);
    assert_eq!(generated.unsubscribed, reference.unsubscribed);
    assert_eq!(generated.facts_by_subscriber, reference.facts_by_subscriber);
    for (key, cell) in &reference.rollups {
        assert_eq!(generated.rollups.get(key), Some(cell), "{key:?}");
    }
    assert_eq!(generated.rollups.len(), reference.rollups.len());
    assert_eq!(generated, reference);
    generated
}

#[test]
fn truth_agrees_with_an_independent_reading_of_the_lines() {
    let t = assert_truths_agree(WorkloadConfig::new(6_000, 2024));
    assert!(t.duplicates > 0 && t.rejected > 0 && t.app_events > 0);
    assert!(!t.suppressed.is_empty());
}

#[test]
fn truth_agrees_under_heavy_duplication_lateness_and_faults() {
    let mut cfg = WorkloadConfig::new(4_000, 77);
    cfg.days = 2;
    cfg.subscribers = 60;
    cfg.duplicate_ppm = 150_000;
    cfg.malformed_ppm = 60_000;
    cfg.late_ppm = 200_000;
    let t = assert_truths_agree(cfg);
    assert!(
        t.duplicates > 400 && t.rejected > 150,
        "{} {}",
        t.duplicates,
        t.rejected
    );
    assert!(t.unique_opens() > 0 && t.unique_clicks() > 0);
}

#[test]
fn truth_agrees_with_the_crate_parser() {
    assert_truths_agree_with(WorkloadConfig::new(4_000, 31), crate_parse);
    let mut cfg = WorkloadConfig::new(3_000, 32);
    cfg.days = 2;
    cfg.subscribers = 60;
    cfg.duplicate_ppm = 150_000;
    cfg.malformed_ppm = 80_000;
    cfg.late_ppm = 200_000;
    assert_truths_agree_with(cfg, crate_parse);
}

// ---- the truth on its own ----------------------------------------------------------------------

#[test]
fn truth_is_self_consistent_and_realistic() {
    let mut g = Generator::new(WorkloadConfig::new(20_000, 8));
    g.by_ref().for_each(drop);
    let t = g.truth();
    assert_eq!(t.inputs, t.accepted + t.duplicates + t.rejected);
    assert_eq!(t.rejected, t.rejected_by_kind.values().sum::<u64>());
    assert_eq!(t.app_events, t.app_events_by_type.values().sum::<u64>());
    assert_eq!(t.facts.total(), t.facts_by_subscriber.values().sum::<u64>());

    // Every fact is in exactly one template and one sequence; days add up to the total.
    let all = t.stats(&Scope::All, None, None);
    assert_eq!(all.counts, t.facts);
    let mut by_template = [0u64; 10];
    for c in t.by_template().values() {
        for (i, n) in c.0.iter().enumerate() {
            by_template[i] += n;
        }
    }
    assert_eq!(by_template, t.facts.0);
    let by_sequence: u64 = t.by_sequence().values().map(|c| c.total()).sum();
    assert_eq!(by_sequence, t.facts.total());
    let days = t.by_day(&Scope::All);
    assert_eq!(days.len(), 30, "traffic spans the configured days");
    assert_eq!(days.keys().next(), Some(&Day::parse("2024-06-01").unwrap()));
    let per_day: u64 = t.facts_by_day(EventType::Send).values().sum();
    assert_eq!(per_day, t.count(EventType::Send));
    let mid = t.stats(
        &Scope::All,
        Day::parse("2024-06-10"),
        Day::parse("2024-06-19"),
    );
    assert!(mid.counts.total() > 0 && mid.counts.total() < all.counts.total());

    // Templates: some keys hold `/`, some facts have none.
    let templates = t.by_template();
    assert!(templates.keys().any(|k| k.contains('/')));
    assert!(templates.contains_key(""));
    assert!(t.by_sequence().contains_key("fire_and_forget"));

    // Realistic proportions.
    let send = t.count(EventType::Send) as f64;
    let rate = |k: EventType| t.count(k) as f64 / send;
    assert!(
        (0.90..0.99).contains(&rate(EventType::Delivery)),
        "{}",
        rate(EventType::Delivery)
    );
    assert!((0.02..0.07).contains(&rate(EventType::Bounce)));
    assert!((0.6..1.1).contains(&rate(EventType::Open)));
    assert!((0.08..0.3).contains(&rate(EventType::Click)));
    assert!(t.unique_opens() <= t.count(EventType::Open));
    assert!(t.unique_clicks() <= t.count(EventType::Click));
    let unique_open_rate = t.unique_opens() as f64 / t.count(EventType::Delivery) as f64;
    assert!(
        (0.35..0.55).contains(&unique_open_rate),
        "{unique_open_rate}"
    );
    assert!(t.count(EventType::Subscription) > 0 && t.count(EventType::DeliveryDelay) > 0);
    assert!(t.count(EventType::Reject) > 0 && t.count(EventType::RenderingFailure) > 0);
    let lines = t.lines as f64;
    assert!((0.02..0.045).contains(&(t.duplicates as f64 / lines)));
    assert!((0.002..0.01).contains(&(t.rejected as f64 / lines)));
    assert!((0.035..0.07).contains(&(t.app_events as f64 / lines)));
    assert!(
        t.suppressed
            .values()
            .all(|s| s.reason == "bounce" || s.reason == "complaint")
    );
    assert!(
        t.suppressed
            .keys()
            .all(|e| normalise_email(e).as_deref() == Some(e.as_str()))
    );
}
