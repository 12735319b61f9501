//! The Lambda handlers: ordinary async functions that the binaries in `src/bin` wire with
//! `lambda_runtime::run(service_fn(…))` and that tests call directly with real
//! `aws_lambda_events` payloads. The work is synchronous (see [`crate`] on blocking), so
//! each handler runs it on a blocking thread.

use std::sync::{Arc, Mutex, PoisonError};

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::KinesisEventResponse;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

use super::Aws;
use super::processor::Processor;
use mailshot_engine::report::IngestSummary;

/// The error type the Lambda runtime reports.
pub type HandlerError = lambda_runtime::Error;

/// The processor Lambda: one Kinesis batch into the archive and projections. Undecodable
/// records go to the dead letters; a record that cannot be committed is returned in
/// `batchItemFailures` (with `ReportBatchItemFailures`, Lambda redelivers from it, and the
/// records before it are not reprocessed).
pub async fn processor_handler(
    aws: &Aws,
    event: LambdaEvent<KinesisEvent>,
) -> Result<KinesisEventResponse, HandlerError> {
    let aws = aws.clone();
    let (response, summary) =
        tokio::task::spawn_blocking(move || Processor::new(&aws).process_event(&event.payload))
            .await?;
    tracing::info!(?summary, "kinesis batch processed");
    Ok(response)
}

/// The processor Lambda with reactors (`MAILSHOT_CONFIG` names the config file in the
/// deployment package): `processor`, with its [`super::reactors::AwsReactors`] attached, is
/// kept across the invocations of one Lambda instance (which never overlap). After a batch
/// commits, its records are reacted to and the outcomes put back to the stream.
pub async fn reacting_processor_handler(
    processor: Arc<Mutex<Processor>>,
    event: LambdaEvent<KinesisEvent>,
) -> Result<KinesisEventResponse, HandlerError> {
    let (response, summary) = tokio::task::spawn_blocking(move || {
        processor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .process_event(&event.payload)
    })
    .await?;
    tracing::info!(?summary, "kinesis batch processed");
    Ok(response)
}

/// The ingest Lambda: an SNS event (SES notifications) or an EventBridge event → Kinesis.
/// Rejected inputs go to the dead letters; the function fails (and is retried by its caller)
/// only when AWS itself fails.
pub async fn ingest_handler(
    aws: &Aws,
    event: LambdaEvent<Value>,
) -> Result<IngestSummary, HandlerError> {
    let aws = aws.clone();
    let summary =
        tokio::task::spawn_blocking(move || super::ingest::ingest_event(&aws, &event.payload))
            .await??;
    tracing::info!(?summary, "ingested");
    Ok(summary)
}
