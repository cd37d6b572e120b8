//! Who runs a command, for which request, and with which retry key.

use chrono::{DateTime, Utc};
use facewatch_store::CommandMetadata;

/// Who caused an event, as stored in its metadata: `user:alice`, `camera:CAM1`,
/// `system:absence-watcher`, `cli`, `mqtt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(String);

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("invalid actor {0:?}: use user:NAME, camera:ID, system:JOB, cli or mqtt")]
pub struct InvalidActor(String);

impl Actor {
    pub fn user(username: &str) -> Self {
        Self(format!("user:{username}"))
    }
    pub fn camera(camera_id: &str) -> Self {
        Self(format!("camera:{camera_id}"))
    }
    /// A background job of the server (`absence-watcher`, `bootstrap`, `demo`).
    pub fn system(job: &str) -> Self {
        Self(format!("system:{job}"))
    }
    /// An operator at the command line.
    pub fn cli() -> Self {
        Self("cli".into())
    }
    /// A command received over MQTT (`{prefix}/schedule/set`).
    pub fn mqtt() -> Self {
        Self("mqtt".into())
    }

    /// Accepts the forms the constructors make.
    pub fn parse(text: &str) -> Result<Self, InvalidActor> {
        let (kind, name) = text.split_once(':').unwrap_or((text, ""));
        let valid = match kind {
            "user" | "camera" | "system" => {
                !name.is_empty() && !name.contains(char::is_control) && name.len() <= 128
            }
            "cli" | "mqtt" => name.is_empty(),
            _ => false,
        };
        if valid {
            Ok(Self(text.to_string()))
        } else {
            Err(InvalidActor(text.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Longest idempotency key a client may send.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 200;

/// Everything a use case needs to know about the request besides its input: the actor, the
/// correlation id shared by all events of the request, the client's idempotency key, and `now`
/// (the domain never reads a clock).
#[derive(Debug, Clone)]
pub struct CommandContext {
    actor: Actor,
    correlation_id: String,
    idempotency_key: Option<String>,
    now: DateTime<Utc>,
}

impl CommandContext {
    pub fn new(actor: Actor) -> Self {
        Self {
            actor,
            correlation_id: uuid::Uuid::new_v4().to_string(),
            idempotency_key: None,
            now: Utc::now(),
        }
    }

    /// Ties this command to a request that already has an id (e.g. from a header).
    pub fn with_correlation_id(mut self, id: impl Into<String>) -> Self {
        self.correlation_id = id.into();
        self
    }

    /// A client's retry key: a second request with the same key (from the same actor) appends
    /// nothing and answers like the first. Empty keys are ignored.
    pub fn with_idempotency_key(mut self, key: Option<&str>) -> Self {
        self.idempotency_key = key
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_string);
        self
    }

    /// The time the command is decided at (default: when the context was made). For importers of
    /// past data and tests; request handlers keep the default.
    pub fn with_now(mut self, now: DateTime<Utc>) -> Self {
        self.now = now;
        self
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub fn correlation_id(&self) -> &str {
        &self.correlation_id
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    pub fn idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }

    /// The metadata of one command of this request. A request may run several commands; `step`
    /// names each one, so that each gets its own stored key.
    pub(crate) fn metadata(&self, step: &str) -> CommandMetadata {
        CommandMetadata {
            actor: self.actor.to_string(),
            correlation_id: self.correlation_id.clone(),
            idempotency_key: self
                .idempotency_key
                .as_ref()
                .map(|key| format!("{}|{key}|{step}", self.actor)),
        }
    }

    /// A new aggregate id: random, or derived from the idempotency key so that a retried request
    /// addresses the same aggregate as the first.
    pub(crate) fn new_id(&self, kind: &str) -> String {
        match &self.idempotency_key {
            Some(key) => {
                let name = format!("{}|{key}|{kind}", self.actor);
                uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes()).to_string()
            }
            None => uuid::Uuid::new_v4().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_parse_the_forms_they_print() {
        for actor in [
            Actor::user("alice"),
            Actor::camera("CAM1"),
            Actor::system("absence-watcher"),
            Actor::cli(),
            Actor::mqtt(),
        ] {
            assert_eq!(Actor::parse(actor.as_str()), Ok(actor.clone()));
        }
        assert!(Actor::parse("user:").is_err());
        assert!(Actor::parse("root").is_err());
        assert!(Actor::parse("cli:x").is_err());
    }

    #[test]
    fn retried_requests_get_the_same_ids_and_keys_per_step() {
        let ctx = CommandContext::new(Actor::user("ana")).with_idempotency_key(Some("k1"));
        let again = CommandContext::new(Actor::user("ana")).with_idempotency_key(Some("k1"));
        assert_eq!(ctx.new_id("employee"), again.new_id("employee"));
        assert_ne!(
            ctx.metadata("a").idempotency_key,
            ctx.metadata("b").idempotency_key
        );
        let other_user = CommandContext::new(Actor::user("bo")).with_idempotency_key(Some("k1"));
        assert_ne!(ctx.new_id("employee"), other_user.new_id("employee"));
        let no_key = CommandContext::new(Actor::cli()).with_idempotency_key(Some("  "));
        assert_eq!(no_key.metadata("a").idempotency_key, None);
    }
}
