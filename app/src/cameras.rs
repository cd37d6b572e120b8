//! Cameras: add, rename or re-point, enable/disable, remove.

use facewatch_domain::camera::{validate_stream_url, Camera, CameraCommand, StreamScheme};
use facewatch_projections::queries::{self, CameraView};
use serde::Deserialize;

use crate::{App, AppError, CommandContext, Result};

#[derive(Debug, Clone, Deserialize)]
pub struct CameraInput {
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub location: String,
    pub stream_url: String,
    pub enabled: bool,
}

/// Camera ids appear in URLs, file names and MQTT topics.
fn checked_camera_id(id: &str) -> Result<&str> {
    let id = id.trim();
    let valid = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(id)
    } else {
        Err(AppError::invalid(
            "camera id must be 1-64 letters, digits, '-' or '_'",
        ))
    }
}

impl App {
    /// A stream URL the pipeline can open AND whose scheme this server allows.
    fn checked_stream_url(&self, url: &str) -> Result<String> {
        let url = url.trim();
        validate_stream_url(url).map_err(|e| AppError::invalid(e.to_string()))?;
        let allowed = self.stream_schemes();
        match StreamScheme::of_url(url) {
            Some(scheme) if allowed.contains(&scheme) => Ok(url.to_string()),
            _ => {
                let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
                Err(AppError::invalid(format!(
                    "this server accepts only {} camera URLs (cameras.allowed_url_schemes)",
                    names.join(", ")
                )))
            }
        }
    }

    pub async fn camera_view(&self, id: &str) -> Result<CameraView> {
        queries::camera(self.pool(), id)
            .await?
            .ok_or_else(|| AppError::not_found("camera", id))
    }

    /// Whether a camera id is taken (for importers that skip existing cameras).
    pub async fn camera_exists(&self, id: &str) -> Result<bool> {
        Ok(self.load::<Camera>(id).await?.exists)
    }

    #[tracing::instrument(skip_all, fields(actor = %ctx.actor()))]
    pub async fn add_camera(&self, ctx: &CommandContext, input: CameraInput) -> Result<CameraView> {
        let id = match &input.id {
            Some(id) => checked_camera_id(id)?.to_string(),
            None => ctx.new_id("camera"),
        };
        let add = CameraCommand::Add {
            name: input.name.trim().into(),
            location: input.location.trim().into(),
            stream_url: self.checked_stream_url(&input.stream_url)?,
            enabled: input.enabled,
            now: ctx.now(),
        };
        let outcome = self.execute::<Camera>(ctx, "add", &id, add).await?;
        self.settle(&[outcome]).await?;
        self.camera_view(&id).await
    }

    /// Renames/moves a camera and, if given, points it at a new stream.
    #[tracing::instrument(skip_all, fields(actor = %ctx.actor(), camera = id))]
    pub async fn update_camera(
        &self,
        ctx: &CommandContext,
        id: &str,
        name: &str,
        location: &str,
        stream_url: Option<&str>,
    ) -> Result<CameraView> {
        let stream_url = stream_url
            .map(|url| self.checked_stream_url(url))
            .transpose()?;
        let rename = CameraCommand::Rename {
            name: name.trim().into(),
            location: location.trim().into(),
            now: ctx.now(),
        };
        let mut outcomes = vec![self.execute::<Camera>(ctx, "rename", id, rename).await?];
        if let Some(stream_url) = stream_url {
            let change = CameraCommand::ChangeStreamUrl {
                stream_url,
                now: ctx.now(),
            };
            outcomes.push(
                self.execute::<Camera>(ctx, "stream-url", id, change)
                    .await?,
            );
        }
        self.settle(&outcomes).await?;
        self.camera_view(id).await
    }

    #[tracing::instrument(skip_all, fields(actor = %ctx.actor(), camera = id, enabled))]
    pub async fn set_camera_enabled(
        &self,
        ctx: &CommandContext,
        id: &str,
        enabled: bool,
    ) -> Result<CameraView> {
        let command = CameraCommand::SetEnabled {
            enabled,
            now: ctx.now(),
        };
        let outcome = self
            .execute::<Camera>(ctx, "set-enabled", id, command)
            .await?;
        self.settle(&[outcome]).await?;
        self.camera_view(id).await
    }

    #[tracing::instrument(skip_all, fields(actor = %ctx.actor(), camera = id))]
    pub async fn remove_camera(&self, ctx: &CommandContext, id: &str) -> Result<()> {
        let remove = CameraCommand::Remove { now: ctx.now() };
        let outcome = self.execute::<Camera>(ctx, "remove", id, remove).await?;
        self.settle(&[outcome]).await
    }
}
