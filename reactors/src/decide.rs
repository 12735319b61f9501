//! The reactor's decision function: from one event (and the subscriber's current state) to the
//! intended effects. Pure: executors in infra carry the intents out and append the outcomes.

use mailshot_domain::{AppEvent, SystemAction, Timestamp};
use serde_json::{Value, json};

use crate::config::{Config, EventConfig, FIRE_AND_FORGET, Trigger};
use crate::email_message::{OutgoingEmail, message_id};
use crate::execution::{StartExecution, StopExecution, stop_executions};
use crate::mapping::MappedSubscriber;
use crate::render::{RenderContext, Renderer};
use crate::templates::TemplateSource;
use crate::token;

/// What the subscribers projection knows of a subscriber, as far as the reactor cares.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SubscriberState {
    /// The suppression reason (`bounce`, `complaint`), if suppressed.
    pub suppressed: Option<String>,
    pub unsubscribed: bool,
    pub first_name: Option<String>,
    /// The stored attributes (an object, or null when none).
    pub attributes: Value,
}

impl SubscriberState {
    /// Why nothing may be sent to this subscriber (`suppressed: bounce`, `unsubscribed`), if so.
    pub fn blocked(&self) -> Option<String> {
        match (&self.suppressed, self.unsubscribed) {
            (Some(reason), _) => Some(format!("suppressed: {reason}")),
            (None, true) => Some("unsubscribed".to_string()),
            (None, false) => None,
        }
    }
}

/// Identifies one send, for the executor's exactly-once guard: one email per (event, template).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DedupeKey {
    pub event_id: String,
    pub template_key: String,
}

/// An intended send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendEmail {
    pub message: OutgoingEmail,
    pub dedupe_key: DedupeKey,
}

impl SendEmail {
    /// The `email.sent` outcome once SES has answered with its message id.
    pub fn sent(&self, ses_message_id: &str) -> SystemAction {
        self.message.sent(ses_message_id, &self.dedupe_key.event_id)
    }
}

/// A decision not to send (or not to start a sequence), with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    /// The subscriber, when the mapping found one.
    pub email: Option<String>,
    /// The template not sent; empty for a sequence not started.
    pub template_key: String,
    /// `fire_and_forget`, or the sequence not started.
    pub sequence_id: String,
    /// For people: `suppressed: bounce`, `unsubscribed`, `Liquid rendering error: …`, …
    pub reason: String,
    pub trigger_event_id: String,
}

impl Skip {
    /// The `email.skipped` outcome to append.
    pub fn skipped(&self) -> SystemAction {
        SystemAction::EmailSkipped {
            template_key: self.template_key.clone(),
            reason: self.reason.clone(),
            trigger_event_id: self.trigger_event_id.clone(),
        }
    }
}

/// One intended effect.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    /// Append this `subscriber.upserted` action for `email` (an upsert never clears
    /// `suppressed` or `unsubscribed`; the fold guarantees it).
    Upsert { email: String, action: SystemAction },
    /// Start a sequence's execution, then append [`StartExecution::started`].
    StartExecution(StartExecution),
    /// Send an email once per [`DedupeKey`], then append [`SendEmail::sent`].
    SendEmail(SendEmail),
    /// Send nothing; append [`Skip::skipped`].
    Skip(Skip),
}

/// Why a reactor could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReactorError {
    /// The unsubscribe signing secret is empty (the variable named by
    /// `sender.signingSecretEnv` is unset or empty).
    #[error(
        "the unsubscribe signing secret is empty: set the variable named by sender.signingSecretEnv"
    )]
    EmptySecret,
}

/// The reactor: a validated config, a template source, the token secret and a Liquid engine.
pub struct Reactor {
    config: Config,
    templates: Box<dyn TemplateSource>,
    secret: Vec<u8>,
    renderer: Renderer,
}

