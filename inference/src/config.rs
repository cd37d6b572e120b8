//! Settings of the camera pipeline and the face models.
//!
//! Every key has a default (see [`InferenceConfig::default`]), so a partial
//! TOML/JSON/env source extracted with figment is enough; `config/ai.example.toml`
//! documents each key. Call [`InferenceConfig::validate`] after loading.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// How `rtspsrc` reaches an RTSP camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RtspProtocol {
    /// RTP interleaved in the RTSP TCP connection: works through NAT and firewalls.
    Tcp,
    /// RTP over UDP: lower latency on a clean LAN.
    Udp,
}

impl RtspProtocol {
    /// The value of rtspsrc's `protocols` property.
    pub fn as_gst_flags(self) -> &'static str {
        match self {
            RtspProtocol::Tcp => "tcp",
            RtspProtocol::Udp => "udp",
        }
    }
}

/// An ONNX Runtime execution provider; the first available one in
/// [`InferenceConfig::providers`] is used, CPU when none is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// NVIDIA TensorRT (needs an ONNX Runtime build with TensorRT).
    Tensorrt,
    /// NVIDIA CUDA (needs an ONNX Runtime build with CUDA, e.g. `onnxruntime-gpu`).
    Cuda,
    /// The CPU; always available.
    Cpu,
}

/// Embedding the faces of many frames in one model run (`embedding_batch`), for GPU execution
/// providers: see [`crate::batch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingBatch {
    /// Most faces in one run of the embedding model (1-256).
    pub max_faces: usize,
    /// How long the first face of a batch waits for more (0-1000 ms).
    pub wait_ms: u64,
}

/// All settings of `facewatch-inference`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InferenceConfig {
    /// Folder with `fr_detect.onnx`, `fr_landmark.onnx`, `fr_feature.onnx`
    /// and `libonnxruntime.so` (filled by `scripts/fetch-models.sh`).
    pub models_dir: PathBuf,
    /// ONNX Runtime shared library; `None` means `ORT_DYLIB_PATH` when set,
    /// else `<models_dir>/libonnxruntime.so`.
    pub onnxruntime_library: Option<PathBuf>,
    /// Execution providers in order of preference.
    pub providers: Vec<Provider>,
    /// Threads ONNX Runtime uses inside one model run; 0 lets it decide (one per core). Spinning
    /// is always off: an idle thread sleeps instead of burning a core.
    pub inference_threads: usize,
    /// Inference workers shared by all cameras (each runs one frame at a time, with its own model
    /// sessions); 0 means one per core this process may use.
    pub inference_workers: usize,
    /// Threads of each camera's video decoder (libav `max-threads`); 0 lets the decoder decide
    /// (one per core, per camera).
    pub decoder_threads: u32,
    /// Embed the faces that all workers submit within `wait_ms` in one run of
    /// `fr_feature_batch.onnx` (see [`crate::batch`]); meant for GPU execution providers.
    /// `None` (the default): each face is embedded in a run of its own on its worker.
    pub embedding_batch: Option<EmbeddingBatch>,

    /// Frames per second analysed per camera (extra frames are dropped).
    pub fps_target: u32,
    /// Frames wider than this are scaled down (aspect ratio kept).
    pub stream_max_width: u32,
    /// Run the face detector only when a cheap low-resolution frame difference sees motion, or
    /// while faces are tracked (see [`crate::motion`]).
    pub motion_gating: bool,
    /// Mean luma difference (0-255) of a motion cell (about 1/80 of the frame width) above which
    /// the cell counts as changed.
    pub motion_threshold: u8,
    /// Fraction (0-1) of changed cells that counts as motion.
    pub motion_min_area: f32,
    /// With motion gating, the detector still runs at least this often (milliseconds).
    pub motion_refresh_ms: u64,
    /// With motion gating, decode only key frames while the scene is still and no face is
    /// tracked (see [`crate::keyframes`]): motion is then noticed up to one GOP late.
    pub idle_key_frames_only: bool,
    /// Quality (1-100) of the JPEG snapshots and preview frames.
    pub jpeg_quality: u8,
    /// Transport for RTSP cameras.
    pub rtsp_protocol: RtspProtocol,
    /// rtspsrc jitter-buffer latency in milliseconds.
    pub gst_latency_ms: u32,
    /// First wait before reconnecting a dead stream; doubles on each failure.
    pub reconnect_initial_ms: u64,
    /// Longest wait between reconnection attempts.
    pub reconnect_max_ms: u64,
    /// A stream that delivers no frame for this long is treated as dead.
    pub stall_timeout_ms: u64,

    /// Detector input size `[width, height]`; must match the detector model.
    pub detection_size: [u32; 2],
    /// Minimum detector confidence (0-1) for a face.
    pub detection_score_threshold: f32,
    /// Overlap (IOU) above which two detections are the same face (NMS).
    pub nms_iou_threshold: f32,
    /// Faces smaller than this (shorter box side, in stream pixels) are ignored.
    pub min_face_size: u32,
    /// Minimum variance of the Laplacian of the aligned 112x112 face; lower is blurred.
    pub blur_threshold: f32,
    /// Minimum mean brightness (0-255) of the aligned face.
    pub brightness_min: f32,
    /// Maximum mean brightness (0-255) of the aligned face.
    pub brightness_max: f32,
    /// Minimum cosine similarity between a face and an enrolled template.
    pub recognition_threshold: f32,

    /// Minimum IOU between a detection and a track's last box to continue the track.
    pub tracker_iou_threshold: f32,
    /// Frames a track survives without a matching detection.
    pub tracker_max_misses: u32,
    /// Number of latest per-frame recognitions of a track that are voted on.
    pub smoothing_window: usize,
    /// Votes for one identity (within the window) needed before it is reported.
    pub smoothing_min_votes: usize,
    /// Capacity of each camera's recognition channel.
    pub recognition_channel_capacity: usize,
    /// While an employee stays in view, a sighting is reported at most this often per camera
    /// (keeps them present; must stay well below the presence timeout).
    pub sighting_interval_sec: u32,
    /// A settled track's face is embedded again this often (and when its box jumps) to catch
    /// a person taking over the track; in between the settled identity is shown. Each track
    /// scales it by its own draw from [`crate::track::REVERIFY_SPREAD`].
    pub reverify_interval_ms: u64,
}

