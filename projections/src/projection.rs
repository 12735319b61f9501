//! The names and versions of the projections.

use std::fmt;
use std::str::FromStr;

/// One replayable projection. Each has its own checkpoint and version, so each can be rebuilt
/// alone. The events projection includes its template and sequence indexes (like a
/// DynamoDB table and its GSIs, they are written together and can't disagree).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Projection {
    /// Per-subscriber events table with the template and sequence indexes.
    Events,
    /// Subscribers: profile, suppression, unsubscription, executions, audit history index.
    Subscribers,
    /// Daily/monthly/yearly counts per scope, with unique opens and clicks.
    Rollups,
    /// Per-link click stats (clicks and unique clickers per link, template and day).
    Links,
}

impl Projection {
    /// Every projection, in fold order.
    pub const ALL: [Projection; 4] = [
        Projection::Events,
        Projection::Subscribers,
        Projection::Rollups,
        Projection::Links,
    ];

    /// The name used on the command line and in the store.
    pub fn name(self) -> &'static str {
        match self {
            Projection::Events => "events",
            Projection::Subscribers => "subscribers",
            Projection::Rollups => "rollups",
            Projection::Links => "links",
        }
    }

    /// The version of this projection's fold. Bump it whenever the fold or the row format
    /// changes: a store holding another version is rebuilt from the log on open.
    pub fn version(self) -> u32 {
        match self {
            // 2: rows stored in a compact binary layout. 3: sort keys in keys stored in 13
            // binary bytes instead of 46 of text.
            Projection::Events => 3,
            Projection::Subscribers => 1,
            Projection::Rollups => 1,
            Projection::Links => 1,
        }
    }
}

impl fmt::Display for Projection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Projection {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Projection::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Projection::ALL.iter().map(|p| p.name()).collect();
                format!(
                    "unknown projection {s:?}: expected one of {}",
                    names.join(", ")
                )
            })
    }
}
