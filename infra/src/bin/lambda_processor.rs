//! The processor Lambda (Kinesis event source mapping with `ReportBatchItemFailures`): wires
//! [`mailshot_infra::aws::lambda::processor_handler`] into the Lambda runtime.

use lambda_runtime::{LambdaEvent, service_fn};
use mailshot_infra::aws::lambda::{HandlerError, processor_handler};
use mailshot_infra::aws::{Aws, Names};

#[tokio::main]
async fn main() -> Result<(), HandlerError> {
    let aws = Aws::connect(Names::resolve(None)).await;
    let aws = &aws;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| async move {
        processor_handler(aws, event).await
    }))
    .await
}
