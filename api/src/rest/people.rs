//! Cameras and employees, including photo enrolment of face templates.

use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use facewatch_domain::employee::Pose;
use facewatch_domain::redact::redact_url;
use facewatch_projections::queries::{self, CameraView, EmployeeView};

use facewatch_app::{AppError, EmployeeInput, FaceEnrolment, FacePhotos};
use serde::Deserialize;

use super::{ApiError, ApiResult, Body, Caller};
use crate::{AppState, MAX_PHOTO_BYTES};

/// Cameras with their stream URLs' credentials redacted.
pub async fn cameras(State(state): State<AppState>) -> ApiResult<Json<Vec<CameraView>>> {
    let mut cameras = queries::cameras(state.pool())
        .await
        .map_err(AppError::from)?;
    for camera in &mut cameras {
        camera.stream_url = redact_url(&camera.stream_url);
    }
    Ok(Json(cameras))
}

/// Employees with their live presence.
pub async fn employees(State(state): State<AppState>) -> ApiResult<Json<Vec<EmployeeView>>> {
    Ok(Json(
        queries::employees(state.pool())
            .await
            .map_err(AppError::from)?,
    ))
}

pub async fn enroll(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Body(input): Body<EmployeeInput>,
) -> ApiResult<(StatusCode, Json<EmployeeView>)> {
    let employee = state.app().enroll_employee(&caller, input).await?;
    Ok((StatusCode::CREATED, Json(employee)))
}

pub async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.app().employee_view(&id).await?;
    state.app().delete_employee(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn pose(field: &str) -> Option<Pose> {
    match field {
        "front" => Some(Pose::Front),
        "left" => Some(Pose::Left),
        "right" => Some(Pose::Right),
        _ => None,
    }
}

#[derive(Debug, Deserialize)]
pub struct EnrolQuery {
    /// Enrol photos that match another employee or are far from the employee's own templates.
    #[serde(default)]
    confirm: bool,
}

/// `multipart/form-data` with JPEG files in fields `front`, `left` and/or `right`. Every photo
/// is embedded and checked before anything is stored, so one bad photo adds no template at all;
/// a photo matching another employee answers 409 unless `?confirm=true`.
pub async fn face_templates(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Query(query): Query<EnrolQuery>,
    mut form: Multipart,
) -> ApiResult<Json<EmployeeView>> {
    let mut photos: FacePhotos = Vec::new();
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| ApiError::bad_request(format!("malformed multipart body: {e}")))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        let pose = pose(&name).ok_or_else(|| {
            ApiError::bad_request(format!(
                "unknown field {name:?}: photos go in front, left or right"
            ))
        })?;
        if photos.iter().any(|(p, _, _)| *p == pose) {
            return Err(ApiError::bad_request(format!("{name} is given twice")));
        }
        let bytes = field
            .bytes()
            .await
            .map_err(|e| ApiError::bad_request(format!("{name}: {e}")))?;
        if bytes.is_empty() || bytes.len() > MAX_PHOTO_BYTES {
            return Err(ApiError::bad_request(format!(
                "{name}: a photo must have 1 to {MAX_PHOTO_BYTES} bytes"
            )));
        }
        photos.push((pose, name, bytes.to_vec()));
    }
    Ok(Json(
        state
            .app()
            .enroll_face_photos(
                &caller,
                &id,
                photos,
                FaceEnrolment::upload().confirmed(query.confirm),
            )
            .await?,
    ))
}
