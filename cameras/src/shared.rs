//! Camera health and the newest frame through PostgreSQL (table `camera_status`), so that any API
//! instance can show a camera whichever worker runs it. Chosen over the API proxying to the
//! worker because workers then need no listening port, no address discovery and no
//! authentication between processes; every process already reaches PostgreSQL, and the data is
//! small (one health row per camera every heartbeat, one JPEG per camera per second).
//! The price: a live view through another process is the once-a-second frame, not every
//! analysed one (the process that runs the camera still streams every analysed frame).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use facewatch_inference::{CameraHealth, StreamState};
use futures::stream::BoxStream;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

/// What the API shows of a camera's health (the fields of its `CameraStatus`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedHealth {
    /// CONNECTING, ONLINE, OFFLINE or STOPPED.
    pub state: String,
    pub fps: f64,
    /// Frames the analysis could not keep up with (dropped, oldest first).
    #[serde(default)]
    pub dropped_frames: u64,
    /// Encoded frames never decoded because the camera was idle (key frames only).
    #[serde(default)]
    pub undecoded_frames: u64,
    /// Motion gating sees a still scene and nobody is tracked (the fps is then the key-frame
    /// rate, not a shortfall).
    #[serde(default)]
    pub idle: bool,
    pub last_frame_at: Option<DateTime<Utc>>,
    pub online_since: Option<DateTime<Utc>>,
    pub reconnects: u64,
    pub replays: u64,
    /// Only while OFFLINE: a recovered camera's old error stays in the log.
    pub last_error: Option<String>,
    pub unknown_faces: u64,
}

impl From<&CameraHealth> for SharedHealth {
    fn from(health: &CameraHealth) -> Self {
        let state = match health.state {
            StreamState::Connecting => "CONNECTING",
            StreamState::Online => "ONLINE",
            StreamState::Offline => "OFFLINE",
            StreamState::Stopped => "STOPPED",
        };
        let offline = health.state == StreamState::Offline;
        Self {
            state: state.into(),
            fps: health.fps.into(),
            dropped_frames: health.dropped_frames,
            undecoded_frames: health.undecoded_frames,
            idle: health.idle && health.state == StreamState::Online,
            last_frame_at: health.last_frame_at,
            online_since: health.online_since,
            reconnects: health.reconnects,
            replays: health.replays,
            last_error: health.last_error.clone().filter(|_| offline),
            unknown_faces: health.unknown_faces,
        }
    }
}

impl SharedHealth {
    pub fn online(&self) -> bool {
        self.state == "ONLINE"
    }
}

/// A frame as stored: the newest annotated JPEG of a camera.
#[derive(Debug, Clone)]
pub struct SharedFrame {
    pub jpeg: Vec<u8>,
    pub captured_at: DateTime<Utc>,
    pub analysed_at: DateTime<Utc>,
}

/// Writes what the cameras of one worker report.
pub(crate) async fn save_health(
    pool: &PgPool,
    worker_id: &str,
    reports: &[(String, SharedHealth)],
) -> Result<(), sqlx::Error> {
    for (camera, health) in reports {
        let health = serde_json::to_value(health).expect("health serialises");
        sqlx::query(
            "INSERT INTO camera_status (camera_id, worker_id, health, updated_at)
             VALUES ($1, $2, $3, now())
             ON CONFLICT (camera_id) DO UPDATE
             SET worker_id = EXCLUDED.worker_id, health = EXCLUDED.health, updated_at = now()",
        )
        .bind(camera)
        .bind(worker_id)
        .bind(health)
        .execute(pool)
        .await?;
    }
    Ok(())
}

