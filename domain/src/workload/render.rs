//! Writing records and envelopes as compact JSON text, shaped like the fixtures.

use super::catalog::{
    APP_TYPES, BOUNCES, CLICK_AGENTS, DELAYS, FEEDBACK, OPEN_AGENTS, SEQUENCES, Slot, TOPICS,
};
use super::json::{
    push_escaped, push_hex, push_padded, push_signature, push_ses_id, push_ts, push_ts_secs,
    push_u64, push_uuid,
};
use super::model::{
    AppEv, Broken, Form, Message, Mode, SesEv, person, push_address, push_bare_address,
    push_customer_id,
};
use super::rng::Rng;
use crate::EventType;

const ACCOUNT: &str = "111122223333";
const SIGNING_CERT: &str =
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem";

fn config_set(m: &Message) -> &'static str {
    if m.template().marketing { "marketing-prod" } else { "txn-prod" }
}

/// The SNS topic a message's events are published to.
pub(crate) fn event_topic(m: &Message) -> usize {
    usize::from(m.template().marketing)
}

fn push_message_id(b: &mut String, m: &Message) {
    push_ses_id(b, m.mail_ts, m.bits);
}

fn push_first_name(b: &mut String, m: &Message) {
    b.push_str(person(m.rcpt[0]).first);
}

fn push_subject(b: &mut String, m: &Message) {
    let (pre, slot, post) = m.template().subject;
    b.push_str(pre);
    match slot {
        Slot::None => {}
        Slot::FirstName => push_first_name(b, m),
        Slot::OrderNumber => push_u64(b, m.order_number()),
    }
    b.push_str(post);
}

fn push_ip(b: &mut String, r: &mut Rng) {
    b.push_str(["198.51.100.", "203.0.113.", "192.0.2."][r.below(3) as usize]);
    push_u64(b, 1 + r.below(254));
}

fn push_ts_or(b: &mut String, ms: i64, bad: Option<&'static str>) {
    match bad {
        Some(text) => b.push_str(text),
        None => push_ts(b, ms),
    }
}

/// Appends the recipients in `mask` as a JSON array body of bare or full addresses.
fn push_recipients(b: &mut String, m: &Message, mask: u8, bare: bool, brk: &Broken) {
    let mut first = true;
    for slot in 0..usize::from(m.n) {
        if mask & (1 << slot) == 0 {
            continue;
        }
        if !first {
            b.push(',');
        }
        first = false;
        b.push('"');
        if let Some(bad) = brk.bad_email {
            b.push_str(bad);
        } else if bare {
            push_bare_address(b, m.rcpt[slot], m.variant[slot]);
        } else {
            push_address(b, m.rcpt[slot], m.variant[slot]);
        }
        b.push('"');
    }
}

fn all(m: &Message) -> u8 {
    (1u8 << m.n) - 1
}

