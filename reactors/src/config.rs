//! `mailshot.toml`: what the reactors react to, who sends, and where templates live.
//!
//! Loaded with [`Config::parse`] from text (infra reads the file) and validated completely on
//! load: every error is one line naming the key path, e.g. `sequences[1].trigger.detailType:
//! missing`. Keys are camelCase; unknown keys are errors. `examples/mailshot.toml` at the
//! repository root is a full, commented example. The format:
//!
//! ```toml
//! [sender]
//! from = "Example Shop <hello@example.com>"   # required; an address, optionally with a name
//! replyTo = "support@example.com"             # optional
//! configurationSet = "mailshot-events"        # optional; the SES configuration set (AWS)
//! unsubscribeBaseUrl = "https://example.com/unsubscribe"  # required; http(s)
//! signingSecretEnv = "MAILSHOT_UNSUBSCRIBE_SECRET"        # required; the NAME of the variable
//!
//! [templates]
//! dir = "templates"        # optional, default "templates"; <dir>/<templateKey>.liquid
//!
//! [[sequences]]
//! id = "onboarding"        # required, unique; A-Z a-z 0-9 _ -, at most 64 characters
//! stateMachineArn = "arn:aws:states:us-east-1:111122223333:stateMachine:onboarding"
//! [sequences.trigger]
//! source = "com.example.shop"        # optional
//! detailType = "customer.created"    # required
//! pattern = { detail = { marketingOptIn = [true] } }  # optional EventBridge pattern (table or JSON text)
//! [sequences.trigger.subscriberMapping]   # optional; these are the defaults
//! email = "$.detail.email"                # required when the table is given
//! firstName = "$.detail.firstName"        # optional
//! attributes = "$.detail"                 # optional
//!
//! [[events]]                 # fire and forget: one email per matching event
//! detailType = "order.shipped"           # required
//! source = "com.example.shop"            # optional
//! templateKey = "order/shipped"          # required; segments of A-Z a-z 0-9 _ - joined by /
//! subject = "Your order {{ attributes.orderId }} is on its way"  # required; Liquid
//! # pattern and subscriberMapping as for a sequence trigger
//! ```

use std::collections::HashMap;

use mailshot_domain::normalise_email;
use serde::Deserialize;
use serde_json::Value;

use crate::mapping::SubscriberMapping;
use crate::pattern::Pattern;

/// The `sequenceId` that fire-and-forget emails carry; not allowed as a sequence id.
pub const FIRE_AND_FORGET: &str = "fire_and_forget";

/// The default templates directory, relative to the config file.
pub const DEFAULT_TEMPLATES_DIR: &str = "templates";

/// Why a config was refused: one line naming the key path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The text is not valid TOML.
    #[error("line {line}, column {column}: invalid TOML: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// A key is missing, unknown, of the wrong type, or has an invalid value.
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        path: path.into(),
        message: message.into(),
    }
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub sender: Sender,
    /// Where templates live, as written (relative paths are relative to the config file; infra
    /// resolves them).
    pub templates_dir: String,
    /// In file order; ids unique.
    pub sequences: Vec<SequenceConfig>,
    /// Fire-and-forget emails, in file order.
    pub events: Vec<EventConfig>,
}

/// Who sends, and how unsubscribe links are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// The `From` mailbox as written: `addr` or `Name <addr>`.
    pub from: String,
    /// The `Reply-To` mailbox, if any.
    pub reply_to: Option<String>,
    /// `http(s)://…`; the unsubscribe URL is this plus `?token=…` (or `&token=…`).
    pub unsubscribe_base_url: String,
    /// The name of the environment variable that holds the token signing secret.
    pub signing_secret_env: String,
    /// The SES configuration set sends go through on AWS: its event destinations publish the
    /// engagement events that come back to mailshot. `None`: the identity's default set.
    pub configuration_set: Option<String>,
}

/// Which events a sequence or email reacts to, and how to find the subscriber in them.
#[derive(Debug, Clone)]
pub struct Trigger {
    /// Exact `source`, when given.
    pub source: Option<String>,
    /// Exact `detail-type`.
    pub detail_type: String,
    /// An additional EventBridge pattern, ANDed with `source` and `detail-type`.
    pub pattern: Option<Pattern>,
    pub mapping: SubscriberMapping,
}

impl Trigger {
    /// True when the whole EventBridge event matches `source`, `detail-type` and the pattern.
    pub fn matches(&self, event: &Value) -> bool {
        event.get("detail-type").and_then(Value::as_str) == Some(self.detail_type.as_str())
            && self
                .source
                .as_deref()
                .is_none_or(|s| event.get("source").and_then(Value::as_str) == Some(s))
            && self.pattern.as_ref().is_none_or(|p| p.matches(event))
    }
}

/// A sequence: a Step Functions state machine started once per triggering event.
#[derive(Debug, Clone)]
pub struct SequenceConfig {
    pub id: String,
    pub trigger: Trigger,
    pub state_machine_arn: String,
}

