//! Writing records and envelopes as compact JSON text, shaped like the fixtures.

use super::catalog::{
    APP_TYPES, BOUNCES, CLICK_AGENTS, DELAYS, FEEDBACK, OPEN_AGENTS, SEQUENCES, Slot, TOPICS,
};
use super::json::{
    push_escaped, push_hex, push_padded, push_ses_id, push_signature, push_ts, push_ts_secs,
    push_u64, push_uuid,
};
use super::model::{
    AppEv, Broken, Form, Message, Mode, SesEv, person, push_address, push_bare_address,
    push_customer_id,
};
use super::rng::Rng;
use mailshot_domain::EventType;

/// Escapes `"` and `\\` at compile time: `N` must be at least twice the input length.
pub(crate) const fn escape_const<const N: usize>(s: &str) -> ([u8; N], usize) {
    let b = s.as_bytes();
    let mut out = [0u8; N];
    let (mut i, mut p) = (0, 0);
    while i < b.len() {
        assert!(b[i] >= 0x20, "no control characters in literals");
        if b[i] == b'"' || b[i] == b'\\' {
            out[p] = b'\\';
            p += 1;
        }
        out[p] = b[i];
        p += 1;
        i += 1;
    }
    (out, p)
}

/// Writes a JSON literal fragment, raw or escaped (both forms built at compile time).
macro_rules! lit {
    ($w:expr, $s:expr) => {{
        const RAW: &str = $s;
        const ESC: ([u8; 2 * RAW.len()], usize) = escape_const(RAW);
        const ESCAPED: &str = match std::str::from_utf8(ESC.0.split_at(ESC.1).0) {
            Ok(s) => s,
            Err(_) => panic!("escaping keeps UTF-8"),
        };
        $w.lit(RAW, ESCAPED)
    }};
}

/// Where a record is written: raw (a bare record, an EventBridge `detail`) or escaped once
/// (the `Message` string of an SNS envelope).
pub(crate) struct W<'a> {
    pub b: &'a mut String,
    pub esc: bool,
}

impl W<'_> {
    /// A literal fragment in both spellings.
    #[inline]
    fn lit(&mut self, raw: &'static str, escaped: &'static str) {
        self.b.push_str(if self.esc { escaped } else { raw });
    }

    /// Dynamic text known to hold no `"`, `\\` or control character.
    #[inline]
    fn s(&mut self, s: &str) {
        self.b.push_str(s);
    }

    /// Dynamic text that may need escaping (inside a JSON string).
    fn text(&mut self, s: &str) {
        if self.esc {
            let mut once = String::with_capacity(s.len() + 8);
            push_escaped(&mut once, s);
            push_escaped(self.b, &once);
        } else {
            push_escaped(self.b, s);
        }
    }
}

const ACCOUNT: &str = "111122223333";
const SIGNING_CERT: &str = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem";

fn config_set(m: &Message) -> &'static str {
    if m.template().marketing {
        "marketing-prod"
    } else {
        "txn-prod"
    }
}

/// The SNS topic a message's events are published to.
pub(crate) fn event_topic(m: &Message) -> usize {
    usize::from(m.template().marketing)
}

fn push_message_id(w: &mut W, m: &Message) {
    push_ses_id(w.b, m.mail_ts, m.bits);
}

fn push_first_name(w: &mut W, m: &Message) {
    w.s(person(m.rcpt[0]).first);
}

fn push_subject(w: &mut W, m: &Message) {
    let (pre, slot, post) = m.template().subject;
    w.s(pre);
    match slot {
        Slot::None => {}
        Slot::FirstName => push_first_name(w, m),
        Slot::OrderNumber => push_u64(w.b, m.order_number()),
    }
    w.s(post);
}

fn push_ip(w: &mut W, r: &mut Rng) {
    w.s(["198.51.100.", "203.0.113.", "192.0.2."][r.below(3) as usize]);
    push_u64(w.b, 1 + r.below(254));
}

