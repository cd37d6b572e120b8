//! Webhook deliveries (table `webhook_deliveries`, migrations/0005_integrations.sql): planned by
//! the webhook publisher (crate `facewatch-mqtt`) with its cursor in one transaction, retried with
//! backoff, then DELIVERED or DEAD; the dead letters are listed and re-queued from the API. Kept
//! in a table, not as events: a delivery attempt is bookkeeping of an adapter, not a fact of the
//! workplace, and a replay of the log must not send anything again.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{FromRow, PgPool, Postgres, Transaction};

use crate::{App, AppError, CommandContext, Result};

/// Most dead letters one listing returns.
pub const MAX_DEAD_LETTERS: i64 = 500;

impl App {
    /// The webhook dead-letter list, newest first (at most [`MAX_DEAD_LETTERS`]).
    pub async fn webhook_dead_letters(&self, limit: i64) -> Result<Vec<DeadLetter>> {
        let deliveries = Deliveries::new(self.pool().clone());
        Ok(deliveries
            .dead_letters(limit.clamp(1, MAX_DEAD_LETTERS))
            .await?)
    }

    /// Queues a dead letter again with fresh attempts.
    #[tracing::instrument(skip_all, fields(actor = %ctx.actor(), id))]
    pub async fn retry_webhook_delivery(&self, ctx: &CommandContext, id: i64) -> Result<()> {
        let deliveries = Deliveries::new(self.pool().clone());
        if deliveries.retry(id).await? {
            tracing::info!("webhook dead letter queued again");
            Ok(())
        } else {
            Err(AppError::not_found("webhook dead letter", &id.to_string()))
        }
    }
}

/// DELIVERED rows are kept this long (for a look at recent traffic), then pruned.
const KEEP_DELIVERED_DAYS: i32 = 7;

#[derive(Debug, Clone, FromRow)]
pub struct Delivery {
    pub id: i64,
    pub endpoint: String,
    pub seq: i64,
    pub notice_key: String,
    pub event_type: String,
    pub body: Value,
    pub attempts: i32,
}

/// A delivery that used up its attempts.
#[derive(Debug, Clone, FromRow)]
pub struct DeadLetter {
    pub id: i64,
    pub endpoint: String,
    pub seq: i64,
    pub event_type: String,
    pub body: Value,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub failed_at: Option<DateTime<Utc>>,
}

#[derive(Clone)]
pub struct Deliveries {
    pool: PgPool,
}

impl Deliveries {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Records one delivery; a second planning of the same (endpoint, event, notice) is a no-op.
    pub async fn plan(
        tx: &mut Transaction<'_, Postgres>,
        endpoint: &str,
        seq: i64,
        notice_key: &str,
        event_type: &str,
        body: &Value,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO webhook_deliveries (endpoint, seq, notice_key, event_type, body)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(endpoint)
        .bind(seq)
        .bind(notice_key)
        .bind(event_type)
        .bind(body)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Pending deliveries whose time has come, oldest first.
    pub async fn due(&self, limit: i64) -> Result<Vec<Delivery>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, endpoint, seq, notice_key, event_type, body, attempts
             FROM webhook_deliveries WHERE status = 'PENDING' AND next_attempt_at <= now()
             ORDER BY next_attempt_at, id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    /// How long until the next pending delivery is due (`None`: nothing pending).
    pub async fn next_due_in(&self) -> Result<Option<std::time::Duration>, sqlx::Error> {
        let seconds: Option<f64> = sqlx::query_scalar(
            "SELECT greatest(0, extract(epoch FROM min(next_attempt_at) - now()))::float8
             FROM webhook_deliveries WHERE status = 'PENDING'",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(seconds.map(std::time::Duration::from_secs_f64))
    }

    pub async fn delivered(&self, id: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE webhook_deliveries SET status = 'DELIVERED', attempts = attempts + 1,
               finished_at = now(), last_error = NULL WHERE id = $1",
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A failed attempt: retried after `retry_in`, or DEAD when it was the last one allowed.
    pub async fn failed(
        &self,
        id: i64,
        error: &str,
        retry_in: Option<std::time::Duration>,
    ) -> Result<(), sqlx::Error> {
        match retry_in {
            Some(wait) => {
                sqlx::query(
                    "UPDATE webhook_deliveries SET attempts = attempts + 1, last_error = $2,
                       next_attempt_at = now() + make_interval(secs => $3) WHERE id = $1",
                )
                .bind(id)
                .bind(error)
                .bind(wait.as_secs_f64())
                .execute(&self.pool)
                .await?
            }
            None => {
                sqlx::query(
                    "UPDATE webhook_deliveries SET attempts = attempts + 1, last_error = $2,
                       status = 'DEAD', finished_at = now() WHERE id = $1",
                )
                .bind(id)
                .bind(error)
                .execute(&self.pool)
                .await?
            }
        };
        Ok(())
    }

    /// Keeps storage bounded: old DELIVERED rows go, and only the newest `dead_limit` DEAD ones stay.
    pub async fn prune(&self, dead_limit: u32) -> Result<(), sqlx::Error> {
        sqlx::query(
            "DELETE FROM webhook_deliveries WHERE status = 'DELIVERED'
               AND finished_at < now() - make_interval(days => $1)",
        )
        .bind(KEEP_DELIVERED_DAYS)
        .execute(&self.pool)
        .await?;
        sqlx::query(
            "DELETE FROM webhook_deliveries WHERE status = 'DEAD' AND id NOT IN
               (SELECT id FROM webhook_deliveries WHERE status = 'DEAD'
                ORDER BY finished_at DESC, id DESC LIMIT $1)",
        )
        .bind(i64::from(dead_limit))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The dead-letter list, newest first.
    pub async fn dead_letters(&self, limit: i64) -> Result<Vec<DeadLetter>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, endpoint, seq, event_type, body, attempts, last_error, created_at,
                    finished_at AS failed_at
             FROM webhook_deliveries WHERE status = 'DEAD'
             ORDER BY finished_at DESC, id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    /// Puts a dead letter back in the queue with fresh attempts; false if there is no such one.
    pub async fn retry(&self, id: i64) -> Result<bool, sqlx::Error> {
        let updated = sqlx::query(
            "UPDATE webhook_deliveries SET status = 'PENDING', attempts = 0, finished_at = NULL,
               next_attempt_at = now() WHERE id = $1 AND status = 'DEAD'",
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() == 1)
    }
}
