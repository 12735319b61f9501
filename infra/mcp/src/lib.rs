//! `mailshot mcp`: the query contract of docs/design.md §6 as an MCP server on stdio.
//!
//! Every tool answers exactly the JSON of the CLI's `--json` (as text content and as structured
//! content). Bad arguments, unknown subscribers and a data dir without data are tool errors
//! (`isError: true`) whose message names the cause; they never end the server. A line that
//! is not JSON, or nests too deep, is answered with the JSON-RPC parse error `-32700` (id
//! null), and the server goes on with the next line.
//!
//! The answers come from any backend's [`Queries`]: the embedded data dir (opened read-only
//! on the first call that finds data there; every call reads a fresh snapshot, so the server
//! answers what a concurrent `ingest` has committed), or the live DynamoDB generation of an
//! AWS deployment (`mailshot --backend aws mcp`).

pub mod tools;

use std::process::ExitCode;
use std::sync::Arc;

use mailshot_engine::backend::Queries;
use mailshot_projections::query::Query;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::Value;

use tools::ToolSpec;

/// Serves the MCP tools answered by `queries` over stdin/stdout until the client closes the
/// stream. Must be called outside any async runtime (it runs its own).
pub fn serve(queries: Arc<dyn Queries>) -> anyhow::Result<ExitCode> {
    let server = MailshotMcp::new(queries);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let served = runtime.block_on(async {
        // The server reads checked lines from one pipe and writes to another; stdout is
        // written by one task only, whole lines at a time, so that parse errors answered
        // here never cut into a response.
        let (to_server, server_in) = tokio::io::duplex(PIPE_BYTES);
        let (server_out, from_server) = tokio::io::duplex(PIPE_BYTES);
        let (errors, error_lines) = tokio::sync::mpsc::channel(PENDING_ERRORS);
        let input = tokio::spawn(check_lines(tokio::io::stdin(), to_server, errors));
        let output = tokio::spawn(write_lines(from_server, error_lines, tokio::io::stdout()));
        let running = server.serve((server_in, server_out)).await?;
        running.waiting().await?;
        input.abort();
        output.await??;
        anyhow::Ok(ExitCode::SUCCESS)
    });
    // A read of stdin may still be blocked on a thread of its own: do not wait for it.
    runtime.shutdown_background();
    served
}

/// Buffer of each pipe between stdio and the server.
const PIPE_BYTES: usize = 64 * 1024;

/// Parse errors waiting to be written: past this many, reading stdin waits for the client to
/// read its answers, so that memory stays bounded whatever the client sends.
const PENDING_ERRORS: usize = 64;

/// The longest JSON-RPC line read (as rmcp's own limit); a longer one is a parse error.
const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// The JSON-RPC 2.0 answer to a line that is not JSON (or nests deeper than the parser's
/// limit of 128): error `-32700`, id null, as the specification requires. rmcp drops such
/// lines silently, so they are answered here, before the server sees them.
fn parse_error(reason: &str) -> String {
    serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": {"code": -32700, "message": "Parse error", "data": reason},
    })
    .to_string()
}

/// Why `line` (without its newline) is not JSON, if it is not. Blank lines are let through
/// (the server ignores them), and a UTF-8 byte order mark is allowed, as the server allows it.
fn not_json(line: &[u8]) -> Option<String> {
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    // Into a `Value`, whose parser limits nesting to 128 as the server's does (skipping with
    // `IgnoredAny` would accept any depth).
    serde_json::from_slice::<Value>(line)
        .err()
        .map(|e| e.to_string())
}

/// Copies the lines of `input` to the server, answering those that are not JSON with a
/// parse error (sent to `errors`) instead. Lines longer than [`MAX_LINE_BYTES`] are
/// discarded as they are read, never buffered whole.
async fn check_lines(
    input: impl tokio::io::AsyncRead + Unpin,
    mut server: tokio::io::DuplexStream,
    errors: tokio::sync::mpsc::Sender<String>,
) -> std::io::Result<()> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    let mut input = tokio::io::BufReader::new(input);
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = (&mut input)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)
            .await?;
        if read == 0 {
            return Ok(());
        }
        if line.len() > MAX_LINE_BYTES && line.last() != Some(&b'\n') {
            // Skip the rest of the oversized line.
            loop {
                line.clear();
                let read = (&mut input)
                    .take(PIPE_BYTES as u64)
                    .read_until(b'\n', &mut line)
                    .await?;
                if read == 0 || line.last() == Some(&b'\n') {
                    break;
                }
            }
            let reason = format!("line longer than {MAX_LINE_BYTES} bytes");
            if errors.send(parse_error(&reason)).await.is_err() {
                return Ok(());
            }
            continue;
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        match not_json(text) {
            Some(reason) => {
                if errors.send(parse_error(&reason)).await.is_err() {
                    return Ok(());
                }
            }
            None => {
                server.write_all(&line).await?;
                if line.last() != Some(&b'\n') {
                    server.write_all(b"\n").await?;
                }
            }
        }
    }
}

/// Writes the server's lines and the parse errors to `out`, whole lines, until both end.
/// Parse errors go first: each was found before any later line reached the server.
async fn write_lines(
    from_server: tokio::io::DuplexStream,
    mut errors: tokio::sync::mpsc::Receiver<String>,
    mut out: impl tokio::io::AsyncWrite + Unpin,
) -> std::io::Result<()> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let mut from_server = tokio::io::BufReader::new(from_server);
    let mut line = Vec::new();
    let (mut server_open, mut errors_open) = (true, true);
    loop {
        tokio::select! {
            biased;
            error = errors.recv(), if errors_open => match error {
                Some(error) => {
                    out.write_all(error.as_bytes()).await?;
                    out.write_all(b"\n").await?;
                    out.flush().await?;
                }
                None => errors_open = false,
            },
            // Cancel-safe: a partly read line stays in `line` and the next call goes on.
            read = from_server.read_until(b'\n', &mut line), if server_open => {
                if read? == 0 {
                    server_open = false;
                } else {
                    out.write_all(&line).await?;
                    out.flush().await?;
                    line.clear();
                }
            }
            else => return Ok(()),
        }
    }
}

/// The MCP server: the tool list and where the answers come from.
pub struct MailshotMcp {
    tools: Arc<Vec<ToolSpec>>,
    queries: Arc<dyn Queries>,
}

/// Why a tool call failed: the message the tool error shows.
#[derive(Debug)]
struct ToolFailure(String);

impl MailshotMcp {
    /// A server answering from `queries`; nothing is read until the first tool call.
    pub fn new(queries: Arc<dyn Queries>) -> MailshotMcp {
        MailshotMcp {
            tools: Arc::new(tools::all()),
            queries,
        }
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
        let query = Query::from_tool(tool, &args).map_err(|e| ToolFailure(e.to_string()))?;
        let queries = Arc::clone(&self.queries);
        let answer = tokio::task::spawn_blocking(move || queries.query(&query)).await;
        let answer =
            answer.map_err(|e| ToolFailure(format!("internal error answering {tool}: {e}")))?;
        answer.map_err(|e| {
            if e.is_callers() {
                ToolFailure(e.to_string())
            } else {
                ToolFailure(format!("{e} ({})", self.queries.place()))
            }
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
