//! REST beside GraphQL, for files, spreadsheets and clients of the seed system's API. Handlers
//! parse the request, call [`crate::service`] (the same use cases GraphQL runs) and map
//! [`ServiceError`] to a status code with a JSON body `{ "error": "…" }`.

mod files;
pub mod live;
mod people;
mod reports;
mod schedule;
mod system;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use serde_json::json;

use crate::service::ServiceError;
use crate::AppState;

/// Every REST route, paths included (they live under `/api`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/cameras", get(people::cameras))
        .route("/api/cameras/{id}/latest.jpg", get(files::latest_frame))
        .route("/api/cameras/{id}/live.mjpeg", get(live::live_mjpeg))
        .route(
            "/api/employees",
            get(people::employees).post(people::enroll),
        )
        .route("/api/employees/{id}", delete(people::delete))
        .route(
            "/api/employees/{id}/face_templates",
            post(people::face_templates),
        )
        .route("/api/report/attendance", get(reports::attendance))
        .route("/api/report/alerts", get(reports::alerts))
        .route(
            "/api/report/attendance_captures",
            get(reports::attendance_captures),
        )
        .route("/api/files/{*reference}", get(files::serve))
        .route("/api/schedule/state", get(schedule::state))
        .route("/api/schedule/mode", post(schedule::mode))
        .route("/api/schedule/pause", post(schedule::pause))
        .route("/api/schedule/save", post(schedule::save))
        .route("/api/system/uptime", get(system::uptime))
        .route("/api/system/restart", post(system::restart))
        .route("/api/system/shutdown", post(system::shutdown))
        .route(
            "/api/config/params",
            get(system::get_params).post(system::set_params),
        )
}

/// A failed request: status and a message for the caller.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl ApiError {
    fn bad_request(message: impl Into<String>) -> Self {
        Self(StatusCode::BAD_REQUEST, message.into())
    }

    fn unavailable(message: impl Into<String>) -> Self {
        Self(StatusCode::SERVICE_UNAVAILABLE, message.into())
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        let status = match &error {
            ServiceError::BadInput(_) => StatusCode::BAD_REQUEST,
            ServiceError::NotFound { .. } => StatusCode::NOT_FOUND,
            ServiceError::Conflict(_) => StatusCode::CONFLICT,
            ServiceError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ServiceError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self(status, error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// Parses an optional `YYYY-MM-DD` query parameter, naming the parameter when it is malformed.
fn parse_date(name: &str, value: Option<&str>) -> ApiResult<Option<NaiveDate>> {
    value
        .filter(|v| !v.is_empty())
        .map(|v| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
                ApiError::bad_request(format!("{name}: {v:?} is not a date (YYYY-MM-DD)"))
            })
        })
        .transpose()
}

/// `axum::Json` whose rejections (malformed JSON, missing fields, wrong content type) answer in
/// this API's `{ "error": … }` shape.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> ApiResult<Self> {
        Json::<T>::from_request(request, state)
            .await
            .map(|Json(value)| Body(value))
            .map_err(|e| ApiError(e.status(), e.body_text()))
    }
}
