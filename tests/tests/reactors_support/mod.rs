//! Helpers of the reactor tests: app events, SES complaints, a config directory (the example
//! config and templates), the log's records, and `.eml` files parsed by Python's `email`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use mailshot_log::SegmentLog;
use serde_json::{Value, json};

/// The variable the example config names for the signing secret.
pub const SECRET_VAR: &str = "MAILSHOT_UNSUBSCRIBE_SECRET";
/// The secret the tests sign with.
pub const SECRET: &str = "reactor-tests-secret-0123456789abcdef";

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// An app event of `com.example.shop` (what the demo traffic emits).
pub fn app_event(
    id: &str,
    detail_type: &str,
    email: &str,
    first_name: &str,
    extra: Value,
) -> String {
    let mut detail = json!({"customerId": "cus_1", "email": email, "firstName": first_name});
    if let Value::Object(extra) = extra {
        detail.as_object_mut().unwrap().extend(extra);
    }
    json!({
        "version": "0", "id": id, "detail-type": detail_type, "source": "com.example.shop",
        "account": "111122223333", "time": "2024-06-03T14:01:58Z", "region": "us-east-1",
        "resources": [], "detail": detail,
    })
    .to_string()
}

/// `order.shipped` for `email`.
pub fn order_shipped(id: &str, email: &str, order: &str) -> String {
    app_event(
        id,
        "order.shipped",
        email,
        "Jordan",
        json!({"orderId": order, "carrier": "UPS", "trackingNumber": "1Z999AA10123456784"}),
    )
}

/// `customer.created` for `email`.
pub fn customer_created(id: &str, email: &str) -> String {
    app_event(
        id,
        "customer.created",
        email,
        "Jordan",
        json!({"marketingOptIn": true}),
    )
}

/// An SES complaint (configuration-set event) by `email`.
pub fn complaint(email: &str, message_id: &str) -> String {
    json!({
        "eventType": "Complaint",
        "complaint": {
            "feedbackId": format!("fb-{message_id}"),
            "complainedRecipients": [{"emailAddress": email}],
            "timestamp": "2024-06-05T08:44:03.000Z",
            "complaintFeedbackType": "abuse",
        },
        "mail": {
            "timestamp": "2024-06-03T14:02:10.815Z",
            "source": "hello@example.com",
            "messageId": message_id,
            "destination": [email],
        }
    })
    .to_string()
}

/// A permanent bounce (configuration-set event) of `email`.
pub fn permanent_bounce(email: &str, message_id: &str) -> String {
    json!({
        "eventType": "Bounce",
        "bounce": {
            "feedbackId": format!("fb-{message_id}"),
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": email, "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
            "timestamp": "2024-06-03T14:02:12.000Z",
        },
        "mail": {
            "timestamp": "2024-06-03T14:02:10.815Z",
            "source": "hello@example.com",
            "messageId": message_id,
            "destination": [email],
        }
    })
    .to_string()
}