fn push_ts_or(w: &mut W, ms: i64, bad: Option<&'static str>) {
    match bad {
        Some(text) => w.s(text),
        None => push_ts(w.b, ms),
    }
}

/// Appends the recipients in `mask` as a JSON array body of bare or full addresses.
fn push_recipients(w: &mut W, m: &Message, mask: u8, bare: bool, brk: &Broken) {
    let mut first = true;
    for slot in 0..usize::from(m.n) {
        if mask & (1 << slot) == 0 {
            continue;
        }
        if !first {
            w.b.push(',');
        }
        first = false;
        lit!(w, "\"");
        if let Some(bad) = brk.bad_email {
            w.s(bad);
        } else if bare {
            push_bare_address(w.b, m.rcpt[slot], m.variant[slot]);
        } else {
            push_address(w.b, m.rcpt[slot], m.variant[slot]);
        }
        lit!(w, "\"");
    }
}

fn all(m: &Message) -> u8 {
    (1u8 << m.n) - 1
}

fn push_headers(w: &mut W, m: &Message, brk: &Broken) {
    let t = m.template();
    let from = if t.marketing {
        "Example Shop <news@mail.example.com>"
    } else {
        "Example Shop <notifications@mail.example.com>"
    };
    lit!(w, ",\"headers\":[{\"name\":\"From\",\"value\":\"");
    w.s(from);
    lit!(
        w,
        "\"},{\"name\":\"Reply-To\",\"value\":\"support@example.com\"},{\"name\":\"To\",\"value\":\""
    );
    for slot in 0..usize::from(m.n) {
        if slot > 0 {
            lit!(w, ", ");
        }
        match brk.bad_email {
            Some(bad) => w.s(bad),
            None => push_address(w.b, m.rcpt[slot], m.variant[slot]),
        }
    }
    lit!(w, "\"},{\"name\":\"Subject\",\"value\":\"");
    push_subject(w, m);
    lit!(
        w,
        "\"},{\"name\":\"MIME-Version\",\"value\":\"1.0\"},{\"name\":\"Content-Type\",\"value\":\"multipart/alternative; boundary=\\\"----=_Part_"
    );
    push_u64(w.b, m.seed % 900_000 + 100_000);
    w.b.push('_');
    push_u64(w.b, (m.seed >> 24) % 2_000_000_000);
    w.b.push('.');
    push_u64(w.b, m.mail_ts as u64);
    lit!(w, "\\\"\"}");
    if t.marketing {
        lit!(
            w,
            ",{\"name\":\"List-Unsubscribe\",\"value\":\"<https://shop.example.com/unsubscribe?token="
        );
        push_hex(w.b, u128::from(m.seed), 16);
        lit!(
            w,
            ">, <mailto:unsubscribe@mail.example.com?subject=unsubscribe>\"},{\"name\":\"List-Unsubscribe-Post\",\"value\":\"List-Unsubscribe=One-Click\"}"
        );
    }
    if m.mode == Mode::Both {
        lit!(w, ",{\"name\":\"X-Template-Key\",\"value\":\"");
        w.s(t.key);
        lit!(w, "\"},{\"name\":\"X-Sequence-Id\",\"value\":\"");
        w.s(SEQUENCES[t.sequence]);
        lit!(w, "\"}");
    }
    lit!(w, "],\"commonHeaders\":{\"from\":[\"");
    w.s(from);
    lit!(w, "\"],\"replyTo\":[\"support@example.com\"],\"to\":[");
    push_recipients(w, m, all(m), false, brk);
    lit!(w, "],\"messageId\":\"");
    push_message_id(w, m);
    lit!(w, "\",\"subject\":\"");
    push_subject(w, m);
    lit!(w, "\"}");
}

