//! One camera end to end: frames from [`crate::video`], faces from the
//! [`FaceEngine`], quality gates, tracking and voting, matching against the
//! [`Gallery`], and a bounded channel of [`Recognition`]s out.
//!
//! Each camera runs in its own thread, so a camera that cannot be reached
//! never holds up the others.

use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use chrono::{DateTime, Utc};
use image::{Rgb, RgbImage};
use tokio::sync::{mpsc, watch};

use crate::config::{ConfigError, InferenceConfig};
use crate::detect::DetectedFace;
use crate::engine::{lock, FaceEngine};
pub use crate::frame::{draw_box, encode_jpeg, AnalysedFrame, FrameFeed};
use crate::gallery::Gallery;
use crate::geometry::{align_face, BBox};
use crate::quality::QualityGate;
use crate::track::{TrackEvent, Tracker, TrackerConfig, Vote};
use crate::video::{self, CameraHealth, StopSignal, VideoError};

/// An employee recognised by a camera (one per track, once the identity is stable).
#[derive(Debug, Clone, PartialEq)]
pub struct Recognition {
    pub camera_id: String,
    pub employee_id: String,
    /// When the frame that settled the identity arrived.
    pub at: DateTime<Utc>,
    /// Mean cosine similarity of the winning votes.
    pub similarity: f32,
    /// The track (unique per camera pipeline) the face was followed on.
    pub track_id: u64,
    /// JPEG of the face with some margin, from the settling frame.
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
        let latest = Arc::new(Mutex::new(None));
        let (ticks_tx, ticks) = watch::channel(0u64);
        let stop = Arc::new(StopSignal::default());

