//! The processor Lambda (Kinesis event source mapping with `ReportBatchItemFailures`): wires
//! [`mailshot_aws::lambda::processor_handler`] into the Lambda runtime, or
//! [`mailshot_aws::lambda::reacting_processor_handler`] when `MAILSHOT_CONFIG` names
//! a reactors config file (docs/aws.md).

use std::sync::{Arc, Mutex};

use lambda_runtime::{LambdaEvent, service_fn};
use mailshot_aws::lambda::{HandlerError, processor_handler, reacting_processor_handler};
use mailshot_aws::processor::Processor;
use mailshot_aws::reactors::AwsReactors;
use mailshot_aws::{Aws, Names};

#[tokio::main]
async fn main() -> Result<(), HandlerError> {
    let aws = Aws::connect(Names::resolve(None)).await;
    if let Some(path) = std::env::var_os("MAILSHOT_CONFIG") {
        let path = std::path::PathBuf::from(path);
        let reactors =
            tokio::task::spawn_blocking(move || AwsReactors::from_config_file(&path)).await??;
        for (key, problem) in reactors.template_problems() {
            tracing::warn!("template {key}: {problem} (its emails will be skipped)");
        }
        let processor = Arc::new(Mutex::new(Processor::new(&aws).with_reactors(reactors)));
        let handler_processor = processor.clone();
        let result = lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| {
            reacting_processor_handler(handler_processor.clone(), event)
        }))
        .await;
        // The reactors' SES and Step Functions clients own a blocking runtime of their own,
        // which must not be dropped on an async worker thread: drop the last reference on a
        // blocking one.
        let _ = tokio::task::spawn_blocking(move || drop(processor)).await;
        return result;
    }
    let aws = &aws;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| async move {
        processor_handler(aws, event).await
    }))
    .await
}
