//! The reactors' effectful half (docs/design.md §7; issue 6): carrying out the pure decisions of
//! `mailshot-reactors` and appending their outcomes to the log.
//!
//! - [`Effects`]: what a reactor can do to the world (start/stop a Step Functions execution,
//!   send an email), with two implementations: [`OutboxEffects`] for the embedded runtime
//!   (`.eml` files in `<data dir>/outbox/`, sequence starts recorded only) and [`AwsEffects`]
//!   (SESv2 `SendEmail`, Step Functions `StartExecution`/`StopExecution`).
//! - [`ReactorRunner`]: runs the reactors over the live tail of the embedded log, after each
//!   ingest batch commits, from a checkpoint kept in the store's meta table.
//! - [`load`]: `mailshot.toml` from a file, templates from the directory next to it, the
//!   signing secret from the environment.
//!
//! # At most one send per (event id, template)
//!
//! 1. A redelivered EventBridge event has the same `id`, hence the same identity: ingest finds
//!    it in the dedup index and does not append it, so no reactor ever sees it twice live.
//! 2. The runner's checkpoint (next log offset to react to) is committed only after the
//!    outcomes of the records before it are in the log; a crash in between makes the next
//!    writer resume from the checkpoint. That retry is made harmless by names derived from
//!    (event id, template key) — the `Message-ID` and so the outbox file name, the outcome's
//!    event id — and from (event id, sequence id) — the Step Functions execution name, which
//!    Step Functions refuses to start twice:
//!    - an outcome already in the log (looked up by its deterministic event id) means the
//!      effect was done: it is not done again;
//!    - before a non-idempotent send (SES), a *claim* for (event id, template) is committed in
//!      the meta table; a retry that finds the claim but no outcome does not send again (the
//!      earlier attempt may have reached SES) and logs `email.skipped` saying so. The outbox
//!      rewrites the same file name instead, which is idempotent.
//! 3. Replay, rebuild and verify never run reactors: they take no runner.

mod aws;
mod effects;
mod load;
mod runner;

pub use aws::AwsEffects;
pub use effects::{EffectError, Effects, OutboxEffects, local_execution_arn, outbox_dir};
pub use load::{FileTemplates, LoadError, Loaded, env_secret, load, load_parts, load_with_secret};
pub(crate) use runner::{AsOf, Step, reaction_emails, valid_outcomes};
pub use runner::{CHECKPOINT_KEY, ReactorRunner, RunnerStats, outcome_event_id};
