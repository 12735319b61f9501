//! SES event records (docs/formats.md §1a/§1b): typed models of `mail` and the type objects,
//! and their normalisation into one [`EngagementFact`] per recipient (docs/design.md §3.4).

use std::borrow::Cow;
use std::collections::HashSet;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use super::Top;
use super::lenient::{
    Arr, Leaf, Obj, opt_arr, opt_bool, opt_obj, opt_str, req_arr, req_obj, req_str, req_ts, wrong,
};
use crate::{EngagementFact, EventType, FactId, InputError, normalise_email};

/// The `mail` object. Only the keys mailshot reads are modelled; the rest are skipped
/// without being materialised.
#[derive(Deserialize)]
pub(crate) struct Mail<'a> {
    #[serde(rename = "messageId", borrow)]
    message_id: Option<Leaf<'a>>,
    #[serde(borrow)]
    timestamp: Option<Leaf<'a>>,
    #[serde(borrow)]
    destination: Option<Arr<Leaf<'a>>>,
    /// Documented as a string, sent as a boolean: both are accepted (and otherwise unused).
    #[serde(rename = "headersTruncated", borrow)]
    headers_truncated: Option<Leaf<'a>>,
    #[serde(borrow)]
    headers: Option<Arr<Obj<Header<'a>>>>,
    #[serde(rename = "commonHeaders", borrow)]
    common_headers: Option<Obj<CommonHeaders<'a>>>,
    #[serde(borrow)]
    tags: Option<Obj<Tags<'a>>>,
}

/// One `mail.headers[]` entry. The value stays raw (unescaped, unallocated) until its name
/// turns out to be one we read: most headers are never decoded.
#[derive(Deserialize)]
pub(crate) struct Header<'a> {
    #[serde(borrow)]
    name: Option<Leaf<'a>>,
    #[serde(borrow)]
    value: Option<&'a RawValue>,
}

#[derive(Deserialize)]
pub(crate) struct CommonHeaders<'a> {
    #[serde(borrow)]
    subject: Option<Leaf<'a>>,
}

/// `mail.tags`: every value is an array of strings; only our two user tags are read.
#[derive(Deserialize)]
pub(crate) struct Tags<'a> {
    #[serde(rename = "templateKey", borrow)]
    template_key: Option<Arr<Leaf<'a>>>,
    #[serde(rename = "sequenceId", borrow)]
    sequence_id: Option<Arr<Leaf<'a>>>,
}

/// The type-specific object (`bounce`, `click`, …): one model holding the union of the keys
/// mailshot reads from any of them, since each type reads a disjoint handful.
#[derive(Deserialize)]
pub(crate) struct TypeObject<'a> {
    #[serde(borrow)]
    timestamp: Option<Leaf<'a>>,
    // bounce
    #[serde(rename = "bounceType", borrow)]
    bounce_type: Option<Leaf<'a>>,
    #[serde(rename = "bounceSubType", borrow)]
    bounce_sub_type: Option<Leaf<'a>>,
    #[serde(rename = "bouncedRecipients", borrow)]
    bounced_recipients: Option<Arr<Obj<Recipient<'a>>>>,
    // complaint
    #[serde(rename = "complainedRecipients", borrow)]
    complained_recipients: Option<Arr<Obj<Recipient<'a>>>>,
    #[serde(rename = "complaintFeedbackType", borrow)]
    complaint_feedback_type: Option<Leaf<'a>>,
    // delivery
    #[serde(borrow)]
    recipients: Option<Arr<Leaf<'a>>>,
    // open, click
    #[serde(rename = "userAgent", borrow)]
    user_agent: Option<Leaf<'a>>,
    #[serde(borrow)]
    link: Option<Leaf<'a>>,
    // deliveryDelay
    #[serde(rename = "delayedRecipients", borrow)]
    delayed_recipients: Option<Arr<Obj<Recipient<'a>>>>,
    // subscription
    #[serde(rename = "newTopicPreferences", borrow)]
    new_topic_preferences: Option<Obj<TopicPreferences<'a>>>,
}

