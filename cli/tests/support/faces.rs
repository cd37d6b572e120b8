//! Faces for the tests that run the real server with its cameras: the registry-packaged models
//! and photos (`scripts/setup-inference.sh`), an AI parameters file pointing at them, head shots
//! to put in front of a camera, and enrolment from a photo through the public GraphQL API.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use facewatch_inference::synthetic::head_shot;
use facewatch_inference::{FaceEngine, InferenceConfig, Provider};
use image::RgbImage;
use serde_json::json;

use super::Api;

pub fn models_dir() -> PathBuf {
    std::env::var_os("FACEWATCH_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../models")))
}

pub fn photo(name: &str) -> Vec<u8> {
    std::fs::read(models_dir().join("test-images").join(name))
        .expect("run scripts/setup-inference.sh")
}

/// Writes `dir/ai.toml`: the models, CPU, one inference thread, then `extra` (TOML lines).
pub fn ai_params(dir: &Path, extra: &str) -> PathBuf {
    let file = dir.join("ai.toml");
    let models = models_dir().canonicalize().expect("models folder");
    std::fs::write(
        &file,
        format!("models_dir = {models:?}\nproviders = [\"cpu\"]\ninference_threads = 1\n{extra}"),
    )
    .expect("write AI parameters");
    file
}

/// The face of photo `name`, cropped and scaled so the face is about 110 px wide.
pub fn head_shot_of(name: &str) -> RgbImage {
    let engine = FaceEngine::new(&InferenceConfig {
        models_dir: models_dir(),
        providers: vec![Provider::Cpu],
        inference_threads: 1,
        ..InferenceConfig::default()
    })
    .expect("face models");
    let face = image::load_from_memory(&photo(name))
        .expect("a photo")
        .to_rgb8();
    head_shot(&engine, &face, 110.0).expect("a face in the photo")
}

/// Enrols `name` (code `code`) with photo `photo_name` as the FRONT face; the new employee's id.
pub async fn enrol(api: &Api, name: &str, code: &str, photo_name: &str) -> anyhow::Result<String> {
    let enrolled = api
        .gql_data(
            "mutation($name: String!, $code: String!) {
               enrollEmployee(input: {name: $name, code: $code}) { id } }",
            json!({"name": name, "code": code}),
        )
        .await?;
    let id = enrolled["enrollEmployee"]["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no id in {enrolled}"))?
        .to_string();
    let b64 = base64::engine::general_purpose::STANDARD.encode(photo(photo_name));
    api.gql_data(
        "mutation($id: String!, $photo: String!) {
           enrollFacePhoto(employeeId: $id, pose: FRONT, photoBase64: $photo) { faceTemplates } }",
        json!({"id": id, "photo": b64}),
    )
    .await?;
    Ok(id)
}
