//! Embedding batches across cameras (`embedding_batch`, meant for GPU execution providers): the
//! inference workers hand the aligned faces of their frame to one shared batcher thread, which runs
//! every face handed in within `wait_ms` of the first (up to `max_faces` per run) through a copy of
//! the embedding model with a dynamic batch dimension (`fr_feature_batch.onnx`), and gives each
//! worker its vectors back.
//!
//! On a GPU a run of 32 faces should cost little more than a run of one (not measured here: no
//! GPU), so batching turns many small runs into few; on a CPU the work per face stays the same and
//! the workers' runs, which go in parallel, become one thread's: off by default (the README has the
//! CPU numbers).
//!
//! The batcher blocks on its queue (no polling); the queue holds at most one request per worker
//! (each worker waits for its answer) and a run that fails fails only the faces in it, each with
//! [`EngineError::Batch`] naming the cause.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use image::RgbImage;
use ort::session::Session;
use ort::value::TensorRef;

use crate::config::EmbeddingBatch;
use crate::embed::{l2_normalize, preprocess};
use crate::engine::EngineError;
use crate::geometry::ALIGNED_SIZE;

/// Floats of one preprocessed face (`3 × 112 × 112`).
pub const FACE_LEN: usize = 3 * (ALIGNED_SIZE as usize) * (ALIGNED_SIZE as usize);

/// Runs the embedding model on `n` preprocessed faces laid end to end; one raw vector per face.
pub type RunBatch = Box<dyn FnMut(&[f32], usize) -> Result<Vec<Vec<f32>>, EngineError> + Send>;

/// The faces of one frame and where their vectors go.
struct Request {
    faces: Vec<f32>,
    count: usize,
    reply: mpsc::SyncSender<Result<Vec<Vec<f32>>, EngineError>>,
}

/// How many model runs the batcher made, for how many faces.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchStats {
    pub runs: u64,
    pub faces: u64,
}

#[derive(Default)]
struct Counters {
    runs: AtomicU64,
    faces: AtomicU64,
}

/// The shared batcher: one thread that owns the batch model. Dropping it ends the thread.
pub struct EmbeddingBatcher {
    tx: Option<mpsc::SyncSender<Request>>,
    thread: Option<JoinHandle<()>>,
    counters: Arc<Counters>,
}

impl EmbeddingBatcher {
    /// Starts the batcher thread over `run`; `queue` bounds the requests waiting (one per worker).
    pub fn start(settings: EmbeddingBatch, queue: usize, run: RunBatch) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::sync_channel(queue.max(1));
        let counters = Arc::new(Counters::default());
        let thread_counters = counters.clone();
        let thread = std::thread::Builder::new()
            .name("embedding-batch".into())
            .spawn(move || serve(&rx, settings, run, &thread_counters))?;
        Ok(Self {
            tx: Some(tx),
            thread: Some(thread),
            counters,
        })
    }

    /// The unit-length embeddings of `aligned` faces (112x112), in order, from the next batch.
    pub fn embed(&self, aligned: &[RgbImage]) -> Result<Vec<Vec<f32>>, EngineError> {
        if aligned.is_empty() {
            return Ok(Vec::new());
        }
        let mut faces = Vec::with_capacity(aligned.len() * FACE_LEN);
        for face in aligned {
            if face.dimensions() != (ALIGNED_SIZE, ALIGNED_SIZE) {
                return Err(EngineError::ModelOutput(format!(
                    "aligned face must be {ALIGNED_SIZE}x{ALIGNED_SIZE}, got {:?}",
                    face.dimensions()
                )));
            }
            faces.extend(preprocess(face));
        }
        self.embed_preprocessed(faces, aligned.len())
    }

    /// As [`Self::embed`], for `count` faces already preprocessed and laid end to end.
    pub fn embed_preprocessed(
        &self,
        faces: Vec<f32>,
        count: usize,
    ) -> Result<Vec<Vec<f32>>, EngineError> {
        let (reply, answer) = mpsc::sync_channel(1);
        let request = Request {
            faces,
            count,
            reply,
        };
        let tx = self.tx.as_ref().ok_or(EngineError::BatcherStopped)?;
        tx.send(request).map_err(|_| EngineError::BatcherStopped)?;
        let mut vectors = answer.recv().map_err(|_| EngineError::BatcherStopped)??;
        for v in &mut vectors {
            l2_normalize(v);
        }
        Ok(vectors)
    }

    /// Model runs and faces so far.
    pub fn stats(&self) -> BatchStats {
        BatchStats {
            runs: self.counters.runs.load(Ordering::Relaxed),
            faces: self.counters.faces.load(Ordering::Relaxed),
        }
    }
}

