//! What both runtimes (embedded and AWS) share, and what the front ends (CLI, MCP) program
//! against:
//!
//! - [`backend`]: the one abstraction both runtimes implement, and [`admin`] actions written
//!   once against it;
//! - [`reactions`]: a reactor's decisions planned on the state as of each record, and carried
//!   out through [`effects::Effects`];
//! - [`config`]: `mailshot.toml`, its templates and signing secret, loaded from files;
//! - [`lines`]: NDJSON input lines, bounded in size, from a file or stdin;
//! - [`report`]: ingest summaries and verify reports;
//! - [`actor`] and [`clock`]: who does an admin action, and when;
//! - [`progress`]: progress of long work on stderr.
//!
//! No storage engine and no async runtime: those belong to the runtimes.

pub mod actor;
pub mod admin;
pub mod backend;
pub mod clock;
pub mod config;
pub mod effects;
pub mod lines;
pub mod progress;
pub mod reactions;
pub mod report;
