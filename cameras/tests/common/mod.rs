//! Shared by the camera tests: models and photos from `scripts/setup-inference.sh`, enrolment
//! and cameras through the application layer, test videos made from the photos.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};

use facewatch_app::testing::TestApp;
use facewatch_app::{App, CameraInput, CommandContext, EmployeeInput};
use facewatch_cameras::{Vision, MODEL_ID};
use facewatch_domain::camera::StreamScheme;
use facewatch_domain::employee::Pose;
use facewatch_domain::presence::PresenceEvent;
use facewatch_domain::AnyEvent;
use facewatch_inference::synthetic::{head_shot, write_video};
use facewatch_inference::{FaceEngine, InferenceConfig, Provider};
use facewatch_store::{EventFeed, RecordedEvent};
use image::RgbImage;

/// A test app whose cameras may play files: the footage here is generated video files, which
/// the server's configuration only allows for demos and tests.
pub async fn spawn_app(database: &str) -> TestApp {
    TestApp::spawn_with(database, |app| {
        app.with_stream_schemes(StreamScheme::ALL.to_vec())
    })
    .await
}

pub fn models_dir() -> PathBuf {
    std::env::var_os("FACEWATCH_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../models")))
}

pub fn photo(name: &str) -> Vec<u8> {
    let path = models_dir().join("test-images").join(name);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/setup-inference.sh)", path.display()))
}

pub fn config() -> InferenceConfig {
    InferenceConfig {
        models_dir: models_dir(),
        providers: vec![Provider::Cpu],
        inference_threads: 1,
        ..InferenceConfig::default()
    }
}

pub fn decode(jpeg: &[u8]) -> RgbImage {
    image::load_from_memory(jpeg).unwrap().to_rgb8()
}

/// Writes the video whose frames `scenes` makes from a head shot maker (face about 110 px wide).
pub fn make_video(path: &Path, scenes: impl FnOnce(&dyn Fn(&str) -> RgbImage) -> Vec<RgbImage>) {
    let engine = FaceEngine::new(&config()).unwrap();
    let shot = |name: &str| head_shot(&engine, &decode(&photo(name)), 110.0).unwrap();
    write_video(&scenes(&shot), path).unwrap();
}

/// Enrols through the application layer; returns the new employee's id.
pub async fn enrol(
    app: &App,
    ctx: &CommandContext,
    vision: &Vision,
    name: &str,
    photo_name: &str,
) -> String {
    let input = EmployeeInput {
        name: name.into(),
        code: name.to_uppercase(),
        department: "Test".into(),
    };
    let id = app.enroll_employee(ctx, input).await.unwrap().id;
    let embedding = vision.embed_photo(&photo(photo_name)).unwrap();
    app.add_face_template(ctx, &id, Pose::Front, embedding, MODEL_ID.into())
        .await
        .unwrap();
    id
}

pub async fn add_camera(app: &App, ctx: &CommandContext, id: &str, url: &str) {
    let camera = CameraInput {
        id: Some(id.into()),
        name: format!("Camera {id}"),
        location: "Entrance".into(),
        stream_url: url.into(),
        enabled: true,
    };
    app.add_camera(ctx, camera).await.unwrap();
}

/// The presence events of the whole log, in order.
pub async fn presence_events(feed: &EventFeed) -> Vec<(RecordedEvent, PresenceEvent)> {
    feed.read_after(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match &e.event {
            AnyEvent::Presence(p) => {
                let p = p.clone();
                Some((e, p))
            }
            _ => None,
        })
        .collect()
}