/// `bouncedRecipients[]`, `complainedRecipients[]`, `delayedRecipients[]` entries.
#[derive(Deserialize)]
pub(crate) struct Recipient<'a> {
    #[serde(rename = "emailAddress", borrow)]
    email_address: Option<Leaf<'a>>,
    #[serde(rename = "diagnosticCode", borrow)]
    diagnostic_code: Option<Leaf<'a>>,
}

#[derive(Deserialize)]
pub(crate) struct TopicPreferences<'a> {
    #[serde(rename = "unsubscribeAll", borrow)]
    unsubscribe_all: Option<Leaf<'a>>,
}

/// The SES-record keys of the top-level model, moved out of [`Top`].
pub(crate) struct SesRecord<'a> {
    pub event_type: Option<Leaf<'a>>,
    pub notification_type: Option<Leaf<'a>>,
    pub mail: Option<Obj<Mail<'a>>>,
    pub bounce: Option<Obj<TypeObject<'a>>>,
    pub complaint: Option<Obj<TypeObject<'a>>>,
    pub delivery: Option<Obj<TypeObject<'a>>>,
    pub open: Option<Obj<TypeObject<'a>>>,
    pub click: Option<Obj<TypeObject<'a>>>,
    pub delivery_delay: Option<Obj<TypeObject<'a>>>,
    pub subscription: Option<Obj<TypeObject<'a>>>,
    pub failure: Option<Obj<IgnoredAny>>,
    pub send: Option<Obj<IgnoredAny>>,
    pub reject: Option<Obj<IgnoredAny>>,
}

impl<'a> SesRecord<'a> {
    pub(crate) fn take(top: &mut Top<'a>) -> SesRecord<'a> {
        SesRecord {
            event_type: top.event_type.take(),
            notification_type: top.notification_type.take(),
            mail: top.mail.take(),
            bounce: top.bounce.take(),
            complaint: top.complaint.take(),
            delivery: top.delivery.take(),
            open: top.open.take(),
            click: top.click.take(),
            delivery_delay: top.delivery_delay.take(),
            subscription: top.subscription.take(),
            failure: top.failure.take(),
            send: top.send.take(),
            reject: top.reject.take(),
        }
    }
}

/// The headers mailshot reads, first occurrence wins.
#[derive(Default)]
struct ReadHeaders<'a> {
    template_key: Option<Cow<'a, str>>,
    sequence_id: Option<Cow<'a, str>>,
    subject: Option<Cow<'a, str>>,
}

fn scan_headers<'a>(headers: Vec<Obj<Header<'a>>>) -> Result<ReadHeaders<'a>, InputError> {
    let mut out = ReadHeaders::default();
    for (i, header) in headers.into_iter().enumerate() {
        let Obj::Ok(header) = header else {
            return Err(wrong(&format!("mail.headers[{i}]"), "an object"));
        };
        let name = match header.name {
            Some(Leaf::Str(name)) => name,
            None => {
                return Err(InputError::MissingField {
                    path: format!("mail.headers[{i}].name"),
                });
            }
            Some(_) => return Err(wrong(&format!("mail.headers[{i}].name"), "a string")),
        };
        // Header names are not case-normalised by SES.
        let slot = if name.eq_ignore_ascii_case("x-template-key") {
            &mut out.template_key
        } else if name.eq_ignore_ascii_case("x-sequence-id") {
            &mut out.sequence_id
        } else if name.eq_ignore_ascii_case("subject") {
            &mut out.subject
        } else {
            continue;
        };
        if slot.is_some() {
            continue;
        }
        let path = || format!("mail.headers[{i}].value");
        let raw = header
            .value
            .ok_or_else(|| InputError::MissingField { path: path() })?;
        match serde_json::from_str::<Leaf<'a>>(raw.get()) {
            Ok(Leaf::Str(value)) => *slot = Some(value),
            _ => return Err(wrong(&path(), "a string")),
        }
    }
    Ok(out)
}

