//! Frames per second per CPU core of detect + landmarks + align + embed +
//! track on a real photo scaled to the stream width (720 px by default), and
//! what that means in cameras per core at `fps_target`, for two ways of
//! recognising: embedding every face on every frame, and once per track (a
//! settled track is embedded again every `reverify_interval_ms`, as the camera
//! pipeline does).
//!
//! ```text
//! cargo run --release -p facewatch-inference --bin bench -- \
//!     [--models models] [--image models/test-images/debate.jpg] [--frames 50]
//! ```
//!
//! With `--batch 1,8,32` it measures embeddings per second instead: one face per run as the
//! workers do by default, then through the embedding batcher (`embedding_batch`, one run of N
//! faces) at each size, `--embeddings` faces each (default 256), on `--threads` ONNX Runtime
//! threads (default 1).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use facewatch_inference::track::{Tracker, TrackerConfig, Vote};
use facewatch_inference::{
    align_face, EmbeddingBatch, FaceEngine, Gallery, InferenceConfig, Provider,
};
use image::imageops::{self, FilterType};
use image::RgbImage;

struct Args {
    models: PathBuf,
    image: Option<PathBuf>,
    frames: u32,
    batch: Vec<usize>,
    embeddings: usize,
    threads: usize,
}

const USAGE: &str = "usage: bench [--models DIR] [--image PATH] [--frames N] \
                     [--batch N,N,...] [--embeddings N] [--threads N]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        models: PathBuf::from("models"),
        image: None,
        frames: 50,
        batch: Vec::new(),
        embeddings: 256,
        threads: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--models" => args.models = PathBuf::from(value()?),
            "--image" => args.image = Some(PathBuf::from(value()?)),
            "--frames" => args.frames = value()?.parse().map_err(|e| format!("--frames: {e}"))?,
            "--batch" => {
                args.batch = value()?
                    .split(',')
                    .map(|n| match n.trim().parse::<usize>() {
                        Ok(n) if (1..=256).contains(&n) => Ok(n),
                        _ => Err(format!("--batch: {n} is not a size in 1..=256")),
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--embeddings" => {
                args.embeddings = value()?.parse().map_err(|e| format!("--embeddings: {e}"))?;
            }
            "--threads" => {
                args.threads = value()?.parse().map_err(|e| format!("--threads: {e}"))?;
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other} (see --help)")),
        }
    }
    Ok(args)
}

fn ms(d: Duration, n: u32) -> f64 {
    d.as_secs_f64() * 1000.0 / n as f64
}

/// How the faces of a frame are recognised.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Every face of every frame is embedded and voted on (before issue 10).
    EveryFrame,
    /// Only unsettled tracks are embedded; settled ones every `reverify_interval_ms`.
    OncePerTrack,
}

struct Run {
    detect: Duration,
    recognise: Duration,
    total: Duration,
    faces: usize,
    embeddings: usize,
}

