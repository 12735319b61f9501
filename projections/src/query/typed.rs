//! The typed query: one [`Query`] value per call of the contract, its arguments parsed and
//! checked.
//!
//! A front end builds a `Query` either from an MCP tool call ([`Query::from_tool`], JSON
//! arguments) or from the strings a user typed ([`Query::events`], [`Query::delivery_stats`],
//! …). Both check the arguments in the same order and fail with the same [`QueryError`]s, so
//! the CLI and MCP refuse a bad argument with the same words. [`answer`](super::answer)
//! answers the query.

use mailshot_domain::{Day, EventType};
use serde_json::{Value, json};

use super::QueryError;
use super::args::{self, Args, DEFAULT_LIMIT, MAX_LIMIT};
use crate::Partition;

/// One query of the contract (docs/design.md §6), with arguments already checked.
///
/// Build one with [`Query::from_tool`] or the constructors; answer it with
/// [`answer`](super::answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// `get_subscriber_events`, `get_template_events` or `get_sequence_events` (which one
    /// follows from the partition).
    Events(EventsQuery),
    /// `get_delivery_stats`.
    DeliveryStats(StatsQuery),
    /// `get_subscriber`.
    Subscriber {
        /// The subscriber's address, normalised.
        email: String,
    },
    /// `trace_subscriber`. It reads the log, so [`answer`](super::answer) does not answer it:
    /// the runtimes answer it through `mailshot_replay::trace`.
    Trace {
        /// The subscriber's address, normalised.
        email: String,
    },
    /// `list_suppressed`.
    Suppressed {
        /// Page size.
        limit: Limit,
        /// The `nextToken` of the previous page, as given. It is checked when the query is
        /// answered.
        next_token: Option<String>,
    },
    /// `get_link_stats`.
    LinkStats {
        /// Only the links of this template; all templates when `None`.
        template_key: Option<String>,
        /// The days counted.
        range: DateRange,
    },
    /// `get_message`.
    Message {
        /// The SES message id (`mail.messageId`, the events' `sesMessageId`), as given.
        message_id: String,
    },
}

/// The arguments of an event list query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsQuery {
    /// The list read: a subscriber's events (normalised address), or a template's or a
    /// sequence's.
    pub partition: Partition,
    /// Only events of this type; every type when `None`.
    pub event_type: Option<EventType>,
    /// The days listed.
    pub range: DateRange,
    /// Page size.
    pub limit: Limit,
    /// The `nextToken` of the previous page, as given. It is checked when the query is
    /// answered, against this query's list.
    pub next_token: Option<String>,
}

/// The arguments of `get_delivery_stats`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsQuery {
    /// The days counted.
    pub range: DateRange,
    /// Only mail of this template; every template when `None`.
    pub template_key: Option<String>,
    /// Only mail of this sequence; every sequence when `None`.
    pub sequence_id: Option<String>,
}

/// Which event list an events query reads: the `<kind>` of `mailshot events <kind> <key>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventList {
    /// A subscriber's events, keyed by email address (`get_subscriber_events`).
    Subscriber,
    /// A template's events, keyed by template key (`get_template_events`).
    Template,
    /// A sequence's events, keyed by sequence id (`get_sequence_events`).
    Sequence,
}

impl EventList {
    /// Every list, in the order of their tools in [`TOOLS`](super::TOOLS).
    pub const ALL: [EventList; 3] = [
        EventList::Subscriber,
        EventList::Template,
        EventList::Sequence,
    ];