/// Stores a camera's newest annotated frame (after its health row exists).
pub(crate) async fn save_frame(
    pool: &PgPool,
    worker_id: &str,
    camera: &str,
    frame: &SharedFrame,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE camera_status SET frame = $3, frame_captured_at = $4, frame_analysed_at = $5
         WHERE camera_id = $1 AND worker_id = $2",
    )
    .bind(camera)
    .bind(worker_id)
    .bind(&frame.jpeg)
    .bind(frame.captured_at)
    .bind(frame.analysed_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// A `camera_status` frame: JPEG, captured at, analysed at.
type StoredFrame = (Vec<u8>, DateTime<Utc>, DateTime<Utc>);

/// How often an API instance re-reads the health of every camera, and a remote live view polls.
const REFRESH: Duration = Duration::from_secs(1);
const FRAME_POLL: Duration = Duration::from_millis(250);

/// The health of every camera run by any worker, as an API instance sees it: a copy refreshed
/// every second by [`SharedCameras::refresh`], so that reading it never waits on the database.
#[derive(Clone)]
pub struct SharedCameras {
    pool: PgPool,
    /// A report older than this means its worker is gone.
    stale_after: Duration,
    health: Arc<RwLock<HashMap<String, SharedHealth>>>,
}

impl SharedCameras {
    pub fn new(pool: PgPool, stale_after: Duration) -> Self {
        Self {
            pool,
            stale_after,
            health: Arc::default(),
        }
    }

    pub fn health(&self, camera_id: &str) -> Option<SharedHealth> {
        let health = self.health.read().unwrap_or_else(|p| p.into_inner());
        health.get(camera_id).cloned()
    }

    /// Keeps the copy current until `stop` resolves.
    pub async fn refresh(self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            if let Err(e) = self.reload().await {
                tracing::warn!("cannot read the cameras' health: {e}");
            }
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(REFRESH) => {}
            }
        }
    }

    /// Reads the fresh reports once.
    pub async fn reload(&self) -> Result<(), sqlx::Error> {
        let rows: Vec<(String, serde_json::Value)> = sqlx::query_as(
            "SELECT camera_id, health FROM camera_status
             WHERE updated_at > now() - $1 * interval '1 millisecond'",
        )
        .bind(self.stale_after.as_millis() as i64)
        .fetch_all(&self.pool)
        .await?;
        let fresh = rows
            .into_iter()
            .filter_map(|(camera, health)| match serde_json::from_value(health) {
                Ok(health) => Some((camera, health)),
                Err(e) => {
                    tracing::warn!(camera, "unreadable camera health: {e}");
                    None
                }
            })
            .collect();
        *self.health.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(())
    }

    /// The newest frames of a camera another process runs, as they are stored (about one a
    /// second); `None` when no worker reports the camera.
    pub fn frames(&self, camera_id: &str) -> Option<BoxStream<'static, SharedFrame>> {
        self.health(camera_id)?;
        let (pool, camera) = (self.pool.clone(), camera_id.to_string());
        let stale_after = self.stale_after.as_millis() as i64;
        let last: Option<DateTime<Utc>> = None;
        Some(
            futures::stream::unfold(last, move |last| {
                let (pool, camera) = (pool.clone(), camera.clone());
                async move {
                    loop {
                        let row: Result<Option<StoredFrame>, _> = sqlx::query_as(
                            "SELECT frame, frame_captured_at, frame_analysed_at FROM camera_status
                             WHERE camera_id = $1 AND frame IS NOT NULL
                               AND updated_at > now() - $2 * interval '1 millisecond'",
                        )
                        .bind(&camera)
                        .bind(stale_after)
                        .fetch_optional(&pool)
                        .await;
                        match row {
                            // The camera stopped reporting: the stream ends.
                            Ok(None) if last.is_some() => return None,
                            Ok(Some((jpeg, captured_at, analysed_at)))
                                if last.is_none_or(|l| analysed_at > l) =>
                            {
                                let frame = SharedFrame {
                                    jpeg,
                                    captured_at,
                                    analysed_at,
                                };
                                return Some((frame, Some(analysed_at)));
                            }
                            Ok(_) => {}
                            Err(e) => tracing::warn!(camera, "cannot read the camera's frame: {e}"),
                        }
                        tokio::time::sleep(FRAME_POLL).await;
                    }
                }
            })
            .boxed(),
        )
    }
}
