//! `GET /api/files/{ref}`: snapshot and attendance photos, by the data-dir-relative reference
//! stored in events and `meta.json` (authentication is the router's middleware).

use std::path::{Path as StdPath, PathBuf};

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use super::{ApiError, ApiResult};
use crate::AppState;
use facewatch_app::AppError;

/// The URL a reference is served at.
pub fn url(reference: &str) -> String {
    format!("/api/files/{reference}")
}

pub async fn serve(
    State(state): State<AppState>,
    Path(reference): Path<String>,
) -> ApiResult<Response> {
    let path = state
        .snapshots()
        .resolve(&reference)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    send_file(&state, &path, &reference, "private, max-age=3600").await
}

/// `GET /api/cameras/{id}/latest.jpg`: the camera's newest annotated frame (boxes and names), as
/// published by the camera supervisor about once a second — from the data folder when this
/// process (or one sharing the folder) runs the camera, else from the camera monitor (a worker
/// elsewhere reports it through PostgreSQL).
pub async fn latest_frame(
    State(state): State<AppState>,
    Path(camera_id): Path<String>,
) -> ApiResult<Response> {
    let not_yet = || {
        ApiError(
            StatusCode::NOT_FOUND,
            format!("no frame from camera {camera_id:?} yet"),
        )
    };
    if let Some((path, _)) = state.snapshots().latest(&camera_id) {
        return send_file(&state, &path, &camera_id, "no-store").await;
    }
    let mut frames = state
        .camera_monitor()
        .and_then(|m| m.live(&camera_id))
        .ok_or_else(not_yet)?;
    let frame = tokio::time::timeout(MONITOR_FRAME_WAIT, frames.next())
        .await
        .ok()
        .flatten()
        .ok_or_else(not_yet)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        frame.jpeg,
    )
        .into_response())
}

/// How long `latest.jpg` waits for a frame from the camera monitor.
const MONITOR_FRAME_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// The file's real path (symlinks resolved) if it exists and stays inside the data dir: a symlink
/// planted there must not serve `/etc/shadow`.
async fn inside_data_dir(state: &AppState, path: &StdPath) -> Option<PathBuf> {
    let root = tokio::fs::canonicalize(state.data_dir()).await.ok()?;
    let real = tokio::fs::canonicalize(path).await.ok()?;
    real.starts_with(&root).then_some(real)
}

async fn send_file(
    state: &AppState,
    path: &StdPath,
    shown: &str,
    cache: &'static str,
) -> ApiResult<Response> {
    let not_found = || ApiError(StatusCode::NOT_FOUND, format!("no file {shown:?}"));
    let Some(path) = inside_data_dir(state, path).await else {
        return Err(not_found());
    };
    let path = path.as_path();
    let content_type = match path.extension().and_then(|e| e.to_str()) {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    };
    match tokio::fs::read(path).await {
        Ok(bytes) => Ok((
            [
                (header::CONTENT_TYPE, content_type),
                // Photos are personal data: never in shared caches.
                (header::CACHE_CONTROL, cache),
            ],
            bytes,
        )
            .into_response()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound || path.is_dir() => Err(not_found()),
        Err(e) => Err(AppError::internal(format!("read {}: {e}", path.display())).into()),
    }
}