fn push_headers(b: &mut String, m: &Message, brk: &Broken) {
    let t = m.template();
    let from = if t.marketing {
        "Example Shop <news@mail.example.com>"
    } else {
        "Example Shop <notifications@mail.example.com>"
    };
    b.push_str(",\"headers\":[{\"name\":\"From\",\"value\":\"");
    b.push_str(from);
    b.push_str("\"},{\"name\":\"Reply-To\",\"value\":\"support@example.com\"},{\"name\":\"To\",\"value\":\"");
    for slot in 0..usize::from(m.n) {
        if slot > 0 {
            b.push_str(", ");
        }
        match brk.bad_email {
            Some(bad) => b.push_str(bad),
            None => push_address(b, m.rcpt[slot], m.variant[slot]),
        }
    }
    b.push_str("\"},{\"name\":\"Subject\",\"value\":\"");
    push_subject(b, m);
    b.push_str("\"},{\"name\":\"MIME-Version\",\"value\":\"1.0\"},{\"name\":\"Content-Type\",\"value\":\"multipart/alternative; boundary=\\\"----=_Part_");
    push_u64(b, m.seed % 900_000 + 100_000);
    b.push('_');
    push_u64(b, (m.seed >> 24) % 2_000_000_000);
    b.push('.');
    push_u64(b, m.mail_ts as u64);
    b.push_str("\\\"\"}");
    if t.marketing {
        b.push_str(",{\"name\":\"List-Unsubscribe\",\"value\":\"<https://shop.example.com/unsubscribe?token=");
        push_hex(b, u128::from(m.seed), 16);
        b.push_str(">, <mailto:unsubscribe@mail.example.com?subject=unsubscribe>\"},{\"name\":\"List-Unsubscribe-Post\",\"value\":\"List-Unsubscribe=One-Click\"}");
    }
    if m.mode == Mode::Both {
        b.push_str(",{\"name\":\"X-Template-Key\",\"value\":\"");
        b.push_str(t.key);
        b.push_str("\"},{\"name\":\"X-Sequence-Id\",\"value\":\"");
        b.push_str(SEQUENCES[t.sequence]);
        b.push_str("\"}");
    }
    b.push_str("],\"commonHeaders\":{\"from\":[\"");
    b.push_str(from);
    b.push_str("\"],\"replyTo\":[\"support@example.com\"],\"to\":[");
    push_recipients(b, m, all(m), false, brk);
    b.push_str("],\"messageId\":\"");
    push_message_id(b, m);
    b.push_str("\",\"subject\":\"");
    push_subject(b, m);
    b.push_str("\"}");
}

fn push_tags(b: &mut String, m: &Message, kind: EventType) {
    let t = m.template();
    if kind == EventType::RenderingFailure {
        b.push_str(",\"tags\":{\"ses:configuration-set\":[\"");
        b.push_str(config_set(m));
        b.push_str("\"]");
    } else {
        b.push_str(",\"tags\":{\"ses:source-tls-version\":[\"TLSv1.3\"],\"ses:operation\":[\"");
        b.push_str(if t.marketing { "SendBulkTemplatedEmail" } else { "SendEmail" });
        b.push_str("\"],\"ses:configuration-set\":[\"");
        b.push_str(config_set(m));
        b.push_str("\"],\"ses:source-ip\":[\"198.51.100.23\"],\"ses:from-domain\":[\"mail.example.com\"],\"ses:caller-identity\":[\"app-mailer-role\"]");
    }
    if m.mode != Mode::Neither {
        b.push_str(",\"templateKey\":[\"");
        b.push_str(t.tag);
        b.push_str("\"],\"sequenceId\":[\"");
        b.push_str(SEQUENCES[t.sequence]);
        b.push_str("\"]");
    }
    let attempted = !matches!(
        kind,
        EventType::Send | EventType::Reject | EventType::RenderingFailure
    );
    if attempted {
        b.push_str(",\"ses:outgoing-ip\":[\"203.0.113.");
        push_u64(b, 40 + m.seed % 16);
        b.push_str("\"],\"ses:outgoing-tls-version\":[\"TLSv1.3\"]");
    }
    b.push('}');
}

fn push_mail(b: &mut String, m: &Message, kind: EventType, form: Form, brk: &Broken) {
    let mail_ts_is_event_time = matches!(
        kind,
        EventType::Send | EventType::Reject | EventType::RenderingFailure
    );
    b.push_str("\"mail\":{\"timestamp\":\"");
    push_ts_or(b, m.mail_ts, if mail_ts_is_event_time { brk.bad_ts } else { None });
    b.push_str("\",\"source\":\"");
    b.push_str(if m.template().marketing {
        "news@mail.example.com"
    } else {
        "notifications@mail.example.com"
    });
    b.push_str("\",\"sourceArn\":\"arn:aws:ses:us-east-1:111122223333:identity/mail.example.com\",");
    if let Form::Notification { .. } = form {
        b.push_str("\"sourceIp\":\"198.51.100.23\",\"callerIdentity\":\"app-mailer-role\",");
    }
    b.push_str("\"sendingAccountId\":\"111122223333\",");
    if !brk.drop_message_id {
        b.push_str("\"messageId\":\"");
        push_message_id(b, m);
        b.push_str("\",");
    }
    b.push_str("\"destination\":[");
    push_recipients(b, m, all(m), false, brk);
    b.push(']');
    let headers = match form {
        Form::Event => kind != EventType::RenderingFailure,
        Form::Notification { headers } => headers,
    };
    if headers || form == Form::Event {
        b.push_str(",\"headersTruncated\":false");
    }
    if headers {
        push_headers(b, m, brk);
    }
    if form == Form::Event {
        push_tags(b, m, kind);
    }
    b.push('}');
}

