//! One camera end to end: frames from [`crate::video`], faces from the
//! [`FaceEngine`], quality gates, tracking and voting, matching against the
//! [`Gallery`] (see [`crate::analyzer`]), and bounded channels of [`Recognition`]s and
//! [`UnknownFace`]s out.
//!
//! Each camera keeps its stream open in its own thread, so a camera that cannot be reached
//! never holds up the others; its frames are analysed by the engine's inference workers
//! ([`crate::pool`]), shared by all cameras.

use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use chrono::{DateTime, Utc};
use image::Rgb;
use tokio::sync::{mpsc, watch};

use crate::analyzer::Analyzer;
use crate::config::{ConfigError, InferenceConfig};
use crate::engine::{lock, FaceEngine};
pub use crate::frame::{draw_box, encode_jpeg, AnalysedFrame, FrameFeed};
use crate::gallery::Gallery;
use crate::geometry::BBox;
use crate::keyframes::KeyFrameGate;
use crate::motion::MotionGate;
use crate::quality::QualityGate;
use crate::sightings::SightingClock;
use crate::stream::FpsMeter;
use crate::track::{Tracker, TrackerConfig};
use crate::video::{self, CameraHealth, StopSignal, VideoError};

/// An employee seen by a camera: once per track when its identity settles, then again at most
/// every `sighting_interval_sec` while they stay in view.
#[derive(Debug, Clone, PartialEq)]
pub struct Recognition {
    pub camera_id: String,
    pub employee_id: String,
    /// When the frame arrived.
    pub at: DateTime<Utc>,
    /// Mean cosine similarity of the winning votes (settling), or of the latest embedding.
    pub similarity: f32,
    /// The track (unique per camera pipeline) the face was followed on.
    pub track_id: u64,
    /// JPEG of the face with some margin, from the settling frame; `None` for a "still in view"
    /// report (its track's settling snapshot stands for it).
    pub snapshot_jpeg: Option<Vec<u8>>,
}

/// A face followed on one track and settled as nobody enrolled (reported once per settling).
#[derive(Debug, Clone, PartialEq)]
pub struct UnknownFace {
    pub camera_id: String,
    pub track_id: u64,
    /// When the frame that settled it arrived.
    pub at: DateTime<Utc>,
    /// The face's embedding in that frame (L2-normalised).
    pub embedding: Vec<f32>,
    /// JPEG of the face with some margin, from that frame.
    pub snapshot_jpeg: Vec<u8>,
}

/// What the pipeline knows about a face in the latest frame.
#[derive(Debug, Clone, PartialEq)]
pub enum FaceLabel {
    /// Recognised as this employee.
    Known(String),
    /// Voted unknown.
    Unknown,
    /// Too small, blurred, too dark or too bright to recognise.
    PoorQuality,
    /// Still collecting votes.
    Pending,
}

/// A face drawn on the annotated preview.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceOverlay {
    pub bbox: BBox,
    pub track_id: u64,
    pub label: FaceLabel,
    /// Cosine similarity of the best gallery match in this frame, when the face was embedded.
    pub similarity: Option<f32>,
}

/// Why a camera pipeline could not start.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Video(#[from] VideoError),
    #[error("camera source `{0}` is not a URI (expected rtsp://, file://, http://...)")]
    InvalidUri(String),
    #[error("cannot start the camera thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// A running camera. Dropping it stops the camera (like [`CameraPipeline::stop`]).
pub struct CameraPipeline {
    camera_id: String,
    health: watch::Receiver<CameraHealth>,
    latest: Arc<Mutex<Option<AnalysedFrame>>>,
    ticks: watch::Receiver<u64>,
    recognitions: Option<mpsc::Receiver<Recognition>>,
    unknown_faces: Option<mpsc::Receiver<UnknownFace>>,
    stop: Arc<StopSignal>,
    thread: Option<JoinHandle<()>>,
    jpeg_quality: u8,
}

