//! Reactions, shared by both runtimes: a [`Reactor`]'s decisions planned record by record on
//! the subscriber rows as of that record ([`AsOf`]), as [`Step`]s whose outcomes carry
//! deterministic event ids, and carried out through [`Effects`]. The embedded runtime's
//! runner and the AWS processor's reactors drive it; neither replay nor verify ever does.

use std::collections::{HashMap, HashSet};

use mailshot_domain::log::Offset;
use mailshot_domain::{EventType, FactId, InputBody, SystemAction, SystemEvent, Timestamp};
use mailshot_domain::{Input, parse_input, parse_line};
use mailshot_projections::{
    Counts, EngagementKey, EventRow, FirstEngagement, LinkKey, Projection, ProjectionWriter,
    RecordView, RollupKey, RowKey, RowSink, Subscriber, Table,
};
use mailshot_reactors::{Intent, Reactor, SendEmail, StartExecution, SubscriberState};
use serde::Serialize;

use crate::effects::{EffectError, Effects};

/// What the runner did since it was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunnerStats {
    /// Log records looked at.
    pub records: u64,
    /// `subscriber.upserted` outcomes appended.
    pub upserts: u64,
    /// Executions started (`sequence.started`).
    pub sequences_started: u64,
    /// Emails sent (`email.sent`).
    pub emails_sent: u64,
    /// Sends and starts not done (`email.skipped`).
    pub skipped: u64,
    /// `executions.stopped` outcomes appended.
    pub stops: u64,
    /// Effects not repeated because their outcome was already in the log.
    pub already_done: u64,
}

/// Runs a [`Reactor`] with its [`Effects`] over the live tail of a [`Writer`]'s log. Attach it
/// with [`Writer::attach_reactors`]; ingest then runs it after every batch.
pub struct Reactions {
    reactor: Reactor,
    effects: Box<dyn Effects>,
    clock: Box<dyn Fn() -> Timestamp + Send>,
    stats: RunnerStats,
}

impl std::fmt::Debug for Reactions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reactions")
            .field("effects", &self.effects.describe())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// The deterministic event id of a reactor outcome: the same trigger and key always give the
/// same id, so an outcome appended twice (a retry after a crash) is a duplicate at ingest, and
/// the runner can tell that an effect was already done by looking the id up.
pub fn outcome_event_id(kind: &str, cause: &str, key: &str) -> String {
    uuid_form(xxhash_rust::xxh3::xxh3_128(
        format!("mailshot.reactor\x1f{kind}\x1f{cause}\x1f{key}").as_bytes(),
    ))
}

