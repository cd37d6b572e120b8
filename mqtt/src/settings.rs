//! `[mqtt]` and `[webhooks]` settings, validated before anything connects. Credentials are not
//! settings: the MQTT password comes from `FACEWATCH_MQTT_PASSWORD` and each webhook secret from
//! the environment variable its endpoint names (the binary fills the `#[serde(skip)]` fields).

use serde::{Deserialize, Serialize};

use crate::notices::NoticeType;

/// Environment variable holding the MQTT password (never a config key).
pub const MQTT_PASSWORD_ENV: &str = "FACEWATCH_MQTT_PASSWORD";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MqttSettings {
    /// `mqtt://host:port` or `mqtts://host:port` (TLS, Mozilla roots).
    pub url: String,
    pub username: Option<String>,
    #[serde(skip)]
    pub password: Option<String>,
    /// Every topic starts with it: `{topic_prefix}/presence/{employee_id}`, ….
    pub topic_prefix: String,
    pub client_id: String,
    /// Home Assistant discovery prefix; empty disables discovery.
    pub discovery_prefix: String,
    /// Accept `{topic_prefix}/schedule/set` commands. Anyone who may publish there acts as an
    /// admin on the schedule (pause, resume, mode), so it is off unless asked for.
    pub commands: bool,
    /// How often the retained state (presence, attendance, cameras, monitoring) is compared with
    /// the read models even without new events (day change, work hours, camera health).
    pub refresh_sec: u64,
}

