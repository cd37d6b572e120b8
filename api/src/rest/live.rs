//! `GET /api/cameras/{id}/live.mjpeg`: a camera's live view as an MJPEG stream
//! (`multipart/x-mixed-replace`, what an `<img>` plays), frames annotated with boxes, names and
//! similarity, at the rate the camera analyses them (at most its `fps_target`). Frames are encoded
//! in memory only while a stream is open. Authentication is the router's middleware, like every
//! `/api` route.

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use futures::StreamExt;

use super::{ApiError, ApiResult};
use crate::{AppState, LiveFrame};

/// The multipart boundary between frames.
pub const BOUNDARY: &str = "facewatch-frame";
/// Each part's header with the capture time of its frame (Unix time, microseconds), for latency
/// measurements.
pub const CAPTURED_AT_HEADER: &str = "X-Captured-At";
/// Each part's header with the time the frame's analysis was done (Unix time, microseconds).
pub const ANALYSED_AT_HEADER: &str = "X-Analysed-At";

pub async fn live_mjpeg(
    State(state): State<AppState>,
    Path(camera_id): Path<String>,
) -> ApiResult<Response> {
    let monitor = state
        .camera_monitor()
        .ok_or_else(|| ApiError::unavailable("cameras are not running in this process"))?;
    let frames = monitor.live(&camera_id).ok_or_else(|| {
        ApiError(
            StatusCode::NOT_FOUND,
            format!("camera {camera_id:?} is not running"),
        )
    })?;
    // Each part ends with the next boundary, so that a browser shows a frame as soon as it
    // arrives instead of when the next one does.
    let opening = futures::stream::once(async { Bytes::from(format!("--{BOUNDARY}\r\n")) });
    let body = opening
        .chain(frames.map(|frame| part(&frame)))
        .map(Ok::<_, Infallible>);
    Response::builder()
        .header(
            header::CONTENT_TYPE,
            format!("multipart/x-mixed-replace; boundary={BOUNDARY}"),
        )
        .header(header::CACHE_CONTROL, "no-store")
        .header("X-Accel-Buffering", "no")
        .body(Body::from_stream(body))
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

/// One frame: its headers, the JPEG, and the boundary that closes it.
fn part(frame: &LiveFrame) -> Bytes {
    let head = format!(
        "Content-Type: image/jpeg\r\nContent-Length: {}\r\n{CAPTURED_AT_HEADER}: {}\r\n\
         {ANALYSED_AT_HEADER}: {}\r\n\r\n",
        frame.jpeg.len(),
        frame.captured_at.timestamp_micros(),
        frame.analysed_at.timestamp_micros()
    );
    let tail = format!("\r\n--{BOUNDARY}\r\n");
    let mut out = Vec::with_capacity(head.len() + frame.jpeg.len() + tail.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(&frame.jpeg);
    out.extend_from_slice(tail.as_bytes());
    Bytes::from(out)
}