    /// The list's name: `subscriber`, `template` or `sequence`.
    pub fn name(self) -> &'static str {
        match self {
            EventList::Subscriber => "subscriber",
            EventList::Template => "template",
            EventList::Sequence => "sequence",
        }
    }

    /// The list named `name` (see [`EventList::name`]), if any.
    pub fn from_name(name: &str) -> Option<EventList> {
        EventList::ALL.into_iter().find(|l| l.name() == name)
    }

    /// The MCP tool that reads this list.
    pub fn tool(self) -> &'static str {
        match self {
            EventList::Subscriber => "get_subscriber_events",
            EventList::Template => "get_template_events",
            EventList::Sequence => "get_sequence_events",
        }
    }

    /// The list whose tool is `tool`, if any.
    pub fn from_tool(tool: &str) -> Option<EventList> {
        EventList::ALL.into_iter().find(|l| l.tool() == tool)
    }

    /// The name of the argument that holds the list's key: `email`, `templateKey` or
    /// `sequenceId`.
    pub fn key_name(self) -> &'static str {
        match self {
            EventList::Subscriber => "email",
            EventList::Template => "templateKey",
            EventList::Sequence => "sequenceId",
        }
    }

    /// The partition of this list with key `key`; an email address is checked and
    /// normalised.
    pub fn partition(self, key: &str) -> Result<Partition, QueryError> {
        Ok(match self {
            EventList::Subscriber => Partition::Subscriber(args::email("email", key)?),
            EventList::Template => Partition::Template(key.to_string()),
            EventList::Sequence => Partition::Sequence(key.to_string()),
        })
    }

    /// The list a partition belongs to.
    pub fn of(partition: &Partition) -> EventList {
        match partition {
            Partition::Subscriber(_) => EventList::Subscriber,
            Partition::Template(_) => EventList::Template,
            Partition::Sequence(_) => EventList::Sequence,
        }
    }
}

/// Days from a start day to an end day, both included; a missing bound leaves that side
/// open. The start is never after the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DateRange {
    start: Option<Day>,
    end: Option<Day>,
}

impl DateRange {
    /// Every day.
    pub const ALL: DateRange = DateRange {
        start: None,
        end: None,
    };

    /// The range from `start` to `end`; an error naming `startDate` when it is after `end`.
    pub fn new(start: Option<Day>, end: Option<Day>) -> Result<DateRange, QueryError> {
        if let (Some(s), Some(e)) = (start, end)
            && s > e
        {
            return Err(QueryError::invalid(
                "startDate",
                format!("{s} is after endDate {e}"),
            ));
        }
        Ok(DateRange { start, end })
    }

    /// The range of `startDate` and `endDate` as given (`YYYY-MM-DD`), checked in that order,
    /// then checked to be in order.
    pub fn parse(start: Option<&str>, end: Option<&str>) -> Result<DateRange, QueryError> {
        let start = start.map(|s| args::day("startDate", s)).transpose()?;
        let end = end.map(|s| args::day("endDate", s)).transpose()?;
        DateRange::new(start, end)
    }

    /// The first day, if bounded.
    pub fn start(self) -> Option<Day> {
        self.start
    }

    /// The last day, if bounded.
    pub fn end(self) -> Option<Day> {
        self.end
    }
}

/// The page size of a list query: from 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Limit(usize);

impl Limit {
    /// The page size when none is given.
    pub const DEFAULT: Limit = Limit(DEFAULT_LIMIT);

    /// The page size `n`; an error naming `limit` unless it is from 1 to [`MAX_LIMIT`].
    pub fn new(n: u64) -> Result<Limit, QueryError> {
        if (1..=MAX_LIMIT as u64).contains(&n) {
            Ok(Limit(n as usize))
        } else {
            Err(args::bad_limit(n))
        }
    }

    /// The page size `n` when given, else [`Limit::DEFAULT`].
    pub fn or_default(n: Option<u64>) -> Result<Limit, QueryError> {
        n.map_or(Ok(Limit::DEFAULT), Limit::new)
    }

    /// The page size.
    pub fn get(self) -> usize {
        self.0
    }
}

impl Default for Limit {
    fn default() -> Limit {
        Limit::DEFAULT
    }
}

/// An event type in any spelling the contract accepts, checked as `eventType`.
fn parse_event_type(s: Option<&str>) -> Result<Option<EventType>, QueryError> {
    s.map(|s| args::event_type("eventType", s)).transpose()
}

