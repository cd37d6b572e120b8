//! Settings: built-in defaults, then a TOML file, then `FACEWATCH_*` environment variables
//! (`FACEWATCH_SERVER__LISTEN=0.0.0.0:8080`); `DATABASE_URL` is honoured as usual.
//!
//! Every relative path in the settings and in the AI parameters (`data_dir`,
//! `cameras.ai_params_file`, `models_dir`, `onnxruntime_library`, the demo's photos) is resolved
//! against ONE base, the working directory of the process, once at start; nothing further down
//! (GStreamer included) ever sees a relative path.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use facewatch_inference::InferenceConfig;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub database_url: String,
    /// Pooled PostgreSQL connections of one process. A request holds at most one at a time; the
    /// event appender, the projector and its LISTEN connection take one each besides.
    pub database_pool_size: u32,
    /// Seconds a write waits for the read models before answering "stored" (HTTP 202, GraphQL
    /// code STORED) instead of the changed object.
    pub read_wait_sec: u32,
    /// Snapshots, latest camera frames and attendance captures live here.
    pub data_dir: PathBuf,
    pub server: ServerSettings,
    pub presence: PresenceSettings,
    pub attendance: AttendanceSettings,
    pub cameras: CameraSettings,
    pub bot: facewatch_bot::BotSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttendanceSettings {
    /// Replace an existing first_in.jpg with a later day's earlier entry (seed:
    /// attendance_first_in_overwrite_enabled).
    pub first_in_overwrite_enabled: bool,
    /// A last_out.jpg is written only once the employee has stayed out this long (seed:
    /// attendance_last_out_delay_sec).
    pub last_out_delay_sec: u64,
    /// Capture folders older than this many days are deleted, at start and every midnight; 0 keeps
    /// everything (seed: attendance_captures_retention_days).
    pub captures_retention_days: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraSettings {
    /// Run the camera pipelines in `serve` (needs the face models, see scripts/setup-inference.sh).
    pub enabled: bool,
    /// The AI parameters file (see config/ai.example.toml); built-in defaults if it is missing.
    pub ai_params_file: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub listen: SocketAddr,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresenceSettings {
    /// Seconds unseen before a present employee is recorded as gone (seed: present_timeout_sec).
    pub present_timeout_sec: u32,
    /// How often the absence check runs.
    pub absence_check_interval_sec: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: facewatch_store::DEFAULT_DATABASE_URL.into(),
            database_pool_size: facewatch_store::DEFAULT_POOL_SIZE,
            read_wait_sec: facewatch_app::DEFAULT_READ_WAIT.as_secs() as u32,
            data_dir: PathBuf::from("data"),
            server: ServerSettings {
                listen: "127.0.0.1:8080".parse().expect("valid constant address"),
            },
            presence: PresenceSettings {
                present_timeout_sec: 60,
                absence_check_interval_sec: 5,
            },
            attendance: AttendanceSettings {
                first_in_overwrite_enabled: false,
                last_out_delay_sec: 60,
                captures_retention_days: 30,
            },
            cameras: CameraSettings {
                enabled: true,
                ai_params_file: PathBuf::from("config/ai.toml"),
            },
            bot: facewatch_bot::BotSettings::default(),
        }
    }
}

