//! Settings: built-in defaults, then a TOML file, then `FACEWATCH_*` environment variables
//! (`FACEWATCH_SERVER__LISTEN=0.0.0.0:8080`); `DATABASE_URL` is honoured as usual.
//!
//! Every relative path in the settings and in the AI parameters (`data_dir`,
//! `cameras.ai_params_file`, `models_dir`, `onnxruntime_library`, the demo's photos) is resolved
//! against ONE base, the working directory of the process, once at start; nothing further down
//! (GStreamer included) ever sees a relative path.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use facewatch_api::{HttpPolicy, LoginPolicy};
use facewatch_cameras::decoder::DecoderChoice;
use facewatch_cameras::LeaseSettings;
use facewatch_domain::camera::StreamScheme;
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
    /// Hours an idempotency key answers retries before it is forgotten (0: never forgotten).
    pub idempotency_key_hours: u32,
    /// Snapshots, latest camera frames and attendance captures live here.
    pub data_dir: PathBuf,
    pub server: ServerSettings,
    pub presence: PresenceSettings,
    pub attendance: AttendanceSettings,
    pub cameras: CameraSettings,
    pub bot: facewatch_bot::BotSettings,
    /// Optional: publish to an MQTT broker (see README "MQTT, Home Assistant and webhooks").
    pub mqtt: Option<facewatch_mqtt::MqttSettings>,
    /// Optional: signed webhooks.
    pub webhooks: Option<facewatch_mqtt::WebhookSettings>,
    /// Replay audits and the export of the chain head (README "Audits at scale").
    pub audit: crate::audit::AuditSettings,
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
    /// Camera URL schemes the API accepts. `file` and `http(s)` let whoever adds a camera make
    /// the server read its own files and internal web servers: only for demos and tests.
    pub allowed_url_schemes: Vec<StreamScheme>,
    /// The most cameras this process runs (`serve` or `worker`); the cameras are shared through
    /// leases by every process that runs cameras against the same database. 0: none (a `serve`
    /// behind a load balancer that only loads the face models, for photo enrolment).
    pub max_cameras: u32,
    /// Seconds a camera lease lasts without renewal (renewed five times per lease): a dead
    /// worker's cameras run elsewhere within this plus a fifth of it.
    pub lease_sec: u32,
    /// Video decoding: software (default), auto (NVDEC where installed) or nvdec.
    pub decoder: DecoderChoice,
}

