//! Cameras: added, renamed/moved, stream URL changed, enabled/disabled, removed.
//! The RTSP URL lives in events and server-side read models only; it is never shown to clients.

use chrono::{DateTime, Utc};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CameraEvent {
    Added {
        name: String,
        location: String,
        stream_url: String,
        enabled: bool,
        at: DateTime<Utc>,
    },
    Renamed {
        name: String,
        location: String,
        at: DateTime<Utc>,
    },
    StreamUrlChanged {
        stream_url: String,
        at: DateTime<Utc>,
    },
    Enabled {
        at: DateTime<Utc>,
    },
    Disabled {
        at: DateTime<Utc>,
    },
    Removed {
        at: DateTime<Utc>,
    },
}
crate::domain_event!(CameraEvent, "1.0");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CameraCommand {
    Add {
        name: String,
        location: String,
        stream_url: String,
        enabled: bool,
        now: DateTime<Utc>,
    },
    Rename {
        name: String,
        location: String,
        now: DateTime<Utc>,
    },
    ChangeStreamUrl {
        stream_url: String,
        now: DateTime<Utc>,
    },
    SetEnabled {
        enabled: bool,
        now: DateTime<Utc>,
    },
    Remove {
        now: DateTime<Utc>,
    },
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CameraError {
    #[error("camera already exists")]
    AlreadyExists,
    #[error("unknown camera")]
    NotFound,
    #[error("invalid camera data: {0}")]
    Invalid(String),
}

/// Accepts the stream schemes the pipeline can open: RTSP(S) cameras and file/HTTP sources for demos.
pub fn validate_stream_url(url: &str) -> Result<(), CameraError> {
    const SCHEMES: [&str; 5] = ["rtsp://", "rtsps://", "file://", "http://", "https://"];
    if SCHEMES.iter().any(|s| url.starts_with(s)) && url.len() > 8 {
        Ok(())
    } else {
        Err(CameraError::Invalid(format!(
            "stream URL must start with one of {}",
            SCHEMES.join(", ")
        )))
    }
}

fn validate_name(name: &str) -> Result<(), CameraError> {
    if name.trim().is_empty() {
        return Err(CameraError::Invalid("name must not be empty".into()));
    }
    Ok(())
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Camera {
    pub exists: bool,
    pub enabled: bool,
}

impl Camera {
    fn decide(&self, command: CameraCommand) -> Result<Option<CameraEvent>, CameraError> {
        if !matches!(command, CameraCommand::Add { .. }) && !self.exists {
            return Err(CameraError::NotFound);
        }
        Ok(Some(match command {
            CameraCommand::Add {
                name,
                location,
                stream_url,
                enabled,
                now,
            } => {
                if self.exists {
                    return Err(CameraError::AlreadyExists);
                }
                validate_name(&name)?;
                validate_stream_url(&stream_url)?;
                CameraEvent::Added {
                    name,
                    location,
                    stream_url,
                    enabled,
                    at: now,
                }
            }
            CameraCommand::Rename {
                name,
                location,
                now,
            } => {
                validate_name(&name)?;
                CameraEvent::Renamed {
                    name,
                    location,
                    at: now,
                }
            }
            CameraCommand::ChangeStreamUrl { stream_url, now } => {
                validate_stream_url(&stream_url)?;
                CameraEvent::StreamUrlChanged {
                    stream_url,
                    at: now,
                }
            }
            CameraCommand::SetEnabled { enabled, now } => match (self.enabled, enabled) {
                (true, true) | (false, false) => return Ok(None),
                (false, true) => CameraEvent::Enabled { at: now },
                (true, false) => CameraEvent::Disabled { at: now },
            },
            CameraCommand::Remove { now } => CameraEvent::Removed { at: now },
        }))
    }
}

impl Camera {
    fn evolve(&mut self, event: CameraEvent) {
        match event {
            CameraEvent::Added { enabled, .. } => {
                self.exists = true;
                self.enabled = enabled;
            }
            CameraEvent::Enabled { .. } => self.enabled = true,
            CameraEvent::Disabled { .. } => self.enabled = false,
            CameraEvent::Removed { .. } => {
                self.exists = false;
                self.enabled = false;
            }
            CameraEvent::Renamed { .. } | CameraEvent::StreamUrlChanged { .. } => {}
        }
    }
}

crate::aggregate!(Camera, "camera", CameraCommand, CameraEvent, CameraError);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::when;

    fn now() -> DateTime<Utc> {
        "2026-11-23T09:00:00Z".parse().unwrap()
    }
    fn add(url: &str) -> CameraCommand {
        CameraCommand::Add {
            name: "Door".into(),
            location: "Lobby".into(),
            stream_url: url.into(),
            enabled: true,
            now: now(),
        }
    }

    #[test]
    fn add_validates_url_and_uniqueness() {
        let added = when::<Camera>(vec![], add("rtsp://u:p@10.0.0.5/s")).unwrap();
        assert_eq!(added.len(), 1);
        assert_eq!(
            when::<Camera>(added, add("rtsp://x/y")).unwrap_err(),
            CameraError::AlreadyExists
        );
        assert!(matches!(
            when::<Camera>(vec![], add("ftp://nope")),
            Err(CameraError::Invalid(_))
        ));
    }

    #[test]
    fn enable_toggles_only_on_change_and_removed_is_gone() {
        let added = when::<Camera>(vec![], add("rtsp://cam/1")).unwrap();
        let on = CameraCommand::SetEnabled {
            enabled: true,
            now: now(),
        };
        assert!(when::<Camera>(added.clone(), on.clone())
            .unwrap()
            .is_empty());
        let off = CameraCommand::SetEnabled {
            enabled: false,
            now: now(),
        };
        assert_eq!(
            when::<Camera>(added.clone(), off).unwrap(),
            vec![CameraEvent::Disabled { at: now() }]
        );
        let mut removed = added;
        removed.push(CameraEvent::Removed { at: now() });
        assert_eq!(
            when::<Camera>(removed, on).unwrap_err(),
            CameraError::NotFound
        );
    }
}

/// A stream URL safe to show or log: credentials become `***`, the path and query go.
/// `rtsp://admin:pw@10.0.0.5:554/stream?x=1` → `rtsp://***@10.0.0.5:554/…`
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<invalid url>".into();
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = match authority.rsplit_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => authority.to_string(),
    };
    let tail = if path.is_empty() { "" } else { "/…" };
    format!("{scheme}://{host}{tail}")
}

#[cfg(test)]
mod redact_tests {
    use super::redact_url;

    #[test]
    fn credentials_and_paths_never_show() {
        assert_eq!(
            redact_url("rtsp://admin:p@ss@10.0.0.5:554/stream?token=x"),
            "rtsp://***@10.0.0.5:554/…"
        );
        assert_eq!(redact_url("rtsp://cam.local"), "rtsp://cam.local");
        assert_eq!(redact_url("file:///videos/demo.mp4"), "file:///…");
        assert_eq!(redact_url("nonsense"), "<invalid url>");
    }
}