/// The first value of a tag, if the tag is present and non-empty.
fn first_tag<'a>(
    tag: Option<Arr<Leaf<'a>>>,
    path: &str,
) -> Result<Option<Cow<'a, str>>, InputError> {
    let Some(values) = opt_arr(tag, path, "an array of strings")? else {
        return Ok(None);
    };
    match values.into_iter().next() {
        None => Ok(None),
        Some(Leaf::Str(s)) => Ok(Some(s)),
        Some(_) => Err(wrong(&format!("{path}[0]"), "a string")),
    }
}

/// Empty strings count as absent, so an empty header falls through to the tag.
fn non_empty(s: Option<Cow<'_, str>>) -> Option<Cow<'_, str>> {
    s.filter(|s| !s.is_empty())
}

/// Tag values cannot hold `/`, so senders write `--` for it; turn it back.
fn untag_slashes(s: Cow<'_, str>) -> Cow<'_, str> {
    if s.contains("--") {
        Cow::Owned(s.replace("--", "/"))
    } else {
        s
    }
}

/// One recipient before normalisation: as spelled, its JSON path index, its diagnostic.
struct RawRecipient<'a> {
    spelled: Cow<'a, str>,
    diagnostic_code: Option<Cow<'a, str>>,
    index: usize,
}

fn recipient_objects<'a>(
    list: Option<Arr<Obj<Recipient<'a>>>>,
    path: &str,
    with_diagnostic: bool,
) -> Result<Vec<RawRecipient<'a>>, InputError> {
    let list = req_arr(list, path, "an array of objects")?;
    let mut out = Vec::with_capacity(list.len());
    for (index, item) in list.into_iter().enumerate() {
        let Obj::Ok(item) = item else {
            return Err(wrong(&format!("{path}[{index}]"), "an object"));
        };
        // Paths are formatted only on the error branches: this loop is on the hot path.
        let spelled = match item.email_address {
            Some(Leaf::Str(s)) => s,
            None => {
                return Err(InputError::MissingField {
                    path: format!("{path}[{index}].emailAddress"),
                });
            }
            Some(_) => return Err(wrong(&format!("{path}[{index}].emailAddress"), "a string")),
        };
        let diagnostic_code = match item.diagnostic_code {
            Some(Leaf::Str(s)) if with_diagnostic => Some(s),
            None => None,
            Some(Leaf::Str(_)) => None,
            Some(_) => {
                return Err(wrong(
                    &format!("{path}[{index}].diagnosticCode"),
                    "a string",
                ));
            }
        };
        out.push(RawRecipient {
            spelled,
            diagnostic_code,
            index,
        });
    }
    Ok(out)
}

fn recipient_strings<'a>(
    list: Vec<Leaf<'a>>,
    path: &str,
) -> Result<Vec<RawRecipient<'a>>, InputError> {
    let mut out = Vec::with_capacity(list.len());
    for (index, item) in list.into_iter().enumerate() {
        match item {
            Leaf::Str(spelled) => out.push(RawRecipient {
                spelled,
                diagnostic_code: None,
                index,
            }),
            _ => return Err(wrong(&format!("{path}[{index}]"), "a string")),
        }
    }
    Ok(out)
}