impl Default for MqttSettings {
    fn default() -> Self {
        Self {
            url: "mqtt://127.0.0.1:1883".into(),
            username: None,
            password: None,
            topic_prefix: "facewatch".into(),
            client_id: "facewatch".into(),
            discovery_prefix: "homeassistant".into(),
            commands: false,
            refresh_sec: 10,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SettingsError {
    #[error("mqtt.url {url:?} is invalid: {reason}")]
    Url { url: String, reason: String },
    #[error("{key} {value:?} is invalid: use letters, digits, '_', '-' and '/' (no wildcards, no leading or trailing '/')")]
    Topic { key: &'static str, value: String },
    #[error("mqtt.client_id must be 1 to 64 printable characters")]
    ClientId,
    #[error("{key} must be at least 1")]
    Zero { key: &'static str },
    #[error("webhooks.endpoints[{index}]: {reason}")]
    Endpoint { index: usize, reason: String },
}

/// Host, port and whether TLS is used, from an `mqtt://` / `mqtts://` URL.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerAddress {
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

impl MqttSettings {
    pub fn validate(&self) -> Result<BrokerAddress, SettingsError> {
        check_topic("mqtt.topic_prefix", &self.topic_prefix, false)?;
        check_topic("mqtt.discovery_prefix", &self.discovery_prefix, true)?;
        if self.client_id.is_empty()
            || self.client_id.len() > 64
            || self.client_id.chars().any(|c| c.is_control())
        {
            return Err(SettingsError::ClientId);
        }
        if self.refresh_sec == 0 {
            return Err(SettingsError::Zero {
                key: "mqtt.refresh_sec",
            });
        }
        self.broker()
    }

    pub fn broker(&self) -> Result<BrokerAddress, SettingsError> {
        let invalid = |reason: &str| SettingsError::Url {
            url: self.url.clone(),
            reason: reason.into(),
        };
        let url = url::Url::parse(&self.url).map_err(|e| invalid(&e.to_string()))?;
        let (tls, default_port) = match url.scheme() {
            "mqtt" | "tcp" => (false, 1883),
            "mqtts" | "ssl" => (true, 8883),
            _ => return Err(invalid("the scheme must be mqtt:// or mqtts://")),
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| invalid("no host"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(
                "put the user in mqtt.username and the password in FACEWATCH_MQTT_PASSWORD",
            ));
        }
        Ok(BrokerAddress {
            host: host.trim_matches(['[', ']']).to_string(),
            port: url.port().unwrap_or(default_port),
            tls,
        })
    }
}

/// A topic prefix: segments of `[A-Za-z0-9_-]`, joined by '/'.
fn check_topic(key: &'static str, value: &str, may_be_empty: bool) -> Result<(), SettingsError> {
    let valid_segment = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
    };
    if (value.is_empty() && may_be_empty) || value.split('/').all(valid_segment) {
        Ok(())
    } else {
        Err(SettingsError::Topic {
            key,
            value: value.into(),
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    pub endpoints: Vec<WebhookEndpoint>,
    /// Attempts per delivery before it moves to the dead-letter list.
    pub max_attempts: u32,
    /// Wait before the first retry; doubled after every failure, up to 10 minutes.
    pub retry_initial_ms: u64,
    /// Seconds one POST may take.
    pub timeout_sec: u64,
    /// Dead letters kept (the oldest go first).
    pub dead_letter_limit: u32,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            endpoints: Vec::new(),
            max_attempts: 8,
            retry_initial_ms: 1000,
            timeout_sec: 10,
            dead_letter_limit: 1000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpoint {
    /// Names the endpoint in logs, the dead-letter list and the `X-Facewatch-Endpoint` header.
    pub name: String,
    /// `http://` or `https://`.
    pub url: String,
    /// Which notices it receives: `employee.entered`, `employee.exited`, `alert.raised`,
    /// `alert.resolved`, `schedule.changed`, `unknown_face.seen`.
    pub events: Vec<NoticeType>,
    /// Environment variable holding the HMAC-SHA256 secret.
    pub secret_env: String,
    #[serde(skip)]
    pub secret: String,
}

impl WebhookSettings {
    /// Checks every endpoint; `secret_of` reads an environment variable.
    pub fn validate(
        &mut self,
        secret_of: impl Fn(&str) -> Option<String>,
    ) -> Result<(), SettingsError> {
        let mut names = std::collections::HashSet::new();
        for (index, endpoint) in self.endpoints.iter_mut().enumerate() {
            let fail = |reason: String| SettingsError::Endpoint { index, reason };
            if endpoint.name.is_empty()
                || !endpoint
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
            {
                return Err(fail("name must be letters, digits, '_' or '-'".into()));
            }
            if !names.insert(endpoint.name.clone()) {
                return Err(fail(format!("name {:?} is used twice", endpoint.name)));
            }
            let url = url::Url::parse(&endpoint.url)
                .map_err(|e| fail(format!("url {:?}: {e}", endpoint.url)))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(fail("url must be http:// or https://".into()));
            }
            if endpoint.events.is_empty() {
                return Err(fail("events is empty".into()));
            }
            if endpoint.secret.is_empty() {
                endpoint.secret = secret_of(&endpoint.secret_env).unwrap_or_default();
            }
            if endpoint.secret.is_empty() {
                return Err(fail(format!(
                    "the secret is missing: set the environment variable {}",
                    endpoint.secret_env
                )));
            }
        }
        for (key, value) in [
            ("webhooks.max_attempts", u64::from(self.max_attempts)),
            ("webhooks.retry_initial_ms", self.retry_initial_ms),
            ("webhooks.timeout_sec", self.timeout_sec),
            (
                "webhooks.dead_letter_limit",
                u64::from(self.dead_letter_limit),
            ),
        ] {
            if value == 0 {
                return Err(SettingsError::Zero { key });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls_and_prefixes_are_checked() {
        let mut s = MqttSettings::default();
        assert_eq!(
            s.validate().unwrap(),
            BrokerAddress {
                host: "127.0.0.1".into(),
                port: 1883,
                tls: false
            }
        );
        s.url = "mqtts://broker.example.com".into();
        assert_eq!(s.validate().unwrap().port, 8883);
        assert!(s.validate().unwrap().tls);
        for bad in ["http://x", "mqtt://", "not a url", "mqtt://u:p@host"] {
            s.url = bad.into();
            assert!(
                matches!(s.validate(), Err(SettingsError::Url { .. })),
                "{bad}"
            );
        }
        s.url = "mqtt://127.0.0.1".into();
        for bad in ["", "a/#", "a/+/b", "/a", "a/", "a b"] {
            s.topic_prefix = bad.into();
            assert!(s.validate().is_err(), "{bad:?}");
        }
        s.topic_prefix = "site-1/facewatch".into();
        s.discovery_prefix = String::new();
        assert!(s.validate().is_ok());
    }

    #[test]
    fn endpoints_need_a_secret_and_known_events() {
        let settings: WebhookSettings = serde_json::from_value(serde_json::json!({
            "endpoints": [{ "name": "ops", "url": "http://127.0.0.1:9/hook",
                            "events": ["alert.raised"], "secret_env": "HOOK_SECRET" }]
        }))
        .unwrap();
        let mut s = settings.clone();
        assert!(matches!(
            s.validate(|_| None),
            Err(SettingsError::Endpoint { index: 0, .. })
        ));
        let mut s = settings;
        s.validate(|name| (name == "HOOK_SECRET").then(|| "k".into()))
            .unwrap();
        assert_eq!(s.endpoints[0].secret, "k");
        assert_eq!(s.max_attempts, 8);
        let unknown = serde_json::from_str::<NoticeType>("\"alert.exploded\"");
        assert!(unknown.is_err());
    }
}