impl Query {
    /// An events query (`get_*_events`) from the arguments as typed: the list and its key,
    /// then `eventType`, `startDate`, `endDate` and `limit`, checked in that order, as
    /// [`Query::from_tool`] checks them.
    pub fn events(
        list: EventList,
        key: &str,
        event_type: Option<&str>,
        start: Option<&str>,
        end: Option<&str>,
        limit: Option<u64>,
        next_token: Option<&str>,
    ) -> Result<Query, QueryError> {
        let partition = list.partition(key)?;
        let event_type = parse_event_type(event_type)?;
        let range = DateRange::parse(start, end)?;
        let limit = Limit::or_default(limit)?;
        Ok(Query::Events(EventsQuery {
            partition,
            event_type,
            range,
            limit,
            next_token: next_token.map(str::to_string),
        }))
    }

    /// A `get_delivery_stats` query from the arguments as typed.
    pub fn delivery_stats(
        start: Option<&str>,
        end: Option<&str>,
        template_key: Option<&str>,
        sequence_id: Option<&str>,
    ) -> Result<Query, QueryError> {
        Ok(Query::DeliveryStats(StatsQuery {
            range: DateRange::parse(start, end)?,
            template_key: template_key.map(str::to_string),
            sequence_id: sequence_id.map(str::to_string),
        }))
    }

    /// A `get_subscriber` query; `email` is checked and normalised.
    pub fn subscriber(email: &str) -> Result<Query, QueryError> {
        Ok(Query::Subscriber {
            email: args::email("email", email)?,
        })
    }

    /// A `trace_subscriber` query; `email` is checked and normalised.
    pub fn trace(email: &str) -> Result<Query, QueryError> {
        Ok(Query::Trace {
            email: args::email("email", email)?,
        })
    }

    /// A `list_suppressed` query from the arguments as typed.
    pub fn suppressed(limit: Option<u64>, next_token: Option<&str>) -> Result<Query, QueryError> {
        Ok(Query::Suppressed {
            limit: Limit::or_default(limit)?,
            next_token: next_token.map(str::to_string),
        })
    }

    /// A `get_link_stats` query from the arguments as typed.
    pub fn link_stats(
        template_key: Option<&str>,
        start: Option<&str>,
        end: Option<&str>,
    ) -> Result<Query, QueryError> {
        Ok(Query::LinkStats {
            range: DateRange::parse(start, end)?,
            template_key: template_key.map(str::to_string),
        })
    }

    /// A `get_message` query; `message_id` must not be empty.
    pub fn message(message_id: &str) -> Result<Query, QueryError> {
        Ok(Query::Message {
            message_id: message_id_arg(message_id)?,
        })
    }

    /// The query an MCP tool call stands for: `tool` is the tool's name, `args` its
    /// arguments (a JSON object, or `null` for none; a `null` argument counts as absent).
    ///
    /// Fails when the arguments are not an object, then when the tool is unknown, then on
    /// the first bad argument in the order the tool checks them.
    pub fn from_tool(tool: &str, args: &Value) -> Result<Query, QueryError> {
        let args = Args::new(args)?;
        if let Some(list) = EventList::from_tool(tool) {
            return events_from_args(list, &args);
        }
        match tool {
            "get_delivery_stats" => {
                let range = date_range(&args)?;
                Ok(Query::DeliveryStats(StatsQuery {
                    range,
                    template_key: args.opt_str("templateKey")?.map(str::to_string),
                    sequence_id: args.opt_str("sequenceId")?.map(str::to_string),
                }))
            }
            "get_subscriber" => Ok(Query::Subscriber {
                email: args.email("email")?,
            }),
            "trace_subscriber" => Ok(Query::Trace {
                email: args.email("email")?,
            }),
            "list_suppressed" => Ok(Query::Suppressed {
                limit: Limit(args.limit()?),
                next_token: args.opt_str("nextToken")?.map(str::to_string),
            }),
            "get_link_stats" => {
                let range = date_range(&args)?;
                Ok(Query::LinkStats {
                    template_key: args.opt_str("templateKey")?.map(str::to_string),
                    range,
                })
            }
            "get_message" => Ok(Query::Message {
                message_id: message_id_arg(args.str("messageId")?)?,
            }),
            other => Err(QueryError::invalid(
                "tool",
                format!("unknown tool {other:?}"),
            )),
        }
    }

