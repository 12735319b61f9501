//! The CLI's reactor wiring: the `--config` file, the demo's built-in configuration, and
//! `mailshot unsubscribe TOKEN`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use mailshot_engine::backend::Backend;
use mailshot_engine::config::{env_secret, load_parts};
use mailshot_engine::reactions::RunnerStats;
use mailshot_reactors::{Config, MemoryTemplates, Reactor};

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

/// Loads the reactors of the config in force (if any) and attaches them to `backend`.
/// Returns whether reactors are attached.
pub fn attach(backend: &mut dyn Backend, config: Option<&Path>) -> anyhow::Result<bool> {
    let Some(path) = config_path(config) else {
        return Ok(false);
    };
    let reactor = load_parts(&path, env_secret)?.reactor();
    warn_about_templates(&reactor);
    backend.attach_reactors(reactor)?;
    Ok(true)
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

/// The demo's reactors, attached to `backend`: `config` if given; else, where effects stay
/// local (the embedded outbox), the built-in example with the demo-only secret when the
/// configured variable is unset (said on stdout). Where effects are real (AWS), the demo
/// reacts only with an explicit `--config`: it never sends real email on its own.
pub fn attach_demo(backend: &mut dyn Backend, config: Option<&Path>) -> anyhow::Result<()> {
    let reactor = match config {
        Some(path) => load_parts(path, env_secret)?.reactor(),
        None if backend.effects_are_real() => {
            println!(
                "(reactors off: the AWS demo sends email and starts executions only with an explicit --config)"
            );
            return Ok(());
        }
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
    backend.attach_reactors(reactor)?;
    Ok(())
}

/// `mailshot unsubscribe TOKEN`: verifies the token with the secret of the config in force
/// and unsubscribes the address it was signed for (see
/// [`mailshot_engine::admin::unsubscribe`]); a malformed, forged or expired token is refused
/// with the reason (exit 1).
pub fn unsubscribe(
    backend: &mut dyn Backend,
    config: Option<&Path>,
    token_text: &str,
) -> anyhow::Result<ExitCode> {
    let Some(path) = config_path(config) else {
        anyhow::bail!(
            "unsubscribe needs the config whose secret signed the token: --config FILE or ./{DEFAULT_CONFIG}"
        );
    };
    let loaded = load_parts(&path, env_secret)?;
    super::print_result(mailshot_engine::admin::unsubscribe(
        backend, &loaded, token_text,
    ))
}
