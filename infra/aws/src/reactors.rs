//! Reactors on the AWS runtime (docs/design.md §10.7, issue 6): after the processor has committed a
//! Kinesis batch into the projections, the batch's records are decided on by the same
//! [`Reactions`] as on the embedded runtime, the effects are carried out (SESv2
//! `SendEmail`, Step Functions `StartExecution`/`StopExecution` through
//! [`crate::effects::AwsEffects`]), and the outcomes (`subscriber.upserted`,
//! `sequence.started`, `email.sent`, `email.skipped`, `executions.stopped`) are put back to
//! the Kinesis stream, partitioned by subscriber, where the processor folds them like any
//! other input. Replay folds the archive through another path and never reaches this module.
//!
//! # Which records are reacted to
//!
//! Every decodable record of the batch up to the first record that could not be committed:
//! the records folded now, and the duplicates too. Reacting to duplicates is what makes a
//! crash between the projection commit and the effects harmless: the redelivered batch is all
//! duplicates for the projections, and its reactions are retried. Doing them twice is prevented
//! by the scheme below, so a redelivered event or one ingested twice still causes at most one
//! send and one execution.
//!
//! # On which rows they are decided
//!
//! Each record is decided on its subscriber's row as of that record (issue 16, item 10), not
//! on the row after the whole batch committed: a bounce later in the batch must not skip an
//! earlier record's email, whatever the batch size. The processor reads the rows the batch
//! will be decided on before it commits the batch (the base), and [`AwsReactors::react`] folds
//! each folded record into them in memory ([`AsOf`]) just before deciding on it. Duplicates
//! were folded by an earlier delivery: they are decided on the rows as they are, not folded
//! again.
//!
//! Outcomes go back through the stream, behind the records already in it, so the executions a
//! record started are in the rows only once its `sequence.started` is folded. Within a batch the
//! runner knows them; across batches the reactors remember the executions they started (and did
//! not stop) until their `sequence.started` is folded, and a later suppression stops them too:
//! the same stops whatever the batch size. This memory lasts as long as the process (a Lambda
//! container): after a cold start, executions started but not folded yet are not known.
//!
//! # At most one send per (event id, template) under redelivery
//!
//! Every outcome carries a deterministic event id ([`mailshot_engine::reactions::outcome_event_id`] of
//! the trigger's event id and the template key, or sequence id, …). For each planned step:
//!
//! 1. **Done already?** The outcome id's identity is looked up in the dedupe index of the log
//!    table (BatchGetItem): if the outcome has been processed, the step was carried out (or
//!    skipped) before and nothing is done.
//! 2. **Claim before a send.** SES has no idempotency key, so before `SendEmail` the runner
//!    writes a claim item `CLAIM#<outcome id>` / `-` in the log table with a conditional
//!    `PutItem` (`attribute_not_exists(pk)`): `at` (ms), `trigger` (the event id) and
//!    `templateKey`. Only the writer whose put succeeds sends. A writer whose put fails (a
//!    concurrent or earlier attempt holds the claim, and its outcome is not processed yet)
//!    does not send: it logs `email.skipped` ("not resent…") under the *same* outcome id, so
//!    when the first attempt's `email.sent` is in the stream (same partition key, hence same
//!    shard, hence earlier) the skip is a duplicate and vanishes. Claims are never deleted:
//!    they are the audit of what was attempted.
//! 3. **Starts are idempotent by name.** The execution name is derived from (event id,
//!    sequence id), and Step Functions starts one execution per name, so a retried start
//!    returns the same execution ARN and its `sequence.started` is the same outcome id.
//! 4. **Stops** of executions already stopped are refused by Step Functions and only warned
//!    about; their outcome id is derived from the suppressing fact.
//!
//! An effect whose outcome is unknown (network failure) keeps its claim: the retry does not
//! send again (at most once, not at least once, for email).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use aws_sdk_dynamodb::types::AttributeValue;
use mailshot_domain::log::Offset;
use mailshot_domain::{FactId, Input, InputBody, SystemAction, parse_input};
use mailshot_projections::{ProjectionReader, Subscriber};

use super::item::{n, s};
use super::store::{DynamoReader, NO_SK};
use super::{Aws, AwsError, Tables};
use crate::Outgoing;
use crate::effects::AwsEffects;
use mailshot_engine::config::{env_secret, load_parts};
use mailshot_engine::reactions::{AsOf, Reactions, RunnerStats, Step, valid_outcomes};