/// A 128-bit hash written as a UUID is (8-4-4-4-12 hex digits): the form of the event ids
/// mailshot gives the inputs it writes itself.
pub(crate) fn uuid_form(h: u128) -> String {
    let hex = format!("{h:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

fn wall_clock() -> Timestamp {
    crate::clock::now()
}

fn state_of(s: &Subscriber) -> SubscriberState {
    SubscriberState {
        suppressed: s.suppression().map(|x| x.reason),
        unsubscribed: s.unsubscribed.is_some(),
        first_name: s.first_name.clone(),
        attributes: s.attributes.clone(),
    }
}

/// The addresses whose subscriber rows [`Reactions::plan_record`] reads to react to
/// `input` (with `identities`, the identities it introduced; `None` for all of its facts).
/// Runtimes read these rows before a batch commits, as the base of an [`AsOf`].
pub fn reaction_emails(input: &Input<'_>, identities: Option<&[FactId]>) -> Vec<String> {
    match &input.body {
        InputBody::App(app) => app.email.iter().cloned().collect(),
        InputBody::Ses(facts) => {
            let mut emails: Vec<String> = Vec::new();
            for fact in facts {
                let unsubscribes = fact.event_type == EventType::Subscription
                    && fact.unsubscribe_all == Some(true);
                if identities.is_none_or(|ids| ids.contains(&fact.id))
                    && (fact.suppresses() || unsubscribes)
                    && !emails.contains(&fact.email)
                {
                    emails.push(fact.email.clone());
                }
            }
            emails
        }
        InputBody::System(sys) => match sys.action {
            SystemAction::SubscriberUnsubscribed { .. } => vec![sys.email.clone()],
            _ => Vec::new(),
        },
    }
}

/// Subscriber rows as of the record being reacted to (issue 16, item 10): a reactor decides on
/// the state its trigger saw, never on records logged after it, whatever the batch boundaries.
///
/// The runtimes fold a whole batch before reacting to it, so the store is ahead of every
/// record but the last. An `AsOf` starts from the rows as they were before the batch (its
/// base, read before the batch committed), and the records are folded into it in memory, one
/// by one, just before each is planned. Reactor outcomes are folded in as they are logged, so
/// that the executions a record started are known to the records after it. Rows missing from
/// the base are read from the store: those are never planned on (see [`reaction_emails`]).
#[derive(Debug, Default)]
pub struct AsOf {
    rows: HashMap<String, Option<Subscriber>>,
    /// Event ids of the outcomes folded in when logged: not folded again when reacted to.
    outcomes: HashSet<String>,
}

impl AsOf {
    /// Starts from `base`: every row the records to react to will be planned on, as it was
    /// before them.
    pub fn new(base: HashMap<String, Option<Subscriber>>) -> AsOf {
        AsOf {
            rows: base,
            outcomes: HashSet::new(),
        }
    }

    /// The row of `email` as folded so far, loading it through `load` the first time.
    pub fn row<E>(
        &mut self,
        email: &str,
        load: &mut dyn FnMut(&str) -> Result<Option<Subscriber>, E>,
    ) -> Result<Option<Subscriber>, E> {
        if let Some(row) = self.rows.get(email) {
            return Ok(row.clone());
        }
        let row = load(email)?;
        self.rows.insert(email.to_string(), row.clone());
        Ok(row)
    }

    /// Folds one record (its parsed input and the identities it introduced) into the rows,
    /// and hands the input back for planning: each record is parsed once.
    pub fn fold_record<'r, E: std::error::Error + Send + Sync + 'static>(
        &mut self,
        offset: Offset,
        input: Input<'r>,
        identities: &'r [FactId],
        load: &mut dyn FnMut(&str) -> Result<Option<Subscriber>, E>,
    ) -> Result<Input<'r>, E> {
        if let InputBody::System(sys) = &input.body
            && self.outcomes.contains(&sys.event_id)
        {
            return Ok(input);
        }
        let view = RecordView {
            offset,
            input,
            new_ids: identities,
        };
        // The subscriber rows are the stateful part of the subscribers projection.
        mailshot_replay::fold_stateful(
            &view,
            [Projection::SUBSCRIBERS],
            &mut AsOfWriter { as_of: self, load },
        )?;
        Ok(view.input)
    }

    /// Folds reactor outcome lines just logged (their offsets do not matter to the rows).
    pub fn fold_outcomes<E: std::error::Error + Send + Sync + 'static>(
        &mut self,
        lines: &[String],
        load: &mut dyn FnMut(&str) -> Result<Option<Subscriber>, E>,
    ) -> Result<(), E> {
        for line in lines {
            let Ok(input) = parse_input(line) else {
                continue;
            };
            let ids = input.identities();
            let input = self.fold_record(0, input, &ids, load)?;
            if let InputBody::System(sys) = &input.body {
                self.outcomes.insert(sys.event_id.clone());
            }
        }
        Ok(())
    }
}

/// The subscribers fold's view of an [`AsOf`]: subscriber rows only; the other projections'
/// writes are not needed to decide and are dropped.
struct AsOfWriter<'a, E> {
    as_of: &'a mut AsOf,
    load: &'a mut dyn FnMut(&str) -> Result<Option<Subscriber>, E>,
}

impl<E: std::error::Error + Send + Sync + 'static> RowSink for AsOfWriter<'_, E> {
    type Error = E;

    fn put_event(&mut self, _row: &EventRow) -> Result<(), E> {
        Ok(())
    }

    fn add_history(&mut self, _email: &str, _offset: Offset) -> Result<(), E> {
        Ok(())
    }

    fn put_row(&mut self, _table: Table, _key: RowKey<'_>, _value: &[u8]) -> Result<(), E> {
        Ok(())
    }
}

impl<E: std::error::Error + Send + Sync + 'static> ProjectionWriter for AsOfWriter<'_, E> {
    fn add_counts(&mut self, _key: &RollupKey, _deltas: &Counts) -> Result<(), E> {
        Ok(())
    }

    fn first_engagement(&mut self, _key: &EngagementKey) -> Result<Option<FirstEngagement>, E> {
        Ok(None)
    }

    fn set_first_engagement(
        &mut self,
        _key: &EngagementKey,
        _value: &FirstEngagement,
    ) -> Result<(), E> {
        Ok(())
    }

