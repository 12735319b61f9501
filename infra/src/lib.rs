//! Adapters and entry points of mailshot: the embedded segment log and LMDB store, the AWS
//! adapters, the CLI and the MCP server. The core crates see only traits; this crate wires them.
pub mod actor;
pub mod aws;
pub mod cli;
pub mod embedded;
pub mod lines;
pub mod log;
pub mod mcp;
pub mod owner_only;
pub mod progress;
pub mod quarantine;
pub mod queries;
pub mod reactors;
pub mod store;

pub use owner_only::owner_only_umask;
