//! The camera supervisor: frame → detection → track → recognition happens in
//! `facewatch-inference`; here a recognition becomes a sighting through the application layer (with
//! its snapshot saved first, as actor `camera:ID`), the face gallery follows the enrolled templates,
//! and the set of running pipelines follows the enabled cameras in the read model — all of them
//! ([`supervise`]), or those this process holds leases for when several processes share the
//! cameras ([`supervise_leased`], see [`leases`]).

use std::collections::{BTreeSet, HashMap};
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

pub mod balance;
pub mod decoder;
mod forward;
pub mod leases;
pub mod live;
pub mod overlay;
pub mod shared;

pub use leases::LeaseSettings;
pub use live::{LiveFrame, LiveHub, LiveSubscription};
pub use shared::{SharedCameras, SharedFrame, SharedHealth};

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

/// Runs every enabled camera until `shutdown` resolves (one process runs them all).
pub async fn supervise(
    vision: Arc<Vision>,
    app: App,
    shutdown: impl std::future::Future<Output = ()>,
) {
    supervise_with(vision, app, None, shutdown).await
}

/// Runs the enabled cameras this process holds leases for, shared with the other processes
/// doing the same against the same database, until `shutdown` resolves; reports their health and
/// newest frames to PostgreSQL for every API instance ([`shared`]).
pub async fn supervise_leased(
    vision: Arc<Vision>,
    app: App,
    settings: LeaseSettings,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let leases = leases::Leases::new(app.pool().clone(), settings);
    supervise_with(vision, app, Some(leases), shutdown).await
}

async fn supervise_with(
    vision: Arc<Vision>,
    app: App,
    mut leases: Option<leases::Leases>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut changes = app.projector().subscribe();
    let mut running: HashMap<String, Running> = HashMap::new();
    let mut frames = tokio::time::interval(Duration::from_secs(1));
    frames.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut heartbeats = tokio::time::interval(
        leases
            .as_ref()
            .map_or(Duration::from_secs(3600), |l| l.settings().heartbeat()),
    );
    heartbeats.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The cameras this process may run; `None`: all of them.
    let mut assigned: Option<BTreeSet<String>> = leases.as_ref().map(|_| BTreeSet::new());
    vision.reload_gallery(app.pool()).await;
    reconcile(&vision, &app, &mut running, assigned.as_ref()).await;
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = vision.restart.notified() => {
                tracing::info!("restarting camera pipelines");
                stop_all(&vision, &mut running);
                reconcile(&vision, &app, &mut running, assigned.as_ref()).await;
            }
            change = changes.recv() => match change {
                Ok(Change::Employee { .. }) => vision.reload_gallery(app.pool()).await,
                Ok(Change::Camera { .. }) => match leases.as_mut() {
                    Some(leases) => {
                        heartbeat(&vision, &app, leases, &mut running, &mut assigned).await
                    }
                    None => reconcile(&vision, &app, &mut running, None).await,
                },
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    vision.reload_gallery(app.pool()).await;
                    reconcile(&vision, &app, &mut running, assigned.as_ref()).await;
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            _ = heartbeats.tick(), if leases.is_some() => {
                if let Some(leases) = leases.as_mut() {
                    heartbeat(&vision, &app, leases, &mut running, &mut assigned).await;
                }
            }
            _ = frames.tick() => {
                let published = publish_latest_frames(&vision, &running);
                if let Some(leases) = &leases {
                    let (pool, worker) = (app.pool().clone(), leases.settings().worker_id.clone());
                    tokio::spawn(async move {
                        for (camera, frame) in published {
                            if let Err(e) = shared::save_frame(&pool, &worker, &camera, &frame).await {
                                tracing::warn!(camera, "cannot share the latest frame: {e}");
                            }
                        }
                    });
                }
            }
        }
    }
    stop_all(&vision, &mut running);
    if let Some(leases) = leases.as_mut() {
        if let Err(e) = leases.leave().await {
            tracing::warn!("cannot give back the camera leases (they will expire): {e}");
        }
    }
}

/// One lease heartbeat: renew, rebalance, start and stop pipelines to match, give back what was
/// stopped, and report the running cameras' health.
async fn heartbeat(
    vision: &Arc<Vision>,
    app: &App,
    leases: &mut leases::Leases,
    running: &mut HashMap<String, Running>,
    assigned: &mut Option<BTreeSet<String>>,
) {
    let enabled: BTreeSet<String> = match queries::cameras(app.pool()).await {
        Ok(cameras) => cameras
            .into_iter()
            .filter(|c| c.enabled)
            .map(|c| c.id)
            .collect(),
        Err(e) => {
            tracing::error!("cannot list cameras: {e}");
            // Keep running what is held; renew below with the cameras known to run.
            running.keys().cloned().collect()
        }
    };
    match leases.heartbeat(&enabled).await {
        Ok(plan) => {
            *assigned = Some(plan.run);
            reconcile(vision, app, running, assigned.as_ref()).await;
            // Stopped above, so the next holder never overlaps with this one.
            if let Err(e) = leases.release(&plan.release).await {
                tracing::warn!("cannot give back camera leases (they will expire): {e}");
            }
        }
        Err(e) => {
            tracing::error!("cannot renew the camera leases: {e}");
            if leases.lapsed() && !running.is_empty() {
                tracing::error!("camera leases lapsed: stopping this worker's cameras");
                *assigned = Some(BTreeSet::new());
                stop_all(vision, running);
            }
            return;
        }
    }
    let reports: Vec<(String, SharedHealth)> = running
        .keys()
        .filter_map(|id| Some((id.clone(), SharedHealth::from(&vision.health(id)?))))
        .collect();
    let worker = &leases.settings().worker_id;
    if let Err(e) = shared::save_health(app.pool(), worker, &reports).await {
        tracing::warn!("cannot share the cameras' health: {e}");
    }
}

/// Makes the running pipelines match the enabled cameras (and their stream URLs), or those of
/// them in `only`.
async fn reconcile(
    vision: &Arc<Vision>,
    app: &App,
    running: &mut HashMap<String, Running>,
    only: Option<&BTreeSet<String>>,
) {
    let cameras = match queries::cameras(app.pool()).await {
        Ok(cameras) => cameras,
        Err(e) => return tracing::error!("cannot list cameras: {e}"),
    };
    let wanted: HashMap<String, String> = cameras
        .into_iter()
        .filter(|c| c.enabled && only.is_none_or(|only| only.contains(&c.id)))
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
/// `GET /api/cameras/{id}/latest.jpg` (the dashboard watches the live stream instead); returns
/// them for the other processes ([`shared`]).
fn publish_latest_frames(
    vision: &Vision,
    running: &HashMap<String, Running>,
) -> Vec<(String, SharedFrame)> {
    let mut published = Vec::new();
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
            let frame = SharedFrame {
                jpeg,
                captured_at: frame.captured_at,
                analysed_at: frame.analysed_at,
            };
            published.push((id.clone(), frame));
        }
    }
    published
}
