//! The CLI's reactor wiring: the `--config` file, the demo's built-in configuration, and
//! `mailshot unsubscribe TOKEN`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use mailshot_domain::{SystemAction, SystemEvent, normalise_email};
use mailshot_reactors::{Config, MemoryTemplates, Reactor, token};

use crate::aws::Aws;
use crate::aws::kinesis::Outgoing;
use crate::aws::reactors::AwsReactors;
use crate::embedded::Writer;
use crate::queries::now;
use crate::reactors::{
    Loaded, OutboxEffects, ReactorRunner, RunnerStats, env_secret, load_parts, outbox_dir,
    outcome_event_id,
};

/// The config file used when `--config` is not given, if it exists in the working directory.
pub const DEFAULT_CONFIG: &str = "mailshot.toml";

/// The demo's configuration and templates: `examples/` of the repository, built in.
const DEMO_CONFIG: &str = include_str!("../../../examples/mailshot.toml");
const DEMO_TEMPLATES: [(&str, &str); 4] = [
    (
        "onboarding/welcome",
        include_str!("../../../examples/templates/onboarding/welcome.liquid"),
    ),
    (
        "order/shipped",
        include_str!("../../../examples/templates/order/shipped.liquid"),
    ),
    (
        "thanks/first-sale",
        include_str!("../../../examples/templates/thanks/first-sale.liquid"),
    ),
    (
        "winback/cart-reminder",
        include_str!("../../../examples/templates/winback/cart-reminder.liquid"),
    ),
];

/// The secret the demo signs unsubscribe links with when the configured variable is unset.
/// Never used outside `mailshot demo`.
const DEMO_SECRET: &str = "mailshot-demo-only-secret: not for production";

/// The config file in force: `--config FILE` when given, else `./mailshot.toml` if it exists,
/// else none (no reactors).
pub fn config_path(explicit: Option<&Path>) -> Option<PathBuf> {
    match explicit {
        Some(path) => Some(path.to_path_buf()),
        None => {
            let default = Path::new(DEFAULT_CONFIG);
            default.is_file().then(|| default.to_path_buf())
        }
    }
}

/// Loads the reactors of the config in force (if any) and attaches them to `writer` with the
/// outbox effects of its data dir. Returns whether reactors are attached.
pub fn attach(writer: &mut Writer, config: Option<&Path>) -> anyhow::Result<bool> {
    let Some(path) = config_path(config) else {
        return Ok(false);
    };
    let reactor = load_parts(&path, env_secret)?.reactor();
    warn_about_templates(&reactor);
    let effects = OutboxEffects::new(writer.dir());
    writer.attach_reactors(ReactorRunner::new(reactor, Box::new(effects)))?;
    Ok(true)
}

/// The reactors of the config in force (if any) with real AWS effects (SESv2, Step
/// Functions), for `mailshot --backend aws process`.
pub fn aws_reactors(config: Option<&Path>) -> anyhow::Result<Option<AwsReactors>> {
    let Some(path) = config_path(config) else {
        return Ok(None);
    };
    let reactors = AwsReactors::from_config_file(&path)?;
    for (key, problem) in reactors.template_problems() {
        eprintln!(
            "mailshot: warning: template {key}: {problem} (its emails will be skipped with this reason)"
        );
    }
    Ok(Some(reactors))
}

fn warn_about_templates(reactor: &Reactor) {
    for (key, problem) in reactor.check_templates() {
        eprintln!(
            "mailshot: warning: template {key}: {problem} (its emails will be skipped with this reason)"
        );
    }
}

/// One line for people about what the reactors did.
pub fn describe(stats: &RunnerStats) -> String {
    format!(
        "reactors: {} emails sent, {} sequence executions started, {} skipped, {} profile upserts, {} stops",
        stats.emails_sent, stats.sequences_started, stats.skipped, stats.upserts, stats.stops
    )
}