impl Settings {
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = file {
            if !file.exists() {
                bail!("config file {} does not exist", file.display());
            }
            figment = figment.merge(Toml::file(file));
        }
        let settings: Settings = figment
            // FACEWATCH_ADMIN_* and FACEWATCH_PASSWORD are credentials read by `serve` / `user add`,
            // FACEWATCH_LOG_FORMAT is read by the logger before the settings: none are settings.
            .merge(
                Env::prefixed("FACEWATCH_")
                    .ignore(&["admin_password", "admin_user", "password", "log_format"])
                    .split("__"),
            )
            .merge(
                Env::raw()
                    .only(&["DATABASE_URL"])
                    .map(|_| "database_url".into()),
            )
            .extract()
            .context("invalid configuration")?;
        settings.validate()?;
        settings.resolve_paths()
    }

    /// Makes every path absolute against the working directory.
    fn resolve_paths(mut self) -> anyhow::Result<Self> {
        self.data_dir = absolute(&self.data_dir)?;
        self.cameras.ai_params_file = absolute(&self.cameras.ai_params_file)?;
        Ok(self)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.presence.present_timeout_sec == 0 {
            bail!("presence.present_timeout_sec must be at least 1");
        }
        if self.database_pool_size < 4 {
            bail!("database_pool_size must be at least 4");
        }
        if self.read_wait_sec == 0 {
            bail!("read_wait_sec must be at least 1");
        }
        if self.presence.absence_check_interval_sec == 0 {
            bail!("presence.absence_check_interval_sec must be at least 1");
        }
        if !self.database_url.starts_with("postgres://")
            && !self.database_url.starts_with("postgresql://")
        {
            bail!("database_url must be a postgres:// URL");
        }
        Ok(())
    }
}

impl PresenceSettings {
    /// Someone in view is reported every `sighting_interval_sec` (AI parameters); at most half
    /// the presence timeout, so that one late report never turns into an exit.
    pub fn check_sighting_interval(&self, ai: &InferenceConfig) -> Result<(), IntervalError> {
        if u64::from(ai.sighting_interval_sec) * 2 > u64::from(self.present_timeout_sec) {
            return Err(IntervalError {
                sighting_interval_sec: ai.sighting_interval_sec,
                present_timeout_sec: self.present_timeout_sec,
            });
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "sighting_interval_sec ({sighting_interval_sec}, AI parameters) must be at most half of \
     presence.present_timeout_sec ({present_timeout_sec})"
)]
pub struct IntervalError {
    pub sighting_interval_sec: u32,
    pub present_timeout_sec: u32,
}

/// The default config file, if present in the working directory.
pub fn default_file() -> Option<PathBuf> {
    let path = PathBuf::from("config/facewatch.toml");
    path.exists().then_some(path)
}

/// The AI parameters: the file if it exists, else the built-in defaults; always validated.
pub fn load_ai_params(path: &Path) -> anyhow::Result<InferenceConfig> {
    let config: InferenceConfig = if path.exists() {
        Figment::from(Toml::file(path))
            .extract()
            .with_context(|| format!("invalid AI parameters in {}", path.display()))?
    } else {
        InferenceConfig::default()
    };
    config
        .validate()
        .with_context(|| format!("invalid AI parameters in {}", path.display()))?;
    let mut config = config;
    config.models_dir = absolute(&config.models_dir)?;
    if let Some(library) = &config.onnxruntime_library {
        config.onnxruntime_library = Some(absolute(library)?);
    }
    Ok(config)
}

/// `path` against the working directory (the one base for relative paths, see the module docs).
pub fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(path).with_context(|| {
        format!(
            "cannot resolve {} against the working directory",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_resolve_against_the_working_directory() {
        let settings = Settings::default().resolve_paths().unwrap();
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(settings.data_dir, cwd.join("data"));
        assert_eq!(settings.cameras.ai_params_file, cwd.join("config/ai.toml"));
        let ai = load_ai_params(Path::new("no/such/ai.toml")).unwrap();
        assert_eq!(ai.models_dir, cwd.join("models"));
        assert!(ai.onnxruntime_library_path().is_absolute());
    }

    #[test]
    fn sighting_interval_must_stay_within_half_the_presence_timeout() {
        let presence = Settings::default().presence;
        let ai = InferenceConfig::default();
        presence.check_sighting_interval(&ai).unwrap();
        let slow = InferenceConfig {
            sighting_interval_sec: 31,
            ..ai
        };
        let err = presence.check_sighting_interval(&slow).unwrap_err();
        assert_eq!(
            err.to_string(),
            "sighting_interval_sec (31, AI parameters) must be at most half of \
             presence.present_timeout_sec (60)"
        );
    }
}