impl Default for InferenceConfig {
    fn default() -> Self {
        Self {
            models_dir: PathBuf::from("models"),
            onnxruntime_library: None,
            providers: vec![Provider::Tensorrt, Provider::Cuda, Provider::Cpu],
            inference_threads: 1,
            inference_workers: 0,
            decoder_threads: 1,
            embedding_batch: None,
            fps_target: 8,
            stream_max_width: 720,
            motion_gating: true,
            motion_threshold: 12,
            motion_min_area: 0.002,
            motion_refresh_ms: 2_000,
            idle_key_frames_only: true,
            jpeg_quality: 80,
            rtsp_protocol: RtspProtocol::Tcp,
            gst_latency_ms: 200,
            reconnect_initial_ms: 500,
            reconnect_max_ms: 30_000,
            stall_timeout_ms: 10_000,
            detection_size: [320, 240],
            detection_score_threshold: 0.8,
            nms_iou_threshold: 0.4,
            min_face_size: 40,
            blur_threshold: 30.0,
            brightness_min: 40.0,
            brightness_max: 220.0,
            recognition_threshold: 0.4,
            tracker_iou_threshold: 0.3,
            tracker_max_misses: 8,
            smoothing_window: 5,
            smoothing_min_votes: 3,
            recognition_channel_capacity: 64,
            sighting_interval_sec: 15,
            reverify_interval_ms: 1_000,
        }
    }
}

/// A setting with a value the pipeline cannot work with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid inference setting `{key}`: {reason}")]
pub struct ConfigError {
    /// The offending key, as written in the config file.
    pub key: &'static str,
    /// What is wrong and which values are accepted.
    pub reason: String,
}

fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        key,
        reason: reason.into(),
    }
}

fn in_range<T: PartialOrd + std::fmt::Display>(
    key: &'static str,
    value: T,
    min: T,
    max: T,
) -> Result<(), ConfigError> {
    if value < min || value > max {
        return Err(invalid(key, format!("{value} is outside {min}..={max}")));
    }
    Ok(())
}

fn unit_interval(key: &'static str, value: f32) -> Result<(), ConfigError> {
    if !(value > 0.0 && value < 1.0) {
        return Err(invalid(
            key,
            format!("{value} must be between 0 and 1 (exclusive)"),
        ));
    }
    Ok(())
}

