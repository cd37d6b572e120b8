use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use facewatch_app::App;
use facewatch_captures::{AttendanceCaptures, CapturePolicy, SnapshotStore};
use facewatch_projections::Projector;
use sqlx::PgPool;

use crate::policy::HttpPolicy;
use crate::throttle::LoginThrottle;

/// What the running process does on operator request (implemented by the camera supervisor).
pub trait SystemHooks: Send + Sync {
    /// Restart every camera pipeline (e.g. after changing AI parameters).
    fn restart_cameras(&self);
    /// Stop the whole process gracefully.
    fn shutdown(&self);
}

/// What a running camera pipeline reports (implemented by the camera supervisor).
pub trait CameraMonitor: Send + Sync {
    /// `None` when the camera has no running pipeline (disabled, removed, or cameras are off).
    fn health(&self, camera_id: &str) -> Option<CameraStatus>;

    /// The camera's live view: annotated JPEG frames (boxes, names, similarity) as they are
    /// analysed. Holding the stream is what makes the camera encode them; dropping it stops
    /// that. `None` when the camera has no running pipeline.
    fn live(&self, camera_id: &str) -> Option<LiveFrames> {
        let _ = camera_id;
        None
    }
}

/// One frame of a camera's live view.
#[derive(Debug, Clone)]
pub struct LiveFrame {
    pub jpeg: axum::body::Bytes,
    /// When the camera delivered the frame (before analysis and encoding).
    pub captured_at: DateTime<Utc>,
    /// When its analysis was done (before annotation and encoding).
    pub analysed_at: DateTime<Utc>,
}

/// A camera's live frames, newest first-come: a slow reader skips frames rather than lagging.
pub type LiveFrames = futures::stream::BoxStream<'static, LiveFrame>;

#[derive(Debug, Clone, PartialEq, async_graphql::SimpleObject)]
pub struct CameraStatus {
    /// CONNECTING, ONLINE, OFFLINE or STOPPED.
    pub state: String,
    /// Frames analysed per second (at most the camera's `fps_target`; lower when the inference
    /// workers fall behind and every camera slows down evenly).
    pub fps: f64,
    /// Frames dropped unanalysed because the inference workers were behind (since start).
    pub dropped_frames: u64,
    /// Encoded frames never decoded (since start) because the camera was idle: with motion
    /// gating and `idle_key_frames_only`, a still scene with nobody tracked decodes key frames
    /// only.
    pub undecoded_frames: u64,
    /// The camera is idle: motion gating sees a still scene and nobody is tracked, so the
    /// detector is skipped (and with `idle_key_frames_only` only key frames are decoded: `fps`
    /// is then the key-frame rate, about 1, not a shortfall).
    pub idle: bool,
    pub last_frame_at: Option<DateTime<Utc>>,
    /// Since when the current connection delivers frames (null unless ONLINE).
    pub online_since: Option<DateTime<Utc>>,
    /// Seconds since `onlineSince` (null unless ONLINE).
    pub uptime_sec: Option<i64>,
    pub reconnects: u64,
    /// Times a file source was played again from its start.
    pub replays: u64,
    /// Why the camera is OFFLINE (credentials redacted); null in every other state (past errors
    /// are in the server log).
    pub last_error: Option<String>,
    /// Faces seen that matched nobody (counted, never stored as events).
    pub unknown_faces: u64,
}

/// Checks an AI-parameters document before it is written (supplied by the inference crate's
/// owner so that the API need not depend on it).
pub type ParamsValidator = Arc<dyn Fn(&serde_json::Value) -> Result<(), String> + Send + Sync>;

/// Everything a request handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    app: App,
    started_at: DateTime<Utc>,
    data_dir: PathBuf,
    capture_policy: CapturePolicy,
    params_file: PathBuf,
    params_validator: Option<ParamsValidator>,
    hooks: Option<Arc<dyn SystemHooks>>,
    cameras: Option<Arc<dyn CameraMonitor>>,
    policy: HttpPolicy,
    login_throttle: LoginThrottle,
}

impl AppState {
    /// The HTTP face of `app`; its projector must be running in this process.
    pub fn new(app: App) -> Self {
        Self {
            inner: Arc::new(Inner {
                app,
                started_at: Utc::now(),
                data_dir: PathBuf::from("data"),
                capture_policy: CapturePolicy {
                    first_in_overwrite_enabled: false,
                    last_out_delay_sec: 0,
                },
                params_file: PathBuf::from("config/ai.toml"),
                params_validator: None,
                hooks: None,
                cameras: None,
                login_throttle: LoginThrottle::new(HttpPolicy::default().login),
                policy: HttpPolicy::default(),
            }),
        }
    }

    /// Builder steps: only valid before the state is shared (cloned).
    fn edit(mut self, f: impl FnOnce(&mut Inner)) -> Self {
        f(Arc::get_mut(&mut self.inner).expect("configure AppState before cloning it"));
        self
    }

    /// Where snapshots and attendance captures live (default `data/`).
    pub fn with_data_dir(self, dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        self.edit(|i| i.data_dir = dir)
    }

    pub fn with_capture_policy(self, policy: CapturePolicy) -> Self {
        self.edit(|i| i.capture_policy = policy)
    }

    /// The AI parameters file (default `config/ai.toml`).
    pub fn with_params_file(self, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        self.edit(|i| i.params_file = path)
    }

    pub fn with_params_validator(self, validator: ParamsValidator) -> Self {
        self.edit(|i| i.params_validator = Some(validator))
    }

    pub fn with_hooks(self, hooks: Arc<dyn SystemHooks>) -> Self {
        self.edit(|i| i.hooks = Some(hooks))
    }

    pub fn with_camera_monitor(self, cameras: Arc<dyn CameraMonitor>) -> Self {
        self.edit(|i| i.cameras = Some(cameras))
    }

    /// Limits, allowed origins, login throttling and WebSocket timings (default: the safe ones).
    pub fn with_policy(self, policy: HttpPolicy) -> Self {
        self.edit(|i| {
            i.login_throttle = LoginThrottle::new(policy.login);
            i.policy = policy;
        })
    }

    pub fn policy(&self) -> &HttpPolicy {
        &self.inner.policy
    }

    pub fn login_throttle(&self) -> &LoginThrottle {
        &self.inner.login_throttle
    }

    pub fn camera_monitor(&self) -> Option<&Arc<dyn CameraMonitor>> {
        self.inner.cameras.as_ref()
    }

    /// The use cases: every write goes through here.
    pub fn app(&self) -> &App {
        &self.inner.app
    }

    pub fn pool(&self) -> &PgPool {
        self.inner.app.pool()
    }

    pub fn projector(&self) -> &Projector {
        self.inner.app.projector()
    }

    pub fn started_at(&self) -> DateTime<Utc> {
        self.inner.started_at
    }

    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    pub fn snapshots(&self) -> SnapshotStore {
        SnapshotStore::new(&self.inner.data_dir)
    }

    pub fn attendance_captures(&self) -> AttendanceCaptures {
        AttendanceCaptures::new(&self.inner.data_dir, self.inner.capture_policy)
    }

    pub fn params_file(&self) -> &Path {
        &self.inner.params_file
    }

    pub fn params_validator(&self) -> Option<&ParamsValidator> {
        self.inner.params_validator.as_ref()
    }

    pub fn hooks(&self) -> Option<&Arc<dyn SystemHooks>> {
        self.inner.hooks.as_ref()
    }
}
