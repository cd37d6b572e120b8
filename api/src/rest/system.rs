//! Uptime, restart/shutdown hooks and the AI parameters file.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use facewatch_captures::write_atomic;
use serde_json::{json, Value};

use super::{ApiError, ApiResult, Body};
use crate::AppState;
use facewatch_app::AppError;

pub async fn uptime(State(state): State<AppState>) -> Json<Value> {
    let started = state.started_at();
    Json(json!({
        "uptime_sec": (Utc::now() - started).num_seconds(),
        "started_at": started,
    }))
}

fn hooks(state: &AppState) -> ApiResult<&std::sync::Arc<dyn crate::SystemHooks>> {
    state
        .hooks()
        .ok_or_else(|| ApiError::unavailable("camera pipelines are not managed by this process"))
}

/// Restarts the camera pipelines (they reread the AI parameters).
pub async fn restart(State(state): State<AppState>) -> ApiResult<(StatusCode, Json<Value>)> {
    hooks(&state)?.restart_cameras();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "status": "restarting" })),
    ))
}

/// Stops the process gracefully; the response goes out first.
pub async fn shutdown(State(state): State<AppState>) -> ApiResult<(StatusCode, Json<Value>)> {
    hooks(&state)?.shutdown();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "status": "shutting down" })),
    ))
}

/// `config/ai.toml` → `config/ai.example.toml`: the documented defaults.
/// The AI parameters in force at the next restart.
pub async fn get_params(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    Ok(Json(crate::params::ai_params(&state).await?))
}

/// Validates and saves the AI parameters (a JSON object, written as TOML); camera pipelines use
/// them after `POST /api/system/restart`. Nothing is written when validation fails.
pub async fn set_params(
    State(state): State<AppState>,
    Body(params): Body<Value>,
) -> ApiResult<Json<Value>> {
    let validate = state
        .params_validator()
        .ok_or_else(|| ApiError::unavailable("no parameter validator is configured"))?;
    let current = crate::params::ai_params(&state).await?;
    let params = crate::params::keep_server_only_keys(params, &current["params"])?;
    validate(&params).map_err(|e| ApiError::bad_request(format!("invalid parameters: {e}")))?;
    let text = toml::to_string_pretty(&params)
        .map_err(|e| ApiError::bad_request(format!("parameters cannot be written as TOML: {e}")))?;
    let path = state.params_file().to_owned();
    let written = path.clone();
    tokio::task::spawn_blocking(move || write_atomic(&written, text.as_bytes()))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)?;
    Ok(Json(json!({
        "path": path,
        "saved": true,
        "restart_required": true,
    })))
}
