//! `mailshot mcp`: the query contract of DESIGN §5 as an MCP server on stdio.
//!
//! Every tool answers exactly the JSON of the CLI's `--json` (as text content and as structured
//! content). Bad arguments, unknown subscribers and a data dir without data are tool errors
//! (`isError: true`) whose message names the cause; they never end the server.
//!
//! Two sources, one JSON: the embedded data dir (opened read-only on the first call that finds
//! data there; every call reads a fresh snapshot, so the server answers what a concurrent
//! `ingest` has committed), or the live DynamoDB generation of an AWS deployment
//! (`mailshot --backend aws mcp`, answered with Query, GetItem and BatchGetItem as the CLI
//! queries are).

pub mod tools;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use mailshot_projections::query::QueryError;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::Value;

use crate::aws::Aws;
use crate::embedded::Reader;
use crate::queries::{now, run_query};
use tools::ToolSpec;

/// Serves the MCP tools of the data dir `data` over stdin/stdout until the client closes the
/// stream.
pub fn serve(data: &Path) -> anyhow::Result<ExitCode> {
    serve_with(MailshotMcp::new(data))
}

/// Serves the MCP tools of an AWS deployment over stdin/stdout until the client closes the
/// stream. Must be called outside the runtime `aws` was connected on (see [`crate::aws`]).
pub fn serve_aws(aws: &Aws) -> anyhow::Result<ExitCode> {
    serve_with(MailshotMcp::over_aws(aws))
}

fn serve_with(server: MailshotMcp) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let running = server.serve(rmcp::transport::stdio()).await?;
        running.waiting().await?;
        anyhow::Ok(ExitCode::SUCCESS)
    })
}

/// Where the answers come from.
enum Source {
    /// A data dir and its lazily opened reader.
    Embedded {
        data: PathBuf,
        reader: Mutex<Option<Arc<Reader>>>,
    },
    /// The live generation of an AWS deployment.
    Aws(Aws),
}

/// The MCP server: the tool list and the source of the answers.
pub struct MailshotMcp {
    tools: Arc<Vec<ToolSpec>>,
    source: Source,
}

/// Why a tool call failed: the message the tool error shows.
#[derive(Debug)]
struct ToolFailure(String);

impl MailshotMcp {
    /// A server over the data dir `data`; nothing is opened until the first tool call.
    pub fn new(data: &Path) -> MailshotMcp {
        MailshotMcp {
            tools: Arc::new(tools::all()),
            source: Source::Embedded {
                data: data.to_path_buf(),
                reader: Mutex::new(None),
            },
        }
    }

    /// A server over the live DynamoDB generation of the deployment `aws`.
    pub fn over_aws(aws: &Aws) -> MailshotMcp {
        MailshotMcp {
            tools: Arc::new(tools::all()),
            source: Source::Aws(aws.clone()),
        }
    }

    /// The data dir's reader, opened on first use; a failed open is retried on the next call.
    fn reader(
        data: &Path,
        reader: &Mutex<Option<Arc<Reader>>>,
    ) -> Result<Arc<Reader>, ToolFailure> {
        let mut slot = reader
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(reader) = slot.as_ref() {
            return Ok(Arc::clone(reader));
        }
        let reader = Reader::open(data).map(Arc::new).map_err(|e| {
            if data.join("store").is_dir() || data.join("log").is_dir() {
                ToolFailure(format!("cannot open the data dir {}: {e}", data.display()))
            } else {
                ToolFailure(format!(
                    "no data yet in {} (run `mailshot --data {} ingest FILE` first)",
                    data.display(),
                    data.display()
                ))
            }
        })?;
        *slot = Some(Arc::clone(&reader));
        Ok(reader)
    }

    /// Answers one tool call: the contract's JSON, or the failure to report as a tool error.
    async fn answer(
        &self,
        name: &str,
        arguments: Option<serde_json::Map<String, Value>>,
    ) -> Result<Value, ToolFailure> {
        let spec = self
            .tools
            .iter()
            .find(|t| t.name == name)
            .expect("caller checked the tool name");
        let args = match arguments {
            Some(map) => {
                if let Some(unknown) = map.keys().find(|k| !spec.has_argument(k)) {
                    return Err(ToolFailure(format!(
                        "invalid argument `{unknown}`: {name} has no such argument"
                    )));
                }
                Value::Object(map)
            }
            None => Value::Null,
        };
        let tool = spec.name;
        let (answer, place) = match &self.source {
            Source::Embedded { data, reader } => {
                let reader = Self::reader(data, reader)?;
                let answer =
                    tokio::task::spawn_blocking(move || run_query(&reader, tool, &args, now()))
                        .await;
                (answer, format!("data dir {}", data.display()))
            }
            Source::Aws(aws) => {
                let prefix = aws.names.prefix.clone();
                let aws = aws.clone();
                let answer = tokio::task::spawn_blocking(move || {
                    crate::aws::queries::run_query(&aws, tool, &args, now())
                })
                .await;
                (answer, format!("AWS prefix {prefix}"))
            }
        };
        let answer =
            answer.map_err(|e| ToolFailure(format!("internal error answering {tool}: {e}")))?;
        answer.map_err(|e| match e {
            QueryError::InvalidArgument { .. } | QueryError::NotFound(_) => {
                ToolFailure(e.to_string())
            }
            QueryError::Store(_) => ToolFailure(format!("{e} ({place})")),
        })
    }

    fn tool(spec: &ToolSpec) -> Tool {
        let mut annotations = ToolAnnotations::with_title(spec.title);
        annotations.read_only_hint = Some(true);
        annotations.destructive_hint = Some(false);
        annotations.idempotent_hint = Some(true);
        annotations.open_world_hint = Some(false);
        Tool::new(
            spec.name,
            spec.description.clone(),
            Arc::new(spec.schema.clone()),
        )
        .with_title(spec.title)
        .with_annotations(annotations)
    }
}

impl ServerHandler for MailshotMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("mailshot", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Read-only queries over mailshot's email engagement log: per-subscriber, per-template and \
                 per-sequence events, delivery stats and rates, link clicks, the suppression list, a \
                 subscriber's profile and their audit trace. Dates are YYYY-MM-DD (UTC, inclusive).",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(
            self.tools.iter().map(Self::tool).collect(),
        ))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.iter().find(|t| t.name == name).map(Self::tool)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if !self.tools.iter().any(|t| t.name == request.name) {
            let known: Vec<&str> = self.tools.iter().map(|t| t.name).collect();
            return Err(ErrorData::invalid_params(
                format!(
                    "unknown tool {:?}; expected one of {}",
                    request.name,
                    known.join(", ")
                ),
                None,
            ));
        }
        let result = match self.answer(&request.name, request.arguments).await {
            Ok(answer) => CallToolResult::structured(answer),
            Err(ToolFailure(message)) => CallToolResult::error(vec![ContentBlock::text(message)]),
        };
        Ok(result.into())
    }
}
