//! The MQTT publisher's durable state (tables of migrations/0005_integrations.sql): its log
//! cursor, the messages planned but not yet acknowledged, and the retained state last planned
//! per topic. Planning and moving the cursor commit together, so after a crash every event is
//! planned exactly once; a message leaves the outbox only after the broker acknowledged it.

use std::collections::HashMap;

use sqlx::{PgPool, Postgres, Transaction};

use crate::link::Message;

/// Where a named publisher is in the log; created at `head` on its first start.
pub async fn cursor(pool: &PgPool, name: &str, head: i64) -> Result<i64, sqlx::Error> {
    sqlx::query("INSERT INTO integration_cursors VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(head)
        .execute(pool)
        .await?;
    sqlx::query_scalar("SELECT event_seq FROM integration_cursors WHERE name = $1")
        .bind(name)
        .fetch_one(pool)
        .await
}

pub async fn move_cursor(
    tx: &mut Transaction<'_, Postgres>,
    name: &str,
    seq: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE integration_cursors SET event_seq = $2 WHERE name = $1")
        .bind(name)
        .bind(seq)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A planned message with its outbox id.
pub struct Planned {
    pub id: i64,
    pub message: Message,
}

#[derive(Clone)]
pub struct Outbox {
    pool: PgPool,
}

impl Outbox {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The retained payload last planned for every topic.
    pub async fn retained(&self) -> Result<HashMap<String, String>, sqlx::Error> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT topic, payload FROM mqtt_retained")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().collect())
    }

    /// Queues messages. A retained message also becomes the topic's recorded state (an empty
    /// payload clears the topic on the broker, and the record with it).
    pub async fn plan(
        tx: &mut Transaction<'_, Postgres>,
        messages: &[Message],
    ) -> Result<(), sqlx::Error> {
        for m in messages {
            sqlx::query("INSERT INTO mqtt_outbox (topic, payload, retain) VALUES ($1, $2, $3)")
                .bind(&m.topic)
                .bind(&m.payload)
                .bind(m.retain)
                .execute(&mut **tx)
                .await?;
            if !m.retain {
                continue;
            }
            if m.payload.is_empty() {
                sqlx::query("DELETE FROM mqtt_retained WHERE topic = $1")
                    .bind(&m.topic)
                    .execute(&mut **tx)
                    .await?;
            } else {
                sqlx::query(
                    "INSERT INTO mqtt_retained (topic, payload) VALUES ($1, $2)
                     ON CONFLICT (topic) DO UPDATE SET payload = $2, updated_at = now()",
                )
                .bind(&m.topic)
                .bind(&m.payload)
                .execute(&mut **tx)
                .await?;
            }
        }
        Ok(())
    }

    /// The oldest messages not yet acknowledged.
    pub async fn pending(&self, limit: i64) -> Result<Vec<Planned>, sqlx::Error> {
        let rows: Vec<(i64, String, String, bool)> = sqlx::query_as(
            "SELECT id, topic, payload, retain FROM mqtt_outbox ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, topic, payload, retain)| Planned {
                id,
                message: Message {
                    topic,
                    payload,
                    retain,
                },
            })
            .collect())
    }

    /// The broker acknowledged these messages.
    pub async fn acknowledged(&self, ids: &[i64]) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM mqtt_outbox WHERE id = ANY($1)")
            .bind(ids)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