/// The demo's reactors: `config` if given, else the built-in example; the demo-only secret
/// when the configured variable is unset (said on stdout).
pub fn attach_demo(writer: &mut Writer, config: Option<&Path>) -> anyhow::Result<()> {
    let reactor = match config {
        Some(path) => load_parts(path, env_secret)?.reactor(),
        None => {
            let config = Config::parse(DEMO_CONFIG).context("the built-in example config")?;
            let var = config.sender.signing_secret_env.clone();
            let secret = env_secret(&var).unwrap_or_else(|| {
                println!(
                    "({var} is unset: the demo signs unsubscribe links with a demo-only secret)"
                );
                DEMO_SECRET.to_string()
            });
            let templates = DEMO_TEMPLATES
                .iter()
                .fold(MemoryTemplates::new(), |t, (key, text)| t.with(key, text));
            Reactor::new(config, templates, secret.into_bytes())?
        }
    };
    warn_about_templates(&reactor);
    let effects = OutboxEffects::new(writer.dir());
    writer.attach_reactors(ReactorRunner::new(reactor, Box::new(effects)))?;
    Ok(())
}

/// The number of `.eml` files in the data dir's outbox.
pub fn outbox_count(data: &Path) -> usize {
    std::fs::read_dir(outbox_dir(data))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".eml"))
                .count()
        })
        .unwrap_or(0)
}

/// The `subscriber.unsubscribed` event a valid token stands for, with the loaded config;
/// `Err(exit code 1)` after saying on stderr why a token is refused (malformed, forged or
/// expired). The event id is derived from the token, so presenting it again is a duplicate.
/// `actor` is who presents it (recorded with the event).
fn unsubscribe_event(
    config: Option<&Path>,
    token_text: &str,
    actor: String,
) -> anyhow::Result<Result<(Loaded, SystemEvent), ExitCode>> {
    let Some(path) = config_path(config) else {
        anyhow::bail!(
            "unsubscribe needs the config whose secret signed the token: --config FILE or ./{DEFAULT_CONFIG}"
        );
    };
    let loaded = load_parts(&path, env_secret)?;
    let at = now();
    let email = match token::verify(token_text.trim(), &loaded.secret, at) {
        Ok(email) => email,
        Err(e) => {
            eprintln!("mailshot: unsubscribe refused: {e}");
            return Ok(Err(ExitCode::from(1)));
        }
    };
    let Some(email) = normalise_email(&email) else {
        eprintln!(
            "mailshot: unsubscribe refused: the token's address {email:?} is not an email address"
        );
        return Ok(Err(ExitCode::from(1)));
    };
    let event = SystemEvent::new(
        outcome_event_id("subscriber.unsubscribed", token_text.trim(), ""),
        at,
        &email,
        SystemAction::SubscriberUnsubscribed {
            via: "unsubscribe-link".to_string(),
            actor: Some(actor),
        },
    );
    Ok(Ok((loaded, event)))
}

/// `mailshot unsubscribe TOKEN`: verifies the token with the config's secret and appends
/// `subscriber.unsubscribed` (exit 0, `{"email","unsubscribed":true}`), then runs the
/// reactors (which stop the subscriber's executions); a malformed, forged or expired token is
/// refused with the reason (exit 1). Presenting the same token again appends nothing new.
pub fn unsubscribe(
    data: &Path,
    config: Option<&Path>,
    token_text: &str,
) -> anyhow::Result<ExitCode> {
    let (loaded, event) = match unsubscribe_event(config, token_text, crate::actor::os_user())? {
        Ok(found) => found,
        Err(code) => return Ok(code),
    };
    let mut writer = Writer::open(data)?;
    let effects = OutboxEffects::new(writer.dir());
    writer.attach_reactors(ReactorRunner::new(loaded.reactor(), Box::new(effects)))?;
    writer.ingest_raw(&[event.to_json()])?;
    // Stops the subscriber's running executions.
    writer.run_reactors()?;
    println!(
        "{}",
        serde_json::json!({"email": event.email, "unsubscribed": true})
    );
    Ok(ExitCode::SUCCESS)
}

/// `mailshot --backend aws unsubscribe TOKEN`: like [`unsubscribe`], but the event is put to
/// the stream; it takes effect (and the reactors of `process` stop the subscriber's
/// executions) when processed.
pub fn unsubscribe_aws(
    aws: &Aws,
    config: Option<&Path>,
    token_text: &str,
) -> anyhow::Result<ExitCode> {
    let (_, event) = match unsubscribe_event(config, token_text, aws.caller_identity()?)? {
        Ok(found) => found,
        Err(code) => return Ok(code),
    };
    aws.put_signed(&[Outgoing {
        partition_key: event.email.clone(),
        data: event.to_json(),
    }])?;
    println!(
        "{}",
        serde_json::json!({"email": event.email, "unsubscribed": true})
    );
    Ok(ExitCode::SUCCESS)
}