    fn subscriber(&mut self, email: &str) -> Result<Option<Subscriber>, E> {
        self.as_of.row(email, self.load)
    }

    fn put_subscriber(&mut self, subscriber: &Subscriber) -> Result<(), E> {
        self.as_of
            .rows
            .insert(subscriber.email.clone(), Some(subscriber.clone()));
        Ok(())
    }

    fn add_link_counts(&mut self, _key: &LinkKey, _clicks: i64, _unique: i64) -> Result<(), E> {
        Ok(())
    }

    fn get_row(&mut self, _table: Table, _key: RowKey<'_>) -> Result<Option<Vec<u8>>, E> {
        Ok(None)
    }

    fn set_row(&mut self, _table: Table, _key: RowKey<'_>, _value: &[u8]) -> Result<(), E> {
        Ok(())
    }

    fn set_checkpoint(&mut self, _projection: Projection, _next: Offset) -> Result<(), E> {
        Ok(())
    }
}

/// The outcome lines that parse as inputs; the others are reported on stderr and dropped.
pub fn valid_outcomes(outcomes: Vec<String>) -> Vec<String> {
    outcomes
        .into_iter()
        .filter(|line| match parse_line(line.as_bytes()).first() {
            Some(Ok(_)) => true,
            Some(Err(e)) => {
                eprintln!("mailshot: reactor: outcome not logged ({e}): {line}");
                false
            }
            None => false,
        })
        .collect()
}

/// One thing to do, with the event id its outcome will carry.
pub enum Step {
    Upsert {
        id: String,
        time: Timestamp,
        email: String,
        action: SystemAction,
    },
    Start {
        id: String,
        start: StartExecution,
    },
    Send {
        id: String,
        send: SendEmail,
        /// A claim from an interrupted earlier attempt exists: do not send again.
        interrupted: bool,
    },
    Skip {
        id: String,
        email: String,
        action: SystemAction,
    },
    Stop {
        id: String,
        email: String,
        running: Vec<String>,
        reason: String,
    },
}

impl Step {
    /// The event id of the step's outcome.
    pub fn id(&self) -> &str {
        match self {
            Step::Upsert { id, .. }
            | Step::Start { id, .. }
            | Step::Send { id, .. }
            | Step::Skip { id, .. }
            | Step::Stop { id, .. } => id,
        }
    }
}

impl Reactions {
    /// A runner carrying out `reactor`'s decisions through `effects`, at the wall clock.
    pub fn new(reactor: Reactor, effects: Box<dyn Effects>) -> Reactions {
        Reactions {
            reactor,
            effects,
            clock: Box::new(wall_clock),
            stats: RunnerStats::default(),
        }
    }

    /// Replaces the clock (unsubscribe tokens are signed at "now"); for tests.
    pub fn with_clock(mut self, clock: impl Fn() -> Timestamp + Send + 'static) -> Reactions {
        self.clock = Box::new(clock);
        self
    }

    /// What the runner did so far.
    pub fn stats(&self) -> RunnerStats {
        self.stats
    }

    /// The effects, for people (`outbox …`, `AWS …`).
    pub fn describe(&self) -> String {
        self.effects.describe()
    }