fn push_tags(w: &mut W, m: &Message, kind: EventType) {
    let t = m.template();
    if kind == EventType::RenderingFailure {
        lit!(w, ",\"tags\":{\"ses:configuration-set\":[\"");
        w.s(config_set(m));
        lit!(w, "\"]");
    } else {
        lit!(
            w,
            ",\"tags\":{\"ses:source-tls-version\":[\"TLSv1.3\"],\"ses:operation\":[\""
        );
        w.s(if t.marketing {
            "SendBulkTemplatedEmail"
        } else {
            "SendEmail"
        });
        lit!(w, "\"],\"ses:configuration-set\":[\"");
        w.s(config_set(m));
        lit!(
            w,
            "\"],\"ses:source-ip\":[\"198.51.100.23\"],\"ses:from-domain\":[\"mail.example.com\"],\"ses:caller-identity\":[\"app-mailer-role\"]"
        );
    }
    if m.mode != Mode::Neither {
        lit!(w, ",\"templateKey\":[\"");
        w.s(t.tag);
        lit!(w, "\"],\"sequenceId\":[\"");
        w.s(SEQUENCES[t.sequence]);
        lit!(w, "\"]");
    }
    let attempted = !matches!(
        kind,
        EventType::Send | EventType::Reject | EventType::RenderingFailure
    );
    if attempted {
        lit!(w, ",\"ses:outgoing-ip\":[\"203.0.113.");
        push_u64(w.b, 40 + m.seed % 16);
        lit!(w, "\"],\"ses:outgoing-tls-version\":[\"TLSv1.3\"]");
    }
    w.b.push('}');
}

fn push_mail(w: &mut W, m: &Message, kind: EventType, form: Form, brk: &Broken) {
    let mail_ts_is_event_time = matches!(
        kind,
        EventType::Send | EventType::Reject | EventType::RenderingFailure
    );
    lit!(w, "\"mail\":{\"timestamp\":\"");
    push_ts_or(
        w,
        m.mail_ts,
        if mail_ts_is_event_time {
            brk.bad_ts
        } else {
            None
        },
    );
    lit!(w, "\",\"source\":\"");
    w.s(if m.template().marketing {
        "news@mail.example.com"
    } else {
        "notifications@mail.example.com"
    });
    lit!(
        w,
        "\",\"sourceArn\":\"arn:aws:ses:us-east-1:111122223333:identity/mail.example.com\","
    );
    if let Form::Notification { .. } = form {
        lit!(
            w,
            "\"sourceIp\":\"198.51.100.23\",\"callerIdentity\":\"app-mailer-role\","
        );
    }
    lit!(w, "\"sendingAccountId\":\"111122223333\",");
    if !brk.drop_message_id {
        lit!(w, "\"messageId\":\"");
        push_message_id(w, m);
        lit!(w, "\",");
    }
    lit!(w, "\"destination\":[");
    push_recipients(w, m, all(m), false, brk);
    w.b.push(']');
    let headers = match form {
        Form::Event => kind != EventType::RenderingFailure,
        Form::Notification { headers } => headers,
    };
    if headers || form == Form::Event {
        lit!(w, ",\"headersTruncated\":false");
    }
    if headers {
        push_headers(w, m, brk);
    }
    if form == Form::Event {
        push_tags(w, m, kind);
    }
    w.b.push('}');
}