/// A fire-and-forget email: one template rendered and sent per triggering event.
#[derive(Debug, Clone)]
pub struct EventConfig {
    pub trigger: Trigger,
    pub template_key: String,
    /// A Liquid template.
    pub subject: String,
}

// ---- the file as written: every field optional so that "missing" can name its path ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawConfig {
    sender: Option<RawSender>,
    templates: Option<RawTemplates>,
    #[serde(default)]
    sequences: Vec<RawSequence>,
    #[serde(default)]
    events: Vec<RawEvent>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawSender {
    from: Option<String>,
    reply_to: Option<String>,
    unsubscribe_base_url: Option<String>,
    signing_secret_env: Option<String>,
    configuration_set: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplates {
    dir: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawSequence {
    id: Option<String>,
    trigger: Option<RawTrigger>,
    state_machine_arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawTrigger {
    source: Option<String>,
    detail_type: Option<String>,
    pattern: Option<Value>,
    subscriber_mapping: Option<RawMapping>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawMapping {
    email: Option<String>,
    first_name: Option<String>,
    attributes: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawEvent {
    source: Option<String>,
    detail_type: Option<String>,
    pattern: Option<Value>,
    subscriber_mapping: Option<RawMapping>,
    template_key: Option<String>,
    subject: Option<String>,
}

impl Config {
    /// Parses and validates `mailshot.toml` text. The first problem found is returned.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let de = toml::Deserializer::parse(text).map_err(|e| syntax(text, &e))?;
        let raw: RawConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let message = inner.message().to_string();
            // Unknown keys are reported at their parent; name the key itself.
            match unknown_field(&message) {
                Some(field) if path == field || path.ends_with(&format!(".{field}")) => {
                    invalid(path, "unknown key")
                }
                Some(field) => invalid(join(&path, &field), "unknown key"),
                None => invalid(
                    if path == "." {
                        "(top level)".into()
                    } else {
                        path
                    },
                    message,
                ),
            }
        })?;
        validate(raw)
    }

    /// The sequence with this id.
    pub fn sequence(&self, id: &str) -> Option<&SequenceConfig> {
        self.sequences.iter().find(|s| s.id == id)
    }

    /// Every template key the config mentions (fire-and-forget events), deduplicated, in order.
    pub fn template_keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = Vec::new();
        for e in &self.events {
            if !keys.contains(&e.template_key.as_str()) {
                keys.push(&e.template_key);
            }
        }
        keys
    }
}

fn syntax(text: &str, e: &toml::de::Error) -> ConfigError {
    let offset = e.span().map_or(0, |s| s.start).min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    ConfigError::Syntax {
        line,
        column,
        message: e.message().lines().next().unwrap_or("").to_string(),
    }
}

/// Extracts `foo` from serde's "unknown field `foo`, expected …".
fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest[..rest.find('`')?].to_string())
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() || path == "." {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn required<T>(value: Option<T>, path: &str) -> Result<T, ConfigError> {
    value.ok_or_else(|| invalid(path, "missing"))
}

fn non_empty(value: Option<String>, path: &str) -> Result<String, ConfigError> {
    let value = required(value, path)?;
    if value.trim().is_empty() {
        return Err(invalid(path, "empty"));
    }
    Ok(value)
}

fn validate(raw: RawConfig) -> Result<Config, ConfigError> {
    let sender = validate_sender(required(raw.sender, "sender")?)?;
    let templates_dir = match raw.templates.and_then(|t| t.dir) {
        None => DEFAULT_TEMPLATES_DIR.to_string(),
        Some(dir) if dir.trim().is_empty() => return Err(invalid("templates.dir", "empty")),
        Some(dir) => dir,
    };

    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut sequences = Vec::with_capacity(raw.sequences.len());
    for (i, s) in raw.sequences.into_iter().enumerate() {
        let at = format!("sequences[{i}]");
        let id = non_empty(s.id, &format!("{at}.id"))?;
        if !is_tag_value(&id) || id.len() > 64 {
            return Err(invalid(
                format!("{at}.id"),
                "must be 1 to 64 characters of A-Z a-z 0-9 _ -",
            ));
        }
        if id == FIRE_AND_FORGET {
            return Err(invalid(
                format!("{at}.id"),
                format!("{FIRE_AND_FORGET:?} is reserved"),
            ));
        }
        if let Some(first) = seen.insert(id.clone(), i) {
            return Err(invalid(
                format!("{at}.id"),
                format!("duplicate sequence id {id:?} (also sequences[{first}].id)"),
            ));
        }
        let trigger_at = format!("{at}.trigger");
        let t = required(s.trigger, &trigger_at)?;
        let trigger = validate_trigger(
            &trigger_at,
            t.source,
            t.detail_type,
            t.pattern,
            t.subscriber_mapping,
        )?;
        let arn_at = format!("{at}.stateMachineArn");
        let state_machine_arn = non_empty(s.state_machine_arn, &arn_at)?;
        if !is_state_machine_arn(&state_machine_arn) {
            return Err(invalid(
                arn_at,
                "not an ARN (expected arn:<partition>:states:<region>:<account>:stateMachine:<name>)",
            ));
        }
        sequences.push(SequenceConfig {
            id,
            trigger,
            state_machine_arn,
        });
    }

    let mut events = Vec::with_capacity(raw.events.len());
    for (i, e) in raw.events.into_iter().enumerate() {
        let at = format!("events[{i}]");
        let trigger = validate_trigger(
            &at,
            e.source,
            e.detail_type,
            e.pattern,
            e.subscriber_mapping,
        )?;
        let key_at = format!("{at}.templateKey");
        let template_key = non_empty(e.template_key, &key_at)?;
        if let Err(why) = check_template_key(&template_key) {
            return Err(invalid(key_at, why));
        }
        let subject_at = format!("{at}.subject");
        let subject = non_empty(e.subject, &subject_at)?;
        if let Err(why) = crate::render::check_syntax(&subject) {
            return Err(invalid(subject_at, format!("invalid Liquid: {why}")));
        }
        events.push(EventConfig {
            trigger,
            template_key,
            subject,
        });
    }

    Ok(Config {
        sender,
        templates_dir,
        sequences,
        events,
    })
}

fn validate_sender(s: RawSender) -> Result<Sender, ConfigError> {
    let from = non_empty(s.from, "sender.from")?;
    if normalise_email(&from).is_none() {
        return Err(invalid("sender.from", "not an email address"));
    }
    let reply_to = match s.reply_to {
        Some(r) if normalise_email(&r).is_none() => {
            return Err(invalid("sender.replyTo", "not an email address"));
        }
        other => other,
    };
    let url = non_empty(s.unsubscribe_base_url, "sender.unsubscribeBaseUrl")?;
    let host = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""));
    if host.is_none_or(str::is_empty) || url.contains(char::is_whitespace) || url.contains('#') {
        return Err(invalid(
            "sender.unsubscribeBaseUrl",
            "not an http(s) URL without spaces or fragment",
        ));
    }
    let env = non_empty(s.signing_secret_env, "sender.signingSecretEnv")?;
    let valid_env = env
        .chars()
        .enumerate()
        .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
    if !valid_env {
        return Err(invalid(
            "sender.signingSecretEnv",
            "not an environment variable name (letters, digits, _; not starting with a digit)",
        ));
    }
    let configuration_set = match s.configuration_set {
        // SES: 1 to 64 characters, letters, digits, `_` and `-`.
        Some(name)
            if name.is_empty()
                || name.len() > 64
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
        {
            return Err(invalid(
                "sender.configurationSet",
                "not an SES configuration set name (1 to 64 of A-Z a-z 0-9 _ -)",
            ));
        }
        other => other,
    };
    Ok(Sender {
        from,
        reply_to,
        unsubscribe_base_url: url,
        signing_secret_env: env,
        configuration_set,
    })
}