    /// The name of the MCP tool this query calls (one of [`TOOLS`](super::TOOLS)).
    pub fn tool(&self) -> &'static str {
        match self {
            Query::Events(q) => q.list().tool(),
            Query::DeliveryStats(_) => "get_delivery_stats",
            Query::Subscriber { .. } => "get_subscriber",
            Query::Trace { .. } => "trace_subscriber",
            Query::Suppressed { .. } => "list_suppressed",
            Query::LinkStats { .. } => "get_link_stats",
            Query::Message { .. } => "get_message",
        }
    }

    /// The tool's JSON arguments for this query, every argument present (absent options as
    /// `null`, the page size always given): `Query::from_tool(q.tool(), &q.to_args())` is `q`.
    pub fn to_args(&self) -> Value {
        let day = |d: Option<Day>| d.map(|d| d.to_string());
        match self {
            Query::Events(q) => {
                let mut args = json!({
                    "eventType": q.event_type.map(EventType::camel_name),
                    "startDate": day(q.range.start),
                    "endDate": day(q.range.end),
                    "limit": q.limit.0,
                    "nextToken": q.next_token,
                });
                args[q.list().key_name()] = json!(q.key());
                args
            }
            Query::DeliveryStats(q) => json!({
                "startDate": day(q.range.start),
                "endDate": day(q.range.end),
                "templateKey": q.template_key,
                "sequenceId": q.sequence_id,
            }),
            Query::Subscriber { email } | Query::Trace { email } => json!({ "email": email }),
            Query::Suppressed { limit, next_token } => {
                json!({ "limit": limit.0, "nextToken": next_token })
            }
            Query::LinkStats {
                template_key,
                range,
            } => json!({
                "templateKey": template_key,
                "startDate": day(range.start),
                "endDate": day(range.end),
            }),
            Query::Message { message_id } => json!({ "messageId": message_id }),
        }
    }
}

impl EventsQuery {
    /// The list this query reads.
    pub fn list(&self) -> EventList {
        EventList::of(&self.partition)
    }

    /// The key of the list: the normalised email address, template key or sequence id.
    pub fn key(&self) -> &str {
        match &self.partition {
            Partition::Subscriber(k) | Partition::Template(k) | Partition::Sequence(k) => k,
        }
    }
}

/// A message id as given, checked as `messageId`: an SES message id is never empty.
fn message_id_arg(id: &str) -> Result<String, QueryError> {
    if id.is_empty() {
        return Err(QueryError::invalid("messageId", "must not be empty"));
    }
    Ok(id.to_string())
}

/// `startDate` and `endDate` of JSON arguments, checked as [`DateRange::parse`] checks them.
fn date_range(args: &Args<'_>) -> Result<DateRange, QueryError> {
    let (start, end) = args.date_range()?;
    Ok(DateRange { start, end })
}

/// An events query from JSON arguments, checked in the order [`Query::events`] checks.
fn events_from_args(list: EventList, args: &Args<'_>) -> Result<Query, QueryError> {
    let partition = list.partition(args.str(list.key_name())?)?;
    let event_type = args.event_type("eventType")?;
    let range = date_range(args)?;
    let limit = Limit(args.limit()?);
    Ok(Query::Events(EventsQuery {
        partition,
        event_type,
        range,
        limit,
        next_token: args.opt_str("nextToken")?.map(str::to_string),
    }))
}