fn push_delivery(w: &mut W, m: &Message, e: &SesEv, r: &mut Rng, brk: &Broken, notif: bool) {
    lit!(w, "\"delivery\":{\"timestamp\":\"");
    push_ts_or(w, e.ts, brk.bad_ts);
    lit!(w, "\",\"processingTimeMillis\":");
    push_u64(w.b, (e.ts - m.mail_ts).max(0) as u64);
    lit!(w, ",\"recipients\":[");
    push_recipients(w, m, e.rmask, true, brk);
    lit!(w, "],\"smtpResponse\":\"");
    match person(m.rcpt[e.rmask.trailing_zeros() as usize]).domain {
        0 => {
            lit!(w, "250 2.0.0 OK  ");
            push_u64(w.b, (e.ts / 1000) as u64);
            lit!(w, " d75a77b69052e-");
            push_hex(w.b, u128::from(r.next_u64()), 12);
            lit!(w, "si.");
            push_u64(w.b, r.below(1000));
            lit!(w, " - gsmtp");
        }
        1 => {
            lit!(w, "250 2.0.0 Ok: queued as 4Vt");
            push_hex(w.b, u128::from(r.next_u64()), 11);
        }
        _ => lit!(w, "250 ok dirdel"),
    }
    lit!(w, "\",\"remoteMtaIp\":\"");
    push_ip(w, r);
    lit!(w, "\",\"reportingMTA\":\"a");
    push_u64(w.b, 8 + m.seed % 90);
    w.b.push('-');
    push_u64(w.b, 10 + (m.seed >> 8) % 200);
    lit!(w, ".smtp-out.amazonses.com\"}");
    let _ = notif;
}

fn push_bounce(w: &mut W, m: &Message, e: &SesEv, r: &mut Rng, brk: &Broken, notif: bool) {
    let k = &BOUNCES[usize::from(e.p)];
    lit!(w, "\"bounce\":{\"feedbackId\":\"");
    push_ses_id(
        w.b,
        e.ts,
        (u128::from(r.next_u64()) << 64) | u128::from(r.next_u64()),
    );
    lit!(w, "\",\"bounceType\":\"");
    w.s(k.bounce_type);
    lit!(w, "\",\"bounceSubType\":\"");
    w.s(k.sub_type);
    lit!(w, "\",\"bouncedRecipients\":[");
    let mut first = true;
    for slot in 0..usize::from(m.n) {
        if e.rmask & (1 << slot) == 0 {
            continue;
        }
        if !first {
            w.b.push(',');
        }
        first = false;
        lit!(w, "{\"emailAddress\":\"");
        match brk.bad_email {
            Some(bad) => w.s(bad),
            None => push_bare_address(w.b, m.rcpt[slot], m.variant[slot]),
        }
        lit!(w, "\"");
        if !k.action.is_empty() {
            lit!(w, ",\"action\":\"");
            w.s(k.action);
            lit!(w, "\",\"status\":\"");
            w.s(k.status);
            lit!(w, "\",\"diagnosticCode\":\"");
            w.text(k.diagnostic);
            lit!(w, "\"");
        }
        w.b.push('}');
    }
    lit!(w, "],\"timestamp\":\"");
    push_ts_or(w, e.ts, brk.bad_ts);
    lit!(w, "\"");
    if notif && k.reporting_mta {
        lit!(w, ",\"remoteMtaIp\":\"");
        push_ip(w, r);
        lit!(w, "\"");
    }
    if k.reporting_mta {
        lit!(w, ",\"reportingMTA\":\"dsn; a");
        push_u64(w.b, 8 + m.seed % 90);
        w.b.push('-');
        push_u64(w.b, 10 + (m.seed >> 8) % 200);
        lit!(w, ".smtp-out.amazonses.com\"");
    }
    w.b.push('}');
}

