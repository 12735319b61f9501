//! Step Functions intents: starting a sequence's execution, stopping a subscriber's executions.

use mailshot_domain::SystemAction;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::mapping::MappedSubscriber;

/// An intended `StartExecution`. Starting twice with the same name is idempotent on the Step
/// Functions side (same execution), which is why the name is derived from the event.
#[derive(Debug, Clone, PartialEq)]
pub struct StartExecution {
    pub state_machine_arn: String,
    /// [`execution_name`] of the event id and sequence id.
    pub name: String,
    /// `{"email", "firstName", "attributes", "eventId"}`.
    pub input: Value,
    pub sequence_id: String,
    /// The subscriber (normalised).
    pub email: String,
    /// The EventBridge id of the triggering event.
    pub trigger_event_id: String,
}

impl StartExecution {
    /// Builds the intent for a mapped subscriber.
    pub fn new(
        state_machine_arn: &str,
        sequence_id: &str,
        event_id: &str,
        subscriber: &MappedSubscriber,
    ) -> StartExecution {
        let mut input = subscriber.to_json();
        input["eventId"] = Value::String(event_id.to_string());
        StartExecution {
            state_machine_arn: state_machine_arn.to_string(),
            name: execution_name(event_id, sequence_id),
            input,
            sequence_id: sequence_id.to_string(),
            email: subscriber.email.clone(),
            trigger_event_id: event_id.to_string(),
        }
    }

    /// The `sequence.started` outcome, once the executor knows the execution ARN.
    pub fn started(&self, execution_arn: &str) -> SystemAction {
        SystemAction::SequenceStarted {
            sequence_id: self.sequence_id.clone(),
            execution_arn: execution_arn.to_string(),
            trigger_event_id: self.trigger_event_id.clone(),
        }
    }
}

/// A deterministic, valid Step Functions execution name (at most 80 characters of
/// `A-Z a-z 0-9 - _`): the sequence id (sanitised, at most 47 characters), `-`, and 32 hex
/// digits of SHA-256 over the event id and the sequence id. The same event and sequence always
/// give the same name; different ones practically never collide.
pub fn execution_name(event_id: &str, sequence_id: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(event_id.as_bytes());
    hasher.update([0u8]);
    hasher.update(sequence_id.as_bytes());
    let digest = hasher.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    let prefix: String = sequence_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(47)
        .collect();
    if prefix.is_empty() {
        hex
    } else {
        format!("{prefix}-{hex}")
    }
}

/// An intended `StopExecution`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopExecution {
    pub execution_arn: String,
    /// Passed as the StopExecution `cause` (e.g. `suppressed: bounce`).
    pub cause: String,
}

/// Stops every running execution of a subscriber: one [`StopExecution`] per ARN (duplicates
/// dropped, order kept) and the `executions.stopped` outcome listing them. With no running
/// executions both are empty of ARNs; the caller may then skip appending the outcome.
pub fn stop_executions(running: &[String], reason: &str) -> (Vec<StopExecution>, SystemAction) {
    let mut arns: Vec<String> = Vec::with_capacity(running.len());
    for arn in running {
        if !arns.contains(arn) {
            arns.push(arn.clone());
        }
    }
    let stops = arns
        .iter()
        .map(|arn| StopExecution {
            execution_arn: arn.clone(),
            cause: reason.to_string(),
        })
        .collect();
    (
        stops,
        SystemAction::ExecutionsStopped {
            execution_arns: arns,
            reason: reason.to_string(),
        },
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn execution_names_are_deterministic_valid_and_distinct() {
        let a = execution_name("3f9a2c71-6d4e-4b8a-a1f5-0c7e92d4b6e8", "onboarding");
        assert_eq!(
            a,
            execution_name("3f9a2c71-6d4e-4b8a-a1f5-0c7e92d4b6e8", "onboarding")
        );
        assert!(a.starts_with("onboarding-"));
        assert_eq!(a.len(), "onboarding-".len() + 32);
        assert_ne!(
            a,
            execution_name("3f9a2c71-6d4e-4b8a-a1f5-0c7e92d4b6e9", "onboarding")
        );
        assert_ne!(
            a,
            execution_name("3f9a2c71-6d4e-4b8a-a1f5-0c7e92d4b6e8", "winback")
        );
        let long = execution_name(&"e".repeat(500), &"s".repeat(64));
        assert!(long.len() <= 80, "{}", long.len());
        for name in [a, long, execution_name("x", "")] {
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "{name}"
            );
        }
    }

    #[test]
    fn start_execution_input_is_the_subscriber_plus_the_event_id() {
        let s = MappedSubscriber {
            email: "a@example.com".into(),
            first_name: None,
            attributes: json!({"k": 1}),
        };
        let start = StartExecution::new(
            "arn:aws:states:us-east-1:111122223333:stateMachine:m",
            "seq",
            "ev-1",
            &s,
        );
        assert_eq!(
            start.input,
            json!({"email": "a@example.com", "firstName": null, "attributes": {"k": 1}, "eventId": "ev-1"})
        );
        assert_eq!(
            start.started("arn:exec"),
            SystemAction::SequenceStarted {
                sequence_id: "seq".into(),
                execution_arn: "arn:exec".into(),
                trigger_event_id: "ev-1".into(),
            }
        );
    }

    #[test]
    fn stopping_lists_every_running_execution_once() {
        let running = vec![
            "arn:1".to_string(),
            "arn:2".to_string(),
            "arn:1".to_string(),
        ];
        let (stops, outcome) = stop_executions(&running, "suppressed: bounce");
        assert_eq!(
            stops,
            vec![
                StopExecution {
                    execution_arn: "arn:1".into(),
                    cause: "suppressed: bounce".into()
                },
                StopExecution {
                    execution_arn: "arn:2".into(),
                    cause: "suppressed: bounce".into()
                },
            ]
        );
        assert_eq!(
            outcome,
            SystemAction::ExecutionsStopped {
                execution_arns: vec!["arn:1".into(), "arn:2".into()],
                reason: "suppressed: bounce".into(),
            }
        );
        let (none, _) = stop_executions(&[], "unsubscribed");
        assert!(none.is_empty());
    }
}
