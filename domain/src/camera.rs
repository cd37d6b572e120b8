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

/// The URL schemes a camera stream may use. Which of them a server accepts is its configuration
/// (`cameras.allowed_url_schemes`); the log accepts every one the pipeline can open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StreamScheme {
    Rtsp,
    Rtsps,
    Http,
    Https,
    File,
}

impl StreamScheme {
    pub const ALL: [StreamScheme; 5] = [
        StreamScheme::Rtsp,
        StreamScheme::Rtsps,
        StreamScheme::Http,
        StreamScheme::Https,
        StreamScheme::File,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StreamScheme::Rtsp => "rtsp",
            StreamScheme::Rtsps => "rtsps",
            StreamScheme::Http => "http",
            StreamScheme::Https => "https",
            StreamScheme::File => "file",
        }
    }

    /// The scheme of `url` (case-insensitive), if it is one of these.
    pub fn of_url(url: &str) -> Option<Self> {
        let (scheme, _) = url.split_once("://")?;
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(scheme))
    }
}

/// Accepts the stream schemes the pipeline can open: RTSP(S) cameras and file/HTTP sources.
pub fn validate_stream_url(url: &str) -> Result<(), CameraError> {
    if StreamScheme::of_url(url).is_some() && url.len() > 8 {
        Ok(())
    } else {
        let schemes: Vec<String> = StreamScheme::ALL
            .iter()
            .map(|s| format!("{}://", s.as_str()))
            .collect();
        Err(CameraError::Invalid(format!(
            "stream URL must start with one of {}",
            schemes.join(", ")
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
