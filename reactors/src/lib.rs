//! Reactor decisions: what mailshot should do about an event, as plain data. Pure and
//! runtime-free: no clock, no I/O (the config and templates arrive as text); the executors that
//! call SESv2 and Step Functions, write the outbox and append outcomes live in `infra`.
//!
//! - [`config`]: `mailshot.toml` (sequences, fire-and-forget emails, sender, templates),
//!   validated on load with errors naming the key path.
//! - [`pattern`]: EventBridge event patterns with EventBridge's matching semantics.
//! - [`mapping`]: JSONPath subscriber mapping → `subscriber.upserted`.
//! - [`decide`]: [`Reactor::decide`], from one event to [`Intent`]s (upsert, start a sequence,
//!   send an email, or skip with a reason), and [`Reactor::on_suppressed`].
//! - [`render`], [`templates`], [`email_message`]: strict Liquid rendering, template sources,
//!   the outgoing message and its `.eml` bytes.
//! - [`token`]: signed unsubscribe tokens.
//! - [`execution`]: Step Functions start/stop intents and deterministic execution names.
//!
//! Reactors run on the live tail only, never during replay (docs/design.md §7.3): nothing here is
//! called by the folds.

pub mod config;
pub mod decide;
pub mod email_message;
pub mod execution;
pub mod mapping;
pub mod pattern;
pub mod render;
pub mod templates;
pub mod token;

pub use config::{Config, ConfigError, EventConfig, Sender, SequenceConfig, Trigger};
pub use decide::{DedupeKey, Intent, Reactor, ReactorError, SendEmail, Skip, SubscriberState};
pub use email_message::OutgoingEmail;
pub use execution::{StartExecution, StopExecution};
pub use mapping::{MappedSubscriber, MappingError, SubscriberMapping};
pub use pattern::{Pattern, PatternError};
pub use templates::{MemoryTemplates, TemplateError, TemplateSource};
pub use token::TokenError;