fn push_delivery(b: &mut String, m: &Message, e: &SesEv, r: &mut Rng, brk: &Broken, notif: bool) {
    b.push_str("\"delivery\":{\"timestamp\":\"");
    push_ts_or(b, e.ts, brk.bad_ts);
    b.push_str("\",\"processingTimeMillis\":");
    push_u64(b, (e.ts - m.mail_ts).max(0) as u64);
    b.push_str(",\"recipients\":[");
    push_recipients(b, m, e.rmask, true, brk);
    b.push_str("],\"smtpResponse\":\"");
    match person(m.rcpt[e.rmask.trailing_zeros() as usize]).domain {
        0 => {
            b.push_str("250 2.0.0 OK  ");
            push_u64(b, (e.ts / 1000) as u64);
            b.push_str(" d75a77b69052e-");
            push_hex(b, u128::from(r.next_u64()), 12);
            b.push_str("si.");
            push_u64(b, r.below(1000));
            b.push_str(" - gsmtp");
        }
        1 => {
            b.push_str("250 2.0.0 Ok: queued as 4Vt");
            push_hex(b, u128::from(r.next_u64()), 11);
        }
        _ => b.push_str("250 ok dirdel"),
    }
    b.push_str("\",\"remoteMtaIp\":\"");
    push_ip(b, r);
    b.push_str("\",\"reportingMTA\":\"a");
    push_u64(b, 8 + m.seed % 90);
    b.push('-');
    push_u64(b, 10 + (m.seed >> 8) % 200);
    b.push_str(".smtp-out.amazonses.com\"}");
    let _ = notif;
}

fn push_bounce(b: &mut String, m: &Message, e: &SesEv, r: &mut Rng, brk: &Broken, notif: bool) {
    let k = &BOUNCES[usize::from(e.p)];
    b.push_str("\"bounce\":{\"feedbackId\":\"");
    push_ses_id(b, e.ts, (u128::from(r.next_u64()) << 64) | u128::from(r.next_u64()));
    b.push_str("\",\"bounceType\":\"");
    b.push_str(k.bounce_type);
    b.push_str("\",\"bounceSubType\":\"");
    b.push_str(k.sub_type);
    b.push_str("\",\"bouncedRecipients\":[");
    let mut first = true;
    for slot in 0..usize::from(m.n) {
        if e.rmask & (1 << slot) == 0 {
            continue;
        }
        if !first {
            b.push(',');
        }
        first = false;
        b.push_str("{\"emailAddress\":\"");
        match brk.bad_email {
            Some(bad) => b.push_str(bad),
            None => push_bare_address(b, m.rcpt[slot], m.variant[slot]),
        }
        b.push('"');
        if !k.action.is_empty() {
            b.push_str(",\"action\":\"");
            b.push_str(k.action);
            b.push_str("\",\"status\":\"");
            b.push_str(k.status);
            b.push_str("\",\"diagnosticCode\":\"");
            push_escaped(b, k.diagnostic);
            b.push('"');
        }
        b.push('}');
    }
    b.push_str("],\"timestamp\":\"");
    push_ts_or(b, e.ts, brk.bad_ts);
    b.push('"');
    if notif && k.reporting_mta {
        b.push_str(",\"remoteMtaIp\":\"");
        push_ip(b, r);
        b.push('"');
    }
    if k.reporting_mta {
        b.push_str(",\"reportingMTA\":\"dsn; a");
        push_u64(b, 8 + m.seed % 90);
        b.push('-');
        push_u64(b, 10 + (m.seed >> 8) % 200);
        b.push_str(".smtp-out.amazonses.com\"");
    }
    b.push('}');
}

