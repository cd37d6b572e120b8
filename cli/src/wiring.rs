//! Adapters between the camera supervisor and the API: the API defines small traits so that it
//! does not depend on video and model code; the binary plugs the real implementations in.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use facewatch_api::{
    CameraMonitor, CameraStatus, LiveFrame, LiveFrames, ParamsValidator, SystemHooks,
};
use facewatch_app::FaceEmbedder;
use facewatch_cameras::{SharedCameras, SharedHealth, Vision, MODEL_ID};
use facewatch_inference::InferenceConfig;
use facewatch_mqtt::CameraLiveness;
use futures::StreamExt;
use tokio::sync::watch;

use crate::config::PresenceSettings;

/// The face models of this process (photo enrolment).
pub struct Cameras(pub Arc<Vision>);

/// Every running camera as the API sees it: those this process runs first (every analysed frame
/// in the live view), then those other processes report through PostgreSQL (see
/// `facewatch_cameras::shared`).
pub struct ClusterCameras {
    pub local: Option<Arc<Vision>>,
    pub shared: SharedCameras,
}

impl ClusterCameras {
    fn report(&self, camera_id: &str) -> Option<SharedHealth> {
        let local = self.local.as_ref().and_then(|v| v.health(camera_id));
        match local {
            Some(health) => Some(SharedHealth::from(&health)),
            None => self.shared.health(camera_id),
        }
    }
}

impl CameraMonitor for ClusterCameras {
    fn health(&self, camera_id: &str) -> Option<CameraStatus> {
        let health = self.report(camera_id)?;
        Some(CameraStatus {
            uptime_sec: health
                .online_since
                .map(|since| (Utc::now() - since).num_seconds().max(0)),
            state: health.state,
            fps: health.fps,
            dropped_frames: health.dropped_frames,
            undecoded_frames: health.undecoded_frames,
            idle: health.idle,
            last_frame_at: health.last_frame_at,
            online_since: health.online_since,
            reconnects: health.reconnects,
            replays: health.replays,
            last_error: health.last_error,
            unknown_faces: health.unknown_faces,
        })
    }

    fn live(&self, camera_id: &str) -> Option<LiveFrames> {
        if let Some(subscription) = self.local.as_ref().and_then(|v| v.live(camera_id)) {
            let frames = futures::stream::unfold(subscription, |mut subscription| async move {
                let frame = subscription.next().await?;
                let frame = LiveFrame {
                    jpeg: axum::body::Bytes::copy_from_slice(&frame.jpeg),
                    captured_at: frame.captured_at,
                    analysed_at: frame.analysed_at,
                };
                Some((frame, subscription))
            });
            return Some(frames.boxed());
        }
        let frames = self.shared.frames(camera_id)?.map(|frame| LiveFrame {
            jpeg: frame.jpeg.into(),
            captured_at: frame.captured_at,
            analysed_at: frame.analysed_at,
        });
        Some(frames.boxed())
    }
}

impl CameraLiveness for ClusterCameras {
    fn online(&self, camera_id: &str) -> bool {
        self.report(camera_id).is_some_and(|h| h.online())
    }
}

impl FaceEmbedder for Cameras {
    fn embed(&self, jpeg: &[u8]) -> Result<(Vec<f32>, String), String> {
        Ok((self.0.embed_photo(jpeg)?, MODEL_ID.to_string()))
    }

    fn match_threshold(&self) -> f32 {
        self.0.config().recognition_threshold
    }

    fn keep_photo(&self, employee_id: &str, at: DateTime<Utc>, photo: &[u8]) -> Option<String> {
        match self.0.snapshots().save_face_photo(employee_id, at, photo) {
            Ok(reference) => Some(reference.as_str().to_string()),
            Err(e) => {
                tracing::warn!(
                    employee_id,
                    "enrolment photo not kept for the face library: {e}"
                );
                None
            }
        }
    }
}

/// Operator actions: restart the camera pipelines, stop the process.
pub struct Hooks {
    pub vision: Option<Arc<Vision>>,
    pub stop: watch::Sender<bool>,
}

impl SystemHooks for Hooks {
    fn restart_cameras(&self) {
        if let Some(vision) = &self.vision {
            vision.restart_cameras();
        }
    }

    fn shutdown(&self) {
        let _ = self.stop.send(true);
    }
}

/// Validates an AI-parameters document exactly as the cameras will read it, and against the
/// presence timeout (see [`PresenceSettings::check_sighting_interval`]).
pub fn params_validator(presence: PresenceSettings) -> ParamsValidator {
    Arc::new(move |document| {
        let config: InferenceConfig =
            serde_json::from_value(document.clone()).map_err(|e| e.to_string())?;
        config.validate().map_err(|e| e.to_string())?;
        presence
            .check_sighting_interval(&config)
            .map_err(|e| e.to_string())
    })
}
