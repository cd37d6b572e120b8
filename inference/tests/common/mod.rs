//! Shared helpers for the integration tests: the models and photos come from
//! `scripts/fetch-models.sh` (run `scripts/setup-inference.sh` first).
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use facewatch_inference::{synthetic, FaceEngine, InferenceConfig, Provider};
use image::RgbImage;

pub fn models_dir() -> PathBuf {
    let dir = std::env::var_os("FACEWATCH_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../models")));
    assert!(
        dir.join("fr_detect.onnx").is_file(),
        "models missing in {}: run scripts/setup-inference.sh (or scripts/fetch-models.sh)",
        dir.display()
    );
    dir
}

/// Test config: CPU, models from the fetched folder, with `inference_threads`
/// kept low so parallel tests share the 2 cores fairly.
pub fn config() -> InferenceConfig {
    InferenceConfig {
        models_dir: models_dir(),
        providers: vec![Provider::Cpu],
        inference_threads: 1,
        ..InferenceConfig::default()
    }
}

pub fn engine() -> Arc<FaceEngine> {
    static ENGINE: OnceLock<Arc<FaceEngine>> = OnceLock::new();
    ENGINE
        .get_or_init(|| Arc::new(FaceEngine::new(&config()).expect("face engine loads")))
        .clone()
}

pub fn photo_bytes(name: &str) -> Vec<u8> {
    let path = models_dir().join("test-images").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn photo(name: &str) -> RgbImage {
    image::load_from_memory(&photo_bytes(name))
        .unwrap()
        .to_rgb8()
}

/// A `seconds`-long video of Obama and Biden side by side (110 px faces), written to `dir`;
/// returns its `file://` URI.
pub fn two_people_video(dir: &Path, seconds: u32) -> String {
    let people = [photo("obama2.jpg"), photo("biden.jpg")]
        .iter()
        .map(|p| synthetic::head_shot(&engine(), p, 110.0).unwrap())
        .collect::<Vec<_>>();
    let video = dir.join("two.mp4");
    synthetic::write_video(&synthetic::frames_of(&people, seconds), &video).unwrap();
    synthetic::file_uri(&video).unwrap()
}

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,ort=warn")),
        )
        .with_test_writer()
        .try_init();
}
