//! REST beside GraphQL, for files, spreadsheets and clients of the seed system's API. Handlers
//! parse the request, call [`facewatch_app::App`] (the same use cases GraphQL runs) and map
//! [`AppError`] to a status code with a JSON body `{ "error": "…" }`.

pub(crate) mod files;
pub mod live;
mod people;
mod reports;
mod schedule;
mod system;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use serde_json::json;

use facewatch_app::{Actor, AppError, CommandContext};

use crate::auth::Session;
use crate::{AppState, RequestMeta};

/// Every REST route but [`upload_routes`], paths included (they live under `/api`).
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

/// The routes that take photos (their bodies get the larger `max_upload_bytes` limit).
pub fn upload_routes() -> Router<AppState> {
    Router::new().route(
        "/api/employees/{id}/face_templates",
        post(people::face_templates),
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

/// The one place REST turns use-case failures into answers (and logs internal ones). A write that
/// is stored but not yet readable answers 202 Accepted, never an error status.
impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        let status = match &error {
            AppError::Invalid(_) => StatusCode::BAD_REQUEST,
            AppError::NotFound { .. } => StatusCode::NOT_FOUND,
            AppError::Conflict(_) | AppError::NeedsConfirmation { .. } => StatusCode::CONFLICT,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Stored { .. } => StatusCode::ACCEPTED,
            AppError::Internal(source) => {
                tracing::error!(
                    error = &**source as &dyn std::error::Error,
                    "request failed"
                );
                return Self(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error, see server log".into(),
                );
            }
        };
        Self(status, error.to_string())
    }
}

/// The command context of a REST write: the session's user, `X-Correlation-Id` and
/// `Idempotency-Key` from the headers.
pub struct Caller(pub CommandContext);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> ApiResult<Self> {
        let session = parts
            .extensions
            .get::<Session>()
            .ok_or_else(|| ApiError(StatusCode::UNAUTHORIZED, "login required".into()))?;
        let meta = RequestMeta::from_headers(&parts.headers).map_err(ApiError::bad_request)?;
        Ok(Caller(
            CommandContext::new(Actor::user(&session.username))
                .with_correlation_id(meta.correlation_id)
                .with_idempotency_key(meta.idempotency_key.as_deref()),
        ))
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
