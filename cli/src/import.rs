//! `facewatch import-cameras`: reads the seed system's `camera_configs/CAM{ID}/config.json` files
//! and adds each camera (as `CAM{ID}`) through the same command the API uses. Cameras that already
//! exist are left alone, so importing twice is harmless.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::Utc;
use facewatch_domain::camera::{redact_url, Camera, CameraCommand};
use facewatch_store::EventStore;
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
pub async fn import_cameras(store: &EventStore, dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut added = Vec::new();
    for file in config_files(dir)? {
        let text = std::fs::read_to_string(&file)?;
        let config: SeedCameraConfig = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a camera config", file.display()))?;
        let id = format!("CAM{}", config.id);
        if store.load::<Camera>(&id).await?.exists {
            println!("{id}: exists, skipped");
            continue;
        }
        let command = CameraCommand::Add {
            name: config.name,
            location: config.location,
            stream_url: config.rtsp_url.clone(),
            enabled: config.enabled,
            now: Utc::now(),
        };
        store
            .execute::<Camera>(&id, command)
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
        let db = facewatch_store::ScratchDatabase::create("fw_import")
            .await
            .unwrap();
        let store = EventStore::new(db.pool.clone());
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/camera_configs");
        assert_eq!(
            import_cameras(&store, &dir).await.unwrap(),
            vec!["CAM1", "CAM2"]
        );
        assert!(store.load::<Camera>("CAM1").await.unwrap().enabled);
        assert!(!store.load::<Camera>("CAM2").await.unwrap().enabled);
        assert!(import_cameras(&store, &dir).await.unwrap().is_empty());
        let bad = tempfile::tempdir().unwrap();
        std::fs::create_dir(bad.path().join("CAM9")).unwrap();
        std::fs::write(bad.path().join("CAM9/config.json"), "{\"id\": 9}").unwrap();
        let error = import_cameras(&store, bad.path()).await.unwrap_err();
        assert!(format!("{error:#}").contains("is not a camera config"));
        db.drop().await.unwrap();
    }
}