    /// Plans the steps of one log record (its parsed input, `None` when it did not parse,
    /// and the identities it introduced: SES facts outside `identities` are not reacted to),
    /// reading subscribers through `subscriber`. Shared by the embedded runner and the AWS
    /// processor's reactors.
    pub fn plan_record<E>(
        &mut self,
        input: Option<&Input<'_>>,
        identities: &[FactId],
        now: Timestamp,
        subscriber: &mut dyn FnMut(&str) -> Result<Option<Subscriber>, E>,
        steps: &mut Vec<Step>,
    ) -> Result<(), E> {
        self.stats.records += 1;
        let Some(input) = input else {
            return Ok(());
        };
        match &input.body {
            InputBody::App(app) => {
                let state = match &app.email {
                    Some(email) => subscriber(email)?.map(|s| state_of(&s)),
                    None => None,
                };
                let intents = self.reactor.decide_app(app, state.as_ref(), now);
                self.plan_app(
                    &app.event_id,
                    app.time,
                    app.email.as_deref(),
                    intents,
                    steps,
                );
            }
            InputBody::Ses(facts) => {
                for fact in facts.iter().filter(|f| identities.contains(&f.id)) {
                    let unsubscribes = fact.event_type == EventType::Subscription
                        && fact.unsubscribe_all == Some(true);
                    if !fact.suppresses() && !unsubscribes {
                        continue;
                    }
                    let Some(sub) = subscriber(&fact.email)? else {
                        continue;
                    };
                    let reason = match state_of(&sub).blocked() {
                        Some(reason) => reason,
                        None => continue,
                    };
                    steps.push(Step::Stop {
                        id: outcome_event_id("executions.stopped", &fact.id.to_hex(), &fact.email),
                        email: fact.email.clone(),
                        running: sub.running_executions(),
                        reason,
                    });
                }
            }
            InputBody::System(sys) => {
                // Reactor outcomes never trigger reactors; an unsubscribe stops executions.
                if let SystemAction::SubscriberUnsubscribed { .. } = sys.action
                    && let Some(sub) = subscriber(&sys.email)?
                {
                    steps.push(Step::Stop {
                        id: outcome_event_id("executions.stopped", &sys.event_id, &sys.email),
                        email: sys.email.clone(),
                        running: sub.running_executions(),
                        reason: "unsubscribed".to_string(),
                    });
                }
            }
        }
        Ok(())
    }

    fn plan_app(
        &mut self,
        event_id: &str,
        time: Timestamp,
        event_email: Option<&str>,
        intents: Vec<Intent>,
        steps: &mut Vec<Step>,
    ) {
        let mut upserts = 0;
        for intent in intents {
            match intent {
                Intent::Upsert { email, action } => {
                    upserts += 1;
                    steps.push(Step::Upsert {
                        id: outcome_event_id(
                            "subscriber.upserted",
                            event_id,
                            &format!("{email}\x1f{upserts}"),
                        ),
                        time,
                        email,
                        action,
                    });
                }
                Intent::StartExecution(start) => steps.push(Step::Start {
                    id: outcome_event_id("sequence", event_id, &start.sequence_id),
                    start,
                }),
                Intent::SendEmail(send) => steps.push(Step::Send {
                    id: outcome_event_id("email", event_id, &send.dedupe_key.template_key),
                    send,
                    interrupted: false,
                }),
                Intent::Skip(skip) => {
                    let id = if skip.template_key.is_empty() {
                        outcome_event_id("sequence", event_id, &skip.sequence_id)
                    } else {
                        outcome_event_id("email", event_id, &skip.template_key)
                    };
                    match skip.email.as_deref().or(event_email) {
                        Some(email) => steps.push(Step::Skip {
                            id,
                            email: email.to_string(),
                            action: skip.skipped(),
                        }),
                        None => {
                            // No subscriber to log it under: say so on stderr.
                            self.stats.skipped += 1;
                            eprintln!(
                                "mailshot: reactor: event {event_id}: {} {} not started/sent: {}",
                                skip.sequence_id, skip.template_key, skip.reason
                            );
                        }
                    }
                }
            }
        }
    }

    /// Carries out `steps` in order, stopping at the first [`EffectError::Unavailable`]:
    /// the outcome lines of the steps done, and the failed step with its error.
    pub fn carry_out(
        &mut self,
        steps: &[Step],
        now: Timestamp,
    ) -> (Vec<String>, Option<(usize, EffectError)>) {
        let mut outcomes: Vec<String> = Vec::new();
        let mut started: HashMap<String, Vec<String>> = HashMap::new();
        let mut stopped: HashSet<String> = HashSet::new();
        for (i, step) in steps.iter().enumerate() {
            match self.execute(step, now, &mut started, &mut stopped) {
                Ok(Some(line)) => outcomes.push(line),
                Ok(None) => {}
                Err(e) => return (outcomes, Some((i, e))),
            }
        }
        (outcomes, None)
    }

    /// `(template key, problem)` of every configured template that cannot render.
    pub fn check_templates(&self) -> Vec<(String, String)> {
        self.reactor.check_templates()
    }

    /// The current time of the runner's clock.
    pub fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// Counts a step not carried out because its outcome was already in the log.
    pub fn note_already_done(&mut self) {
        self.stats.already_done += 1;
    }

    /// Whether the effects need send claims (see [`Effects::resend_is_safe`]).
    pub fn needs_claims(&self) -> bool {
        !self.effects.resend_is_safe()
    }

    /// Makes the effects durable ([`Effects::flush`]).
    pub fn flush_effects(&mut self) -> Result<(), EffectError> {
        self.effects.flush()
    }