fn push_complaint(w: &mut W, m: &Message, e: &SesEv, r: &mut Rng, brk: &Broken) {
    lit!(w, "\"complaint\":{\"feedbackId\":\"");
    push_ses_id(
        w.b,
        e.ts,
        (u128::from(r.next_u64()) << 64) | u128::from(r.next_u64()),
    );
    lit!(w, "\",\"complaintSubType\":null,\"complainedRecipients\":[");
    let slot = e.rmask.trailing_zeros() as usize;
    lit!(w, "{\"emailAddress\":\"");
    match brk.bad_email {
        Some(bad) => w.s(bad),
        None => push_bare_address(w.b, m.rcpt[slot], m.variant[slot]),
    }
    lit!(w, "\"}],\"timestamp\":\"");
    push_ts_or(w, e.ts, brk.bad_ts);
    lit!(w, "\",\"userAgent\":\"");
    w.s(match person(m.rcpt[slot]).domain {
        0 => "ExampleCom-FBL/1.0",
        1 => "ExampleNet-FBL/2.4",
        _ => "Yahoo!-Mail-Feedback/2.0",
    });
    lit!(w, "\"");
    let feedback = FEEDBACK[usize::from(e.p)].0;
    if !feedback.is_empty() {
        lit!(w, ",\"complaintFeedbackType\":\"");
        w.s(feedback);
        lit!(w, "\"");
    }
    lit!(w, ",\"arrivalDate\":\"");
    push_ts(w.b, e.ts - 1000 * r.range(1, 120));
    lit!(w, "\"}");
}

fn push_open(w: &mut W, e: &SesEv, r: &mut Rng, brk: &Broken) {
    let weights: [u32; 6] = OPEN_AGENTS.map(|(_, w)| w);
    lit!(w, "\"open\":{\"timestamp\":\"");
    push_ts_or(w, e.ts, brk.bad_ts);
    lit!(w, "\",\"userAgent\":\"");
    w.s(OPEN_AGENTS[r.weighted(&weights)].0);
    lit!(w, "\",\"ipAddress\":\"");
    push_ip(w, r);
    lit!(w, "\"}");
}

/// Appends the `link` of a click: the template's link `idx` with its percent-encoded query.
pub(crate) fn push_link(w: &mut W, m: &Message, idx: u8) {
    let t = m.template();
    let l = &t.links[usize::from(idx)];
    lit!(w, "https://shop.example.com");
    w.s(l.path);
    lit!(w, "?utm_source=ses&utm_medium=email&utm_campaign=");
    w.s(t.campaign);
    w.s(l.extra_query);
}

fn push_click(w: &mut W, m: &Message, e: &SesEv, r: &mut Rng, brk: &Broken) {
    let weights: [u32; 5] = CLICK_AGENTS.map(|(_, w)| w);
    let l = &m.template().links[usize::from(e.p)];
    lit!(w, "\"click\":{\"timestamp\":\"");
    push_ts_or(w, e.ts, brk.bad_ts);
    lit!(w, "\",\"ipAddress\":\"");
    push_ip(w, r);
    lit!(w, "\",\"userAgent\":\"");
    w.s(CLICK_AGENTS[r.weighted(&weights)].0);
    lit!(w, "\",\"link\":\"");
    push_link(w, m, e.p);
    lit!(w, "\",\"linkTags\":{\"linkName\":[\"");
    w.s(l.name);
    lit!(w, "\"],\"placement\":[\"");
    w.s(l.placement);
    lit!(w, "\"]}}");
}

fn push_delay(w: &mut W, m: &Message, e: &SesEv, brk: &Broken) {
    let (delay_type, status, diagnostic, _) = DELAYS[usize::from(e.p)];
    lit!(w, "\"deliveryDelay\":{\"timestamp\":\"");
    push_ts_or(w, e.ts, brk.bad_ts);
    lit!(w, "\",\"delayType\":\"");
    w.s(delay_type);
    lit!(w, "\",\"expirationTime\":\"");
    push_ts(w.b, m.mail_ts + 14 * 3_600_000 - m.mail_ts % 1000);
    lit!(w, "\",\"reportingMTA\":\"203.0.113.");
    push_u64(w.b, 40 + m.seed % 16);
    lit!(w, "\",\"delayedRecipients\":[");
    let mut first = true;
    for slot in 0..usize::from(m.n) {
        if e.rmask & (1 << slot) == 0 {
            continue;
        }
        if !first {
            w.b.push(',');
        }
        first = false;
        lit!(w, "{\"emailAddress\":\"");
        match brk.bad_email {
            Some(bad) => w.s(bad),
            None => push_bare_address(w.b, m.rcpt[slot], m.variant[slot]),
        }
        lit!(w, "\",\"status\":\"");
        w.s(status);
        lit!(w, "\",\"diagnosticCode\":\"");
        w.s(diagnostic);
        lit!(w, "\"}");
    }
    lit!(w, "]}");
}

