//! `facewatch demo`: the system's main job on a bundled video. The video is synthesised from the
//! registry-packaged face photos (scripts/fetch-models.sh) so that nothing large is committed.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use chrono::Utc;
use facewatch_cameras::{Vision, MODEL_ID};
use facewatch_domain::camera::{Camera, CameraCommand};
use facewatch_domain::employee::{Employee, EmployeeCommand, Pose, Profile};
use facewatch_inference::synthetic::{file_uri, frames_of, head_shot, write_video};
use facewatch_inference::FaceEngine;
use facewatch_store::EventStore;

/// Who is enrolled from which photo; the video shows them from other photos.
const CAST: [(&str, &str, &str); 2] = [
    ("demo-obama", "Barack Obama", "obama.jpg"),
    ("demo-biden", "Joe Biden", "biden.jpg"),
];
pub const CAMERA_ID: &str = "DEMO";

fn read_photo(photos: &Path, name: &str) -> anyhow::Result<Vec<u8>> {
    let path = photos.join(name);
    std::fs::read(&path).with_context(|| {
        format!(
            "{} is missing: run scripts/setup-inference.sh first",
            path.display()
        )
    })
}

/// Writes the demo video (once): Obama, an empty door, Biden beside an unenrolled visitor.
pub fn ensure_video(
    vision_config: &facewatch_inference::InferenceConfig,
    photos: &Path,
    data_dir: &Path,
) -> anyhow::Result<PathBuf> {
    let video = data_dir.join("demo").join("entrance.mp4");
    if video.exists() {
        return Ok(video);
    }
    std::fs::create_dir_all(video.parent().expect("has a parent"))?;
    let engine = FaceEngine::new(vision_config)?;
    let shot = |name: &str| -> anyhow::Result<image::RgbImage> {
        let img = image::load_from_memory(&read_photo(photos, name)?)?.to_rgb8();
        Ok(head_shot(&engine, &img, 110.0)?)
    };
    let mut frames = frames_of(&[], 2);
    frames.extend(frames_of(&[shot("obama2.jpg")?], 5));
    frames.extend(frames_of(&[], 3));
    frames.extend(frames_of(&[shot("biden.jpg")?, shot("astronaut.png")?], 5));
    frames.extend(frames_of(&[], 3));
    write_video(&frames, &video)?;
    Ok(video)
}

/// Enrols the cast and adds the demo camera, unless they exist already.
pub async fn seed(
    store: &EventStore,
    vision: &Vision,
    photos: &Path,
    video: &Path,
) -> anyhow::Result<()> {
    let now = Utc::now();
    for (id, name, photo) in CAST {
        if store.load::<Employee>(id).await?.is_active() {
            continue;
        }
        let profile = Profile {
            name: name.into(),
            code: id.to_uppercase(),
            department: "Demo".into(),
        };
        store
            .execute::<Employee>(id, EmployeeCommand::Enroll { profile, now })
            .await?;
        let embedding = vision
            .embed_photo(&read_photo(photos, photo)?)
            .map_err(|e| anyhow::anyhow!("cannot enrol {name} from {photo}: {e}"))?;
        let template = EmployeeCommand::AddFaceTemplate {
            template_id: format!("{id}-front"),
            pose: Pose::Front,
            embedding,
            model_id: MODEL_ID.into(),
            now,
        };
        store.execute::<Employee>(id, template).await?;
    }
    if !store.load::<Camera>(CAMERA_ID).await?.exists {
        let add = CameraCommand::Add {
            name: "Demo entrance".into(),
            location: "Bundled video".into(),
            stream_url: file_uri(video)?,
            enabled: true,
            now,
        };
        store.execute::<Camera>(CAMERA_ID, add).await?;
    }
    if !video.exists() {
        bail!("demo video {} vanished", video.display());
    }
    Ok(())
}
