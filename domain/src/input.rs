//! Accepted inputs: what the log stores and what the projections fold.

use std::borrow::Cow;

use crate::{Day, EngagementFact, FactId, Timestamp};

/// The envelope an input arrived in (docs/design.md §3.1), kept for auditors and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Envelope {
    /// A bare EventBridge event.
    EventBridge,
    /// A bare SES record (`eventType` or `notificationType`).
    SesRecord,
    /// An SNS HTTP/email-json notification whose `Message` holds an SES record.
    SnsNotification,
    /// One `Records[]` entry of a Lambda SNS event.
    LambdaSnsRecord,
    /// One `Records[]` entry of a Lambda Kinesis event; `raw` is the decoded `data`.
    LambdaKinesisRecord,
}

impl Envelope {
    /// A short stable name (`eventbridge`, `ses`, `sns`, `lambda-sns`, `lambda-kinesis`).
    pub fn name(self) -> &'static str {
        match self {
            Envelope::EventBridge => "eventbridge",
            Envelope::SesRecord => "ses",
            Envelope::SnsNotification => "sns",
            Envelope::LambdaSnsRecord => "lambda-sns",
            Envelope::LambdaKinesisRecord => "lambda-kinesis",
        }
    }
}

/// One accepted input: its verbatim JSON, the envelope it came in, and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct Input<'a> {
    /// The input's original JSON, verbatim. For a Lambda SNS record this is the `Records[i]`
    /// object; for a Lambda Kinesis record, the decoded `data`. Parsing `raw` again with
    /// [`crate::parse_input`] yields the same input.
    pub raw: Cow<'a, str>,
    pub envelope: Envelope,
    pub body: InputBody<'a>,
}

/// What an input says.
#[derive(Debug, Clone, PartialEq)]
pub enum InputBody<'a> {
    /// SES facts, one per recipient (an SES record, possibly inside SNS or EventBridge).
    Ses(Vec<EngagementFact<'a>>),
    /// An application's own EventBridge event (`customer.created`, …).
    App(AppEvent<'a>),
    /// An event mailshot itself wrote: an operator's command or a reactor's outcome.
    System(SystemEvent),
}

/// An application event from EventBridge.
#[derive(Debug, Clone, PartialEq)]
pub struct AppEvent<'a> {
    /// The EventBridge `id`.
    pub event_id: Cow<'a, str>,
    /// Identity: [`FactId::of_event_id`] of `event_id`.
    pub id: FactId,
    pub source: Cow<'a, str>,
    pub detail_type: Cow<'a, str>,
    /// The event's `time`.
    pub time: Timestamp,
    /// `detail.email`, normalised, when the detail carries one.
    pub email: Option<String>,
    /// The `detail` object as JSON text.
    pub detail: Cow<'a, str>,
}

/// An event that mailshot wrote itself, as an EventBridge-shaped input with a `mailshot.*`
/// source, so that it is logged, deduplicated and traced like every other input.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemEvent {
    /// The EventBridge `id`.
    pub event_id: String,
    /// Identity: [`FactId::of_event_id`] of `event_id`.
    pub id: FactId,
    pub time: Timestamp,
    /// The subscriber concerned, normalised.
    pub email: String,
    pub action: SystemAction,
}

