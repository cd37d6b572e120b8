//! One error type for the use cases; the transports (GraphQL, REST, bot, MQTT) turn it into their
//! own answers in one place each.

use facewatch_store::CommandError;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The caller's mistake (bad input, or the domain refused the command). Nothing was written.
    #[error("{0}")]
    Invalid(String),
    #[error("unknown {what} {id:?}")]
    NotFound { what: &'static str, id: String },
    /// A concurrent write won; retrying may succeed.
    #[error("{0}")]
    Conflict(String),
    /// The command would do something the caller should look at first (a face photo that matches
    /// another employee); nothing was written. Sending it again with the confirmation stores it.
    #[error("{message}")]
    NeedsConfirmation {
        reason: ConfirmReason,
        message: String,
    },
    /// A part of the system this request needs is not running (e.g. the face models).
    #[error("{0}")]
    Unavailable(String),
    /// The write IS stored, at `position` in the log, but the read models did not reach it within
    /// the wait: the answer cannot show it yet. Not a failure; do not retry without the same
    /// idempotency key.
    #[error("stored at log position {position}; the read models have not caught up yet")]
    Stored { position: i64 },
    /// Ours, not the caller's; details in the source (log it, do not show it).
    #[error("internal error")]
    Internal(#[source] BoxError),
}

/// Why a command needs a confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmReason {
    /// The face photo matches another employee at or above the recognition threshold.
    FaceMatchesOther,
    /// The face photo is far from every template the employee already has.
    FaceFarFromOwn,
}

impl ConfirmReason {
    /// The machine-readable code clients see (GraphQL `extensions.code`, REST `code`).
    pub fn code(self) -> &'static str {
        match self {
            ConfirmReason::FaceMatchesOther => "FACE_MATCHES_OTHER",
            ConfirmReason::FaceFarFromOwn => "FACE_FAR_FROM_OWN",
        }
    }
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;

impl AppError {
    pub fn invalid(message: impl Into<String>) -> Self {
        AppError::Invalid(message.into())
    }

    pub fn not_found(what: &'static str, id: &str) -> Self {
        AppError::NotFound {
            what,
            id: id.to_owned(),
        }
    }

    /// Ours, unless the database refused a value the caller sent (see [`refused_value`]).
    pub fn internal(error: impl Into<BoxError>) -> Self {
        let error = error.into();
        refused_value(&*error).unwrap_or(AppError::Internal(error))
    }
}

/// PostgreSQL refused a value the caller sent (SQLSTATE class 22, "data exception": a NUL
/// character in text, a timestamp out of range, …): the caller's mistake, and nothing was written.
fn refused_value(error: &(dyn std::error::Error + 'static)) -> Option<AppError> {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if let Some(database) = error
            .downcast_ref::<sqlx::Error>()
            .and_then(|e| e.as_database_error())
        {
            if database.code().is_some_and(|code| code.starts_with("22")) {
                return Some(AppError::invalid(format!(
                    "a value cannot be stored: {} (no NUL characters; dates between 4713 BC and 294276 AD)",
                    database.message()
                )));
            }
        }
        cause = error.source();
    }
    None
}

impl<E: std::error::Error + Send + Sync + 'static> From<CommandError<E>> for AppError {
    fn from(error: CommandError<E>) -> Self {
        match error {
            CommandError::Rejected(e) => AppError::Invalid(e.to_string()),
            CommandError::Contention { .. } => AppError::Conflict(error.to_string()),
            CommandError::Store(_) => AppError::internal(error),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        AppError::internal(error)
    }
}
