//! The schedule: state, mode, pause and work hours.

use axum::extract::State;
use axum::Json;
use chrono::Utc;
use facewatch_domain::schedule::{Mode, ScheduleSnapshot};
use serde::Deserialize;
use serde_json::{json, Value};

use facewatch_app::ScheduleInput;

use super::{ApiError, ApiResult, Body, Caller};
use crate::AppState;

fn describe(snapshot: &ScheduleSnapshot) -> Json<Value> {
    let now = Utc::now();
    Json(json!({
        "schedule": snapshot,
        "monitoring_state": snapshot.state_at(now),
        "state_at": now,
        "summary": facewatch_reports::schedule_context(snapshot),
    }))
}

/// The schedule in force and whether monitoring is active now (and why not).
pub async fn state(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    Ok(describe(&state.app().current_schedule().await?))
}

#[derive(Deserialize)]
pub struct ModeRequest {
    /// `auto` or `manual` (any case).
    mode: String,
    /// In manual mode: switch tracking on or off as well.
    tracking: Option<bool>,
}

pub async fn mode(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Body(request): Body<ModeRequest>,
) -> ApiResult<Json<Value>> {
    let mode = match request.mode.to_ascii_lowercase().as_str() {
        "auto" => Mode::Auto,
        "manual" => Mode::Manual,
        other => {
            return Err(ApiError::bad_request(format!(
                "mode: {other:?} is not one of auto, manual"
            )))
        }
    };
    if request.tracking.is_some() && mode == Mode::Auto {
        return Err(ApiError::bad_request(
            "tracking can only be set in manual mode",
        ));
    }
    let mut snapshot = state.app().set_schedule_mode(&caller, mode).await?;
    if let Some(on) = request.tracking {
        snapshot = state.app().set_manual_tracking(&caller, on).await?;
    }
    Ok(describe(&snapshot))
}

#[derive(Deserialize)]
pub struct PauseRequest {
    /// How long to pause; 0 resumes now.
    minutes: u32,
}

pub async fn pause(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Body(request): Body<PauseRequest>,
) -> ApiResult<Json<Value>> {
    let snapshot = if request.minutes == 0 {
        state.app().resume_schedule(&caller).await?
    } else {
        state.app().pause_schedule(&caller, request.minutes).await?
    };
    Ok(describe(&snapshot))
}

pub async fn save(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Body(input): Body<ScheduleInput>,
) -> ApiResult<Json<Value>> {
    Ok(describe(&state.app().save_schedule(&caller, input).await?))
}
