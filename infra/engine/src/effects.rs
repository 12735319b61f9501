//! What reactors do to the world, behind one trait: the embedded runtime's outbox and the AWS
//! runtime's SESv2 and Step Functions clients implement it.

use mailshot_reactors::{OutgoingEmail, StartExecution, StopExecution};

/// Why an effect was not carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EffectError {
    /// The service refused the request: nothing happened. The runner logs the reason (an
    /// `email.skipped`, or a warning for a stop) and goes on.
    #[error("{0}")]
    Rejected(String),
    /// The effect could not be carried out or its outcome is unknown (I/O error, network
    /// failure): the runner stops without advancing its checkpoint, so the next writer retries.
    #[error("{0}")]
    Unavailable(String),
}

/// The side effects reactors cause. Implementations must be idempotent by name where the
/// service allows: `start_execution` by [`StartExecution::name`], `send_email` by
/// [`OutgoingEmail::message_id`] when [`Effects::resend_is_safe`].
pub trait Effects: Send {
    /// Starts the execution (or finds the one already started under the same name) and
    /// returns its ARN.
    fn start_execution(&mut self, start: &StartExecution) -> Result<String, EffectError>;

    /// Stops a running execution.
    fn stop_execution(&mut self, stop: &StopExecution) -> Result<(), EffectError>;

    /// Sends one email and returns the provider's message id (logged in `email.sent`).
    fn send_email(&mut self, email: &OutgoingEmail) -> Result<String, EffectError>;

    /// True when sending the same message again after a crash cannot deliver it twice (the
    /// outbox overwrites one file); false for real sending, which then relies on claims.
    fn resend_is_safe(&self) -> bool;

    /// Makes every effect so far durable; called before their outcomes are appended.
    fn flush(&mut self) -> Result<(), EffectError> {
        Ok(())
    }

    /// For people: where the effects go (`outbox /data/outbox`, `AWS (SESv2, Step Functions)`).
    fn describe(&self) -> String;
}
