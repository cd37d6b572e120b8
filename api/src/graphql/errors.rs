//! Mapping failures to GraphQL errors with a clear message and a machine-readable `code`.

use async_graphql::{Error, ErrorExtensions};

use crate::service::{self, ServiceError};

pub fn service_error(error: ServiceError) -> Error {
    let code = match &error {
        ServiceError::BadInput(_) => "BAD_USER_INPUT",
        ServiceError::NotFound { .. } => "NOT_FOUND",
        ServiceError::Conflict(_) => "CONFLICT",
        ServiceError::Unavailable(_) => "UNAVAILABLE",
        ServiceError::Internal => "INTERNAL",
    };
    Error::new(error.to_string()).extend_with(|_, e| e.set("code", code))
}

pub fn bad_input(message: impl Into<String>) -> Error {
    service_error(service::bad_input(message))
}

pub fn not_found(what: &'static str, id: &str) -> Error {
    service_error(service::not_found(what, id))
}

/// Internal failures are logged in full and reported without internals.
pub fn internal(error: impl std::fmt::Display) -> Error {
    service_error(service::internal(error))
}
