//! Real effects: SESv2 `SendEmail` and Step Functions `StartExecution`/`StopExecution`.
//!
//! Clients come from the standard AWS configuration (`aws-config`: environment, profile,
//! `AWS_ENDPOINT_URL`, …), so the same code talks to AWS or to an emulator. The SDK is async;
//! the runner is not, so calls run on a private current-thread Tokio runtime.

use aws_config::BehaviorVersion;
use aws_sdk_sesv2::error::ProvideErrorMetadata;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{EmailContent, MessageTag, RawMessage};
use mailshot_reactors::{OutgoingEmail, StartExecution, StopExecution};

use mailshot_engine::effects::{EffectError, Effects};

/// SESv2 and Step Functions clients.
///
/// - Emails are sent as raw content (the same RFC 5322 bytes as the outbox `.eml`, so the
///   `List-Unsubscribe`, `List-Unsubscribe-Post`, `X-Template-Key` and `X-Sequence-Id` headers
///   reach the recipient), with `EmailTags` `templateKey` and `sequenceId`; the tags are also
///   written in an `X-SES-MESSAGE-TAGS` header, which SES reads for raw messages and removes.
/// - Executions are started under the deterministic name of the event and sequence: Step
///   Functions starts one execution per name, so a retried start returns the same execution
///   (or `ExecutionAlreadyExists`, whose ARN follows from the name).
/// - SES has no idempotency key: the runner's send claims keep sends at most once
///   ([`Effects::resend_is_safe`] is false).
pub struct AwsEffects {
    runtime: tokio::runtime::Runtime,
    ses: aws_sdk_sesv2::Client,
    sfn: aws_sdk_sfn::Client,
    configuration_set: Option<String>,
}

impl std::fmt::Debug for AwsEffects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsEffects")
            .field("configuration_set", &self.configuration_set)
            .finish_non_exhaustive()
    }
}

/// The longest service message kept in a failure reason; longer ones are cut (with `…`).
const MAX_MESSAGE_CHARS: usize = 300;

/// A service's refusal as one short line, `<service> <Operation>: <ErrorCode>: <message>`:
/// what the operator needs, where the SDK's `Debug`/`DisplayErrorContext` form is kilobytes of
/// request and response dump. The message is put on one line and cut at
/// [`MAX_MESSAGE_CHARS`].
pub fn refusal(service: &str, operation: &str, e: &impl ProvideErrorMetadata) -> String {
    let code = e.code().unwrap_or("UnknownError");
    let message: String = e
        .message()
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let message = match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message,
    };
    if message.is_empty() {
        format!("{service} {operation}: {code}")
    } else {
        format!("{service} {operation}: {code}: {message}")
    }
}

fn unavailable(e: impl std::fmt::Display) -> EffectError {
    EffectError::Unavailable(e.to_string())
}

impl AwsEffects {
    /// Clients from the standard AWS configuration.
    pub fn from_env() -> Result<AwsEffects, EffectError> {
        AwsEffects::connect(None)
    }

    /// Clients from the standard AWS configuration, with every service's endpoint set to
    /// `endpoint_url` when given (what `AWS_ENDPOINT_URL` does for the whole process; this
    /// lets one process talk to several endpoints).
    pub fn connect(endpoint_url: Option<&str>) -> Result<AwsEffects, EffectError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| unavailable(format!("starting the AWS client runtime: {e}")))?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(url) = endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let config = runtime.block_on(loader.load());
        Ok(AwsEffects {
            ses: aws_sdk_sesv2::Client::new(&config),
            sfn: aws_sdk_sfn::Client::new(&config),
            runtime,
            configuration_set: None,
        })
    }

    /// Sends through this SES configuration set (whose event destinations publish the
    /// engagement events that come back to mailshot).
    pub fn with_configuration_set(mut self, name: impl Into<String>) -> AwsEffects {
        self.configuration_set = Some(name.into());
        self
    }

    /// The raw bytes sent: the `.eml` with an `X-SES-MESSAGE-TAGS` header in front.
    pub fn raw_message(email: &OutgoingEmail) -> Vec<u8> {
        let tags: Vec<String> = email
            .tags
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        let mut raw = format!("X-SES-MESSAGE-TAGS: {}\r\n", tags.join(", ")).into_bytes();
        raw.extend_from_slice(&email.to_eml());
        raw
    }
}

/// The ARN of the execution `name` of `state_machine_arn` (how Step Functions forms it).
fn execution_arn(state_machine_arn: &str, name: &str) -> String {
    format!(
        "{}:{name}",
        state_machine_arn.replacen(":stateMachine:", ":execution:", 1)
    )
}