fn push_subscription(w: &mut W, e: &SesEv, r: &mut Rng, brk: &Broken) {
    lit!(
        w,
        "\"subscription\":{\"contactList\":\"example-shop-customers\",\"timestamp\":\""
    );
    push_ts_or(w, e.ts, brk.bad_ts);
    lit!(w, "\",\"source\":\"");
    w.s(if r.below(3) == 0 {
        "UnsubscribeLink"
    } else {
        "UnsubscribeHeader"
    });
    lit!(
        w,
        "\",\"newTopicPreferences\":{\"unsubscribeAll\":true,\"topicSubscriptionStatus\":[\
{\"topicName\":\"weekly-digest\",\"subscriptionStatus\":\"OptOut\"},\
{\"topicName\":\"order-updates\",\"subscriptionStatus\":\"OptOut\"}]},\
\"oldTopicPreferences\":{\"unsubscribeAll\":false,\"topicSubscriptionStatus\":[\
{\"topicName\":\"weekly-digest\",\"subscriptionStatus\":\"OptIn\"},\
{\"topicName\":\"order-updates\",\"subscriptionStatus\":\"OptIn\"}],\
\"topicDefaultSubscriptionStatus\":[\
{\"topicName\":\"weekly-digest\",\"subscriptionStatus\":\"OptIn\"},\
{\"topicName\":\"order-updates\",\"subscriptionStatus\":\"OptIn\"}]}}"
    );
}

/// Appends one SES record (compact JSON) for event `e` of message `m`.
pub(crate) fn push_record(b: &mut String, m: &Message, e: &SesEv, form: Form, brk: &Broken) {
    write_record(&mut W { b, esc: false }, m, e, form, brk);
}

/// Appends one SES record as the contents of a JSON string (an SNS `Message`).
pub(crate) fn push_record_escaped(b: &mut String, m: &Message, e: &SesEv, form: Form) {
    write_record(&mut W { b, esc: true }, m, e, form, &Broken::default());
}