/// Normalises an SES record into its facts: one per distinct normalised recipient.
pub(crate) fn facts<'a>(rec: SesRecord<'a>) -> Result<Vec<EngagementFact<'a>>, InputError> {
    let event_type = match (rec.event_type, rec.notification_type) {
        (Some(t), _) => ses_type(t, "eventType")?,
        (None, Some(t)) => ses_type(t, "notificationType")?,
        (None, None) => {
            return Err(InputError::MissingField {
                path: "eventType".into(),
            });
        }
    };
    let mail = req_obj(rec.mail, "mail")?;
    let ses_message_id = req_str(mail.message_id, "mail.messageId")?;
    let mail_time = req_ts(mail.timestamp, "mail.timestamp")?;
    let destination = req_arr(mail.destination, "mail.destination", "an array of strings")?;
    let destination = recipient_strings(destination, "mail.destination")?;
    if let Some(Leaf::Other) = mail.headers_truncated {
        return Err(wrong("mail.headersTruncated", "a boolean or a string"));
    }
    let headers = match opt_arr(mail.headers, "mail.headers", "an array of objects")? {
        Some(h) => scan_headers(h)?,
        None => ReadHeaders::default(),
    };
    let common_subject = match opt_obj(mail.common_headers, "mail.commonHeaders")? {
        Some(c) => opt_str(c.subject, "mail.commonHeaders.subject")?,
        None => None,
    };
    let (tag_template, tag_sequence) = match opt_obj(mail.tags, "mail.tags")? {
        Some(tags) => (
            first_tag(tags.template_key, "mail.tags.templateKey")?,
            first_tag(tags.sequence_id, "mail.tags.sequenceId")?,
        ),
        None => (None, None),
    };
    let template_key = non_empty(headers.template_key)
        .or_else(|| non_empty(tag_template).map(untag_slashes))
        .unwrap_or(Cow::Borrowed(""));
    let sequence_id = non_empty(headers.sequence_id)
        .or_else(|| non_empty(tag_sequence))
        .unwrap_or(Cow::Borrowed("fire_and_forget"));
    let subject = common_subject.or(headers.subject);

    let mut base = EngagementFact {
        id: FactId::default(),
        event_type,
        email: String::new(),
        recipient: Cow::Borrowed(""),
        timestamp: mail_time,
        sent_at: mail_time,
        ses_message_id,
        template_key,
        sequence_id,
        subject,
        link_url: None,
        user_agent: None,
        bounce_type: None,
        bounce_sub_type: None,
        diagnostic_code: None,
        feedback_type: None,
        unsubscribe_all: None,
    };

    // The type-specific object, and where its recipients come from.
    let (recipients, recipients_path): (Vec<RawRecipient<'a>>, &str) = match event_type {
        EventType::Send | EventType::Reject | EventType::RenderingFailure => {
            let (obj, key) = match event_type {
                EventType::Send => (rec.send, "send"),
                EventType::Reject => (rec.reject, "reject"),
                _ => (rec.failure, "failure"),
            };
            // Not needed (the event time is `mail.timestamp`), but if present it must be an object.
            opt_obj(obj, key)?;
            (destination, "mail.destination")
        }
        _ => {
            let (obj, key, ts_path) = match event_type {
                EventType::Delivery => (rec.delivery, "delivery", "delivery.timestamp"),
                EventType::Open => (rec.open, "open", "open.timestamp"),
                EventType::Click => (rec.click, "click", "click.timestamp"),
                EventType::Bounce => (rec.bounce, "bounce", "bounce.timestamp"),
                EventType::Complaint => (rec.complaint, "complaint", "complaint.timestamp"),
                EventType::DeliveryDelay => (
                    rec.delivery_delay,
                    "deliveryDelay",
                    "deliveryDelay.timestamp",
                ),
                _ => (rec.subscription, "subscription", "subscription.timestamp"),
            };
            let obj = req_obj(obj, key)?;
            base.timestamp = req_ts(obj.timestamp, ts_path)?;
            match event_type {
                EventType::Delivery => {
                    match opt_arr(obj.recipients, "delivery.recipients", "an array of strings")? {
                        Some(list) => (
                            recipient_strings(list, "delivery.recipients")?,
                            "delivery.recipients",
                        ),
                        None => (destination, "mail.destination"),
                    }
                }
                EventType::Open => {
                    base.user_agent = opt_str(obj.user_agent, "open.userAgent")?;
                    (destination, "mail.destination")
                }
                EventType::Click => {
                    base.user_agent = opt_str(obj.user_agent, "click.userAgent")?;
                    // The link is part of a click's identity, so it is required.
                    base.link_url = Some(req_str(obj.link, "click.link")?);
                    (destination, "mail.destination")
                }
                EventType::Bounce => {
                    base.bounce_type = opt_str(obj.bounce_type, "bounce.bounceType")?;
                    base.bounce_sub_type = opt_str(obj.bounce_sub_type, "bounce.bounceSubType")?;
                    let path = "bounce.bouncedRecipients";
                    (recipient_objects(obj.bounced_recipients, path, true)?, path)
                }
                EventType::Complaint => {
                    base.feedback_type = opt_str(
                        obj.complaint_feedback_type,
                        "complaint.complaintFeedbackType",
                    )?;
                    let path = "complaint.complainedRecipients";
                    (
                        recipient_objects(obj.complained_recipients, path, false)?,
                        path,
                    )
                }
                EventType::DeliveryDelay => {
                    let path = "deliveryDelay.delayedRecipients";
                    (recipient_objects(obj.delayed_recipients, path, true)?, path)
                }
                _ => {
                    let prefs = opt_obj(
                        obj.new_topic_preferences,
                        "subscription.newTopicPreferences",
                    )?;
                    if let Some(prefs) = prefs {
                        base.unsubscribe_all = opt_bool(
                            prefs.unsubscribe_all,
                            "subscription.newTopicPreferences.unsubscribeAll",
                        )?;
                    }
                    (destination, "mail.destination")
                }
            }
        }
    };
    expand(base, recipients, recipients_path)
}

