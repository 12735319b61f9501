//! The ingest Lambda (SNS subscriptions for SES events, EventBridge rules for app events):
//! wires [`mailshot_aws::lambda::ingest_handler`] into the Lambda runtime.

use lambda_runtime::{LambdaEvent, service_fn};
use mailshot_aws::lambda::{HandlerError, ingest_handler};
use mailshot_aws::{Aws, Names};

#[tokio::main]
async fn main() -> Result<(), HandlerError> {
    let aws = Aws::connect(Names::resolve(None)).await;
    let aws = &aws;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| async move {
        ingest_handler(aws, event).await
    }))
    .await
}