/// One record to react to: its raw input and the identities to react to (for SES records,
/// only those facts trigger stops).
#[derive(Debug, Clone)]
pub struct Reactable {
    /// The record's original JSON.
    pub raw: String,
    /// Its identities (all of them for a duplicate, the new ones for a folded record).
    pub identities: Vec<FactId>,
    /// Its offset in the log when this delivery folded it (it is folded into the rows it is
    /// decided on); `None` for a duplicate, already in the rows.
    pub folded_at: Option<Offset>,
}

/// The subscriber rows a batch's records will be decided on, read before the batch was
/// committed, by address (`None`: no row yet); see the module doc.
pub type ReactorBase = HashMap<String, Option<Subscriber>>;

/// The reactors of an AWS processor: a [`Reactions`] with AWS effects, and the claims.
pub struct AwsReactors {
    runner: Reactions,
    /// Executions started by these reactors whose `sequence.started` is not folded yet (and
    /// that they did not stop), by subscriber (see the module doc).
    pending_starts: HashMap<String, Vec<String>>,
}

impl std::fmt::Debug for AwsReactors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsReactors")
            .field("runner", &self.runner)
            .finish()
    }
}

/// The key of the claim of the send whose outcome id is `outcome_id`.
fn claim_key(outcome_id: &str) -> std::collections::HashMap<String, AttributeValue> {
    std::collections::HashMap::from([
        ("pk".to_string(), s(format!("CLAIM#{outcome_id}"))),
        ("sk".to_string(), s(NO_SK)),
    ])
}

impl AwsReactors {
    /// Reactors carried out by `runner` (built with [`crate::effects::AwsEffects`]).
    pub fn new(runner: Reactions) -> AwsReactors {
        AwsReactors {
            runner,
            pending_starts: HashMap::new(),
        }
    }

    /// The reactors of the config file at `path` (templates next to it, the signing secret
    /// from the environment) with SESv2 and Step Functions clients from the standard AWS
    /// configuration. Template problems are reported by [`AwsReactors::template_problems`].
    pub fn from_config_file(path: &Path) -> Result<AwsReactors, AwsError> {
        let parts = load_parts(path, env_secret).map_err(|e| AwsError::Other(e.to_string()))?;
        let mut effects = AwsEffects::from_env()
            .map_err(|e| AwsError::Other(format!("SESv2 and Step Functions clients: {e}")))?;
        if let Some(set) = &parts.config.sender.configuration_set {
            effects = effects.with_configuration_set(set);
        }
        let reactor = parts.reactor();
        Ok(AwsReactors::new(Reactions::new(reactor, Box::new(effects))))
    }

    /// `(template key, problem)` for every configured template that cannot render: its
    /// emails will be skipped with this reason.
    pub fn template_problems(&self) -> Vec<(String, String)> {
        self.runner.check_templates()
    }

    /// What the reactors did so far.
    pub fn stats(&self) -> RunnerStats {
        self.runner.stats()
    }

