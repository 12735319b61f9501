//! The AWS runtime as a [`Backend`]: ingest puts to Kinesis, the processor folds the stream
//! into the live DynamoDB generation (in `settle` and `process`, as the Lambda does), and
//! queries read that generation (the archive for `trace_subscriber`).

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mailshot_domain::SystemEvent;
use mailshot_engine::backend::{Backend, BackendError, Queries, Usage};
use mailshot_engine::clock::now;
use mailshot_engine::lines::LineSource;
use mailshot_engine::progress::Progress;
use mailshot_engine::reactions::{Reactions, RunnerStats};
use mailshot_engine::report::{IngestSummary, Rejection, VerifyReport};
use mailshot_projections::query::Query;
use mailshot_projections::{Projection, ProjectionReader, Subscriber};
use mailshot_reactors::Reactor;
use serde_json::Value;

use crate::Outgoing;
use crate::effects::AwsEffects;
use crate::processor::{ProcessSummary, Processor};
use crate::reactors::AwsReactors;
use crate::store::DynamoReader;
use crate::{Aws, AwsError, Names};

/// One AWS deployment, reached with the standard AWS configuration, and the processor that
/// folds its stream in this process.
pub struct AwsBackend {
    aws: Aws,
    processor: Processor,
    /// Drives the SDK calls; dropped last.
    runtime: tokio::runtime::Runtime,
}

impl AwsBackend {
    /// Connects to the deployment of `prefix` (else `$MAILSHOT_AWS_PREFIX`, else `mailshot`).
    pub fn connect(prefix: Option<&str>) -> Result<AwsBackend, AwsError> {
        AwsBackend::connect_to(Names::resolve(prefix))
    }

    /// Connects to the deployment named by `names`.
    pub fn connect_to(names: Names) -> Result<AwsBackend, AwsError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| {
                AwsError::Other(format!("starting the async runtime for the AWS SDK: {e}"))
            })?;
        let aws = runtime.block_on(Aws::connect(names));
        let processor = Processor::new(&aws);
        Ok(AwsBackend {
            aws,
            processor,
            runtime,
        })
    }

    /// The connected clients and names.
    pub fn aws(&self) -> &Aws {
        &self.aws
    }

    /// The runtime the SDK calls run on.
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        self.runtime.handle()
    }

    /// The processor of this process, with the attached reactors.
    pub fn processor(&mut self) -> &mut Processor {
        &mut self.processor
    }

    /// Drains the stream through this process's processor: see [`drain`].
    pub fn drain(&mut self, follow: Option<&AtomicBool>) -> Result<ProcessSummary, AwsError> {
        drain(&self.aws, &mut self.processor, follow)
    }
}

impl Backend for AwsBackend {
    fn place(&self) -> String {
        format!("AWS prefix {}", self.aws.names.prefix)
    }

    fn query(&self, query: &Query) -> Result<Value, BackendError> {
        Ok(crate::queries::run_query(&self.aws, query, now())?)
    }

    fn queries(&self) -> Arc<dyn Queries> {
        Arc::new(AwsQueries {
            aws: self.aws.clone(),
        })
    }

    fn command_prefix(&self) -> String {
        format!(
            "mailshot --backend aws --aws-prefix {}",
            self.aws.names.prefix
        )
    }

    fn quarantine_place(&self) -> String {
        "the dead letters of the log table".to_string()
    }

    fn ingest(
        &mut self,
        sources: &[LineSource],
        max_input_bytes: u64,
        on_reject: &mut dyn FnMut(&Rejection),
    ) -> Result<IngestSummary, BackendError> {
        self.aws.live_tables().map_err(BackendError::failed)?;
        crate::ingest::ingest_sources(&self.aws, sources, max_input_bytes, on_reject)
            .map_err(BackendError::failed)
    }

    fn folds_at_ingest(&self) -> bool {
        false
    }

    fn settle(&mut self) -> Result<Option<Value>, BackendError> {
        let summary = self.drain(None).map_err(BackendError::failed)?;
        Ok(Some(
            serde_json::to_value(summary).map_err(BackendError::failed)?,
        ))
    }

    fn effects_are_real(&self) -> bool {
        true
    }