impl InferenceConfig {
    /// Checks every value; the first problem found is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.providers.is_empty() {
            return Err(invalid(
                "providers",
                "list at least one of tensorrt, cuda, cpu",
            ));
        }
        for (i, p) in self.providers.iter().enumerate() {
            if self.providers[..i].contains(p) {
                return Err(invalid("providers", format!("{p:?} is listed twice")));
            }
        }
        in_range("inference_threads", self.inference_threads, 0, 256)?;
        in_range("inference_workers", self.inference_workers, 0, 256)?;
        in_range("decoder_threads", self.decoder_threads, 0, 64)?;
        if let Some(batch) = &self.embedding_batch {
            in_range("embedding_batch.max_faces", batch.max_faces, 1, 256)?;
            in_range("embedding_batch.wait_ms", batch.wait_ms, 0, 1_000)?;
        }
        in_range("fps_target", self.fps_target, 1, 60)?;
        in_range("motion_threshold", self.motion_threshold, 1, 254)?;
        unit_interval("motion_min_area", self.motion_min_area)?;
        in_range("motion_refresh_ms", self.motion_refresh_ms, 100, 600_000)?;
        in_range("stream_max_width", self.stream_max_width, 160, 3840)?;
        in_range("jpeg_quality", self.jpeg_quality, 1, 100)?;
        in_range("gst_latency_ms", self.gst_latency_ms, 0, 10_000)?;
        in_range(
            "reconnect_initial_ms",
            self.reconnect_initial_ms,
            10,
            600_000,
        )?;
        if self.reconnect_max_ms < self.reconnect_initial_ms {
            return Err(invalid(
                "reconnect_max_ms",
                format!(
                    "{} is below reconnect_initial_ms ({})",
                    self.reconnect_max_ms, self.reconnect_initial_ms
                ),
            ));
        }
        in_range("reconnect_max_ms", self.reconnect_max_ms, 10, 3_600_000)?;
        in_range("stall_timeout_ms", self.stall_timeout_ms, 1_000, 600_000)?;
        for side in self.detection_size {
            in_range("detection_size", side, 32, 4096)?;
        }
        unit_interval("detection_score_threshold", self.detection_score_threshold)?;
        unit_interval("nms_iou_threshold", self.nms_iou_threshold)?;
        in_range("min_face_size", self.min_face_size, 8, 4096)?;
        if self.blur_threshold.is_nan() || self.blur_threshold < 0.0 {
            return Err(invalid(
                "blur_threshold",
                "must be 0 or more (0 disables the check)",
            ));
        }
        in_range("brightness_min", self.brightness_min, 0.0, 255.0)?;
        in_range("brightness_max", self.brightness_max, 0.0, 255.0)?;
        if self.brightness_min >= self.brightness_max {
            return Err(invalid(
                "brightness_min",
                format!(
                    "{} must be below brightness_max ({})",
                    self.brightness_min, self.brightness_max
                ),
            ));
        }
        unit_interval("recognition_threshold", self.recognition_threshold)?;
        unit_interval("tracker_iou_threshold", self.tracker_iou_threshold)?;
        in_range("tracker_max_misses", self.tracker_max_misses, 0, 1_000)?;
        in_range("smoothing_window", self.smoothing_window, 1, 100)?;
        if self.smoothing_min_votes == 0 || self.smoothing_min_votes > self.smoothing_window {
            return Err(invalid(
                "smoothing_min_votes",
                format!(
                    "{} must be between 1 and smoothing_window ({})",
                    self.smoothing_min_votes, self.smoothing_window
                ),
            ));
        }
        in_range(
            "recognition_channel_capacity",
            self.recognition_channel_capacity,
            1,
            100_000,
        )?;
        in_range(
            "sighting_interval_sec",
            self.sighting_interval_sec,
            1,
            3_600,
        )?;
        in_range(
            "reverify_interval_ms",
            self.reverify_interval_ms,
            100,
            60_000,
        )?;
        Ok(())
    }

    /// The number of inference workers: `inference_workers`, or one per core this process may
    /// use (its CPU affinity, so `taskset -c 0` means one).
    pub fn worker_count(&self) -> usize {
        match self.inference_workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    /// The ONNX Runtime library to load: the configured one, else
    /// `ORT_DYLIB_PATH`, else `<models_dir>/libonnxruntime.so`.
    pub fn onnxruntime_library_path(&self) -> PathBuf {
        if let Some(path) = &self.onnxruntime_library {
            return path.clone();
        }
        match std::env::var_os("ORT_DYLIB_PATH") {
            Some(path) if !path.is_empty() => PathBuf::from(path),
            _ => self.models_dir.join("libonnxruntime.so"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err_key(cfg: InferenceConfig) -> &'static str {
        cfg.validate().expect_err("config should be rejected").key
    }

    #[test]
    fn defaults_are_valid() {
        InferenceConfig::default().validate().unwrap();
    }

    #[test]
    fn bad_values_name_their_key() {
        let d = InferenceConfig::default;
        assert_eq!(
            err_key(InferenceConfig {
                fps_target: 0,
                ..d()
            }),
            "fps_target"
        );
        assert_eq!(
            err_key(InferenceConfig {
                stream_max_width: 10,
                ..d()
            }),
            "stream_max_width"
        );
        assert_eq!(
            err_key(InferenceConfig {
                jpeg_quality: 0,
                ..d()
            }),
            "jpeg_quality"
        );
        assert_eq!(
            err_key(InferenceConfig {
                providers: vec![],
                ..d()
            }),
            "providers"
        );
        assert_eq!(
            err_key(InferenceConfig {
                providers: vec![Provider::Cpu, Provider::Cpu],
                ..d()
            }),
            "providers"
        );
        assert_eq!(
            err_key(InferenceConfig {
                reconnect_initial_ms: 5_000,
                reconnect_max_ms: 1_000,
                ..d()
            }),
            "reconnect_max_ms"
        );
        assert_eq!(
            err_key(InferenceConfig {
                recognition_threshold: 1.5,
                ..d()
            }),
            "recognition_threshold"
        );
        assert_eq!(
            err_key(InferenceConfig {
                detection_score_threshold: f32::NAN,
                ..d()
            }),
            "detection_score_threshold"
        );
        assert_eq!(
            err_key(InferenceConfig {
                brightness_min: 200.0,
                brightness_max: 100.0,
                ..d()
            }),
            "brightness_min"
        );
        assert_eq!(
            err_key(InferenceConfig {
                smoothing_window: 3,
                smoothing_min_votes: 4,
                ..d()
            }),
            "smoothing_min_votes"
        );
        assert_eq!(
            err_key(InferenceConfig {
                blur_threshold: -1.0,
                ..d()
            }),
            "blur_threshold"
        );
        assert_eq!(
            err_key(InferenceConfig {
                sighting_interval_sec: 0,
                ..d()
            }),
            "sighting_interval_sec"
        );
        assert_eq!(
            err_key(InferenceConfig {
                reverify_interval_ms: 10,
                ..d()
            }),
            "reverify_interval_ms"
        );
        assert_eq!(
            err_key(InferenceConfig {
                motion_min_area: 0.0,
                ..d()
            }),
            "motion_min_area"
        );
        assert_eq!(
            err_key(InferenceConfig {
                motion_threshold: 0,
                ..d()
            }),
            "motion_threshold"
        );
        assert_eq!(
            err_key(InferenceConfig {
                motion_refresh_ms: 10,
                ..d()
            }),
            "motion_refresh_ms"
        );
        assert_eq!(
            err_key(InferenceConfig {
                detection_size: [320, 0],
                ..d()
            }),
            "detection_size"
        );
        assert_eq!(
            err_key(InferenceConfig {
                embedding_batch: Some(EmbeddingBatch {
                    max_faces: 0,
                    wait_ms: 4
                }),
                ..d()
            }),
            "embedding_batch.max_faces"
        );
    }

    #[test]
    fn error_message_is_readable() {
        let err = InferenceConfig {
            fps_target: 0,
            ..InferenceConfig::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid inference setting `fps_target`: 0 is outside 1..=60"
        );
    }

    #[test]
    fn example_file_documents_every_key_with_its_default() {
        use figment::providers::{Format, Toml};
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/ai.example.toml");
        let cfg: InferenceConfig = figment::Figment::new()
            .merge(Toml::file_exact(path))
            .extract()
            .expect("config/ai.example.toml parses");
        assert_eq!(cfg, InferenceConfig::default());
        // Every key appears uncommented (so the file cannot drift from the struct).
        let text = std::fs::read_to_string(path).unwrap();
        let all = serde_json::to_value(InferenceConfig::default()).unwrap();
        for key in all.as_object().unwrap().keys() {
            let documented = text.lines().any(|l| {
                let l = l.trim_start_matches("# ");
                l.starts_with(&format!("{key} ="))
            });
            assert!(documented, "{key} missing from config/ai.example.toml");
        }
    }

    #[test]
    fn partial_sources_fall_back_to_defaults_and_typos_are_rejected() {
        use figment::providers::{Format, Toml};
        let cfg: InferenceConfig = figment::Figment::new()
            .merge(Toml::string(
                "fps_target = 5\nrtsp_protocol = \"udp\"\nproviders = [\"cpu\"]",
            ))
            .extract()
            .unwrap();
        assert_eq!(cfg.fps_target, 5);
        assert_eq!(cfg.rtsp_protocol, RtspProtocol::Udp);
        assert_eq!(cfg.providers, vec![Provider::Cpu]);
        assert_eq!(cfg.stream_max_width, 720);
        assert_eq!(cfg.embedding_batch, None, "off by default");

        let batched: InferenceConfig = figment::Figment::new()
            .merge(Toml::string(
                "embedding_batch = { max_faces = 32, wait_ms = 4 }",
            ))
            .extract()
            .unwrap();
        assert_eq!(
            batched.embedding_batch,
            Some(EmbeddingBatch {
                max_faces: 32,
                wait_ms: 4
            })
        );

        let typo = figment::Figment::new()
            .merge(Toml::string("fps_targett = 5"))
            .extract::<InferenceConfig>();
        assert!(typo.is_err());
        let bad_enum = figment::Figment::new()
            .merge(Toml::string("rtsp_protocol = \"http\""))
            .extract::<InferenceConfig>();
        assert!(bad_enum.is_err());
    }
}
