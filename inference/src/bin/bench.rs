//! Frames per second per CPU core of detect + landmarks + align + embed +
//! track on a real photo scaled to the stream width (720 px by default).
//!
//! ```text
//! cargo run --release -p facewatch-inference --bin bench -- \
//!     [--models models] [--image models/test-images/debate.jpg] [--frames 50]
//! ```

use std::path::PathBuf;
use std::time::{Duration, Instant};

use facewatch_inference::track::{Tracker, TrackerConfig, Vote};
use facewatch_inference::{align_face, FaceEngine, Gallery, InferenceConfig, Provider};
use image::imageops::{self, FilterType};

struct Args {
    models: PathBuf,
    image: Option<PathBuf>,
    frames: u32,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        models: PathBuf::from("models"),
        image: None,
        frames: 50,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--models" => args.models = PathBuf::from(value()?),
            "--image" => args.image = Some(PathBuf::from(value()?)),
            "--frames" => args.frames = value()?.parse().map_err(|e| format!("--frames: {e}"))?,
            "-h" | "--help" => {
                return Err("usage: bench [--models DIR] [--image PATH] [--frames N]".into());
            }
            other => return Err(format!("unknown argument {other} (see --help)")),
        }
    }
    Ok(args)
}

fn ms(d: Duration, n: u32) -> f64 {
    d.as_secs_f64() * 1000.0 / n as f64
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let cfg = InferenceConfig {
        models_dir: args.models.clone(),
        providers: vec![Provider::Cpu],
        inference_threads: 1,
        ..InferenceConfig::default()
    };
    cfg.validate()?;
    let image_path = args
        .image
        .unwrap_or_else(|| args.models.join("test-images").join("debate.jpg"));
    let photo = image::open(&image_path)
        .map_err(|e| format!("{}: {e}", image_path.display()))?
        .to_rgb8();
    let width = cfg.stream_max_width;
    let height = (photo.height() as f32 * width as f32 / photo.width() as f32).round() as u32;
    let frame = imageops::resize(&photo, width, height, FilterType::Triangle);

    let engine = FaceEngine::new(&cfg)?;
    let mut gallery = Gallery::new();
    for (i, face) in engine.detect(&frame)?.iter().enumerate() {
        if let Some(aligned) = align_face(&frame, &face.landmarks) {
            gallery.insert(format!("person-{i}"), engine.embed(&aligned)?)?;
        }
    }
    let mut tracker = Tracker::new(TrackerConfig::from_config(&cfg));

    // Warm-up run (ONNX Runtime allocates on the first inference).
    engine.detect(&frame)?;

    let (mut detect_t, mut embed_t, mut faces_seen) = (Duration::ZERO, Duration::ZERO, 0usize);
    let started = Instant::now();
    for _ in 0..args.frames {
        let t = Instant::now();
        let faces = engine.detect(&frame)?;
        detect_t += t.elapsed();
        let boxes: Vec<_> = faces.iter().map(|f| f.bbox).collect();
        let ids = tracker.update(&boxes);
        let t = Instant::now();
        for (face, id) in faces.iter().zip(ids) {
            let Some(aligned) = align_face(&frame, &face.landmarks) else {
                continue;
            };
            let embedding = engine.embed(&aligned)?;
            let vote = gallery
                .identify(&embedding, cfg.recognition_threshold)
                .map_or(Vote::Unknown, Vote::Known);
            tracker.vote(id, vote);
        }
        embed_t += t.elapsed();
        faces_seen += faces.len();
    }
    let total = started.elapsed();
    let n = args.frames.max(1);
    println!(
        "image {} at {width}x{height}, {:.1} faces/frame, {} frames, 1 inference thread, {:?}",
        image_path.display(),
        faces_seen as f64 / n as f64,
        n,
        engine.provider()
    );
    println!("detect + landmarks: {:7.2} ms/frame", ms(detect_t, n));
    println!(
        "align + embed + match + vote: {:7.2} ms/frame",
        ms(embed_t, n)
    );
    println!(
        "total: {:7.2} ms/frame = {:.1} frames/s per core",
        ms(total, n),
        n as f64 / total.as_secs_f64()
    );
    Ok(())
}