impl CameraPipeline {
    /// Starts analysing `source_uri` (rtsp://, file://, ...) in a new thread.
    pub fn spawn(
        camera_id: impl Into<String>,
        source_uri: &str,
        cfg: InferenceConfig,
        engine: Arc<FaceEngine>,
        gallery: Arc<RwLock<Gallery>>,
    ) -> Result<Self, PipelineError> {
        cfg.validate()?;
        if !source_uri.contains("://") {
            let shown = match source_uri.rfind('@') {
                Some(at) => format!("***{}", &source_uri[at..]),
                None => source_uri.to_string(),
            };
            return Err(PipelineError::InvalidUri(shown));
        }
        video::init_gstreamer()?;
        let camera_id = camera_id.into();
        let (health_tx, health) = watch::channel(CameraHealth::default());
        let health_tx = Arc::new(health_tx);
        let (tx, rx) = mpsc::channel(cfg.recognition_channel_capacity);
        let (unknown_tx, unknown_rx) = mpsc::channel(cfg.recognition_channel_capacity);
        let latest = Arc::new(Mutex::new(None));
        let (ticks_tx, ticks) = watch::channel(0u64);
        let stop = Arc::new(StopSignal::default());

        let key_frames = Arc::new(KeyFrameGate::default());
        let analyzer = Analyzer {
            camera_id: camera_id.clone(),
            gate: QualityGate::from_config(&cfg),
            tracker: Tracker::new(TrackerConfig::from_config(&cfg)),
            sightings: SightingClock::new(cfg.sighting_interval_sec),
            reverify: chrono::Duration::milliseconds(cfg.reverify_interval_ms as i64),
            recognition_threshold: cfg.recognition_threshold,
            jpeg_quality: cfg.jpeg_quality,
            engine: engine.clone(),
            gallery,
            tx,
            unknown_tx,
            health: health_tx.clone(),
            latest: latest.clone(),
            ticks: ticks_tx,
            motion: MotionGate::from_config(&cfg),
            key_frames: key_frames.clone(),
            idle_key_frames_only: cfg.motion_gating && cfg.idle_key_frames_only,
            fps: FpsMeter::new(),
        };
        let uri = source_uri.to_string();
        let thread_stop = stop.clone();
        let jpeg_quality = cfg.jpeg_quality;
        let span = tracing::info_span!("camera", id = %camera_id);
        let slot = engine.pool().register(Box::new(analyzer));
        let thread = std::thread::Builder::new()
            .name(format!("camera-{camera_id}"))
            .spawn(move || {
                let _entered = span.enter();
                video::supervise(
                    &uri,
                    &cfg,
                    &key_frames,
                    &thread_stop,
                    &health_tx,
                    |frame, at| {
                        let dropped = slot.submit(frame, at);
                        if dropped > 0 {
                            health_tx.send_modify(|h| h.dropped_frames += dropped);
                        }
                    },
                );
                // Nothing is analysed after this, so the stopped camera's fps stays 0.
                slot.close();
                health_tx.send_modify(|h| {
                    h.fps = 0.0;
                    h.idle = false;
                });
            })?;
        Ok(Self {
            camera_id,
            health,
            latest,
            ticks,
            recognitions: Some(rx),
            unknown_faces: Some(unknown_rx),
            stop,
            thread: Some(thread),
            jpeg_quality,
        })
    }

    pub fn camera_id(&self) -> &str {
        &self.camera_id
    }

    /// The recognitions channel; `Some` on the first call only.
    pub fn take_recognitions(&mut self) -> Option<mpsc::Receiver<Recognition>> {
        self.recognitions.take()
    }

    /// The unknown-faces channel; `Some` on the first call only. Nobody taking it is fine: the
    /// faces are then only counted in the camera's health.
    pub fn take_unknown_faces(&mut self) -> Option<mpsc::Receiver<UnknownFace>> {
        self.unknown_faces.take()
    }

    /// Health updates (state, fps, last frame, reconnects, last error, counters).
    pub fn health(&self) -> watch::Receiver<CameraHealth> {
        self.health.clone()
    }

    /// The newest analysed frame, and a way to wait for the next one.
    pub fn frames(&self) -> FrameFeed {
        FrameFeed::new(self.latest.clone(), self.ticks.clone())
    }

    /// The faces of the latest analysed frame.
    pub fn latest_faces(&self) -> Vec<FaceOverlay> {
        lock(&self.latest)
            .as_ref()
            .map(|l| l.faces.clone())
            .unwrap_or_default()
    }

    /// The latest analysed frame as JPEG, with face boxes drawn when
    /// `annotated` (green: known, red: unknown, yellow: pending, grey: poor quality).
    pub fn latest_frame_jpeg(&self, annotated: bool) -> Option<Vec<u8>> {
        let (image, faces) = {
            let latest = lock(&self.latest);
            let l = latest.as_ref()?;
            (l.image.clone(), l.faces.clone())
        };
        if !annotated || faces.is_empty() {
            return Some(encode_jpeg(&image, self.jpeg_quality));
        }
        let mut canvas = (*image).clone();
        for face in &faces {
            let color = match face.label {
                FaceLabel::Known(_) => Rgb([0, 200, 0]),
                FaceLabel::Unknown => Rgb([220, 0, 0]),
                FaceLabel::Pending => Rgb([230, 200, 0]),
                FaceLabel::PoorQuality => Rgb([150, 150, 150]),
            };
            draw_box(&mut canvas, &face.bbox, color);
        }
        Some(encode_jpeg(&canvas, self.jpeg_quality))
    }

    /// Stops the stream and waits for the camera thread (well under a second).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.stop();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!(camera = %self.camera_id, "camera thread panicked");
            }
        }
    }
}

impl Drop for CameraPipeline {
    fn drop(&mut self) {
        self.shutdown();
    }
}