fn ses_type(leaf: Leaf<'_>, path: &str) -> Result<EventType, InputError> {
    let name = req_str(Some(leaf), path)?;
    EventType::from_ses_name(&name).ok_or_else(|| InputError::UnknownEventType {
        path: path.to_owned(),
        value: name.into_owned(),
    })
}

/// One fact per distinct normalised recipient, each with its identity.
fn expand<'a>(
    base: EngagementFact<'a>,
    recipients: Vec<RawRecipient<'a>>,
    path: &str,
) -> Result<Vec<EngagementFact<'a>>, InputError> {
    if recipients.is_empty() {
        return Err(InputError::NoRecipients {
            path: path.to_owned(),
        });
    }
    let mut normalised: Vec<(String, RawRecipient<'a>)> = Vec::with_capacity(recipients.len());
    // Addresses already taken: a set, so that N recipients cost O(N), not O(N²).
    let mut seen: HashSet<String> = HashSet::with_capacity(recipients.len());
    for r in recipients {
        let field = if path == "mail.destination" || path == "delivery.recipients" {
            None
        } else {
            Some(".emailAddress")
        };
        let Some(email) = normalise_email(&r.spelled) else {
            return Err(InputError::BadEmail {
                path: format!("{path}[{}]{}", r.index, field.unwrap_or("")),
                value: r.spelled.into_owned(),
            });
        };
        // The same address twice in one record (SES lists, case variants) is one fact.
        // The first spelling listed is the one kept.
        if !seen.contains(&email) {
            seen.insert(email.clone());
            normalised.push((email, r));
        }
    }
    let n = normalised.len();
    let mut base = Some(base);
    let mut out = Vec::with_capacity(n);
    for (k, (email, r)) in normalised.into_iter().enumerate() {
        let mut fact = if k + 1 == n {
            base.take()
                .expect("base is taken only by the last recipient")
        } else {
            base.as_ref()
                .expect("base is present until the last recipient")
                .clone()
        };
        fact.id = identity(&fact, &email);
        fact.email = email;
        fact.recipient = r.spelled;
        fact.diagnostic_code = r.diagnostic_code;
        out.push(fact);
    }
    Ok(out)
}

fn identity(fact: &EngagementFact<'_>, email: &str) -> FactId {
    let link = if fact.event_type == EventType::Click {
        fact.link_url.as_deref()
    } else {
        None
    };
    FactId::of_ses_fact(
        &fact.ses_message_id,
        fact.event_type,
        fact.timestamp,
        email,
        link,
    )
}
