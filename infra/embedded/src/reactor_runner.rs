//! The live reactor runner of the embedded runtime: after each ingest batch commits, the
//! records past the reactor checkpoint are decided on, their effects carried out, and the
//! outcomes appended to the log, in log order.
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

use mailshot_domain::FactId;
use mailshot_domain::Timestamp;
use mailshot_domain::log::Offset;
use mailshot_domain::parse_input;
use mailshot_engine::effects::Effects;
use mailshot_engine::reactions::{AsOf, Reactions, RunnerStats, Step, valid_outcomes};
use mailshot_projections::{ProjectionReader, Subscriber};
use mailshot_reactors::Reactor;

use crate::{EmbeddedError, Writer};

/// Meta key of the reactor checkpoint: every record before this offset has been reacted to
/// and its outcomes are in the log.
pub use mailshot_store::REACTOR_CHECKPOINT_KEY as CHECKPOINT_KEY;

/// Meta key prefix of send claims (see the module docs).
const CLAIM_PREFIX: &str = "reactor/claim/";

/// Records reacted to per round (claims, effects, outcomes, checkpoint): bounds memory.
const CHUNK_RECORDS: u64 = 1024;

/// Runs [`Reactions`] over the live tail of a [`Writer`]'s log. Attach it with
/// [`Writer::attach_reactors`]; ingest then runs it after every batch.
#[derive(Debug)]
pub struct ReactorRunner {
    reactions: Reactions,
}

fn claim_key(outcome_id: &str) -> String {
    format!("{CLAIM_PREFIX}{outcome_id}")
}

fn reactor_error(e: impl std::fmt::Display) -> EmbeddedError {
    EmbeddedError::Fold(format!("reactors: {e}"))
}

impl ReactorRunner {
    /// A runner carrying out `reactor`'s decisions through `effects`, at the wall clock.
    pub fn new(reactor: Reactor, effects: Box<dyn Effects>) -> ReactorRunner {
        ReactorRunner {
            reactions: Reactions::new(reactor, effects),
        }
    }

    /// Replaces the clock (unsubscribe tokens are signed at "now"); for tests.
    pub fn with_clock(self, clock: impl Fn() -> Timestamp + Send + 'static) -> ReactorRunner {
        ReactorRunner {
            reactions: self.reactions.with_clock(clock),
        }
    }

    /// What the runner did so far.
    pub fn stats(&self) -> RunnerStats {
        self.reactions.stats()
    }

    /// The effects, for people (`outbox …`, `AWS …`).
    pub fn describe(&self) -> String {
        self.reactions.describe()
    }

    /// `(template key, problem)` of every configured template that cannot render.
    pub fn check_templates(&self) -> Vec<(String, String)> {
        self.reactions.check_templates()
    }

    /// Reacts to every record from the checkpoint to the end of the log, each on the
    /// subscriber rows as of that record (see [`AsOf`]).
    pub fn run(&mut self, writer: &mut Writer) -> Result<(), EmbeddedError> {
        let mut base = writer.reactor_base.take();
        let mut as_of = None;
        loop {
            let from = writer.store.meta_u64(CHECKPOINT_KEY)?.unwrap_or(0);
            let end = writer.log.end_offset()?;
            if from >= end {
                return Ok(());
            }
            // The rows read before the batch are its base only if reacting starts where the
            // batch does; otherwise (resuming after a crash) the records are folded onto the
            // store's rows, which already hold them: the fold is idempotent.
            let as_of = as_of.get_or_insert_with(|| match base.take() {
                Some((at, rows)) if at == from => AsOf::new(rows),
                _ => AsOf::default(),
            });
            let to = end.min(from + CHUNK_RECORDS);
            self.run_chunk(writer, from, to, to == end, as_of)?;
        }
    }

    /// Plans the records `from..to`, each on the rows of `as_of` once it is folded in.
    fn plan(
        &mut self,
        writer: &Writer,
        from: Offset,
        to: Offset,
        now: Timestamp,
        as_of: &mut AsOf,
    ) -> Result<Vec<Step>, EmbeddedError> {
        let snapshot = writer.store.snapshot()?;
        let mut load = |email: &str| -> Result<Option<Subscriber>, EmbeddedError> {
            Ok(snapshot.subscriber(email)?)
        };
        let mut steps = Vec::new();
        for record in writer.log.read_from(from)? {
            let record = record?;
            if record.offset >= to {
                break;
            }
            let input = match parse_input(&record.raw) {
                Ok(input) => {
                    Some(as_of.fold_record(record.offset, input, &record.identities, &mut load)?)
                }
                Err(_) => None,
            };
            let mut subscriber = |email: &str| as_of.row(email, &mut load);
            self.reactions.plan_record(
                input.as_ref(),
                &record.identities,
                now,
                &mut subscriber,
                &mut steps,
            )?;
        }
        Ok(steps)
    }

