//! The input layer of mailshot: typed models of every AWS JSON shape we accept, their
//! normalisation into [`EngagementFact`]s and app events, content-derived identities, and the
//! typed reasons an input is rejected.
//!
//! Pure and runtime-free: no I/O, no clock. What it is not: storage or folding (see the
//! `projections` and `replay` crates).

pub mod compact;
mod email;
mod error;
mod event_type;
mod fact;
mod input;
pub mod log;
pub mod parse;
pub mod profile;
mod time;

pub use email::{is_valid_address, normalise_email};
pub use error::InputError;
pub use event_type::EventType;
pub use fact::{EngagementFact, FactId};
pub use input::{AppEvent, Envelope, Input, InputBody, SystemAction, SystemEvent};
pub use parse::{parse_external_input, parse_external_line, parse_input, parse_line};
pub use time::{Day, Timestamp};