fn push_complaint(b: &mut String, m: &Message, e: &SesEv, r: &mut Rng, brk: &Broken) {
    b.push_str("\"complaint\":{\"feedbackId\":\"");
    push_ses_id(b, e.ts, (u128::from(r.next_u64()) << 64) | u128::from(r.next_u64()));
    b.push_str("\",\"complaintSubType\":null,\"complainedRecipients\":[");
    let slot = e.rmask.trailing_zeros() as usize;
    b.push_str("{\"emailAddress\":\"");
    match brk.bad_email {
        Some(bad) => b.push_str(bad),
        None => push_bare_address(b, m.rcpt[slot], m.variant[slot]),
    }
    b.push_str("\"}],\"timestamp\":\"");
    push_ts_or(b, e.ts, brk.bad_ts);
    b.push_str("\",\"userAgent\":\"");
    b.push_str(match person(m.rcpt[slot]).domain {
        0 => "ExampleCom-FBL/1.0",
        1 => "ExampleNet-FBL/2.4",
        _ => "Yahoo!-Mail-Feedback/2.0",
    });
    b.push('"');
    let feedback = FEEDBACK[usize::from(e.p)].0;
    if !feedback.is_empty() {
        b.push_str(",\"complaintFeedbackType\":\"");
        b.push_str(feedback);
        b.push('"');
    }
    b.push_str(",\"arrivalDate\":\"");
    push_ts(b, e.ts - 1000 * r.range(1, 120));
    b.push_str("\"}");
}

fn push_open(b: &mut String, e: &SesEv, r: &mut Rng, brk: &Broken) {
    let weights: [u32; 6] = OPEN_AGENTS.map(|(_, w)| w);
    b.push_str("\"open\":{\"timestamp\":\"");
    push_ts_or(b, e.ts, brk.bad_ts);
    b.push_str("\",\"userAgent\":\"");
    b.push_str(OPEN_AGENTS[r.weighted(&weights)].0);
    b.push_str("\",\"ipAddress\":\"");
    push_ip(b, r);
    b.push_str("\"}");
}

/// Appends the `link` of a click: the template's link `idx` with its percent-encoded query.
pub(crate) fn push_link(b: &mut String, m: &Message, idx: u8) {
    let t = m.template();
    let l = &t.links[usize::from(idx)];
    b.push_str("https://shop.example.com");
    b.push_str(l.path);
    b.push_str("?utm_source=ses&utm_medium=email&utm_campaign=");
    b.push_str(t.campaign);
    b.push_str(l.extra_query);
}

fn push_click(b: &mut String, m: &Message, e: &SesEv, r: &mut Rng, brk: &Broken) {
    let weights: [u32; 5] = CLICK_AGENTS.map(|(_, w)| w);
    let l = &m.template().links[usize::from(e.p)];
    b.push_str("\"click\":{\"timestamp\":\"");
    push_ts_or(b, e.ts, brk.bad_ts);
    b.push_str("\",\"ipAddress\":\"");
    push_ip(b, r);
    b.push_str("\",\"userAgent\":\"");
    b.push_str(CLICK_AGENTS[r.weighted(&weights)].0);
    b.push_str("\",\"link\":\"");
    push_link(b, m, e.p);
    b.push_str("\",\"linkTags\":{\"linkName\":[\"");
    b.push_str(l.name);
    b.push_str("\"],\"placement\":[\"");
    b.push_str(l.placement);
    b.push_str("\"]}}");
}

