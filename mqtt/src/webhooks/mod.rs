//! Signed webhooks, a follower of the event log with its own cursor: every notice an endpoint
//! asked for (`employee.entered`, `alert.raised`, …) becomes one delivery, planned with the cursor
//! in one transaction, POSTed as JSON with an HMAC-SHA256 signature, retried with exponential
//! backoff, and moved to the dead-letter list when its attempts are used up.
//!
//! Headers: `X-Facewatch-Event` (the notice type), `X-Facewatch-Delivery` (stable across retries:
//! a receiver drops repeats by it), `X-Facewatch-Signature: sha256=HEX` (HMAC-SHA256 of the raw
//! body with the endpoint's secret).

use std::time::Duration;

use facewatch_projections::projector::ProjectionError;
use facewatch_projections::Projector;
use facewatch_store::{EventFeed, FeedError, LogFollower};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

pub use facewatch_app::webhooks::{DeadLetter, Deliveries, Delivery};

use crate::notices::notices;
use crate::outbox;
use crate::settings::{WebhookEndpoint, WebhookSettings};

const CURSOR: &str = "webhooks";
const EVENT_BATCH: i64 = 200;
const SEND_BATCH: i64 = 50;
/// The longest pause between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// How often old rows are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

pub const SIGNATURE_HEADER: &str = "X-Facewatch-Signature";
pub const EVENT_HEADER: &str = "X-Facewatch-Event";
pub const DELIVERY_HEADER: &str = "X-Facewatch-Delivery";

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("webhook database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Feed(#[from] FeedError),
    #[error(transparent)]
    Projection(#[from] ProjectionError),
    #[error("cannot build the webhook HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

/// Why one POST did not count as delivered.
#[derive(Debug, thiserror::Error)]
enum AttemptError {
    #[error("request failed: {0}")]
    Request(#[source] reqwest::Error),
    #[error("answered HTTP {0}")]
    Status(reqwest::StatusCode),
}

/// `sha256=HEX` of the body, as sent in [`SIGNATURE_HEADER`].
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether `header` is the signature of `body` (constant-time comparison), for receivers.
pub fn verify(secret: &str, body: &[u8], header: &str) -> bool {
    let Some(hex_mac) = header.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_mac) else {
        return false;
    };
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

pub struct WebhookPublisher {
    deliveries: Deliveries,
    feed: EventFeed,
    projector: Projector,
    settings: WebhookSettings,
    http: reqwest::Client,
    cursor: i64,
    last_prune: Option<std::time::Instant>,
}

impl WebhookPublisher {
    /// Loads the cursor (the head of the log on the very first start).
    pub async fn load(
        deliveries: Deliveries,
        projector: Projector,
        settings: WebhookSettings,
    ) -> Result<Self, WebhookError> {
        let feed = EventFeed::new(deliveries.pool().clone());
        let cursor = outbox::cursor(deliveries.pool(), CURSOR, feed.head().await?).await?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.timeout_sec))
            .user_agent(concat!("facewatch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(WebhookError::Client)?;
        Ok(Self {
            deliveries,
            feed,
            projector,
            settings,
            http,
            cursor,
            last_prune: None,
        })
    }

    async fn plan_events(&mut self) -> Result<(), WebhookError> {
        loop {
            let events = self.feed.read_after(self.cursor, EVENT_BATCH).await?;
            let Some(last) = events.last().map(|e| e.seq) else {
                return Ok(());
            };
            self.projector.wait_until_applied(last).await?;
            let pool = self.deliveries.pool().clone();
            let mut planned = Vec::new();
            for event in &events {
                for notice in notices(&pool, event).await? {
                    for endpoint in &self.settings.endpoints {
                        if endpoint.events.contains(&notice.kind) {
                            let body = json!({
                                "id": delivery_id(event.seq, &notice.key),
                                "type": notice.kind.as_str(),
                                "seq": event.seq,
                                "occurred_at": event.event.occurred_at(),
                                "data": notice.data,
                            });
                            planned.push((endpoint.name.clone(), event.seq, notice.clone(), body));
                        }
                    }
                }
            }
            let mut tx = pool.begin().await?;
            for (endpoint, seq, notice, body) in &planned {
                Deliveries::plan(
                    &mut tx,
                    endpoint,
                    *seq,
                    &notice.key,
                    notice.kind.as_str(),
                    body,
                )
                .await?;
            }
            outbox::move_cursor(&mut tx, CURSOR, last).await?;
            tx.commit().await?;
            self.cursor = last;
        }
    }

    async fn deliver(&self) -> Result<(), WebhookError> {
        loop {
            let due = self.deliveries.due(SEND_BATCH).await?;
            if due.is_empty() {
                return Ok(());
            }
            for delivery in due {
                let Some(endpoint) = self
                    .settings
                    .endpoints
                    .iter()
                    .find(|e| e.name == delivery.endpoint)
                else {
                    // The endpoint was removed from the configuration.
                    let why = "endpoint no longer configured";
                    self.deliveries.failed(delivery.id, why, None).await?;
                    continue;
                };
                match self.post(endpoint, &delivery).await {
                    Ok(()) => self.deliveries.delivered(delivery.id).await?,
                    Err(error) => {
                        let attempts = delivery.attempts as u32 + 1;
                        let retry = (attempts < self.settings.max_attempts)
                            .then(|| backoff(self.settings.retry_initial_ms, attempts));
                        tracing::warn!(
                            endpoint = endpoint.name,
                            delivery = delivery.id,
                            attempts,
                            gives_up = retry.is_none(),
                            "webhook delivery failed: {error}"
                        );
                        let error = error.to_string();
                        self.deliveries.failed(delivery.id, &error, retry).await?;
                    }
                }
            }
        }
    }

    /// One attempt; the error text is what the dead-letter list shows.
    async fn post(
        &self,
        endpoint: &WebhookEndpoint,
        delivery: &Delivery,
    ) -> Result<(), AttemptError> {
        let body = delivery.body.to_string();
        let response = self
            .http
            .post(&endpoint.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(EVENT_HEADER, &delivery.event_type)
            .header(
                DELIVERY_HEADER,
                delivery_id(delivery.seq, &delivery.notice_key),
            )
            .header(
                SIGNATURE_HEADER,
                signature(&endpoint.secret, body.as_bytes()),
            )
            .body(body)
            .send()
            .await
            // Without the URL: it may carry a token.
            .map_err(|e| AttemptError::Request(e.without_url()))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(AttemptError::Status(status))
        }
    }
}

impl LogFollower for WebhookPublisher {
    type Error = WebhookError;

    async fn step(&mut self) -> Result<Option<Duration>, WebhookError> {
        self.plan_events().await?;
        self.deliver().await?;
        if self.last_prune.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
            self.deliveries
                .prune(self.settings.dead_letter_limit)
                .await?;
            self.last_prune = Some(std::time::Instant::now());
        }
        Ok(self.deliveries.next_due_in().await?)
    }
}

/// Stable across retries: `SEQ:NOTICE` (e.g. `42:alert.resolved:17`).
fn delivery_id(seq: i64, notice_key: &str) -> String {
    format!("{seq}:{notice_key}")
}

/// `initial`, then doubled per failed attempt, up to [`MAX_BACKOFF`].
fn backoff(initial_ms: u64, attempts: u32) -> Duration {
    let factor = 2u64.saturating_pow(attempts.saturating_sub(1).min(30));
    Duration::from_millis(initial_ms.saturating_mul(factor)).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_backoff_doubles() {
        let sig = signature("s3cret", b"{\"a\":1}");
        assert!(sig.starts_with("sha256="));
        assert!(verify("s3cret", b"{\"a\":1}", &sig));
        assert!(!verify("other", b"{\"a\":1}", &sig));
        assert!(!verify("s3cret", b"{\"a\":2}", &sig));
        assert!(!verify("s3cret", b"{\"a\":1}", "md5=00"));
        // RFC 4231, test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(backoff(1000, 1), Duration::from_secs(1));
        assert_eq!(backoff(1000, 3), Duration::from_secs(4));
        assert_eq!(backoff(1000, 40), MAX_BACKOFF);
    }
}