fn write_record(w: &mut W, m: &Message, e: &SesEv, form: Form, brk: &Broken) {
    let mut r = Rng::new(e.rnd);
    let notif = matches!(form, Form::Notification { .. });
    if notif {
        lit!(w, "{\"notificationType\":\"");
    } else {
        lit!(w, "{\"eventType\":\"");
    }
    w.s(e.kind.ses_name());
    lit!(w, "\",");
    if e.kind == EventType::Bounce {
        push_bounce(w, m, e, &mut r, brk, notif);
        w.b.push(',');
        push_mail(w, m, e.kind, form, brk);
        w.b.push('}');
        return;
    }
    push_mail(w, m, e.kind, form, brk);
    w.b.push(',');
    match e.kind {
        EventType::Send => lit!(w, "\"send\":{}"),
        EventType::Delivery => push_delivery(w, m, e, &mut r, brk, notif),
        EventType::Open => push_open(w, e, &mut r, brk),
        EventType::Click => push_click(w, m, e, &mut r, brk),
        EventType::Complaint => push_complaint(w, m, e, &mut r, brk),
        EventType::Reject => lit!(w, "\"reject\":{\"reason\":\"Bad content\"}"),
        EventType::RenderingFailure => {
            lit!(w, "\"failure\":{\"errorMessage\":\"");
            w.s(m.template().render_error);
            lit!(w, "\",\"templateName\":\"");
            w.s(m.template().ses_template);
            lit!(w, "\"}");
        }
        EventType::DeliveryDelay => push_delay(w, m, e, brk),
        EventType::Subscription => push_subscription(w, e, &mut r, brk),
        EventType::Bounce => unreachable!("handled above"),
    }
    w.b.push('}');
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

/// Appends an EventBridge event from `aws.ses` up to its `detail`; the raw record follows,
/// then [`push_eventbridge_tail`].
pub(crate) fn push_eventbridge_head(
    b: &mut String,
    rng: &mut Rng,
    m: &Message,
    kind: EventType,
    event_ts: i64,
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
}

/// Closes an EventBridge event opened by [`push_eventbridge_head`].
pub(crate) fn push_eventbridge_tail(b: &mut String) {
    b.push('}');
}

/// Appends an EventBridge event from `aws.ses` whose `detail` is the raw `record`.
pub(crate) fn push_eventbridge_ses(
    b: &mut String,
    rng: &mut Rng,
    m: &Message,
    kind: EventType,
    event_ts: i64,
    record: &str,
) {
    push_eventbridge_head(b, rng, m, kind, event_ts);
    b.push_str(record);
    push_eventbridge_tail(b);
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

/// Appends an SNS HTTP notification body up to the inside of its `Message` string; the
/// escaped message follows, then [`push_sns_tail`].
pub(crate) fn push_sns_head(b: &mut String, rng: &mut Rng, topic: usize) {
    b.push_str("{\"Type\":\"Notification\",\"MessageId\":\"");
    push_uuid(b, rng);
    b.push_str("\",\"TopicArn\":\"");
    push_topic_arn(b, topic);
    b.push_str("\",\"Message\":\"");
}

/// Closes an SNS notification opened by [`push_sns_head`]; `ts` is the publish time.
pub(crate) fn push_sns_tail(b: &mut String, rng: &mut Rng, topic: usize, ts: i64) {
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

/// Appends an SNS HTTP notification whose `Message` is `message` (raw text, escaped here).
pub(crate) fn push_sns(b: &mut String, rng: &mut Rng, topic: usize, message: &str, ts: i64) {
    push_sns_head(b, rng, topic);
    push_escaped(b, message);
    push_sns_tail(b, rng, topic, ts);
}

/// Appends the opening of a Lambda SNS event, up to the first record.
pub(crate) fn push_lambda_open(b: &mut String) {
    b.push_str("{\"Records\":[");
}

/// Appends a Lambda SNS record up to the inside of its `Message` string; the escaped message
/// follows, then [`push_lambda_record_tail`].
pub(crate) fn push_lambda_record_head(b: &mut String, rng: &mut Rng, topic: usize) {
    b.push_str("{\"EventSource\":\"aws:sns\",\"EventVersion\":\"1.0\",\"EventSubscriptionArn\":\"");
    push_topic_arn(b, topic);
    b.push(':');
    b.push_str(TOPICS[topic].1);
    b.push_str("\",\"Sns\":{\"Type\":\"Notification\",\"MessageId\":\"");
    push_uuid(b, rng);
    b.push_str("\",\"TopicArn\":\"");
    push_topic_arn(b, topic);
    b.push_str("\",\"Subject\":null,\"Message\":\"");
}

/// Closes a Lambda SNS record opened by [`push_lambda_record_head`].
pub(crate) fn push_lambda_record_tail(b: &mut String, rng: &mut Rng, topic: usize, ts: i64) {
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

/// Appends one Lambda SNS record whose `Message` is `message` (raw text, escaped here).
pub(crate) fn push_lambda_record(
    b: &mut String,
    rng: &mut Rng,
    topic: usize,
    message: &str,
    ts: i64,
) {
    push_lambda_record_head(b, rng, topic);
    push_escaped(b, message);
    push_lambda_record_tail(b, rng, topic, ts);
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
pub(crate) fn push_app_event(b: &mut String, a: &AppEv, salt: u64, bad_time: Option<&'static str>) {
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
