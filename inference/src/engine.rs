//! The face engine: loads ONNX Runtime (dynamically, from the library that
//! `scripts/fetch-models.sh` extracts from the `onnxruntime` wheel), picks an
//! execution provider and holds the detector, landmark and embedding models.
//! One engine is shared (in an `Arc`) by all cameras.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

use image::RgbImage;
use ort::environment::Environment;
use ort::ep::{self, ExecutionProvider};
use ort::session::builder::SessionBuilder;
use ort::session::Session;
use ort::value::ValueType;

use crate::batch::{BatchStats, EmbeddingBatcher};
use crate::config::{InferenceConfig, Provider};
use crate::detect::{DetectedFace, Detector};
use crate::geometry::{BBox, Point};
use crate::pool::InferencePool;

/// File names of the models inside `models_dir`.
pub const DETECTOR_MODEL: &str = "fr_detect.onnx";
pub const LANDMARK_MODEL: &str = "fr_landmark.onnx";
pub const EMBEDDING_MODEL: &str = "fr_feature.onnx";
/// The embedding model with a dynamic batch dimension, for `embedding_batch`.
pub const EMBEDDING_BATCH_MODEL: &str = "fr_feature_batch.onnx";

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
    #[error("embedding batch of {faces} faces failed")]
    Batch {
        faces: usize,
        #[source]
        source: Arc<EngineError>,
    },
    #[error("the embedding batcher has stopped")]
    BatcherStopped,
    #[error("cannot start the embedding batcher: {0}")]
    BatcherThread(#[source] std::io::Error),
    /// One error for all the faces of a frame.
    #[error(transparent)]
    Shared(Arc<EngineError>),
}

/// Locks a mutex, ignoring poisoning (a panicked run leaves no broken state in a session).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The shape of the model's first input (`-1` for a dynamic dimension).
pub(crate) fn input_dims(session: &Session, name: &str) -> Result<Vec<i64>, EngineError> {
    let input = session
        .inputs()
        .first()
        .ok_or_else(|| EngineError::ModelOutput(format!("{name} has no input")))?;
    let ValueType::Tensor { shape, .. } = input.dtype() else {
        return Err(EngineError::ModelOutput(format!(
            "{name}: input is not a tensor"
        )));
    };
    Ok(shape.iter().copied().collect())
}

/// Fails unless the model's first input has `expected` shape (`-1` dims match anything).
pub(crate) fn check_input_shape(
    session: &Session,
    name: &str,
    expected: &[i64],
) -> Result<(), EngineError> {
    let dims = input_dims(session, name)?;
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

/// One copy of the three models: a model run needs its session to itself, so each inference
/// worker takes a set of its own and the workers never wait for each other.
struct Models {
    detector: Session,
    landmarker: Session,
    embedder: Session,
}

/// The sets of models not in use, and how many were loaded.
struct ModelSets {
    idle: Vec<Models>,
    loaded: usize,
}

/// A set of models taken from the engine; it goes back when dropped.
struct ModelsGuard<'a> {
    engine: &'a FaceEngine,
    models: Option<Models>,
}

impl std::ops::Deref for ModelsGuard<'_> {
    type Target = Models;
    fn deref(&self) -> &Models {
        self.models.as_ref().expect("present until dropped")
    }
}

impl std::ops::DerefMut for ModelsGuard<'_> {
    fn deref_mut(&mut self) -> &mut Models {
        self.models.as_mut().expect("present until dropped")
    }
}

impl Drop for ModelsGuard<'_> {
    fn drop(&mut self) {
        if let Some(models) = self.models.take() {
            lock(&self.engine.sets).idle.push(models);
            self.engine.returned.notify_one();
        }
    }
}

/// Detector, landmark and embedding models on one execution provider, and the inference
/// workers that analyse the frames of every camera ([`FaceEngine::pool`]).
pub struct FaceEngine {
    cfg: InferenceConfig,
    env: Environment,
    detector: Detector,
    provider: Provider,
    /// Model sets are loaded on demand, up to one per worker.
    sets: Mutex<ModelSets>,
    returned: Condvar,
    max_sets: usize,
    pool: OnceLock<InferencePool>,
    /// The shared embedding batcher, with `embedding_batch` set.
    batcher: Option<EmbeddingBatcher>,
}

impl FaceEngine {
    /// Loads ONNX Runtime and the three models from `cfg.models_dir`.
    pub fn new(cfg: &InferenceConfig) -> Result<Self, EngineError> {
        let env = environment(&cfg.onnxruntime_library_path())?;
        let detector = Detector::new(
            cfg.detection_size,
            cfg.detection_score_threshold,
            cfg.nms_iou_threshold,
        );
        let mut engine = Self {
            cfg: cfg.clone(),
            env,
            detector,
            provider: Provider::Cpu,
            sets: Mutex::new(ModelSets {
                idle: Vec::new(),
                loaded: 1,
            }),
            returned: Condvar::new(),
            max_sets: cfg.worker_count(),
            pool: OnceLock::new(),
            batcher: None,
        };
        let (first, provider) = engine.load_models()?;
        engine.provider = provider;
        lock(&engine.sets).idle.push(first);
        if let Some(settings) = cfg.embedding_batch {
            let (session, _) = engine.load(EMBEDDING_BATCH_MODEL)?;
            crate::embed::check_batch(&session)?;
            let run = crate::batch::session_runner(session);
            engine.batcher = Some(
                EmbeddingBatcher::start(settings, engine.max_sets, run)
                    .map_err(EngineError::BatcherThread)?,
            );
        }
        tracing::info!(?provider, models = %cfg.models_dir.display(), workers = engine.max_sets,
            embedding_batch = ?cfg.embedding_batch, "face engine ready");
        Ok(engine)
    }