/// A directory holding `mailshot.toml` (the example config, edited by `edit`) and a copy of
/// the example templates under `templates/`.
pub fn config_dir(edit: impl FnOnce(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let example = std::fs::read_to_string(workspace().join("examples/mailshot.toml")).unwrap();
    std::fs::write(dir.path().join("mailshot.toml"), edit(example)).unwrap();
    copy_dir(
        &workspace().join("examples/templates"),
        &dir.path().join("templates"),
    );
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every record of a data dir's log as JSON, oldest first.
pub fn log_inputs(data: &Path) -> Vec<Value> {
    let log = SegmentLog::open_read_only(data).unwrap();
    log.read_from(0)
        .unwrap()
        .map(|r| serde_json::from_str(&r.unwrap().raw).unwrap())
        .collect()
}

/// The log's inputs of one `detail-type`.
pub fn of_type(inputs: &[Value], detail_type: &str) -> Vec<Value> {
    inputs
        .iter()
        .filter(|v| v["detail-type"] == detail_type)
        .cloned()
        .collect()
}

/// The `.eml` files of a data dir's outbox, sorted.
pub fn outbox(data: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(data.join("outbox")) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files
}

/// The interpreter of the test venv (set by scripts/test.sh).
pub fn python() -> PathBuf {
    PathBuf::from(std::env::var_os("MAILSHOT_PYTHON").expect(
        "MAILSHOT_PYTHON is unset: run the tests through scripts/test.sh (it points it at the venv's python)",
    ))
}

const PARSE_EML: &str = r#"
import email, email.policy, json, sys
out = {}
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    out[path] = {
        "defects": [str(d) for d in msg.defects],
        "headers": {k: str(v) for k, v in msg.items()},
        "content_type": msg.get_content_type(),
        "charset": msg.get_content_charset(),
        "body": msg.get_content(),
    }
print(json.dumps(out))
"#;

/// Each file parsed by Python's `email` package (policy `default`): `{path: {defects,
/// headers, content_type, charset, body}}`.
pub fn parse_emls(files: &[PathBuf]) -> Value {
    let out = Command::new(python())
        .arg("-c")
        .arg(PARSE_EML)
        .args(files)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python email parsing failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Asserts the `order/shipped` email of the example config, as parsed by [`parse_emls`], sent
/// to `email` for Jordan's order `ord_4242`: headers, SES tags and rendered body.
pub fn assert_order_shipped_email(msg: &Value, email: &str) {
    assert_eq!(msg["defects"], json!([]));
    let h = &msg["headers"];
    assert_eq!(h["To"], email);
    assert_eq!(h["Subject"], "Jordan, your order ord_4242 is on its way");
    assert_eq!(h["X-Template-Key"], "order/shipped");
    assert_eq!(h["X-Sequence-Id"], "fire_and_forget");
    assert_eq!(h["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click");
    assert!(
        h["List-Unsubscribe"]
            .as_str()
            .unwrap()
            .starts_with("<https://example.com/unsubscribe?token="),
        "{h}"
    );
    assert_eq!(
        h["X-SES-MESSAGE-TAGS"],
        "templateKey=order--shipped, sequenceId=fire_and_forget"
    );
    let body = msg["body"].as_str().unwrap();
    assert!(body.contains("<strong>ord_4242</strong>"), "{body}");
    assert!(body.contains("Good news, Jordan!"), "{body}");
}

/// Asserts that an `executions.stopped` input stopped exactly `arns` (in any order) because a
/// complaint suppressed the subscriber.
pub fn assert_stopped_for_complaint(stopped: &Value, arns: &[&str]) {
    let mut stopped_arns: Vec<&str> = stopped["detail"]["executionArns"]
        .as_array()
        .unwrap_or_else(|| panic!("no executionArns in {stopped}"))
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    stopped_arns.sort_unstable();
    let mut expected = arns.to_vec();
    expected.sort_unstable();
    assert_eq!(stopped_arns, expected);
    assert_eq!(stopped["detail"]["reason"], "suppressed: complaint");
}

/// The input the example config maps `customer.created` (of [`customer_created`]) to when it
/// starts the onboarding sequence.
pub fn onboarding_input(email: &str, event_id: &str) -> Value {
    json!({
        "email": email,
        "firstName": "Jordan",
        "attributes": {"customerId": "cus_1", "email": email, "firstName": "Jordan", "marketingOptIn": true},
        "eventId": event_id,
    })
}

/// The example config pointed at real state machines (their ARNs) and sending from `sender`.
pub fn aws_config_dir(onboarding: &str, winback: &str, sender: &str) -> tempfile::TempDir {
    let (onboarding, winback, sender) = (
        onboarding.to_string(),
        winback.to_string(),
        sender.to_string(),
    );
    config_dir(move |c| {
        c.replace(
            "arn:aws:states:us-east-1:111122223333:stateMachine:onboarding",
            &onboarding,
        )
        .replace(
            "arn:aws:states:us-east-1:111122223333:stateMachine:winback",
            &winback,
        )
        .replace("hello@example.com", &sender)
    })
}