fn validate_trigger(
    at: &str,
    source: Option<String>,
    detail_type: Option<String>,
    pattern: Option<Value>,
    mapping: Option<RawMapping>,
) -> Result<Trigger, ConfigError> {
    let detail_type = non_empty(detail_type, &format!("{at}.detailType"))?;
    if let Some(s) = &source
        && s.trim().is_empty()
    {
        return Err(invalid(format!("{at}.source"), "empty"));
    }
    let pattern_at = format!("{at}.pattern");
    let pattern = match pattern {
        None => None,
        Some(Value::String(text)) => {
            Some(Pattern::parse(&text).map_err(|e| invalid(&pattern_at, e.to_string()))?)
        }
        Some(value) => {
            Some(Pattern::compile(&value).map_err(|e| invalid(&pattern_at, e.to_string()))?)
        }
    };
    let mapping_at = format!("{at}.subscriberMapping");
    let mapping = match mapping {
        None => SubscriberMapping::default(),
        Some(m) => {
            let email = non_empty(m.email, &format!("{mapping_at}.email"))?;
            SubscriberMapping::new(&email, m.first_name.as_deref(), m.attributes.as_deref())
                .map_err(|e| invalid(format!("{mapping_at}.{}", e.field), e.message))?
        }
    };
    Ok(Trigger {
        source,
        detail_type,
        pattern,
        mapping,
    })
}

/// SES tag values allow only `A-Z a-z 0-9 _ -` (docs/formats.md §1a).
fn is_tag_value(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A template key is one or more tag-safe segments joined by `/`; as a tag (`/` → `--`) it must
/// fit SES's 256 characters.
pub fn check_template_key(key: &str) -> Result<(), String> {
    if !key.split('/').all(is_tag_value) {
        return Err("must be segments of A-Z a-z 0-9 _ - joined by /".into());
    }
    if key.replace('/', "--").len() > 256 {
        return Err("too long for an SES tag (256 characters with / written as --)".into());
    }
    Ok(())
}

fn is_state_machine_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    matches!(
        parts.as_slice(),
        ["arn", partition, "states", region, account, "stateMachine", name]
            if partition.starts_with("aws")
                && !region.is_empty()
                && account.len() == 12
                && account.chars().all(|c| c.is_ascii_digit())
                && !name.is_empty()
                && name.len() <= 80
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    )
}

#[cfg(test)]
mod tests;
