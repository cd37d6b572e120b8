//! The face engine: loads ONNX Runtime (dynamically, from the library that
//! `scripts/fetch-models.sh` extracts from the `onnxruntime` wheel), picks an
//! execution provider and holds the detector, landmark and embedding models.
//! One engine is shared (in an `Arc`) by all cameras.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use image::RgbImage;
use ort::environment::Environment;
use ort::ep::{self, ExecutionProvider};
use ort::session::builder::SessionBuilder;
use ort::session::Session;
use ort::value::ValueType;

use crate::config::{InferenceConfig, Provider};
use crate::detect::{DetectedFace, Detector};
use crate::embed::Embedder;

/// File names of the models inside `models_dir`.
pub const DETECTOR_MODEL: &str = "fr_detect.onnx";
pub const LANDMARK_MODEL: &str = "fr_landmark.onnx";
pub const EMBEDDING_MODEL: &str = "fr_feature.onnx";

/// Why the engine could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("ONNX Runtime library {path} not found (run scripts/fetch-models.sh, or set ORT_DYLIB_PATH)")]
    RuntimeMissing { path: PathBuf },
    #[error("cannot load ONNX Runtime from {path}: {reason}")]
    Runtime { path: PathBuf, reason: String },
    #[error("model {path} not found (run scripts/fetch-models.sh)")]
    ModelMissing { path: PathBuf },
    #[error("cannot load model {path}: {source}")]
    Model { path: PathBuf, source: ort::Error },
    #[error("unexpected model output: {0}")]
    ModelOutput(String),
    #[error("inference failed: {0}")]
    Inference(#[from] ort::Error),
}

/// Locks a mutex, ignoring poisoning (a panicked run leaves no broken state in a session).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Fails unless the model's first input has `expected` shape (`-1` dims match anything).
pub(crate) fn check_input_shape(
    session: &Session,
    name: &str,
    expected: &[i64],
) -> Result<(), EngineError> {
    let input = session
        .inputs()
        .first()
        .ok_or_else(|| EngineError::ModelOutput(format!("{name} has no input")))?;
    let ValueType::Tensor { shape, .. } = input.dtype() else {
        return Err(EngineError::ModelOutput(format!(
            "{name}: input is not a tensor"
        )));
    };
    let dims: Vec<i64> = shape.iter().copied().collect();
    let matches =
        dims.len() == expected.len() && dims.iter().zip(expected).all(|(d, e)| *d < 0 || d == e);
    if !matches {
        return Err(EngineError::ModelOutput(format!(
            "{name} takes input {dims:?}, configured for {expected:?} (check detection_size)"
        )));
    }
    Ok(())
}

/// The process-wide ONNX Runtime environment. ONNX Runtime can be loaded only
/// once per process; later engines reuse it whatever library they name.
static ENVIRONMENT: Mutex<Option<Environment>> = Mutex::new(None);

fn environment(library: &Path) -> Result<Environment, EngineError> {
    let mut env = lock(&ENVIRONMENT);
    if let Some(env) = env.as_ref() {
        return Ok(env.clone());
    }
    if !library.is_file() {
        return Err(EngineError::RuntimeMissing {
            path: library.to_path_buf(),
        });
    }
    let runtime_error = |reason: String| EngineError::Runtime {
        path: library.to_path_buf(),
        reason,
    };
    let built = ort::init_from(library)
        .map_err(|e| runtime_error(e.to_string()))?
        .with_name("facewatch")
        .build()
        .map_err(|e| runtime_error(e.to_string()))?;
    *env = Some(built.clone());
    Ok(built)
}

/// Registers the first usable provider of `wanted` on `builder` and says which
/// one it was; CPU when none of the accelerators is available.
fn register_provider(builder: &mut SessionBuilder, wanted: &[Provider]) -> Provider {
    for provider in wanted {
        let result = match provider {
            Provider::Cpu => return Provider::Cpu,
            Provider::Tensorrt => try_register(builder, ep::TensorRT::default()),
            Provider::Cuda => try_register(builder, ep::CUDA::default()),
        };
        match result {
            Ok(()) => return *provider,
            Err(reason) => tracing::debug!(?provider, %reason, "execution provider not used"),
        }
    }
    Provider::Cpu
}

fn try_register<E: ExecutionProvider>(
    builder: &mut SessionBuilder,
    provider: E,
) -> Result<(), String> {
    match E::is_available() {
        Ok(true) => provider.register(builder).map_err(|e| e.to_string()),
        Ok(false) => Err("not compiled into this ONNX Runtime library".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Detector, landmark and embedding models on one execution provider.
pub struct FaceEngine {
    detector: Detector,
    embedder: Embedder,
    provider: Provider,
}

impl FaceEngine {
    /// Loads ONNX Runtime and the three models from `cfg.models_dir`.
    pub fn new(cfg: &InferenceConfig) -> Result<Self, EngineError> {
        let env = environment(&cfg.onnxruntime_library_path())?;
        let mut provider = Provider::Cpu;
        let mut load = |file: &str| -> Result<Session, EngineError> {
            let path = cfg.models_dir.join(file);
            if !path.is_file() {
                return Err(EngineError::ModelMissing { path });
            }
            let model_error = |source: ort::Error| EngineError::Model {
                path: path.clone(),
                source,
            };
            // ONNX Runtime's info messages (memory arenas, ...) are noise here.
            let mut builder = Session::builder(&env)
                .and_then(|b| {
                    b.with_log_level(ort::logging::LogLevel::Warning)
                        .map_err(Into::into)
                })
                .map_err(model_error)?;
            if cfg.inference_threads > 0 {
                builder = builder
                    .with_intra_threads(cfg.inference_threads)
                    .map_err(|e| model_error(e.into()))?;
            }
            provider = register_provider(&mut builder, &cfg.providers);
            builder.commit_from_file(&path).map_err(model_error)
        };
        let detector = Detector::new(
            load(DETECTOR_MODEL)?,
            load(LANDMARK_MODEL)?,
            cfg.detection_size,
            cfg.detection_score_threshold,
            cfg.nms_iou_threshold,
        )?;
        let embedder = Embedder::new(load(EMBEDDING_MODEL)?)?;
        tracing::info!(?provider, models = %cfg.models_dir.display(), "face engine ready");
        Ok(Self {
            detector,
            embedder,
            provider,
        })
    }

    /// The execution provider the models run on.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// Every face in `frame` (RGB), best detector score first, with its 5 landmarks.
    pub fn detect(&self, frame: &RgbImage) -> Result<Vec<DetectedFace>, EngineError> {
        self.detector.detect(frame)
    }

    /// The unit-length embedding of a face aligned with [`crate::geometry::align_face`].
    pub fn embed(&self, aligned: &RgbImage) -> Result<Vec<f32>, EngineError> {
        self.embedder.embed(aligned)
    }
}
