//! Camera pipeline for facewatch: GStreamer decodes each camera, ONNX models
//! (run by ONNX Runtime, CPU by default) find and embed faces, an IOU tracker
//! with voting turns per-frame matches into one [`Recognition`] per person
//! passing by, repeated at a bounded rate while they stay in view; a settled
//! track's face is embedded again only now and then.
//!
//! This crate knows nothing of the rest of facewatch: it takes a
//! [`Gallery`] of `(employee_id, embedding)` templates and gives back
//! [`Recognition`]s on a bounded channel, plus health and preview frames.
//!
//! ```no_run
//! use std::sync::{Arc, RwLock};
//! use facewatch_inference::{enrol_photo, CameraPipeline, FaceEngine, Gallery, InferenceConfig};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let cfg = InferenceConfig::default();
//! cfg.validate()?;
//! let engine = Arc::new(FaceEngine::new(&cfg)?);
//! let mut gallery = Gallery::new();
//! gallery.insert("emp-1", enrol_photo(&engine, &cfg, &std::fs::read("alice.jpg")?)?)?;
//! let gallery = Arc::new(RwLock::new(gallery));
//! let mut camera = CameraPipeline::spawn("door", "rtsp://cam/stream", cfg, engine, gallery)?;
//! let mut recognitions = camera.take_recognitions().unwrap();
//! while let Some(r) = recognitions.recv().await {
//!     println!("{} at {} ({:.2})", r.employee_id, r.at, r.similarity);
//! }
//! # Ok(()) }
//! ```

mod analyzer;
pub mod batch;
pub mod config;
pub mod detect;
pub mod embed;
pub mod engine;
pub mod frame;
pub mod gallery;
pub mod geometry;
pub mod keyframes;
pub mod motion;
pub mod pipeline;
pub mod pool;
pub mod quality;
pub mod resample;
#[cfg(feature = "rtsp-server")]
pub mod rtsp_server;
pub mod sightings;
pub mod stream;
pub mod synthetic;
pub mod track;
pub mod video;

pub use batch::BatchStats;
pub use config::{ConfigError, EmbeddingBatch, InferenceConfig, Provider, RtspProtocol};
pub use detect::DetectedFace;
pub use engine::{EngineError, FaceEngine};
pub use gallery::{enrol_image, enrol_photo, EnrolError, Gallery, GalleryError, Match};
pub use geometry::{align_face, BBox};
pub use pipeline::{
    AnalysedFrame, CameraPipeline, FaceLabel, FaceOverlay, FrameFeed, PipelineError, Recognition,
    UnknownFace,
};
pub use pool::InferencePool;
pub use quality::{QualityGate, QualityIssue};
pub use video::{CameraHealth, StreamState, VideoError};