fn push_delay(b: &mut String, m: &Message, e: &SesEv, brk: &Broken) {
    let (delay_type, status, diagnostic, _) = DELAYS[usize::from(e.p)];
    b.push_str("\"deliveryDelay\":{\"timestamp\":\"");
    push_ts_or(b, e.ts, brk.bad_ts);
    b.push_str("\",\"delayType\":\"");
    b.push_str(delay_type);
    b.push_str("\",\"expirationTime\":\"");
    push_ts(b, m.mail_ts + 14 * 3_600_000 - m.mail_ts % 1000);
    b.push_str("\",\"reportingMTA\":\"203.0.113.");
    push_u64(b, 40 + m.seed % 16);
    b.push_str("\",\"delayedRecipients\":[");
    let mut first = true;
    for slot in 0..usize::from(m.n) {
        if e.rmask & (1 << slot) == 0 {
            continue;
        }
        if !first {
            b.push(',');
        }
        first = false;
        b.push_str("{\"emailAddress\":\"");
        match brk.bad_email {
            Some(bad) => b.push_str(bad),
            None => push_bare_address(b, m.rcpt[slot], m.variant[slot]),
        }
        b.push_str("\",\"status\":\"");
        b.push_str(status);
        b.push_str("\",\"diagnosticCode\":\"");
        b.push_str(diagnostic);
        b.push_str("\"}");
    }
    b.push_str("]}");
}

fn push_subscription(b: &mut String, e: &SesEv, r: &mut Rng, brk: &Broken) {
    b.push_str("\"subscription\":{\"contactList\":\"example-shop-customers\",\"timestamp\":\"");
    push_ts_or(b, e.ts, brk.bad_ts);
    b.push_str("\",\"source\":\"");
    b.push_str(if r.below(3) == 0 { "UnsubscribeLink" } else { "UnsubscribeHeader" });
    b.push_str(
        "\",\"newTopicPreferences\":{\"unsubscribeAll\":true,\"topicSubscriptionStatus\":[\
{\"topicName\":\"weekly-digest\",\"subscriptionStatus\":\"OptOut\"},\
{\"topicName\":\"order-updates\",\"subscriptionStatus\":\"OptOut\"}]},\
\"oldTopicPreferences\":{\"unsubscribeAll\":false,\"topicSubscriptionStatus\":[\
{\"topicName\":\"weekly-digest\",\"subscriptionStatus\":\"OptIn\"},\
{\"topicName\":\"order-updates\",\"subscriptionStatus\":\"OptIn\"}],\
\"topicDefaultSubscriptionStatus\":[\
{\"topicName\":\"weekly-digest\",\"subscriptionStatus\":\"OptIn\"},\
{\"topicName\":\"order-updates\",\"subscriptionStatus\":\"OptIn\"}]}}",
    );
}

/// Appends one SES record (compact JSON) for event `e` of message `m`.
pub(crate) fn push_record(b: &mut String, m: &Message, e: &SesEv, form: Form, brk: &Broken) {
    let mut r = Rng::new(e.rnd);
    let notif = matches!(form, Form::Notification { .. });
    b.push_str(if notif { "{\"notificationType\":\"" } else { "{\"eventType\":\"" });
    b.push_str(e.kind.ses_name());
    b.push_str("\",");
    if e.kind == EventType::Bounce {
        push_bounce(b, m, e, &mut r, brk, notif);
        b.push(',');
        push_mail(b, m, e.kind, form, brk);
        b.push('}');
        return;
    }
    push_mail(b, m, e.kind, form, brk);
    b.push(',');
    match e.kind {
        EventType::Send => b.push_str("\"send\":{}"),
        EventType::Delivery => push_delivery(b, m, e, &mut r, brk, notif),
        EventType::Open => push_open(b, e, &mut r, brk),
        EventType::Click => push_click(b, m, e, &mut r, brk),
        EventType::Complaint => push_complaint(b, m, e, &mut r, brk),
        EventType::Reject => b.push_str("\"reject\":{\"reason\":\"Bad content\"}"),
        EventType::RenderingFailure => {
            b.push_str("\"failure\":{\"errorMessage\":\"");
            b.push_str(m.template().render_error);
            b.push_str("\",\"templateName\":\"");
            b.push_str(m.template().ses_template);
            b.push_str("\"}");
        }
        EventType::DeliveryDelay => push_delay(b, m, e, brk),
        EventType::Subscription => push_subscription(b, e, &mut r, brk),
        EventType::Bounce => unreachable!("handled above"),
    }
    b.push('}');
}

