//! Why a query could not be answered.

/// Why a query could not be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// An argument is missing or invalid; `name` is the argument as the caller spelled it.
    #[error("invalid argument `{name}`: {reason}")]
    InvalidArgument {
        /// The argument (`startDate`, `limit`, …), or `arguments` or `tool`.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The subscriber (or other entity) does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The store failed.
    #[error("store error: {0}")]
    Store(String),
}

impl QueryError {
    pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> QueryError {
        QueryError::InvalidArgument {
            name,
            reason: reason.into(),
        }
    }

    pub(crate) fn store(e: impl std::error::Error) -> QueryError {
        QueryError::Store(e.to_string())
    }
}