    /// Reacts to `records` (in log order), each on the subscriber rows as of that record:
    /// `base` (read from the projections in `tables` before the records were committed) with
    /// the folded records up to it folded in. Puts the outcomes to the stream and returns how
    /// many were put. On an error nothing after the failed step is done; the outcomes of the
    /// steps before it are put first.
    pub fn react(
        &mut self,
        aws: &Aws,
        tables: &Tables,
        records: &[Reactable],
        base: ReactorBase,
    ) -> Result<u64, AwsError> {
        if records.is_empty() {
            return Ok(0);
        }
        let now = self.runner.now();
        let reader = DynamoReader::new(aws, tables.clone());
        // Rows missing from the base are read as they are now (see `AsOf`).
        let mut load =
            |email: &str| -> Result<Option<Subscriber>, AwsError> { reader.subscriber(email) };
        let mut as_of = AsOf::new(base);
        let mut planned = Vec::new();
        for record in records {
            let mut input = parse_input(&record.raw).ok();
            if let (Some(offset), Some(parsed)) = (record.folded_at, input.take()) {
                input = Some(as_of.fold_record(offset, parsed, &record.identities, &mut load)?);
            }
            // Folded now or by an earlier delivery: in the rows either way.
            if let Some(input) = &input {
                self.forget_folded_start(input);
            }
            let mut subscriber = |email: &str| as_of.row(email, &mut load);
            let first_new = planned.len();
            self.runner.plan_record(
                input.as_ref(),
                &record.identities,
                now,
                &mut subscriber,
                &mut planned,
            )?;
            // Stops also stop the executions started by earlier batches and not folded by
            // this record yet.
            for step in &mut planned[first_new..] {
                if let Step::Stop { email, running, .. } = step
                    && let Some(pending) = self.pending_starts.get(email)
                {
                    running.extend(pending.iter().cloned());
                }
            }
        }
        // One step per outcome id (an event twice in one batch is decided twice).
        let mut seen = HashSet::new();
        planned.retain(|step| seen.insert(step.id().to_string()));
        if planned.is_empty() {
            return Ok(0);
        }
        // 1. Done already: the outcome has been processed.
        let ids: Vec<FactId> = planned
            .iter()
            .map(|s| FactId::of_event_id(s.id()))
            .collect();
        let done = aws.markers(&ids)?;
        let mut steps = Vec::with_capacity(planned.len());
        for (mut step, id) in planned.into_iter().zip(ids) {
            if done.contains_key(&id) {
                continue;
            }
            // 2. Claim before a send.
            if let Step::Send {
                id,
                send,
                interrupted,
            } = &mut step
                && self.runner.needs_claims()
            {
                *interrupted = !self.claim(aws, id, &send.dedupe_key.event_id, now.0, {
                    &send.dedupe_key.template_key
                })?;
            }
            steps.push(step);
        }
        let (outcomes, failure) = self.runner.carry_out(&steps, now);
        let flushed = self.runner.flush_effects();
        let lines = valid_outcomes(outcomes);
        self.remember_outcomes(&lines);
        let put = lines.len() as u64;
        let outgoing: Vec<Outgoing> = lines
            .into_iter()
            .map(|line| Outgoing {
                partition_key: parse_input(&line)
                    .map(|i| i.partition_key())
                    .unwrap_or_default(),
                data: line,
            })
            .collect();
        // Signed: the processor takes only signed `mailshot.*` events as mailshot's own.
        aws.put_signed(&outgoing)?;
        if let Some((_, e)) = failure {
            return Err(AwsError::Other(format!("reactors: {e}")));
        }
        flushed.map_err(|e| AwsError::Other(format!("reactors: {e}")))?;
        Ok(put)
    }

    /// Forgets the pending start that `raw` (a folded record) is the `sequence.started` of.
    fn forget_folded_start(&mut self, input: &Input<'_>) {
        if let InputBody::System(sys) = &input.body
            && let SystemAction::SequenceStarted { execution_arn, .. } = &sys.action
            && let Some(pending) = self.pending_starts.get_mut(&sys.email)
        {
            pending.retain(|arn| arn != execution_arn);
            if pending.is_empty() {
                self.pending_starts.remove(&sys.email);
            }
        }
    }

    /// Remembers the executions started by `outcomes` until their `sequence.started` is
    /// folded, and forgets those stopped.
    fn remember_outcomes(&mut self, outcomes: &[String]) {
        for line in outcomes {
            let Ok(input) = parse_input(line) else {
                continue;
            };
            let InputBody::System(sys) = &input.body else {
                continue;
            };
            match &sys.action {
                SystemAction::SequenceStarted { execution_arn, .. } => {
                    let pending = self.pending_starts.entry(sys.email.clone()).or_default();
                    if !pending.contains(execution_arn) {
                        pending.push(execution_arn.clone());
                    }
                }
                SystemAction::ExecutionsStopped { execution_arns, .. } => {
                    if let Some(pending) = self.pending_starts.get_mut(&sys.email) {
                        pending.retain(|arn| !execution_arns.contains(arn));
                        if pending.is_empty() {
                            self.pending_starts.remove(&sys.email);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Writes the claim of a send; false when it exists already.
    fn claim(
        &self,
        aws: &Aws,
        outcome_id: &str,
        trigger: &str,
        at: i64,
        template_key: &str,
    ) -> Result<bool, AwsError> {
        let table = aws.names.log_table();
        let mut item = claim_key(outcome_id);
        item.insert("at".into(), n(at));
        item.insert("trigger".into(), s(trigger));
        item.insert("templateKey".into(), s(template_key));
        let put = aws.block(
            aws.ddb
                .put_item()
                .table_name(&table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .send(),
        );
        match put {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(AwsError::sdk("PutItem (send claim)", &table, e)),
        }
    }
}