impl Effects for AwsEffects {
    fn start_execution(&mut self, start: &StartExecution) -> Result<String, EffectError> {
        let call = self
            .sfn
            .start_execution()
            .state_machine_arn(&start.state_machine_arn)
            .name(&start.name)
            .input(start.input.to_string())
            .send();
        match self.runtime.block_on(call) {
            Ok(out) => Ok(out.execution_arn().to_string()),
            Err(e) => match e.as_service_error() {
                Some(s) if s.is_execution_already_exists() => {
                    Ok(execution_arn(&start.state_machine_arn, &start.name))
                }
                Some(s) => Err(EffectError::Rejected(refusal(
                    "stepfunctions",
                    "StartExecution",
                    s,
                ))),
                None => Err(unavailable(aws_sdk_sfn::error::DisplayErrorContext(&e))),
            },
        }
    }

    fn stop_execution(&mut self, stop: &StopExecution) -> Result<(), EffectError> {
        let call = self
            .sfn
            .stop_execution()
            .execution_arn(&stop.execution_arn)
            .cause(&stop.cause)
            .send();
        match self.runtime.block_on(call) {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(s) => Err(EffectError::Rejected(refusal(
                    "stepfunctions",
                    "StopExecution",
                    s,
                ))),
                None => Err(unavailable(aws_sdk_sfn::error::DisplayErrorContext(&e))),
            },
        }
    }

    fn send_email(&mut self, email: &OutgoingEmail) -> Result<String, EffectError> {
        let mut tags = Vec::with_capacity(email.tags.len());
        for (name, value) in &email.tags {
            let tag = MessageTag::builder()
                .name(name)
                .value(value)
                .build()
                .map_err(|e| {
                    EffectError::Rejected(format!("sesv2 SendEmail: message tag {name}: {e}"))
                })?;
            tags.push(tag);
        }
        let raw = RawMessage::builder()
            .data(Blob::new(AwsEffects::raw_message(email)))
            .build()
            .map_err(|e| EffectError::Rejected(format!("sesv2 SendEmail: raw message: {e}")))?;
        let call = self
            .ses
            .send_email()
            .from_email_address(&email.from)
            .content(EmailContent::builder().raw(raw).build())
            .set_email_tags(Some(tags))
            .set_configuration_set_name(self.configuration_set.clone())
            .send();
        match self.runtime.block_on(call) {
            Ok(out) => Ok(out.message_id().unwrap_or_default().to_string()),
            Err(e) => match e.as_service_error() {
                Some(s) => Err(EffectError::Rejected(refusal("sesv2", "SendEmail", s))),
                None => Err(unavailable(aws_sdk_sesv2::error::DisplayErrorContext(&e))),
            },
        }
    }

    fn resend_is_safe(&self) -> bool {
        false
    }

    fn describe(&self) -> String {
        "AWS (SESv2 SendEmail, Step Functions)".to_string()
    }
}

#[cfg(test)]
mod tests {
    use mailshot_domain::Timestamp;

    use super::*;

    #[test]
    fn execution_arns_follow_from_the_state_machine_and_the_name() {
        assert_eq!(
            execution_arn(
                "arn:aws:states:us-east-1:111122223333:stateMachine:onboarding",
                "onboarding-00ff"
            ),
            "arn:aws:states:us-east-1:111122223333:execution:onboarding:onboarding-00ff"
        );
    }

    #[test]
    fn raw_messages_carry_the_tags_in_a_header() {
        let email = OutgoingEmail {
            from: "Shop <hello@example.com>".into(),
            to: "a@example.com".into(),
            reply_to: None,
            subject: "Hi".into(),
            html: "<p>Hi</p>".into(),
            headers: vec![("X-Template-Key".into(), "order/shipped".into())],
            tags: vec![
                ("templateKey".into(), "order--shipped".into()),
                ("sequenceId".into(), "fire_and_forget".into()),
            ],
            template_key: "order/shipped".into(),
            sequence_id: "fire_and_forget".into(),
            date: Timestamp(0),
            message_id: "<x@example.com>".into(),
        };
        let raw = String::from_utf8(AwsEffects::raw_message(&email)).unwrap();
        assert!(raw.starts_with(
            "X-SES-MESSAGE-TAGS: templateKey=order--shipped, sequenceId=fire_and_forget\r\nFrom: "
        ));
    }
}
