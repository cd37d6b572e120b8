//! Adapters between the camera supervisor and the API: the API defines small traits so that it
//! does not depend on video and model code; the binary plugs the real implementations in.

use std::sync::Arc;

use chrono::Utc;
use facewatch_api::{
    CameraMonitor, CameraStatus, LiveFrame, LiveFrames, ParamsValidator, SystemHooks,
};
use facewatch_app::FaceEmbedder;
use facewatch_cameras::{Vision, MODEL_ID};
use facewatch_inference::{InferenceConfig, StreamState};
use futures::StreamExt;
use tokio::sync::watch;

use crate::config::PresenceSettings;

/// The running cameras, as the API sees them.
pub struct Cameras(pub Arc<Vision>);

impl CameraMonitor for Cameras {
    fn health(&self, camera_id: &str) -> Option<CameraStatus> {
        let health = self.0.health(camera_id)?;
        let state = match health.state {
            StreamState::Connecting => "CONNECTING",
            StreamState::Online => "ONLINE",
            StreamState::Offline => "OFFLINE",
            StreamState::Stopped => "STOPPED",
        };
        let offline = health.state == StreamState::Offline;
        Some(CameraStatus {
            state: state.into(),
            fps: health.fps.into(),
            dropped_frames: health.dropped_frames,
            last_frame_at: health.last_frame_at,
            online_since: health.online_since,
            uptime_sec: health
                .online_since
                .map(|since| (Utc::now() - since).num_seconds().max(0)),
            reconnects: health.reconnects,
            replays: health.replays,
            // A recovered camera's old error stays in the log, not on the dashboard.
            last_error: health.last_error.filter(|_| offline),
            unknown_faces: health.unknown_faces,
        })
    }

    fn live(&self, camera_id: &str) -> Option<LiveFrames> {
        let subscription = self.0.live(camera_id)?;
        let frames = futures::stream::unfold(subscription, |mut subscription| async move {
            let frame = subscription.next().await?;
            let frame = LiveFrame {
                jpeg: axum::body::Bytes::copy_from_slice(&frame.jpeg),
                captured_at: frame.captured_at,
                analysed_at: frame.analysed_at,
            };
            Some((frame, subscription))
        });
        Some(frames.boxed())
    }
}

impl FaceEmbedder for Cameras {
    fn embed(&self, jpeg: &[u8]) -> Result<(Vec<f32>, String), String> {
        Ok((self.0.embed_photo(jpeg)?, MODEL_ID.to_string()))
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