/// The EventBridge `detail-type` SES uses for each event type.
fn ses_detail_type(kind: EventType) -> &'static str {
    match kind {
        EventType::Send => "Email Sent",
        EventType::Delivery => "Email Delivered",
        EventType::Open => "Email Opened",
        EventType::Click => "Email Clicked",
        EventType::Bounce => "Email Bounced",
        EventType::Complaint => "Email Complaint Received",
        EventType::Reject => "Email Rejected",
        EventType::RenderingFailure => "Email Rendering Failed",
        EventType::DeliveryDelay => "Email Delivery Delayed",
        EventType::Subscription => "Email Subscribed",
    }
}

/// Appends an EventBridge event from `aws.ses` whose `detail` is `record`.
pub(crate) fn push_eventbridge_ses(
    b: &mut String,
    rng: &mut Rng,
    m: &Message,
    kind: EventType,
    event_ts: i64,
    record: &str,
) {
    b.push_str("{\"version\":\"0\",\"id\":\"");
    push_uuid(b, rng);
    b.push_str("\",\"detail-type\":\"");
    b.push_str(ses_detail_type(kind));
    b.push_str("\",\"source\":\"aws.ses\",\"account\":\"");
    b.push_str(ACCOUNT);
    b.push_str("\",\"time\":\"");
    push_ts_secs(b, event_ts);
    b.push_str("\",\"region\":\"us-east-1\",\"resources\":[\"arn:aws:ses:us-east-1:111122223333:configuration-set/");
    b.push_str(config_set(m));
    b.push_str("\"],\"detail\":");
    b.push_str(record);
    b.push('}');
}

fn push_topic_arn(b: &mut String, topic: usize) {
    b.push_str("arn:aws:sns:us-east-1:111122223333:");
    b.push_str(TOPICS[topic].0);
}

fn push_unsubscribe_url(b: &mut String, topic: usize) {
    b.push_str("https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=");
    push_topic_arn(b, topic);
    b.push(':');
    b.push_str(TOPICS[topic].1);
}

/// Appends an SNS HTTP notification body whose `Message` is `message` (as a JSON string).
pub(crate) fn push_sns(b: &mut String, rng: &mut Rng, topic: usize, message: &str, ts: i64) {
    b.push_str("{\"Type\":\"Notification\",\"MessageId\":\"");
    push_uuid(b, rng);
    b.push_str("\",\"TopicArn\":\"");
    push_topic_arn(b, topic);
    b.push_str("\",\"Message\":\"");
    push_escaped(b, message);
    b.push_str("\",\"Timestamp\":\"");
    push_ts(b, ts);
    b.push_str("\",\"SignatureVersion\":\"1\",\"Signature\":\"");
    push_signature(b, rng);
    b.push_str("\",\"SigningCertURL\":\"");
    b.push_str(SIGNING_CERT);
    b.push_str("\",\"UnsubscribeURL\":\"");
    push_unsubscribe_url(b, topic);
    b.push_str("\"}");
}

/// Appends the opening of a Lambda SNS event, up to the first record.
pub(crate) fn push_lambda_open(b: &mut String) {
    b.push_str("{\"Records\":[");
}

/// Appends one Lambda SNS record whose `Message` is `message`.
pub(crate) fn push_lambda_record(b: &mut String, rng: &mut Rng, topic: usize, message: &str, ts: i64) {
    b.push_str("{\"EventSource\":\"aws:sns\",\"EventVersion\":\"1.0\",\"EventSubscriptionArn\":\"");
    push_topic_arn(b, topic);
    b.push(':');
    b.push_str(TOPICS[topic].1);
    b.push_str("\",\"Sns\":{\"Type\":\"Notification\",\"MessageId\":\"");
    push_uuid(b, rng);
    b.push_str("\",\"TopicArn\":\"");
    push_topic_arn(b, topic);
    b.push_str("\",\"Subject\":null,\"Message\":\"");
    push_escaped(b, message);
    b.push_str("\",\"Timestamp\":\"");
    push_ts(b, ts);
    b.push_str("\",\"SignatureVersion\":\"1\",\"Signature\":\"");
    push_signature(b, rng);
    b.push_str("\",\"SigningCertUrl\":\"");
    b.push_str(SIGNING_CERT);
    b.push_str("\",\"UnsubscribeUrl\":\"");
    push_unsubscribe_url(b, topic);
    b.push_str("\",\"MessageAttributes\":{}}}");
}