impl Drop for EmbeddingBatcher {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The batcher thread: waits for a first request, gathers more for up to `wait_ms` or until
/// `max_faces`, runs them (in runs of at most `max_faces`) and answers each request.
fn serve(rx: &mpsc::Receiver<Request>, settings: EmbeddingBatch, mut run: RunBatch, c: &Counters) {
    let max_faces = settings.max_faces.max(1);
    let wait = Duration::from_millis(settings.wait_ms);
    while let Ok(first) = rx.recv() {
        let deadline = Instant::now() + wait;
        let mut faces = first.count;
        let mut batch = vec![first];
        while faces < max_faces {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(request) => {
                    faces += request.count;
                    batch.push(request);
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
        }
        let _span =
            tracing::debug_span!("embedding_batch", faces, requests = batch.len()).entered();
        answer(batch, max_faces, &mut run, c);
    }
}

/// Runs the faces of `batch` in runs of at most `max_faces` and answers every request: with its
/// vectors, or with the error of a run that held one of its faces.
fn answer(batch: Vec<Request>, max_faces: usize, run: &mut RunBatch, c: &Counters) {
    let data: Vec<f32> = batch.iter().flat_map(|r| r.faces.iter().copied()).collect();
    let total: usize = batch.iter().map(|r| r.count).sum();
    // One result per face: its vector, or the failed run's error.
    let mut results: Vec<Result<Vec<f32>, Arc<EngineError>>> = Vec::with_capacity(total);
    for chunk in data.chunks(max_faces * FACE_LEN) {
        let n = chunk.len() / FACE_LEN;
        c.runs.fetch_add(1, Ordering::Relaxed);
        c.faces.fetch_add(n as u64, Ordering::Relaxed);
        match run(chunk, n).and_then(|vectors| check_vectors(vectors, n)) {
            Ok(vectors) => results.extend(vectors.into_iter().map(Ok)),
            Err(e) => {
                tracing::warn!(faces = n, error = %e, "embedding batch failed");
                let e = Arc::new(e);
                results.extend((0..n).map(|_| Err(e.clone())));
            }
        }
    }
    let mut results = results.into_iter();
    for request in batch {
        let mine: Result<Vec<Vec<f32>>, Arc<EngineError>> =
            results.by_ref().take(request.count).collect();
        let mine = mine.map_err(|source| EngineError::Batch {
            faces: request.count,
            source,
        });
        // A worker that gave up waiting is no error of the batch.
        let _ = request.reply.send(mine);
    }
}

fn check_vectors(vectors: Vec<Vec<f32>>, n: usize) -> Result<Vec<Vec<f32>>, EngineError> {
    if vectors.len() != n {
        return Err(EngineError::ModelOutput(format!(
            "{} embeddings for a batch of {n} faces",
            vectors.len()
        )));
    }
    if vectors
        .iter()
        .any(|v| v.is_empty() || v.iter().any(|x| !x.is_finite()))
    {
        return Err(EngineError::ModelOutput(
            "the embedding model gave an empty or non-finite embedding".into(),
        ));
    }
    Ok(vectors)
}

/// A [`RunBatch`] over the batch model's session: input `[n, 3, 112, 112]`, output `[n, dim]`.
pub(crate) fn session_runner(mut session: Session) -> RunBatch {
    Box::new(move |faces: &[f32], n: usize| {
        let s = ALIGNED_SIZE as usize;
        let outputs = session.run(ort::inputs![TensorRef::from_array_view((
            [n, 3, s, s],
            faces
        ))?])?;
        let (_, raw) = outputs[0].try_extract_tensor::<f32>()?;
        if n == 0 || raw.is_empty() || raw.len() % n != 0 {
            return Err(EngineError::ModelOutput(format!(
                "{} floats for {n} faces",
                raw.len()
            )));
        }
        Ok(raw.chunks(raw.len() / n).map(<[f32]>::to_vec).collect())
    })
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
