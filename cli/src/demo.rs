//! `facewatch demo`: the system's main job on a bundled video. The video is synthesised from the
//! registry-packaged face photos (scripts/fetch-models.sh) so that nothing large is committed.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use facewatch_app::{Actor, App, CameraInput, CommandContext, EmployeeInput};
use facewatch_domain::employee::Pose;
use facewatch_inference::synthetic::{file_uri, frames_of, head_shot, write_video};
use facewatch_inference::FaceEngine;

/// Who is enrolled from which photo; the video shows them from other photos.
const CAST: [(&str, &str, &str); 2] = [
    ("DEMO-OBAMA", "Barack Obama", "obama.jpg"),
    ("DEMO-BIDEN", "Joe Biden", "biden.jpg"),
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

/// Enrols the cast and adds the demo camera through the application layer (actor
/// `system:demo`), unless they exist already. Each cast member's idempotency key is their code, so
/// a restarted demo addresses the same employees.
pub async fn seed(app: &App, photos: &Path, video: &Path) -> anyhow::Result<()> {
    let demo = CommandContext::new(Actor::system("demo"));
    for (code, name, photo) in CAST {
        if app.employee_holding_code(code).await?.is_some() {
            continue;
        }
        let ctx = demo.clone().with_idempotency_key(Some(code));
        let input = EmployeeInput {
            name: name.into(),
            code: code.into(),
            department: "Demo".into(),
        };
        let employee = app.enroll_employee(&ctx, input).await?;
        let photos = vec![(Pose::Front, photo.to_string(), read_photo(photos, photo)?)];
        app.enroll_face_photos(&ctx, &employee.id, photos)
            .await
            .with_context(|| format!("cannot enrol {name} from {photo}"))?;
    }
    if !app.camera_exists(CAMERA_ID).await? {
        let camera = CameraInput {
            id: Some(CAMERA_ID.into()),
            name: "Demo entrance".into(),
            location: "Bundled video".into(),
            stream_url: file_uri(video)?,
            enabled: true,
        };
        app.add_camera(&demo, camera).await?;
    }
    if !video.exists() {
        bail!("demo video {} vanished", video.display());
    }
    Ok(())
}