/// Appends the closing of a Lambda SNS event.
pub(crate) fn push_lambda_close(b: &mut String) {
    b.push_str("]}");
}

fn push_money(b: &mut String, cents: u64) {
    push_u64(b, cents / 100);
    b.push('.');
    push_padded(b, cents % 100, 2);
}

/// Appends an application event (EventBridge, source `com.example.shop`). `bad_time` replaces
/// the `time` (malformed inputs only).
pub(crate) fn push_app_event(
    b: &mut String,
    a: &AppEv,
    salt: u64,
    bad_time: Option<&'static str>,
) {
    let mut r = Rng::new(a.rnd);
    let p = person(a.sub);
    b.push_str("{\"version\":\"0\",\"id\":\"");
    push_uuid(b, &mut r);
    b.push_str("\",\"detail-type\":\"");
    b.push_str(APP_TYPES[usize::from(a.kind)]);
    b.push_str("\",\"source\":\"com.example.shop\",\"account\":\"");
    b.push_str(ACCOUNT);
    b.push_str("\",\"time\":\"");
    match bad_time {
        Some(t) => b.push_str(t),
        None => push_ts_secs(b, a.ts),
    }
    b.push_str("\",\"region\":\"us-east-1\",\"resources\":[],\"detail\":{\"customerId\":\"");
    push_customer_id(b, a.sub, salt);
    b.push_str("\",\"email\":\"");
    push_address(b, a.sub, if r.below(20) == 0 { 1 } else { 0 });
    b.push_str("\",\"firstName\":\"");
    b.push_str(p.first);
    b.push('"');
    let order = 40_000 + r.below(60_000);
    match a.kind {
        0 => {
            b.push_str(",\"lastName\":\"");
            b.push_str(p.last);
            b.push_str("\",\"locale\":\"");
            b.push_str(["en-US", "en-GB", "de-DE", "fr-FR", "pt-BR"][r.below(5) as usize]);
            b.push_str("\",\"marketingOptIn\":");
            b.push_str(if r.below(4) == 0 { "false" } else { "true" });
            b.push_str(",\"signupChannel\":\"");
            b.push_str(["web", "ios", "android", "pos"][r.below(4) as usize]);
            b.push_str("\",\"createdAt\":\"");
            push_ts(b, a.ts - r.range(200, 3000));
            b.push('"');
        }
        1 => {
            b.push_str(",\"orderId\":\"ord_");
            push_u64(b, order);
            b.push_str("\",\"orderTotal\":");
            push_money(b, 1_500 + r.below(30_000));
            b.push_str(",\"currency\":\"USD\",\"itemCount\":");
            push_u64(b, 1 + r.below(5));
        }
        2 => {
            b.push_str(",\"cartId\":\"cart_");
            push_hex(b, u128::from(r.next_u64()), 12);
            b.push_str("\",\"itemCount\":");
            push_u64(b, 1 + r.below(6));
            b.push_str(",\"cartValue\":");
            push_money(b, 900 + r.below(40_000));
            b.push_str(",\"currency\":\"USD\",\"cartUrl\":\"https://shop.example.com/cart?restore=1&utm_source=app&items=sku%3A");
            push_u64(b, 1000 + r.below(9000));
            b.push('"');
        }
        _ => {
            b.push_str(",\"orderId\":\"ord_");
            push_u64(b, order);
            b.push_str("\",\"carrier\":\"");
            b.push_str(["UPS", "FedEx", "USPS", "DHL"][r.below(4) as usize]);
            b.push_str("\",\"trackingNumber\":\"1Z");
            push_hex(b, u128::from(r.next_u64()), 16);
            b.push_str("\",\"shippedAt\":\"");
            push_ts(b, a.ts - r.range(1000, 600_000));
            b.push('"');
        }
    }
    b.push_str("}}");
}
