//! Mapping failures to GraphQL errors with a clear message and a machine-readable `code`.

use async_graphql::{Error, ErrorExtensions};
use facewatch_store::CommandError;

pub fn bad_input(message: impl Into<String>) -> Error {
    Error::new(message.into()).extend_with(|_, e| e.set("code", "BAD_USER_INPUT"))
}

pub fn not_found(what: &str, id: &str) -> Error {
    Error::new(format!("unknown {what} {id:?}")).extend_with(|_, e| e.set("code", "NOT_FOUND"))
}

/// Internal failures are logged in full and reported without internals.
pub fn internal(error: impl std::fmt::Display) -> Error {
    tracing::error!("request failed: {error}");
    Error::new("internal error, see server log").extend_with(|_, e| e.set("code", "INTERNAL"))
}

/// A domain rejection is the caller's mistake; anything else is ours.
pub fn command<E: std::error::Error>(error: CommandError<E>) -> Error {
    match error {
        CommandError::Rejected(e) => bad_input(e.to_string()),
        CommandError::Contention { .. } => {
            Error::new(error.to_string()).extend_with(|_, e| e.set("code", "CONFLICT"))
        }
        CommandError::Store(_) => internal(error),
    }
}