impl CameraSettings {
    /// This process's part in running the cameras (a fresh worker id per process).
    pub fn leases(&self) -> LeaseSettings {
        LeaseSettings {
            worker_id: LeaseSettings::new_worker_id(),
            max_cameras: self.max_cameras as usize,
            lease: Duration::from_secs(self.lease_sec.into()),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    /// Largest request body (bytes) of every route except GraphQL for admins and photo uploads.
    pub max_body_bytes: usize,
    /// Largest GraphQL request of an admin (a base64 photo is 4/3 of its size).
    pub max_graphql_bytes: usize,
    /// Largest `POST /api/employees/{id}/face_templates` body (up to three photos).
    pub max_upload_bytes: usize,
    /// Origins allowed to send writes and open WebSockets besides the server's own address
    /// (e.g. the public https:// name behind a reverse proxy that rewrites Host).
    pub allowed_origins: Vec<String>,
    /// Behind a reverse proxy: the login throttle takes the client address from the last
    /// X-Forwarded-For entry.
    pub trust_forwarded_for: bool,
    /// Seconds a WebSocket may take to send connection_init.
    pub ws_init_timeout_sec: u32,
    /// Seconds between checks of an open WebSocket's session (logout, disabled user, expiry).
    pub ws_session_check_sec: u32,
    /// Failed logins of one username before it is locked (5 s, then doubling).
    pub login_free_failures_per_user: u32,
    /// Failed logins from one client address before it is locked (5 s, then doubling).
    pub login_free_failures_per_address: u32,
    /// The longest lockout, in seconds; failures older than this are forgotten.
    pub login_max_lockout_sec: u32,
}

impl ServerSettings {
    /// What the HTTP server allows clients.
    pub fn policy(&self) -> HttpPolicy {
        HttpPolicy {
            max_body_bytes: self.max_body_bytes,
            max_graphql_bytes: self.max_graphql_bytes,
            max_upload_bytes: self.max_upload_bytes,
            allowed_origins: self.allowed_origins.clone(),
            ws_init_timeout: Duration::from_secs(self.ws_init_timeout_sec.into()),
            ws_session_check: Duration::from_secs(self.ws_session_check_sec.into()),
            trust_forwarded_for: self.trust_forwarded_for,
            login: LoginPolicy {
                free_failures_per_user: self.login_free_failures_per_user,
                free_failures_per_address: self.login_free_failures_per_address,
                max_lockout: Duration::from_secs(self.login_max_lockout_sec.into()),
            },
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresenceSettings {
    /// Seconds unseen before a present employee is recorded as gone (seed: present_timeout_sec).
    pub present_timeout_sec: u32,
    /// How often the absence check runs.
    pub absence_check_interval_sec: u32,
}

impl Default for ServerSettings {
    fn default() -> Self {
        let policy = HttpPolicy::default();
        Self {
            listen: "127.0.0.1:8080".parse().expect("valid constant address"),
            max_body_bytes: policy.max_body_bytes,
            max_graphql_bytes: policy.max_graphql_bytes,
            max_upload_bytes: policy.max_upload_bytes,
            allowed_origins: policy.allowed_origins,
            trust_forwarded_for: policy.trust_forwarded_for,
            ws_init_timeout_sec: policy.ws_init_timeout.as_secs() as u32,
            ws_session_check_sec: policy.ws_session_check.as_secs() as u32,
            login_free_failures_per_user: policy.login.free_failures_per_user,
            login_free_failures_per_address: policy.login.free_failures_per_address,
            login_max_lockout_sec: policy.login.max_lockout.as_secs() as u32,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: facewatch_store::DEFAULT_DATABASE_URL.into(),
            database_pool_size: facewatch_store::DEFAULT_POOL_SIZE,
            read_wait_sec: facewatch_app::DEFAULT_READ_WAIT.as_secs() as u32,
            idempotency_key_hours: 72,
            data_dir: PathBuf::from("data"),
            server: ServerSettings::default(),
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
                allowed_url_schemes: facewatch_app::DEFAULT_STREAM_SCHEMES.to_vec(),
                max_cameras: 64,
                lease_sec: 10,
                decoder: DecoderChoice::Software,
            },
            bot: facewatch_bot::BotSettings::default(),
            mqtt: None,
            webhooks: None,
            audit: crate::audit::AuditSettings::default(),
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
        let mut settings: Settings = figment
            // FACEWATCH_ADMIN_*, FACEWATCH_PASSWORD, FACEWATCH_MQTT_PASSWORD, FACEWATCH_CHAIN_HEAD_KEY and the webhook
            // secrets are credentials read by `serve` / `user add`, FACEWATCH_LOG_FORMAT is read by
            // the logger before the settings: none are settings.
            .merge(
                Env::prefixed("FACEWATCH_")
                    .ignore(&[
                        "admin_password",
                        "admin_user",
                        "password",
                        "log_format",
                        "mqtt_password",
                        "chain_head_key",
                    ])
                    .filter(|key| {
                        !key.as_str()
                            .to_ascii_lowercase()
                            .starts_with("webhook_secret")
                    })
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
        if let Some(mqtt) = &mut settings.mqtt {
            mqtt.password = std::env::var(facewatch_mqtt::settings::MQTT_PASSWORD_ENV).ok();
        }
        if let Some(webhooks) = &mut settings.webhooks {
            webhooks
                .validate(|name| std::env::var(name).ok())
                .context("invalid [webhooks] settings")?;
        }
        settings
            .audit
            .load_key(std::env::var(facewatch_mqtt::chain_head::KEY_ENV).ok())
            .context("invalid [audit] settings")?;
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
        if self.cameras.lease_sec == 0 || self.cameras.lease_sec > 3600 {
            bail!("cameras.lease_sec must be between 1 and 3600");
        }
        if self.cameras.max_cameras > 10_000 {
            bail!("cameras.max_cameras must be at most 10000");
        }
        if self.presence.absence_check_interval_sec == 0 {
            bail!("presence.absence_check_interval_sec must be at least 1");
        }
        let server = &self.server;
        if server.max_body_bytes < 1024 {
            bail!("server.max_body_bytes must be at least 1024");
        }
        if server.max_graphql_bytes < server.max_body_bytes {
            bail!("server.max_graphql_bytes must be at least server.max_body_bytes");
        }
        if server.max_upload_bytes < facewatch_api::MAX_PHOTO_BYTES {
            bail!(
                "server.max_upload_bytes must be at least {} (one photo)",
                facewatch_api::MAX_PHOTO_BYTES
            );
        }
        if server.ws_init_timeout_sec == 0 || server.ws_session_check_sec == 0 {
            bail!("server.ws_init_timeout_sec and server.ws_session_check_sec must be at least 1");
        }
        if server.login_free_failures_per_user == 0
            || server.login_free_failures_per_address == 0
            || server.login_max_lockout_sec == 0
        {
            bail!("server.login_* settings must be at least 1");
        }
        if let Some(origin) = server
            .allowed_origins
            .iter()
            .find(|o| !(o.starts_with("http://") || o.starts_with("https://")) || o.ends_with('/'))
        {
            bail!("server.allowed_origins: {origin:?} is not an origin like https://host[:port]");
        }
        if let Some(mqtt) = &self.mqtt {
            mqtt.validate().context("invalid [mqtt] settings")?;
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
    fn the_example_file_loads_and_security_settings_are_validated() {
        let example = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../config/facewatch.example.toml"
        ));
        let settings = Settings::load(Some(example)).unwrap();
        assert_eq!(
            settings.cameras.allowed_url_schemes,
            facewatch_app::DEFAULT_STREAM_SCHEMES.to_vec()
        );
        assert_eq!(
            settings.server.policy().max_body_bytes,
            HttpPolicy::default().max_body_bytes
        );
        let mut bad = Settings::default();
        bad.server.allowed_origins = vec!["https://fw.example/".into()];
        assert!(bad.validate().is_err());
        let mut bad = Settings::default();
        bad.server.max_upload_bytes = 1024;
        assert!(bad.validate().is_err());
        let schemes: Result<CameraSettings, _> = Figment::from(Toml::string(
            "enabled = true\nai_params_file = \"x\"\nallowed_url_schemes = [\"ftp\"]\n\
             max_cameras = 1\nlease_sec = 10\ndecoder = \"software\"",
        ))
        .extract();
        assert!(schemes.is_err(), "unknown scheme accepted");
        let mut bad = Settings::default();
        bad.cameras.lease_sec = 0;
        assert!(bad.validate().is_err(), "a lease that never lasts");
        let decoder: Result<CameraSettings, _> = Figment::from(Toml::string(
            "enabled = true\nai_params_file = \"x\"\nallowed_url_schemes = []\n\
             max_cameras = 1\nlease_sec = 10\ndecoder = \"cuda\"",
        ))
        .extract();
        assert!(decoder.is_err(), "unknown decoder accepted");
    }

    #[test]
    fn the_example_config_loads_with_and_without_its_optional_sections() {
        let example = include_str!("../../config/facewatch.example.toml");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("facewatch.toml");
        std::fs::write(&file, example).unwrap();
        let settings = Settings::load(Some(&file)).unwrap();
        assert!(settings.mqtt.is_none() && settings.webhooks.is_none());

        // Every documented key of the optional sections, turned on.
        let (base, optional) = example.split_once("# [mqtt]").unwrap();
        let keys = |line: &str| {
            let rest = line.strip_prefix("# ")?;
            let is_key = rest.starts_with('[')
                || rest
                    .split_once(" = ")
                    .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
            is_key.then(|| rest.to_string())
        };
        let enabled: Vec<String> = std::iter::once("[mqtt]".to_string())
            .chain(optional.lines().filter_map(keys))
            .collect();
        std::fs::write(&file, format!("{base}\n{}\n", enabled.join("\n"))).unwrap();
        std::env::set_var("FACEWATCH_WEBHOOK_SECRET_OPS", "example-secret");
        let settings = Settings::load(Some(&file)).unwrap();
        let mqtt = settings.mqtt.unwrap();
        assert_eq!(mqtt.topic_prefix, "facewatch");
        assert_eq!(mqtt.username.as_deref(), Some("facewatch"));
        let webhooks = settings.webhooks.unwrap();
        assert_eq!(webhooks.endpoints[0].secret, "example-secret");
        assert_eq!(webhooks.endpoints[0].events.len(), 2);

        std::fs::write(&file, format!("{base}\n[mqtt]\nurl = \"http://broker\"\n")).unwrap();
        let error = format!("{:#}", Settings::load(Some(&file)).unwrap_err());
        assert!(error.contains("mqtt.url"), "{error}");
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
