//! A private moto server per test, for the tests that read moto's `GET /moto-api/data.json`
//! (the only way to read back sent SES messages): on the shared server that scripts/test.sh
//! starts, the other AWS tests fill moto with thousands of Kinesis records and DynamoDB
//! items, and data.json becomes very slow to build (and moto's memory explodes). A private
//! server holds only what its test created. Also: Step Functions and SESv2 clients pointed at
//! such a server, and what the tests read back from it.
//!
//! These tests fail (never skip) when the environment of scripts/test.sh is missing.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The venv's `bin` directory (set by scripts/test.sh); fails the test when unset.
pub fn venv_bin() -> PathBuf {
    // The shared server's settings (credentials, region) come from the same script.
    std::env::var_os("AWS_ENDPOINT_URL").unwrap_or_else(|| {
        panic!(
            "AWS_ENDPOINT_URL is unset: the AWS tests need the environment scripts/test.sh \
             sets up (run them through scripts/test.sh)"
        )
    });
    PathBuf::from(std::env::var_os("MAILSHOT_VENV_BIN").unwrap_or_else(|| {
        panic!(
            "MAILSHOT_VENV_BIN is unset: this test starts its own moto server from the test \
             venv (run it through scripts/test.sh)"
        )
    }))
}

/// A moto server of one test, on a free loopback port; killed when dropped.
pub struct MotoServer {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    port: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.0 request to `127.0.0.1:port`: the response body, or None if the server does
/// not answer yet.
fn http(port: u16, method: &str, path: &str) -> Option<Vec<u8>> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json\r\nContent-Length: 0\r\n\r\n"
    )
    .ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let at = response.windows(4).position(|w| w == b"\r\n\r\n")?;
    if !response.starts_with(b"HTTP/1.0 200") && !response.starts_with(b"HTTP/1.1 200") {
        return None;
    }
    Some(response[at + 4..].to_vec())
}

impl MotoServer {
    /// Starts `moto_server -H 127.0.0.1 -p <free port>` and waits until it answers.
    pub fn start() -> MotoServer {
        let bin = venv_bin().join("moto_server");
        let mut last_error = String::new();
        // A port can be taken between choosing and binding it: try a few.
        for _ in 0..3 {
            let port = free_port();
            let mut child = Command::new(&bin)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                if let Some(status) = child.try_wait().unwrap() {
                    let mut err = String::new();
                    if let Some(mut e) = child.stderr.take() {
                        let _ = e.read_to_string(&mut err);
                    }
                    last_error = format!("moto_server exited ({status}): {err}");
                    break;
                }
                if http(port, "GET", "/moto-api/data.json").is_some() {
                    // Drop the stderr pipe so that moto never blocks on a full pipe.
                    drop(child.stderr.take());
                    return MotoServer {
                        child,
                        endpoint: format!("http://127.0.0.1:{port}"),
                        port,
                    };
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    last_error = "moto_server did not answer within 60 s".to_string();
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        panic!("could not start a private moto server: {last_error}");
    }

    /// `GET /moto-api/data.json`: every backend's state.
    pub fn data(&self) -> Value {
        let body = http(self.port, "GET", "/moto-api/data.json").expect("data.json");
        serde_json::from_slice(&body).expect("data.json is JSON")
    }

    /// SES raw messages sent to `recipient`: `(message id, raw MIME)`.
    pub fn raw_messages_to(&self, recipient: &str) -> Vec<(String, String)> {
        let data = self.data();
        let mut found = Vec::new();
        let mut visit = |m: &Value| {
            let to_us = m["destinations"].as_array().is_some_and(|d| {
                d.iter()
                    .any(|x| x.as_str().is_some_and(|x| x.contains(recipient)))
            });
            if to_us {
                found.push((
                    m["id"].as_str().unwrap_or_default().to_string(),
                    m["raw_data"].as_str().unwrap_or_default().to_string(),
                ));
            }
        };
        // data.json: {"ses": {"RawMessage": [...]}} (per account/region in some versions).
        fn walk(v: &Value, visit: &mut dyn FnMut(&Value)) {
            match v {
                Value::Object(map) => {
                    if map.contains_key("raw_data") {
                        visit(v);
                    } else {
                        map.values().for_each(|x| walk(x, visit));
                    }
                }
                Value::Array(items) => items.iter().for_each(|x| walk(x, visit)),
                _ => {}
            }
        }
        walk(&data["ses"]["RawMessage"], &mut visit);
        found
    }

    /// Step Functions and SESv2 clients pointed at this server.
    pub fn clients(&self) -> Effects {
        Effects::new(&self.endpoint)
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Step Functions and SESv2 clients of one endpoint, for setting up and inspecting.
pub struct Effects {
    pub rt: tokio::runtime::Runtime,
    pub sfn: aws_sdk_sfn::Client,
    pub ses: aws_sdk_sesv2::Client,
}

impl Effects {
    /// Clients of `endpoint` (credentials and region from the environment).
    pub fn new(endpoint: &str) -> Effects {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let config = rt.block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .endpoint_url(endpoint)
                .load(),
        );
        Effects {
            sfn: aws_sdk_sfn::Client::new(&config),
            ses: aws_sdk_sesv2::Client::new(&config),
            rt,
        }
    }

    /// A state machine that waits a day; its ARN.
    pub fn create_state_machine(&self, name: &str) -> String {
        let definition = json!({
            "StartAt": "Wait",
            "States": {"Wait": {"Type": "Wait", "Seconds": 86400, "End": true}},
        });
        let out = self
            .rt
            .block_on(
                self.sfn
                    .create_state_machine()
                    .name(name)
                    .definition(definition.to_string())
                    .role_arn("arn:aws:iam::123456789012:role/mailshot-reactor-tests")
                    .send(),
            )
            .expect("CreateStateMachine");
        out.state_machine_arn().to_string()
    }

    /// A verified SES identity.
    pub fn create_identity(&self, address: &str) {
        self.rt
            .block_on(
                self.ses
                    .create_email_identity()
                    .email_identity(address)
                    .send(),
            )
            .expect("CreateEmailIdentity");
    }

    /// `(execution ARN, status, input)` of every execution of a state machine.
    pub fn executions(&self, state_machine_arn: &str) -> Vec<(String, String, Value)> {
        let list = self
            .rt
            .block_on(
                self.sfn
                    .list_executions()
                    .state_machine_arn(state_machine_arn)
                    .send(),
            )
            .expect("ListExecutions");
        list.executions()
            .iter()
            .map(|e| {
                let d = self
                    .rt
                    .block_on(
                        self.sfn
                            .describe_execution()
                            .execution_arn(e.execution_arn())
                            .send(),
                    )
                    .expect("DescribeExecution");
                (
                    d.execution_arn().to_string(),
                    d.status().as_str().to_string(),
                    serde_json::from_str(d.input().unwrap_or("null")).unwrap(),
                )
            })
            .collect()
    }
}
