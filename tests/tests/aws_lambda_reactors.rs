//! The processor Lambda with reactors (`reacting_processor_handler`, what the binary runs
//! when `MAILSHOT_CONFIG` is set), called in-process with real `aws_lambda_events` payloads
//! read back from the stream, against the moto server of scripts/test.sh (this test fails,
//! never skips, without it). No data.json is read: executions are listed with Step Functions
//! and outcomes read back from the stream and the projections.

mod aws_support;
mod common;
mod moto_support;
mod reactors_support;

use std::sync::{Arc, Mutex};

use aws_support::*;
use lambda_runtime::{Context, LambdaEvent};
use mailshot_aws::effects::AwsEffects;
use mailshot_aws::lambda::reacting_processor_handler;
use mailshot_aws::processor::Processor;
use mailshot_aws::reactors::AwsReactors;
use mailshot_engine::config::load_with_secret;
use mailshot_engine::reactions::Reactions;
use reactors_support::*;
use serde_json::Value;

#[test]
fn the_reacting_processor_lambda_starts_one_execution_even_when_a_batch_is_redelivered() {
    let env = Env::new("lambda-rx", 1);
    let effects = moto_support::Effects::new(&endpoint());
    let machine = effects.create_state_machine(&format!("{}-onboarding", env.prefix));
    let arn = machine.clone();
    let config = config_dir(move |c| {
        c.replace(
            "arn:aws:states:us-east-1:111122223333:stateMachine:onboarding",
            &arn,
        )
    });
    let reactor = load_with_secret(&config.path().join("mailshot.toml"), |_| {
        Some(SECRET.to_string())
    })
    .unwrap();
    let runner = Reactions::new(reactor, Box::new(AwsEffects::from_env().unwrap()));
    let processor = Arc::new(Mutex::new(
        Processor::new(&env.aws).with_reactors(AwsReactors::new(runner)),
    ));
    let handle = |event| {
        let response = env
            .rt
            .block_on(reacting_processor_handler(
                processor.clone(),
                LambdaEvent::new(event, Context::default()),
            ))
            .expect("processor handler");
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
    };

    let email = format!("{}@example.net", env.prefix);
    let id = format!("{}-created", env.prefix);
    let event: Value = serde_json::from_str(&customer_created(&id, &email)).unwrap();
    env.lambda_ingest(event);
    let batches = env.read_events(100);
    assert_eq!(batches.len(), 1);
    handle(batches[0].clone());
    let executions = effects.executions(&machine);
    assert_eq!(executions.len(), 1, "{executions:?}");
    assert_eq!(executions[0].1, "RUNNING");

    // The same batch again (a redelivery): still one execution.
    handle(batches[0].clone());
    assert_eq!(effects.executions(&machine).len(), 1);

    // The outcomes were put to the stream; processing them (the trigger again among them, a
    // duplicate) logs one start under the subscriber.
    for batch in env.read_events(100) {
        handle(batch);
    }
    assert_eq!(effects.executions(&machine).len(), 1);
    let trace = env.query(
        "trace_subscriber",
        &serde_json::json!({"email": email}),
        common::now_2024(),
    );
    let started: Vec<&Value> = trace["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| &item["input"])
        .filter(|input| input["detail-type"] == "sequence.started")
        .collect();
    assert_eq!(started.len(), 1, "{trace}");
    assert_eq!(
        started[0]["detail"]["executionArn"],
        executions[0].0.as_str()
    );
    assert_eq!(started[0]["detail"]["triggerEventId"], id.as_str());
}