        let mut analyzer = Analyzer {
            camera_id: camera_id.clone(),
            gate: QualityGate::from_config(&cfg),
            tracker: Tracker::new(TrackerConfig::from_config(&cfg)),
            recognition_threshold: cfg.recognition_threshold,
            jpeg_quality: cfg.jpeg_quality,
            engine,
            gallery,
            tx,
            health: health_tx.clone(),
            latest: latest.clone(),
            ticks: ticks_tx,
        };
        let uri = source_uri.to_string();
        let thread_stop = stop.clone();
        let jpeg_quality = cfg.jpeg_quality;
        let thread = std::thread::Builder::new()
            .name(format!("camera-{camera_id}"))
            .spawn(move || {
                let span = tracing::info_span!("camera", id = %analyzer.camera_id);
                let _entered = span.enter();
                video::supervise(&uri, &cfg, &thread_stop, &health_tx, |frame, at| {
                    analyzer.process(frame, at)
                });
            })?;
        Ok(Self {
            camera_id,
            health,
            latest,
            ticks,
            recognitions: Some(rx),
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

/// The per-camera analysis state, owned by the camera thread.
struct Analyzer {
    camera_id: String,
    engine: Arc<FaceEngine>,
    gallery: Arc<RwLock<Gallery>>,
    gate: QualityGate,
    tracker: Tracker,
    recognition_threshold: f32,
    jpeg_quality: u8,
    tx: mpsc::Sender<Recognition>,
    health: Arc<watch::Sender<CameraHealth>>,
    latest: Arc<Mutex<Option<AnalysedFrame>>>,
    ticks: watch::Sender<u64>,
}

impl Analyzer {
    fn process(&mut self, frame: RgbImage, at: DateTime<Utc>) {
        let faces = self.engine.detect(&frame).unwrap_or_else(|e| {
            tracing::warn!(camera = %self.camera_id, error = %e, "face detection failed");
            Vec::new()
        });
        let boxes: Vec<BBox> = faces.iter().map(|f| f.bbox).collect();
        let track_ids = self.tracker.update(&boxes);
        let overlays = faces
            .iter()
            .zip(track_ids)
            .map(|(face, track_id)| {
                let (label, similarity) = self.recognise(&frame, face, track_id, at);
                FaceOverlay {
                    bbox: face.bbox,
                    track_id,
                    label,
                    similarity,
                }
            })
            .collect();
        let seq = *self.ticks.borrow() + 1;
        *lock(&self.latest) = Some(AnalysedFrame {
            image: Arc::new(frame),
            faces: overlays,
            captured_at: at,
            analysed_at: Utc::now(),
            seq,
        });
        self.ticks.send_replace(seq);
    }

    /// Recognises one face and votes for its track; returns the face's label and the similarity
    /// of its best match in this frame.
    fn recognise(
        &mut self,
        frame: &RgbImage,
        face: &DetectedFace,
        track_id: u64,
        at: DateTime<Utc>,
    ) -> (FaceLabel, Option<f32>) {
        let embedding = match self.quality_embedding(frame, face) {
            Ok(e) => e,
            Err(label) => return (self.settled_label(track_id).unwrap_or(label), None),
        };
        let best = self
            .gallery
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .best(&embedding);
        tracing::debug!(camera = %self.camera_id, track_id, ?best, "face vote");
        let similarity = best.as_ref().map(|m| m.similarity);
        let vote = match best {
            Some(m) if m.similarity >= self.recognition_threshold => Vote::Known(m),
            _ => Vote::Unknown,
        };
        match self.tracker.vote(track_id, vote) {
            Some(TrackEvent::Recognized {
                employee_id,
                similarity,
                ..
            }) => self.emit(frame, face, track_id, at, employee_id, similarity),
            Some(TrackEvent::Unknown { .. }) => self.health.send_modify(|h| h.unknown_faces += 1),
            None => {}
        }
        let label = self.settled_label(track_id).unwrap_or(FaceLabel::Pending);
        (label, similarity)
    }

    /// The embedding of a face that passes the quality gates, else the label to show.
    fn quality_embedding(
        &self,
        frame: &RgbImage,
        face: &DetectedFace,
    ) -> Result<Vec<f32>, FaceLabel> {
        self.gate
            .check_size(&face.bbox)
            .map_err(|_| FaceLabel::PoorQuality)?;
        let aligned = align_face(frame, &face.landmarks).ok_or(FaceLabel::PoorQuality)?;
        if let Err(issue) = self.gate.check(&face.bbox, &aligned) {
            tracing::trace!(camera = %self.camera_id, %issue, "face skipped");
            return Err(FaceLabel::PoorQuality);
        }
        self.engine.embed(&aligned).map_err(|e| {
            tracing::warn!(camera = %self.camera_id, error = %e, "face embedding failed");
            FaceLabel::Pending
        })
    }

    /// Known or Unknown once the track's votes have settled.
    fn settled_label(&self, track_id: u64) -> Option<FaceLabel> {
        let track = self.tracker.track(track_id)?;
        if track.is_unknown() {
            return Some(FaceLabel::Unknown);
        }
        track.identity().map(|id| FaceLabel::Known(id.to_string()))
    }

    fn emit(
        &self,
        frame: &RgbImage,
        face: &DetectedFace,
        track_id: u64,
        at: DateTime<Utc>,
        employee_id: String,
        similarity: f32,
    ) {
        let b = face.bbox.expanded(0.3, frame.width(), frame.height());
        let snapshot = image::imageops::crop_imm(
            frame,
            b.x1 as u32,
            b.y1 as u32,
            (b.width() as u32).max(1),
            (b.height() as u32).max(1),
        )
        .to_image();
        let recognition = Recognition {
            camera_id: self.camera_id.clone(),
            employee_id,
            at,
            similarity,
            track_id,
            snapshot_jpeg: encode_jpeg(&snapshot, self.jpeg_quality),
        };
        // The camera supervisor logs the recorded sighting (one line per recognition).
        tracing::debug!(
            camera = %recognition.camera_id,
            employee = %recognition.employee_id,
            similarity = recognition.similarity,
            track_id,
            "employee recognised"
        );
        match self.tx.try_send(recognition) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(camera = %self.camera_id, "recognition channel full, recognition dropped");
                self.health.send_modify(|h| h.dropped_recognitions += 1);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::debug!(camera = %self.camera_id, "nobody listens for recognitions");
            }
        }
    }
}