/// The `detail-type`s mailshot writes, with their `detail`.
#[derive(Debug, Clone, PartialEq)]
pub enum SystemAction {
    /// `suppression.removed` (source `mailshot.admin`): an operator lifts a suppression, for
    /// `reason`. `actor` is who did it (the OS user, or the AWS caller identity); `None` only
    /// in records written before actors were recorded.
    SuppressionRemoved {
        reason: String,
        actor: Option<String>,
    },
    /// `subscriber.unsubscribed`: a valid unsubscribe token was presented. `via` is the reason
    /// (`unsubscribe-link`); `actor` is who presented it, as for
    /// [`SystemAction::SuppressionRemoved`].
    SubscriberUnsubscribed { via: String, actor: Option<String> },
    /// `subscriber.upserted`: a reactor mapped an app event onto a subscriber profile.
    SubscriberUpserted {
        first_name: Option<String>,
        attributes: serde_json::Value,
    },
    /// `email.sent`: a reactor sent an email.
    EmailSent {
        template_key: String,
        sequence_id: String,
        subject: String,
        ses_message_id: String,
        trigger_event_id: String,
    },
    /// `email.skipped`: a reactor decided not to send, with why.
    EmailSkipped {
        template_key: String,
        reason: String,
        trigger_event_id: String,
    },
    /// `sequence.started`: a reactor started a Step Functions execution.
    SequenceStarted {
        sequence_id: String,
        execution_arn: String,
        trigger_event_id: String,
    },
    /// `executions.stopped`: a reactor stopped the subscriber's executions.
    ExecutionsStopped {
        execution_arns: Vec<String>,
        reason: String,
    },
}

impl SystemAction {
    /// The EventBridge `detail-type` of this action.
    pub fn detail_type(&self) -> &'static str {
        match self {
            SystemAction::SuppressionRemoved { .. } => "suppression.removed",
            SystemAction::SubscriberUnsubscribed { .. } => "subscriber.unsubscribed",
            SystemAction::SubscriberUpserted { .. } => "subscriber.upserted",
            SystemAction::EmailSent { .. } => "email.sent",
            SystemAction::EmailSkipped { .. } => "email.skipped",
            SystemAction::SequenceStarted { .. } => "sequence.started",
            SystemAction::ExecutionsStopped { .. } => "executions.stopped",
        }
    }
}

impl Input<'_> {
    /// The identities this input carries: one per SES fact, or the event id.
    pub fn identities(&self) -> Vec<FactId> {
        self.identity_days().into_iter().map(|(id, _)| id).collect()
    }

    /// The identities this input carries, each with the day of the event it identifies when
    /// that day is part of the identity (SES facts: their event time is hashed into it).
    /// App and system events are identified by their event id alone: `None`.
    pub fn identity_days(&self) -> Vec<(FactId, Option<Day>)> {
        match &self.body {
            InputBody::Ses(facts) => facts
                .iter()
                .map(|f| (f.id, Some(f.timestamp.day())))
                .collect(),
            InputBody::App(app) => vec![(app.id, None)],
            InputBody::System(sys) => vec![(sys.id, None)],
        }
    }

    /// The subscriber this input concerns first (the Kinesis partition key), else the event id.
    pub fn partition_key(&self) -> String {
        match &self.body {
            InputBody::Ses(facts) => facts.first().map(|f| f.email.clone()).unwrap_or_default(),
            InputBody::App(app) => app
                .email
                .clone()
                .unwrap_or_else(|| app.event_id.clone().into_owned()),
            InputBody::System(sys) => sys.email.clone(),
        }
    }
}

impl<'a> Input<'a> {
    /// Detaches the input from the text it was parsed from.
    pub fn into_owned(self) -> Input<'static> {
        Input {
            raw: Cow::Owned(self.raw.into_owned()),
            envelope: self.envelope,
            body: self.body.into_owned(),
        }
    }
}

impl InputBody<'_> {
    /// Detaches the body from the text it was parsed from.
    pub fn into_owned(self) -> InputBody<'static> {
        match self {
            InputBody::Ses(facts) => {
                InputBody::Ses(facts.into_iter().map(EngagementFact::into_owned).collect())
            }
            InputBody::App(app) => InputBody::App(app.into_owned()),
            InputBody::System(sys) => InputBody::System(sys),
        }
    }
}

impl AppEvent<'_> {
    /// Detaches the event from the text it was parsed from.
    pub fn into_owned(self) -> AppEvent<'static> {
        AppEvent {
            event_id: Cow::Owned(self.event_id.into_owned()),
            id: self.id,
            source: Cow::Owned(self.source.into_owned()),
            detail_type: Cow::Owned(self.detail_type.into_owned()),
            time: self.time,
            email: self.email,
            detail: Cow::Owned(self.detail.into_owned()),
        }
    }
}
