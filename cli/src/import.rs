//! `facewatch import-cameras`: reads the seed system's `camera_configs/CAM{ID}/config.json` files
//! and adds each camera (as `CAM{ID}`) through the same use case the API runs (actor `cli`).
//! Cameras that already exist are left alone, so importing twice is harmless.

use std::path::{Path, PathBuf};

use anyhow::Context;
use facewatch_app::{App, CameraInput, CommandContext};
use facewatch_domain::redact::redact_url;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct SeedCameraConfig {
    id: u32,
    name: String,
    rtsp_url: String,
    #[serde(default = "enabled_by_default")]
    enabled: bool,
    #[serde(default)]
    location: String,
}

fn enabled_by_default() -> bool {
    true
}

/// Every `config.json` one level below `dir` (`dir/CAM1/config.json`, …), sorted.
fn config_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path().join("config.json")))
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// Imports the camera configs under `dir`; returns the ids that were added.
pub async fn import_cameras(
    app: &App,
    ctx: &CommandContext,
    dir: &Path,
) -> anyhow::Result<Vec<String>> {
    let mut added = Vec::new();
    for file in config_files(dir)? {
        let text = std::fs::read_to_string(&file)?;
        let config: SeedCameraConfig = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a camera config", file.display()))?;
        let id = format!("CAM{}", config.id);
        if app.camera_exists(&id).await? {
            println!("{id}: exists, skipped");
            continue;
        }
        let camera = CameraInput {
            id: Some(id.clone()),
            name: config.name,
            location: config.location,
            stream_url: config.rtsp_url.clone(),
            enabled: config.enabled,
        };
        app.add_camera(ctx, camera)
            .await
            .with_context(|| format!("{}: camera refused", file.display()))?;
        println!("{id}: added ({})", redact_url(&config.rtsp_url));
        added.push(id);
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn imports_the_example_configs_once() {
        let test = facewatch_app::testing::TestApp::spawn("fw_import").await;
        let (app, cli) = (&test.app, CommandContext::new(facewatch_app::Actor::cli()));
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/camera_configs");
        assert_eq!(
            import_cameras(app, &cli, &dir).await.unwrap(),
            vec!["CAM1", "CAM2"]
        );
        assert!(app.camera_view("CAM1").await.unwrap().enabled);
        assert!(!app.camera_view("CAM2").await.unwrap().enabled);
        assert!(import_cameras(app, &cli, &dir).await.unwrap().is_empty());
        let bad = tempfile::tempdir().unwrap();
        std::fs::create_dir(bad.path().join("CAM9")).unwrap();
        std::fs::write(bad.path().join("CAM9/config.json"), "{\"id\": 9}").unwrap();
        let error = import_cameras(app, &cli, bad.path()).await.unwrap_err();
        assert!(format!("{error:#}").contains("is not a camera config"));
        let actors: Vec<Option<String>> =
            sqlx::query_scalar("SELECT actor FROM event_log WHERE aggregate_type = 'camera'")
                .fetch_all(app.pool())
                .await
                .unwrap();
        assert_eq!(actors, vec![Some("cli".to_string()); 2]);
        test.finish().await;
    }
}
