//! Mapping failures to GraphQL errors with a clear message and a machine-readable `code`. Internal
//! failures are logged here, in one place, with their cause; the client sees no internals.

use async_graphql::{Error, ErrorExtensions};
use facewatch_app::AppError;

pub fn app_error(error: AppError) -> Error {
    let code = match &error {
        AppError::Invalid(_) => "BAD_USER_INPUT",
        AppError::NotFound { .. } => "NOT_FOUND",
        AppError::Conflict(_) => "CONFLICT",
        AppError::Unavailable(_) => "UNAVAILABLE",
        AppError::NeedsConfirmation { reason, .. } => reason.code(),
        AppError::Stored { .. } => "STORED",
        AppError::Internal(source) => {
            tracing::error!(
                error = &**source as &dyn std::error::Error,
                "request failed"
            );
            "INTERNAL"
        }
    };
    let position = match &error {
        AppError::Stored { position } => Some(*position),
        _ => None,
    };
    let message = match &error {
        AppError::Internal(_) => "internal error, see server log".to_string(),
        other => other.to_string(),
    };
    Error::new(message).extend_with(|_, e| {
        e.set("code", code);
        if let Some(position) = position {
            e.set("position", position);
        }
    })
}

pub fn bad_input(message: impl Into<String>) -> Error {
    app_error(AppError::invalid(message))
}

pub fn not_found(what: &'static str, id: &str) -> Error {
    app_error(AppError::not_found(what, id))
}

/// Internal failures are logged in full and reported without internals.
pub fn internal(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
    app_error(AppError::internal(error))
}
