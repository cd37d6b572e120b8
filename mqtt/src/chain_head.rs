//! Exporting the head of the event log's hash chain (issue 15), so that a party outside the
//! database holds it: whoever later rewrites the log from some point on, or cuts it short, cannot
//! make `facewatch verify --expect POSITION:HASH` pass for a head exported before the change.
//!
//! Every [`HeadExport::every`], if the head moved, the exporter signs it with Ed25519 and
//! - writes a log line (`chain head exported`, with the signed statement), and
//! - when MQTT is on, queues the statement as a retained message on `{topic_prefix}/audit/chain_head`
//!   in the MQTT outbox (delivered by the MQTT publisher, kept while the broker is unreachable).
//!
//! Before it signs a new head it checks that the head it exported last is still on the chain (the
//! event at that position still has that hash); if not, the log was rewritten behind it and it
//! signs nothing more, logging an error each round instead.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use facewatch_store::chain::{chain_head, ChainError};
use facewatch_store::Link;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

/// Environment variable holding the signing key (never a config key): 64 hex digits, a 32-byte
/// Ed25519 seed (`openssl rand -hex 32`).
pub const KEY_ENV: &str = "FACEWATCH_CHAIN_HEAD_KEY";
/// The first word of every signed statement.
pub const STATEMENT: &str = "facewatch-chain-head/1";

#[derive(Debug, thiserror::Error)]
pub enum HeadKeyError {
    #[error(
        "{KEY_ENV} must be 64 hex digits (a 32-byte Ed25519 seed, e.g. `openssl rand -hex 32`)"
    )]
    Malformed,
}

/// The Ed25519 key the heads are signed with.
pub struct HeadKey(Ed25519KeyPair);

impl std::fmt::Debug for HeadKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HeadKey(public {})", self.public_key_hex())
    }
}

impl HeadKey {
    /// From 64 hex digits (the seed).
    pub fn from_hex_seed(text: &str) -> Result<Self, HeadKeyError> {
        let seed = hex::decode(text.trim()).map_err(|_| HeadKeyError::Malformed)?;
        Ed25519KeyPair::from_seed_unchecked(&seed)
            .map(HeadKey)
            .map_err(|_| HeadKeyError::Malformed)
    }

    /// What a holder pins to check the statements: 64 hex digits.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.0.public_key().as_ref())
    }

    /// The signed statement that the chain's head was `head` at `at`.
    pub fn sign(&self, head: Link, at: DateTime<Utc>) -> SignedHead {
        let exported_at = at.to_rfc3339_opts(SecondsFormat::Millis, true);
        let signed = format!("{STATEMENT} {head} {exported_at}");
        SignedHead {
            head: head.to_string(),
            position: head.position,
            hash: hex::encode(head.hash),
            exported_at,
            public_key: self.public_key_hex(),
            signature: hex::encode(self.0.sign(signed.as_bytes()).as_ref()),
            signed,
        }
    }
}

/// What is published: `signature` is the Ed25519 signature of the UTF-8 bytes of `signed`, which
/// is `facewatch-chain-head/1 POSITION:HASH EXPORTED_AT`; the other fields repeat its parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedHead {
    /// `POSITION:HASH`, what `facewatch verify --expect` takes.
    pub head: String,
    pub position: i64,
    pub hash: String,
    /// RFC 3339, UTC, milliseconds.
    pub exported_at: String,
    pub signed: String,
    /// The signer's public key (informative: check against the key you pinned, not this one).
    pub public_key: String,
    pub signature: String,
}

impl SignedHead {
    /// True if `signature` over `signed` verifies with `public_key_hex` (the key the holder
    /// pinned) and `signed` states exactly this head and time.
    pub fn verify(&self, public_key_hex: &str) -> bool {
        let (Ok(key), Ok(signature)) = (hex::decode(public_key_hex), hex::decode(&self.signature))
        else {
            return false;
        };
        self.signed == format!("{STATEMENT} {} {}", self.head, self.exported_at)
            && self.head == format!("{}:{}", self.position, self.hash)
            && UnparsedPublicKey::new(&ED25519, key)
                .verify(self.signed.as_bytes(), &signature)
                .is_ok()
    }
}

/// How the head is exported.
#[derive(Debug, Clone)]
pub struct HeadExport {
    /// How often the head is looked at (and exported if it moved).
    pub every: Duration,
    pub key: Arc<HeadKey>,
    /// The MQTT topic to publish on (retained), if MQTT is on.
    pub mqtt_topic: Option<String>,
}

impl HeadExport {
    /// The topic under an MQTT topic prefix.
    pub fn topic(topic_prefix: &str) -> String {
        format!("{topic_prefix}/audit/chain_head")
    }
}

/// Exports the head until `stop` resolves (see the module's documentation).
pub async fn run_head_export(pool: PgPool, export: HeadExport, stop: impl Future<Output = ()>) {
    tracing::info!(
        every_sec = export.every.as_secs_f64(),
        public_key = export.key.public_key_hex(),
        topic = export.mqtt_topic.as_deref().unwrap_or(""),
        "chain head export started"
    );
    let mut tick = tokio::time::interval(export.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last: Option<Link> = None;
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = tick.tick() => {}
        }
        match export_once(&pool, &export, last).await {
            Ok(Some(head)) => last = Some(head),
            Ok(None) => {}
            Err(e) => tracing::warn!("chain head not exported this time: {e}"),
        }
    }
    tracing::info!("chain head export stopped");
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error("cannot queue the chain head for MQTT: {0}")]
    Outbox(#[from] sqlx::Error),
    #[error("the event log was rewritten: event #{position} no longer has the hash exported for it ({exported}); nothing more is signed")]
    Rewritten { position: i64, exported: String },
}

/// Exports the head if it moved since `last`; returns the head exported.
pub async fn export_once(
    pool: &PgPool,
    export: &HeadExport,
    last: Option<Link>,
) -> Result<Option<Link>, ExportError> {
    let Some(head) = chain_head(pool).await? else {
        return Ok(None);
    };
    if last == Some(head) {
        return Ok(None);
    }
    if let Some(last) = last {
        let stored: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT chain_hash FROM events WHERE global_seq = $1")
                .bind(last.position)
                .fetch_optional(pool)
                .await?;
        if stored.as_deref() != Some(last.hash.as_slice()) {
            tracing::error!(exported = %last, "the event log was rewritten behind the exported chain head");
            return Err(ExportError::Rewritten {
                position: last.position,
                exported: last.to_string(),
            });
        }
    }
    let signed = export.key.sign(head, Utc::now());
    tracing::info!(
        head = signed.head,
        exported_at = signed.exported_at,
        signature = signed.signature,
        public_key = signed.public_key,
        "chain head exported"
    );
    if let Some(topic) = &export.mqtt_topic {
        // Straight into the outbox, not into the recorded retained state: the publisher's
        // refresh would otherwise clear it as a topic it does not manage.
        let payload = serde_json::to_string(&signed).expect("a SignedHead serializes");
        sqlx::query("INSERT INTO mqtt_outbox (topic, payload, retain) VALUES ($1, $2, true)")
            .bind(topic)
            .bind(payload)
            .execute(pool)
            .await?;
    }
    Ok(Some(head))
}