    fn run_chunk(
        &mut self,
        writer: &mut Writer,
        from: Offset,
        to: Offset,
        last: bool,
        as_of: &mut AsOf,
    ) -> Result<(), EmbeddedError> {
        let now = self.reactions.now();
        let planned = self.plan(writer, from, to, now, as_of)?;

        // Drop what is already done; claim the sends (one durable transaction).
        let mut steps = Vec::with_capacity(planned.len());
        let mut claims: Vec<(String, Option<u64>)> = Vec::new();
        for mut step in planned {
            // A reactor outcome is a system event: identified by its event id, without a day.
            if writer.store.has_id(&FactId::of_event_id(step.id()), None)? {
                self.reactions.note_already_done();
                continue;
            }
            if let Step::Send {
                id, interrupted, ..
            } = &mut step
                && self.reactions.needs_claims()
            {
                let key = claim_key(id);
                if writer.store.meta_u64(&key)?.is_some() {
                    *interrupted = true;
                } else {
                    claims.push((key, Some(now.0 as u64)));
                }
            }
            steps.push(step);
        }
        if !claims.is_empty() {
            writer.store.update_meta(&claims)?;
        }

        // Carry out the effects in log order.
        let (outcomes, failure) = self.reactions.carry_out(&steps, now);
        self.reactions
            .flush_effects()
            .map_err(|e| reactor_error(format!("{} : {e}", self.reactions.describe())))?;

        // Append the outcomes (duplicates of an earlier attempt are dropped by ingest).
        let valid = valid_outcomes(outcomes);
        if !valid.is_empty() {
            // The records after these see their outcomes (executions started, …), as they
            // would had each record been reacted to alone.
            let snapshot = writer.store.snapshot()?;
            let mut load = |email: &str| -> Result<Option<Subscriber>, EmbeddedError> {
                Ok(snapshot.subscriber(email)?)
            };
            as_of.fold_outcomes(&valid, &mut load)?;
            drop(snapshot);
            writer.ingest_raw(&valid)?;
        }

        // Release the claims whose outcome is now logged (or that were never attempted).
        let mut release: Vec<(String, Option<u64>)> = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            let kept = failure.as_ref().is_some_and(|(f, _)| *f == i);
            if let Step::Send { id, .. } = step
                && self.reactions.needs_claims()
                && !kept
            {
                release.push((claim_key(id), None));
            }
        }
        if let Some((_, e)) = failure {
            writer.store.update_meta(&release)?;
            return Err(reactor_error(format!(
                "{}: {e} (will retry from log offset {from})",
                self.reactions.describe()
            )));
        }
        let next = if last { writer.log.end_offset()? } else { to };
        release.push((CHECKPOINT_KEY.to_string(), Some(next)));
        writer.store.update_meta(&release)?;
        Ok(())
    }
}

impl Writer {
    /// Attaches reactors to this writer: from now on every ingest batch is reacted to once it
    /// has committed. On the first attach to a data dir the checkpoint starts at the end of
    /// the log (history is never reacted to); afterwards the runner resumes from its
    /// checkpoint, so that records committed before a crash get their effects now.
    pub fn attach_reactors(&mut self, runner: ReactorRunner) -> Result<(), EmbeddedError> {
        if self.store.meta_u64(CHECKPOINT_KEY)?.is_none() {
            let end = self.log.end_offset()?;
            self.store
                .update_meta(&[(CHECKPOINT_KEY.to_string(), Some(end))])?;
        }
        self.reactor = Some(runner);
        self.run_reactors()
    }

    /// Detaches the reactors (ingest then appends without reacting).
    pub fn detach_reactors(&mut self) -> Option<ReactorRunner> {
        self.reactor.take()
    }

    /// What the attached reactors did so far.
    pub fn reactor_stats(&self) -> Option<RunnerStats> {
        self.reactor.as_ref().map(ReactorRunner::stats)
    }

    /// Runs the attached reactors (if any) up to the end of the log.
    pub fn run_reactors(&mut self) -> Result<(), EmbeddedError> {
        let Some(mut runner) = self.reactor.take() else {
            return Ok(());
        };
        let result = runner.run(self);
        self.reactor = Some(runner);
        result
    }
}
