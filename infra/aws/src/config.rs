//! Where the AWS runtime lives: the standard AWS configuration (endpoint, region, credentials)
//! and the names of the stream and tables, all derived from one prefix.
//!
//! Endpoints, region and credentials come from `aws-config`'s default chain (environment,
//! profiles, instance roles; `AWS_ENDPOINT_URL` points every client at an emulator unchanged).
//! Names come from the prefix (`--aws-prefix`, else `MAILSHOT_AWS_PREFIX`, else `mailshot`):
//!
//! | resource | name |
//! |---|---|
//! | Kinesis stream (the live log) | `<prefix>-inputs` |
//! | archive, dedupe index, offsets counter, dead letters, generation pointer | `<prefix>-log` |
//! | events (GSIs `TemplateIndex`, `SequenceIndex`; TTL `ttl`) | `<prefix>-g<N>-events` |
//! | subscribers, history, suppressed list | `<prefix>-g<N>-subscribers` |
//! | rollups | `<prefix>-g<N>-rollups` |
//! | first engagements, links, checkpoints | `<prefix>-g<N>-aux` |
//!
//! `N` is the projection generation: `replay` builds generation `N + 1` from the archive and
//! then flips the pointer item in the log table.

/// The environment variable holding the prefix.
pub const PREFIX_ENV: &str = "MAILSHOT_AWS_PREFIX";
/// The prefix used when none is configured.
pub const DEFAULT_PREFIX: &str = "mailshot";

/// The resource names of one deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub prefix: String,
}

impl Names {
    /// Names under `prefix`.
    pub fn new(prefix: &str) -> Names {
        Names {
            prefix: prefix.to_string(),
        }
    }

    /// The prefix from `explicit`, else `MAILSHOT_AWS_PREFIX`, else `mailshot`.
    pub fn resolve(explicit: Option<&str>) -> Names {
        let from_env = std::env::var(PREFIX_ENV).ok().filter(|p| !p.is_empty());
        Names::new(
            explicit
                .map(str::to_string)
                .or(from_env)
                .as_deref()
                .unwrap_or(DEFAULT_PREFIX),
        )
    }

    /// The Kinesis stream.
    pub fn stream(&self) -> String {
        format!("{}-inputs", self.prefix)
    }

    /// The log table (archive and bookkeeping).
    pub fn log_table(&self) -> String {
        format!("{}-log", self.prefix)
    }

    /// The projection tables of generation `generation`.
    pub fn tables(&self, generation: u64) -> Tables {
        let t = |name: &str| format!("{}-g{generation}-{name}", self.prefix);
        Tables {
            generation,
            events: t("events"),
            subscribers: t("subscribers"),
            rollups: t("rollups"),
            aux: t("aux"),
        }
    }
}

/// The projection tables of one generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    pub generation: u64,
    pub events: String,
    pub subscribers: String,
    pub rollups: String,
    pub aux: String,
}

impl Tables {
    /// Every table name of the generation.
    pub fn all(&self) -> [&str; 4] {
        [&self.events, &self.subscribers, &self.rollups, &self.aux]
    }
}
