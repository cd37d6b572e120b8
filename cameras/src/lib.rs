//! The camera supervisor: frame → detection → track → recognition happens in
//! `facewatch-inference`; here a recognition becomes a sighting through the application layer (with
//! its snapshot saved first, as actor `camera:ID`), the face gallery follows the enrolled templates,
//! and the set of running pipelines follows the enabled cameras in the read model.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use facewatch_app::App;
use facewatch_captures::SnapshotStore;
use facewatch_inference::{
    enrol_photo, CameraHealth, CameraPipeline, EngineError, FaceEngine, Gallery, InferenceConfig,
};
use facewatch_projections::{queries, Change};
use sqlx::PgPool;
use tokio::sync::{broadcast, Notify};

mod forward;
pub mod live;
pub mod overlay;

pub use live::{LiveFrame, LiveHub, LiveSubscription};

/// Identifies the embedding model in `FaceTemplateAdded` events: templates from another model
/// cannot be compared with this one's.
pub const MODEL_ID: &str = "faceplugin-fr_feature-512";

#[derive(Debug, thiserror::Error)]
pub enum VisionError {
    #[error("invalid AI parameters: {0}")]
    Config(#[from] facewatch_inference::ConfigError),
    #[error("cannot load the face models: {0}")]
    Engine(#[from] EngineError),
}

/// The loaded face models plus what the running cameras report. Shared with the API (photo
/// enrolment, camera health) through `Arc`.
pub struct Vision {
    engine: Arc<FaceEngine>,
    config: InferenceConfig,
    gallery: Arc<RwLock<Gallery>>,
    snapshots: SnapshotStore,
    health: Mutex<HashMap<String, tokio::sync::watch::Receiver<CameraHealth>>>,
    restart: Notify,
    /// Employee id → name, for the overlays.
    names: live::Names,
    live: LiveHub,
}

impl Vision {
    pub fn load(config: InferenceConfig, data_dir: PathBuf) -> Result<Arc<Self>, VisionError> {
        config.validate()?;
        let engine = Arc::new(FaceEngine::new(&config)?);
        tracing::info!(provider = ?engine.provider(), "face models loaded");
        let names = live::Names::default();
        Ok(Arc::new(Self {
            live: LiveHub::new(names.clone(), config.jpeg_quality),
            names,
            engine,
            config,
            gallery: Arc::new(RwLock::new(Gallery::new())),
            snapshots: SnapshotStore::new(data_dir),
            health: Mutex::new(HashMap::new()),
            restart: Notify::new(),
        }))
    }

    /// The embedding of the single good-quality face in a photo, or why there is none.
    pub fn embed_photo(&self, photo: &[u8]) -> Result<Vec<f32>, String> {
        enrol_photo(&self.engine, &self.config, photo).map_err(|e| e.to_string())
    }

    /// The last reported health of a running camera.
    pub fn health(&self, camera_id: &str) -> Option<CameraHealth> {
        let health = self.health.lock().expect("health map lock");
        health.get(camera_id).map(|rx| rx.borrow().clone())
    }

    /// Watches a running camera's live view (annotated JPEG frames, encoded only while watched);
    /// `None` when the camera has no pipeline.
    pub fn live(&self, camera_id: &str) -> Option<LiveSubscription> {
        self.live.subscribe(camera_id)
    }

    /// How many live-view frames a running camera has encoded (they are encoded only while
    /// somebody watches).
    pub fn live_frames_encoded(&self, camera_id: &str) -> u64 {
        self.live.encoded(camera_id)
    }

    /// Stops and restarts every camera pipeline (e.g. after the AI parameters changed).
    pub fn restart_cameras(&self) {
        self.restart.notify_one();
    }

    pub fn config(&self) -> &InferenceConfig {
        &self.config
    }

    /// Where snapshots and enrolment photos are kept.
    pub fn snapshots(&self) -> &SnapshotStore {
        &self.snapshots
    }

    /// Reloads the face gallery and the names drawn on the overlays.
    async fn reload_gallery(&self, pool: &PgPool) {
        match queries::employees(pool).await {
            Ok(employees) => {
                let names = employees.into_iter().map(|e| (e.id, e.name)).collect();
                *self.names.write().unwrap_or_else(|p| p.into_inner()) = names;
            }
            Err(e) => tracing::error!("cannot load employee names: {e}"),
        }
        match queries::face_templates(pool).await {
            Ok(templates) => {
                let mut gallery = Gallery::new();
                for t in templates {
                    if let Err(e) = gallery.insert(t.employee_id.clone(), t.embedding) {
                        tracing::warn!(template = t.template_id, "template skipped: {e}");
                    }
                }
                tracing::info!(templates = gallery.len(), "face gallery loaded");
                *self.gallery.write().expect("gallery lock") = gallery;
            }
            Err(e) => tracing::error!("cannot load face templates: {e}"),
        }
    }
}

struct Running {
    stream_url: String,
    pipeline: CameraPipeline,
    forwarder: tokio::task::JoinHandle<()>,
}

/// Runs the cameras until `shutdown` resolves.
pub async fn supervise(
    vision: Arc<Vision>,
    app: App,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut changes = app.projector().subscribe();
    let mut running: HashMap<String, Running> = HashMap::new();
    let mut frames = tokio::time::interval(Duration::from_secs(1));
    frames.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    vision.reload_gallery(app.pool()).await;
    reconcile(&vision, &app, &mut running).await;
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = vision.restart.notified() => {
                tracing::info!("restarting camera pipelines");
                stop_all(&vision, &mut running);
                reconcile(&vision, &app, &mut running).await;
            }
            change = changes.recv() => match change {
                Ok(Change::Employee { .. }) => vision.reload_gallery(app.pool()).await,
                Ok(Change::Camera { .. }) => reconcile(&vision, &app, &mut running).await,
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    vision.reload_gallery(app.pool()).await;
                    reconcile(&vision, &app, &mut running).await;
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            _ = frames.tick() => publish_latest_frames(&vision, &running),
        }
    }
    stop_all(&vision, &mut running);
}

/// Makes the running pipelines match the enabled cameras (and their stream URLs).
async fn reconcile(vision: &Arc<Vision>, app: &App, running: &mut HashMap<String, Running>) {
    let cameras = match queries::cameras(app.pool()).await {
        Ok(cameras) => cameras,
        Err(e) => return tracing::error!("cannot list cameras: {e}"),
    };
    let wanted: HashMap<String, String> = cameras
        .into_iter()
        .filter(|c| c.enabled)
        .map(|c| (c.id, c.stream_url))
        .collect();
    let stale: Vec<String> = running
        .iter()
        .filter(|(id, r)| wanted.get(*id) != Some(&r.stream_url))
        .map(|(id, _)| id.clone())
        .collect();
    for id in stale {
        if let Some(r) = running.remove(&id) {
            stop(vision, &id, r);
        }
    }
    for (id, url) in wanted {
        if running.contains_key(&id) {
            continue;
        }
        let spawned = CameraPipeline::spawn(
            id.clone(),
            &url,
            vision.config.clone(),
            vision.engine.clone(),
            vision.gallery.clone(),
        );
        let mut pipeline = match spawned {
            Ok(p) => p,
            // The error text is already redacted by the pipeline.
            Err(e) => {
                tracing::error!(camera = id, "camera cannot start: {e}");
                continue;
            }
        };
        let reports = forward::Reports {
            recognitions: pipeline.take_recognitions().expect("fresh pipeline"),
            unknown_faces: pipeline.take_unknown_faces().expect("fresh pipeline"),
        };
        let forwarder = tokio::spawn(forward::forward(
            reports,
            app.clone(),
            vision.snapshots.clone(),
        ));
        vision
            .health
            .lock()
            .expect("health map lock")
            .insert(id.clone(), pipeline.health());
        vision.live.start(&id, pipeline.frames());
        tracing::info!(camera = id, url = %facewatch_domain::redact::redact_url(&url), "camera started");
        running.insert(
            id,
            Running {
                stream_url: url,
                pipeline,
                forwarder,
            },
        );
    }
}

fn stop(vision: &Vision, id: &str, running: Running) {
    running.forwarder.abort();
    vision.live.stop(id);
    running.pipeline.stop();
    vision.health.lock().expect("health map lock").remove(id);
    tracing::info!(camera = id, "camera stopped");
}

fn stop_all(vision: &Vision, running: &mut HashMap<String, Running>) {
    for (id, r) in running.drain() {
        stop(vision, &id, r);
    }
}

/// Writes each camera's newest annotated frame to `captures/{camera}/latest.jpg` for the bot and
/// `GET /api/cameras/{id}/latest.jpg` (the dashboard watches the live stream instead).
fn publish_latest_frames(vision: &Vision, running: &HashMap<String, Running>) {
    for (id, r) in running {
        if let Some(frame) = r.pipeline.frames().latest() {
            let image = {
                let names = vision.names.read().unwrap_or_else(|p| p.into_inner());
                overlay::annotate(&frame.image, &frame.faces, &names)
            };
            let jpeg =
                facewatch_inference::pipeline::encode_jpeg(&image, vision.config.jpeg_quality);
            if let Err(e) = vision.snapshots.save_latest(id, &jpeg) {
                tracing::warn!(camera = id, "cannot save latest frame: {e}");
            }
        }
    }
}