impl std::fmt::Debug for Reactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reactor")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Reactor {
    /// Builds a reactor. `secret` is the unsubscribe signing secret (infra reads it from the
    /// variable named by `sender.signingSecretEnv`); it must not be empty.
    pub fn new(
        config: Config,
        templates: impl TemplateSource + 'static,
        secret: impl Into<Vec<u8>>,
    ) -> Result<Reactor, ReactorError> {
        let secret = secret.into();
        if secret.is_empty() {
            return Err(ReactorError::EmptySecret);
        }
        Ok(Reactor {
            config,
            templates: Box::new(templates),
            secret,
            renderer: Renderer::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Decides what to do about one EventBridge event (the whole event JSON: `id`, `source`,
    /// `detail-type`, `time`, `detail`, …), given the state of the subscriber it concerns (as
    /// mapped by `$.detail.email`, or `None` if unknown) and the current time (for the
    /// unsubscribe token's expiry).
    ///
    /// For each matching sequence and fire-and-forget event, in config order: the subscriber
    /// upsert (once per distinct upsert), then a [`StartExecution`] or [`SendEmail`], or a
    /// [`Skip`] when the subscriber is suppressed or unsubscribed, the mapping finds no
    /// subscriber, or the template is missing or fails to render. An event without `id` or with
    /// an unparsable `time` gets no intents (ingest rejects such events before reactors run).
    pub fn decide(
        &self,
        event: &Value,
        subscriber: Option<&SubscriberState>,
        now: Timestamp,
    ) -> Vec<Intent> {
        let Some(event_id) = event.get("id").and_then(Value::as_str) else {
            return Vec::new();
        };
        let Some(time) = event
            .get("time")
            .and_then(Value::as_str)
            .and_then(Timestamp::parse)
        else {
            return Vec::new();
        };
        let mut intents = Vec::new();
        let blocked = subscriber.and_then(SubscriberState::blocked);

        for seq in &self.config.sequences {
            if !seq.trigger.matches(event) {
                continue;
            }
            let skip = |email: Option<String>, reason: String| {
                Intent::Skip(Skip {
                    email,
                    template_key: String::new(),
                    sequence_id: seq.id.clone(),
                    reason,
                    trigger_event_id: event_id.to_string(),
                })
            };
            let mapped = match map(&seq.trigger, event) {
                Ok(m) => m,
                Err(reason) => {
                    intents.push(skip(None, reason));
                    continue;
                }
            };
            push_upsert(&mut intents, &mapped);
            match &blocked {
                Some(reason) => intents.push(skip(Some(mapped.email.clone()), reason.clone())),
                None => intents.push(Intent::StartExecution(StartExecution::new(
                    &seq.state_machine_arn,
                    &seq.id,
                    event_id,
                    &mapped,
                ))),
            }
        }

        for email_config in &self.config.events {
            if email_config.trigger.matches(event) {
                self.decide_email(
                    email_config,
                    event,
                    event_id,
                    time,
                    subscriber,
                    blocked.as_deref(),
                    now,
                    &mut intents,
                );
            }
        }
        intents
    }

    /// [`Reactor::decide`] for an app event as the domain parses it (its `detail` text and
    /// envelope fields rebuilt into EventBridge JSON).
    pub fn decide_app(
        &self,
        app: &AppEvent<'_>,
        subscriber: Option<&SubscriberState>,
        now: Timestamp,
    ) -> Vec<Intent> {
        self.decide(&app_event_json(app), subscriber, now)
    }

    #[allow(clippy::too_many_arguments)]
    fn decide_email(
        &self,
        email_config: &EventConfig,
        event: &Value,
        event_id: &str,
        time: Timestamp,
        subscriber: Option<&SubscriberState>,
        blocked: Option<&str>,
        now: Timestamp,
        intents: &mut Vec<Intent>,
    ) {
        let skip = |email: Option<String>, reason: String| {
            Intent::Skip(Skip {
                email,
                template_key: email_config.template_key.clone(),
                sequence_id: FIRE_AND_FORGET.to_string(),
                reason,
                trigger_event_id: event_id.to_string(),
            })
        };
        let mapped = match map(&email_config.trigger, event) {
            Ok(m) => m,
            Err(reason) => {
                intents.push(skip(None, reason));
                return;
            }
        };
        push_upsert(intents, &mapped);
        if let Some(reason) = blocked {
            intents.push(skip(Some(mapped.email), reason.to_string()));
            return;
        }
        let merged = merge_with_state(&mapped, subscriber);
        match self.render_email(
            &email_config.template_key,
            &email_config.subject,
            FIRE_AND_FORGET,
            &merged,
            event_id,
            time,
            now,
        ) {
            Ok(message) => intents.push(Intent::SendEmail(SendEmail {
                message,
                dedupe_key: DedupeKey {
                    event_id: event_id.to_string(),
                    template_key: email_config.template_key.clone(),
                },
            })),
            Err(reason) => intents.push(skip(Some(merged.email), reason)),
        }
    }

    /// Renders one email for a subscriber: subject and body templates with the context of
    /// [`crate::render`], the unsubscribe link signed at `now`, `Date` and `currentYear` from
    /// `event_time`. Also for executors of sequence steps. `Err` is the skip reason.
    #[allow(clippy::too_many_arguments)]
    pub fn render_email(
        &self,
        template_key: &str,
        subject_template: &str,
        sequence_id: &str,
        subscriber: &MappedSubscriber,
        event_id: &str,
        event_time: Timestamp,
        now: Timestamp,
    ) -> Result<OutgoingEmail, String> {
        let sender = &self.config.sender;
        let token = token::sign(&subscriber.email, &self.secret, now);
        let unsubscribe_url = token::unsubscribe_url(&sender.unsubscribe_base_url, &token);
        let ctx = RenderContext {
            email: subscriber.email.clone(),
            first_name: subscriber.first_name.clone(),
            attributes: subscriber.attributes.clone(),
            unsubscribe_url: unsubscribe_url.clone(),
            current_year: event_time.day().civil().0,
        };
        let body_template = self
            .templates
            .load(template_key)
            .map_err(|e| e.to_string())?;
        let subject = self
            .renderer
            .render(subject_template, &ctx)
            .map_err(|e| format!("subject: {e}"))?;
        let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
        if subject.is_empty() {
            return Err("subject: renders empty".to_string());
        }
        let html = self
            .renderer
            .render(&body_template, &ctx)
            .map_err(|e| format!("template {template_key:?}: {e}"))?;
        Ok(OutgoingEmail {
            from: sender.from.clone(),
            to: subscriber.email.clone(),
            reply_to: sender.reply_to.clone(),
            subject,
            html,
            headers: vec![
                ("List-Unsubscribe".into(), format!("<{unsubscribe_url}>")),
                (
                    "List-Unsubscribe-Post".into(),
                    "List-Unsubscribe=One-Click".into(),
                ),
                ("X-Template-Key".into(), template_key.to_string()),
                ("X-Sequence-Id".into(), sequence_id.to_string()),
            ],
            tags: vec![
                ("templateKey".into(), template_key.replace('/', "--")),
                ("sequenceId".into(), sequence_id.to_string()),
            ],
            template_key: template_key.to_string(),
            sequence_id: sequence_id.to_string(),
            date: event_time,
            message_id: message_id(event_id, template_key, &sender.from),
        })
    }

    /// Checks that every configured template loads and parses, for a start-up report:
    /// `(templateKey, reason)` for each that does not.
    pub fn check_templates(&self) -> Vec<(String, String)> {
        self.config
            .template_keys()
            .into_iter()
            .filter_map(|key| {
                let problem = match self.templates.load(key) {
                    Err(e) => e.to_string(),
                    Ok(text) => crate::render::check_syntax(&text).err()?,
                };
                Some((key.to_string(), problem))
            })
            .collect()
    }

    /// A subscriber was suppressed (or unsubscribed): stop every running execution. `reason` is
    /// e.g. `suppressed: bounce` (see [`SubscriberState::blocked`]).
    pub fn on_suppressed(running: &[String], reason: &str) -> (Vec<StopExecution>, SystemAction) {
        stop_executions(running, reason)
    }
}

fn map(trigger: &Trigger, event: &Value) -> Result<MappedSubscriber, String> {
    trigger
        .mapping
        .apply(event)
        .map_err(|e| format!("subscriber mapping: {e}"))
}

fn push_upsert(intents: &mut Vec<Intent>, mapped: &MappedSubscriber) {
    let upsert = Intent::Upsert {
        email: mapped.email.clone(),
        action: mapped.upsert_action(),
    };
    if !intents.contains(&upsert) {
        intents.push(upsert);
    }
}

/// The render subscriber: the event's mapping over what is stored (first name falls back to the
/// stored one; attributes are the stored object with the event's keys on top).
fn merge_with_state(
    mapped: &MappedSubscriber,
    state: Option<&SubscriberState>,
) -> MappedSubscriber {
    let Some(state) = state else {
        return mapped.clone();
    };
    let attributes = match (&state.attributes, &mapped.attributes) {
        (Value::Object(stored), Value::Object(fresh)) => {
            let mut merged = stored.clone();
            merged.extend(fresh.iter().map(|(k, v)| (k.clone(), v.clone())));
            Value::Object(merged)
        }
        _ => mapped.attributes.clone(),
    };
    MappedSubscriber {
        email: mapped.email.clone(),
        first_name: mapped
            .first_name
            .clone()
            .or_else(|| state.first_name.clone()),
        attributes,
    }
}

/// Rebuilds EventBridge JSON from a parsed app event (`detail` that is not valid JSON becomes
/// `{}`, which ingest never lets through).
pub fn app_event_json(app: &AppEvent<'_>) -> Value {
    let detail: Value = serde_json::from_str(&app.detail).unwrap_or_else(|_| json!({}));
    json!({
        "id": app.event_id,
        "source": app.source,
        "detail-type": app.detail_type,
        "time": app.time.to_string(),
        "detail": detail,
    })
}

#[cfg(test)]
mod tests;