    /// Carries out one step; its outcome line, if any. `Err` only for
    /// [`EffectError::Unavailable`].
    fn execute(
        &mut self,
        step: &Step,
        now: Timestamp,
        started: &mut HashMap<String, Vec<String>>,
        stopped: &mut HashSet<String>,
    ) -> Result<Option<String>, EffectError> {
        let line = |id: &str, time: Timestamp, email: &str, action: SystemAction| {
            SystemEvent::new(id, time, email, action).to_json()
        };
        match step {
            Step::Upsert {
                id,
                time,
                email,
                action,
            } => {
                self.stats.upserts += 1;
                Ok(Some(line(id, *time, email, action.clone())))
            }
            Step::Skip { id, email, action } => {
                self.stats.skipped += 1;
                Ok(Some(line(id, now, email, action.clone())))
            }
            Step::Start { id, start } => match self.effects.start_execution(start) {
                Ok(arn) => {
                    self.stats.sequences_started += 1;
                    started
                        .entry(start.email.clone())
                        .or_default()
                        .push(arn.clone());
                    Ok(Some(line(id, now, &start.email, start.started(&arn))))
                }
                Err(EffectError::Rejected(reason)) => {
                    self.stats.skipped += 1;
                    let action = SystemAction::EmailSkipped {
                        template_key: String::new(),
                        // The reason names the service and operation (`reactors::aws::refusal`).
                        reason: format!("refused: {reason}"),
                        trigger_event_id: start.trigger_event_id.clone(),
                    };
                    Ok(Some(line(id, now, &start.email, action)))
                }
                Err(e) => Err(e),
            },
            Step::Send {
                id,
                send,
                interrupted,
            } => {
                let email = &send.message.to;
                let trigger = &send.dedupe_key.event_id;
                let skipped = |reason: String| SystemAction::EmailSkipped {
                    template_key: send.message.template_key.clone(),
                    reason,
                    trigger_event_id: trigger.clone(),
                };
                if *interrupted {
                    self.stats.skipped += 1;
                    let reason = "not resent: an earlier attempt was interrupted after claiming \
                                  this send, it may have been sent (at most once per event and \
                                  template)";
                    return Ok(Some(line(id, now, email, skipped(reason.to_string()))));
                }
                match self.effects.send_email(&send.message) {
                    Ok(message_id) => {
                        self.stats.emails_sent += 1;
                        Ok(Some(line(id, now, email, send.sent(&message_id))))
                    }
                    Err(EffectError::Rejected(reason)) => {
                        self.stats.skipped += 1;
                        let action = skipped(format!("refused: {reason}"));
                        Ok(Some(line(id, now, email, action)))
                    }
                    Err(e) => Err(e),
                }
            }
            Step::Stop {
                id,
                email,
                running,
                reason,
            } => {
                let mut arns: Vec<String> = running.clone();
                arns.extend(started.get(email).into_iter().flatten().cloned());
                arns.retain(|arn| !stopped.contains(arn));
                // In ARN order, once each: the same outcome whether the executions were
                // started before this batch or in it.
                arns.sort();
                arns.dedup();
                if arns.is_empty() {
                    return Ok(None);
                }
                let (stops, _) = Reactor::on_suppressed(&arns, reason);
                let mut done = Vec::new();
                for stop in &stops {
                    match self.effects.stop_execution(stop) {
                        Ok(()) => done.push(stop.execution_arn.clone()),
                        Err(EffectError::Rejected(why)) => eprintln!(
                            "mailshot: reactor: not stopped: {} ({why})",
                            stop.execution_arn
                        ),
                        Err(e) => return Err(e),
                    }
                }
                stopped.extend(done.iter().cloned());
                if done.is_empty() {
                    return Ok(None);
                }
                self.stats.stops += 1;
                let action = SystemAction::ExecutionsStopped {
                    execution_arns: done,
                    reason: reason.clone(),
                };
                Ok(Some(line(id, now, email, action)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_ids_are_deterministic_and_distinct() {
        let a = outcome_event_id("email", "ev-1", "order/shipped");
        assert_eq!(a, outcome_event_id("email", "ev-1", "order/shipped"));
        assert_ne!(a, outcome_event_id("email", "ev-2", "order/shipped"));
        assert_ne!(a, outcome_event_id("sequence", "ev-1", "order/shipped"));
        assert_eq!(a.len(), 36);
    }
}