    /// A session of the model `file` in `models_dir`, on the first usable provider.
    fn load(&self, file: &str) -> Result<(Session, Provider), EngineError> {
        let cfg = &self.cfg;
        let path = cfg.models_dir.join(file);
        if !path.is_file() {
            return Err(EngineError::ModelMissing { path });
        }
        let model_error = |source: ort::Error| EngineError::Model {
            path: path.clone(),
            source,
        };
        // ONNX Runtime's info messages (memory arenas, ...) are noise here. Spinning threads
        // would keep cores busy between frames; they sleep instead.
        let mut builder = Session::builder(&self.env)
            .and_then(|b| {
                b.with_log_level(ort::logging::LogLevel::Warning)
                    .map_err(Into::into)
            })
            .and_then(|b| b.with_intra_op_spinning(false).map_err(Into::into))
            .and_then(|b| b.with_inter_op_spinning(false).map_err(Into::into))
            .map_err(model_error)?;
        if cfg.inference_threads > 0 {
            builder = builder
                .with_intra_threads(cfg.inference_threads)
                .map_err(|e| model_error(e.into()))?;
        }
        let provider = register_provider(&mut builder, &cfg.providers);
        let session = builder.commit_from_file(&path).map_err(model_error)?;
        Ok((session, provider))
    }

    fn load_models(&self) -> Result<(Models, Provider), EngineError> {
        let (detector, provider) = self.load(DETECTOR_MODEL)?;
        let models = Models {
            detector,
            landmarker: self.load(LANDMARK_MODEL)?.0,
            embedder: self.load(EMBEDDING_MODEL)?.0,
        };
        self.detector.check(&models.detector, &models.landmarker)?;
        crate::embed::check(&models.embedder)?;
        Ok((models, provider))
    }

    /// A set of models of its own for the caller: an idle one, a newly loaded one while fewer
    /// than one per worker exist, else the next one returned.
    fn models(&self) -> Result<ModelsGuard<'_>, EngineError> {
        let mut sets = lock(&self.sets);
        loop {
            if let Some(models) = sets.idle.pop() {
                return Ok(ModelsGuard {
                    engine: self,
                    models: Some(models),
                });
            }
            if sets.loaded < self.max_sets {
                sets.loaded += 1;
                drop(sets);
                return match self.load_models() {
                    Ok((models, _)) => Ok(ModelsGuard {
                        engine: self,
                        models: Some(models),
                    }),
                    Err(e) => {
                        lock(&self.sets).loaded -= 1;
                        Err(e)
                    }
                };
            }
            sets = self
                .returned
                .wait(sets)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// The execution provider the models run on.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// The inference workers shared by every camera using this engine, started on first use
    /// (`inference_workers` threads, see [`crate::pool`]).
    pub fn pool(&self) -> &InferencePool {
        self.pool.get_or_init(|| InferencePool::new(self.max_sets))
    }

    /// Every face in `frame` (RGB), best detector score first, with its 5 landmarks.
    pub fn detect(&self, frame: &RgbImage) -> Result<Vec<DetectedFace>, EngineError> {
        let mut guard = self.models()?;
        let models = &mut *guard;
        self.detector
            .detect(&mut models.detector, &mut models.landmarker, frame)
    }

    /// The face boxes in `frame` with their detector scores, best first, without landmarks
    /// (see [`FaceEngine::landmarks`]): a camera following settled faces needs no landmarks.
    pub fn detect_boxes(&self, frame: &RgbImage) -> Result<Vec<(BBox, f32)>, EngineError> {
        let mut guard = self.models()?;
        self.detector.boxes(&mut guard.detector, frame)
    }

    /// The 5 alignment points of the face in `bbox` (a box from [`FaceEngine::detect_boxes`]).
    pub fn landmarks(&self, frame: &RgbImage, bbox: &BBox) -> Result<[Point; 5], EngineError> {
        crate::detect::landmarks(&mut self.models()?.landmarker, frame, bbox)
    }

    /// The unit-length embedding of a face aligned with [`crate::geometry::align_face`], in a run
    /// of its own (enrolment; the cameras use [`Self::embed_faces`]).
    pub fn embed(&self, aligned: &RgbImage) -> Result<Vec<f32>, EngineError> {
        crate::embed::embed(&mut self.models()?.embedder, aligned)
    }

    /// The embeddings of the aligned faces of one frame, in order: through the shared batcher with
    /// `embedding_batch` set (a failed batch fails every face of the frame), else one run per face
    /// on the caller's thread (a failed run fails that face only).
    pub fn embed_faces(&self, aligned: &[RgbImage]) -> Vec<Result<Vec<f32>, EngineError>> {
        if aligned.is_empty() {
            return Vec::new();
        }
        if let Some(batcher) = &self.batcher {
            return match batcher.embed(aligned) {
                Ok(vectors) => vectors.into_iter().map(Ok).collect(),
                Err(e) => shared_error(e, aligned.len()),
            };
        }
        match self.models() {
            Ok(mut models) => aligned
                .iter()
                .map(|face| crate::embed::embed(&mut models.embedder, face))
                .collect(),
            Err(e) => shared_error(e, aligned.len()),
        }
    }

    /// Model runs and faces of the embedding batcher; `None` without `embedding_batch`.
    pub fn batch_stats(&self) -> Option<BatchStats> {
        self.batcher.as_ref().map(EmbeddingBatcher::stats)
    }
}

/// `e` for each of `n` faces.
fn shared_error<T>(e: EngineError, n: usize) -> Vec<Result<T, EngineError>> {
    let e = Arc::new(e);
    (0..n)
        .map(|_| Err(EngineError::Shared(e.clone())))
        .collect()
}
