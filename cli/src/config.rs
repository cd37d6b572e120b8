//! Settings: built-in defaults, then a TOML file, then `FACEWATCH_*` environment variables
//! (`FACEWATCH_SERVER__LISTEN=0.0.0.0:8080`); `DATABASE_URL` is honoured as usual.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub database_url: String,
    pub server: ServerSettings,
    pub presence: PresenceSettings,
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
            server: ServerSettings {
                listen: "127.0.0.1:8080".parse().expect("valid constant address"),
            },
            presence: PresenceSettings {
                present_timeout_sec: 60,
                absence_check_interval_sec: 5,
            },
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
            .merge(Env::prefixed("FACEWATCH_").split("__"))
            .merge(
                Env::raw()
                    .only(&["DATABASE_URL"])
                    .map(|_| "database_url".into()),
            )
            .extract()
            .context("invalid configuration")?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.presence.present_timeout_sec == 0 {
            bail!("presence.present_timeout_sec must be at least 1");
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

/// The default config file, if present in the working directory.
pub fn default_file() -> Option<PathBuf> {
    let path = PathBuf::from("config/facewatch.toml");
    path.exists().then_some(path)
}