/// Analyses `frames` frames of `frame` as a camera at `fps_target` would see them (frame times
/// 1/fps_target apart), recognising as `mode` says.
fn run(
    mode: Mode,
    cfg: &InferenceConfig,
    engine: &FaceEngine,
    gallery: &Gallery,
    frame: &RgbImage,
    frames: u32,
) -> Result<Run, Box<dyn std::error::Error>> {
    let mut tracker = Tracker::new(TrackerConfig::from_config(cfg));
    let reverify = chrono::Duration::milliseconds(cfg.reverify_interval_ms as i64);
    let frame_gap = chrono::Duration::milliseconds(1000 / i64::from(cfg.fps_target));
    let start: DateTime<Utc> = Utc::now();
    let mut r = Run {
        detect: Duration::ZERO,
        recognise: Duration::ZERO,
        total: Duration::ZERO,
        faces: 0,
        embeddings: 0,
    };
    let started = Instant::now();
    for i in 0..frames {
        let at = start + frame_gap * i as i32;
        let t = Instant::now();
        let faces = engine.detect(frame)?;
        r.detect += t.elapsed();
        let boxes: Vec<_> = faces.iter().map(|f| f.bbox).collect();
        let ids = tracker.update(&boxes);
        let t = Instant::now();
        for (face, id) in faces.iter().zip(ids) {
            let settled = tracker
                .track(id)
                .is_some_and(|track| !track.needs_embedding(at, reverify));
            if mode == Mode::OncePerTrack && settled {
                continue;
            }
            let Some(aligned) = align_face(frame, &face.landmarks) else {
                continue;
            };
            let embedding = engine.embed(&aligned)?;
            r.embeddings += 1;
            let best = gallery.best(&embedding);
            tracker.embedded(id, at, best.as_ref().map(|m| m.similarity));
            let vote = match best {
                Some(m) if m.similarity >= cfg.recognition_threshold => Vote::Known(m),
                _ => Vote::Unknown,
            };
            tracker.vote(id, vote);
        }
        r.recognise += t.elapsed();
        r.faces += faces.len();
    }
    r.total = started.elapsed();
    Ok(r)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let cfg = InferenceConfig {
        models_dir: args.models.clone(),
        providers: vec![Provider::Cpu],
        inference_threads: args.threads,
        ..InferenceConfig::default()
    };
    cfg.validate()?;
    let image_path = args
        .image
        .clone()
        .unwrap_or_else(|| args.models.join("test-images").join("debate.jpg"));
    let photo = image::open(&image_path)
        .map_err(|e| format!("{}: {e}", image_path.display()))?
        .to_rgb8();
    let width = cfg.stream_max_width;
    let height = (photo.height() as f32 * width as f32 / photo.width() as f32).round() as u32;
    let frame = imageops::resize(&photo, width, height, FilterType::Triangle);

    if !args.batch.is_empty() {
        return bench_batches(&cfg, &frame, &args);
    }
    let engine = FaceEngine::new(&cfg)?;
    let mut gallery = Gallery::new();
    for (i, face) in engine.detect(&frame)?.iter().enumerate() {
        if let Some(aligned) = align_face(&frame, &face.landmarks) {
            gallery.insert(format!("person-{i}"), engine.embed(&aligned)?)?;
        }
    }
    // Warm-up run (ONNX Runtime allocates on the first inference).
    engine.detect(&frame)?;

    let n = args.frames.max(1);
    println!(
        "image {} at {width}x{height}, {} frames per mode at fps_target {}, 1 inference thread, {:?}",
        image_path.display(),
        n,
        cfg.fps_target,
        engine.provider()
    );
    for mode in [Mode::EveryFrame, Mode::OncePerTrack] {
        let r = run(mode, &cfg, &engine, &gallery, &frame, n)?;
        let fps = n as f64 / r.total.as_secs_f64();
        println!(
            "{mode:?}: {:.1} faces/frame, {:.2} embeddings/frame",
            r.faces as f64 / n as f64,
            r.embeddings as f64 / n as f64
        );
        println!("  detect + landmarks: {:7.2} ms/frame", ms(r.detect, n));
        println!(
            "  align + embed + match + vote: {:7.2} ms/frame",
            ms(r.recognise, n)
        );
        println!(
            "  total: {:7.2} ms/frame = {fps:.1} frames/s per core = {:.1} cameras per core at {} fps",
            ms(r.total, n),
            fps / f64::from(cfg.fps_target),
            cfg.fps_target
        );
    }
    Ok(())
}

/// Embeddings per second: one face per run (the default), then batches of each `--batch` size.
fn bench_batches(
    cfg: &InferenceConfig,
    frame: &RgbImage,
    args: &Args,
) -> Result<(), Box<dyn std::error::Error>> {
    let largest = args.batch.iter().copied().max().unwrap_or(1);
    // A window of 0: each request (one batch of N faces) runs at once, alone.
    let batched = InferenceConfig {
        embedding_batch: Some(EmbeddingBatch {
            max_faces: largest,
            wait_ms: 0,
        }),
        ..cfg.clone()
    };
    let engine = FaceEngine::new(&batched)?;
    let found: Vec<RgbImage> = engine
        .detect(frame)?
        .iter()
        .filter_map(|f| align_face(frame, &f.landmarks))
        .collect();
    if found.is_empty() {
        return Err("no face in the image".into());
    }
    let faces: Vec<RgbImage> = found.iter().cycle().take(largest).cloned().collect();
    let total = args.embeddings.max(1);
    println!(
        "{} faces from the image, {total} embeddings per size, {} ONNX Runtime thread(s), {:?}",
        found.len(),
        cfg.inference_threads,
        engine.provider()
    );
    engine.embed(&faces[0])?; // warm-up
    let started = Instant::now();
    for i in 0..total {
        engine.embed(&faces[i % faces.len()])?;
    }
    let single = total as f64 / started.elapsed().as_secs_f64();
    println!("one face per run (default): {single:8.1} embeddings/s");
    for &n in &args.batch {
        let batch = &faces[..n];
        for r in engine.embed_faces(batch) {
            r?; // warm-up (ONNX Runtime plans each new shape)
        }
        let runs = total.div_ceil(n);
        let started = Instant::now();
        for _ in 0..runs {
            for r in engine.embed_faces(batch) {
                r?;
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        let rate = (runs * n) as f64 / elapsed;
        println!(
            "batch {n:3} (batcher): {rate:8.1} embeddings/s, {:7.2} ms per run, x{:.2} vs one per run",
            elapsed * 1000.0 / runs as f64,
            rate / single
        );
    }
    Ok(())
}