    fn attach_reactors(&mut self, reactor: Reactor) -> Result<(), BackendError> {
        let mut effects = AwsEffects::from_env().map_err(|e| {
            BackendError::Failed(format!("SESv2 and Step Functions clients: {e}").into())
        })?;
        if let Some(set) = &reactor.config().sender.configuration_set {
            effects = effects.with_configuration_set(set);
        }
        let reactors = AwsReactors::new(Reactions::new(reactor, Box::new(effects)));
        let processor = std::mem::replace(&mut self.processor, Processor::new(&self.aws));
        self.processor = processor.with_reactors(reactors);
        Ok(())
    }

    fn reactor_stats(&self) -> Option<RunnerStats> {
        self.processor.reactors().map(AwsReactors::stats)
    }

    fn effects_report(&self) -> Option<String> {
        None
    }

    fn subscriber(&mut self, email: &str) -> Result<Option<Subscriber>, BackendError> {
        let tables = self.aws.live_tables().map_err(BackendError::failed)?;
        DynamoReader::new(&self.aws, tables)
            .subscriber(email)
            .map_err(BackendError::failed)
    }

    fn actor(&self) -> Result<String, BackendError> {
        self.aws.caller_identity().map_err(BackendError::failed)
    }

    fn append_admin(&mut self, events: &[SystemEvent]) -> Result<(), BackendError> {
        let records: Vec<Outgoing> = events
            .iter()
            .map(|event| Outgoing {
                partition_key: event.email.clone(),
                data: event.to_json(),
            })
            .collect();
        self.aws.put_signed(&records).map_err(BackendError::failed)
    }

    fn replay(&mut self, projection: Option<Projection>) -> Result<Value, BackendError> {
        if projection.is_some() {
            return Err(BackendError::Refused(
                "replay --projection: on AWS, replay rebuilds every projection into a new table generation"
                    .to_string(),
            ));
        }
        let started = std::time::Instant::now();
        let report = crate::processor::replay(&self.aws).map_err(BackendError::failed)?;
        eprintln!(
            "replayed {} records into generation {} in {:.1}s (generation {} left in place)",
            report.records,
            report.generation,
            started.elapsed().as_secs_f64(),
            report.previous_generation
        );
        serde_json::to_value(&report).map_err(BackendError::failed)
    }

    fn verify(&mut self) -> Result<Vec<VerifyReport>, BackendError> {
        crate::verify::verify(&self.aws).map_err(BackendError::failed)
    }

    fn usage(&mut self) -> Result<Usage, BackendError> {
        Ok(Usage {
            items_read: Some(self.aws.items_read()),
            ..Usage::default()
        })
    }
}

/// Queries of the live generation of a deployment, from any thread.
struct AwsQueries {
    aws: Aws,
}

impl Queries for AwsQueries {
    fn place(&self) -> String {
        format!("AWS prefix {}", self.aws.names.prefix)
    }

    fn query(&self, query: &Query) -> Result<Value, BackendError> {
        Ok(crate::queries::run_query(&self.aws, query, now())?)
    }
}

/// Drains the stream of `aws` through `processor` (with progress on a terminal) and sums
/// what it did. With `follow`, keeps polling (every second) until the flag is set; without,
/// drains again while the reactors put outcomes, so that they are folded before it returns.
pub fn drain(
    aws: &Aws,
    processor: &mut Processor,
    follow: Option<&AtomicBool>,
) -> Result<ProcessSummary, AwsError> {
    let mut progress = Progress::new("processing", None, "records");
    let mut total = ProcessSummary::default();
    loop {
        let mut last = 0;
        let summary = aws.drain(processor, |t| {
            progress.inc(t.records - last);
            last = t.records;
            // A stop request ends the drain after the batch in flight, not the backlog.
            match follow {
                Some(stop) if stop.load(Ordering::SeqCst) => ControlFlow::Break(()),
                _ => ControlFlow::Continue(()),
            }
        })?;
        total.add(&summary);
        match follow {
            Some(stop) => {
                // Poll once a second, noticing a stop request within a tenth of that.
                for _ in 0..10 {
                    if stop.load(Ordering::SeqCst) {
                        progress.finish();
                        return Ok(total);
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
            }
            None if summary.outcomes == 0 => break,
            None => {}
        }
    }
    progress.finish();
    Ok(total)
}
