//! The bot's own durable state, in schema `bot` next to the read models: which chats receive
//! pushes and from where, every push delivery (the dedupe key), conversations, and the cursors.

use serde::{de::DeserializeOwned, Serialize};
use sqlx::types::Json;
use sqlx::PgPool;

const SCHEMA_SQL: &[&str] = &[
    "CREATE SCHEMA IF NOT EXISTS bot",
    // `since_seq`: pushes start after this log position (set to the head on /start, so old
    // alerts are never flooded into a chat).
    "CREATE TABLE IF NOT EXISTS bot.chats (
        chat_id      bigint PRIMARY KEY,
        active       boolean     NOT NULL,
        activated_at timestamptz NOT NULL,
        since_seq    bigint      NOT NULL
    )",
    // One row per (chat, event, kind): the primary key is what makes a push go out at most once.
    "CREATE TABLE IF NOT EXISTS bot.deliveries (
        chat_id    bigint      NOT NULL,
        seq        bigint      NOT NULL,
        kind       text        NOT NULL,
        -- Order of the pushes of one event (ENTER before the alert it resolves).
        part       smallint    NOT NULL,
        body       text        NOT NULL,
        status     text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent')),
        planned_at timestamptz NOT NULL DEFAULT now(),
        sent_at    timestamptz,
        PRIMARY KEY (chat_id, seq, kind)
    )",
    "CREATE INDEX IF NOT EXISTS deliveries_pending ON bot.deliveries (seq) WHERE status = 'pending'",
    // The menu a user is working through; `message_id` is the keyboard message it lives in.
    "CREATE TABLE IF NOT EXISTS bot.conversations (
        chat_id    bigint      NOT NULL,
        user_id    bigint      NOT NULL,
        message_id integer     NOT NULL,
        state      jsonb       NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (chat_id, user_id)
    )",
    // Telegram update ids already taken on (a restart never handles one twice).
    "CREATE TABLE IF NOT EXISTS bot.handled_updates (update_id bigint PRIMARY KEY)",
    "CREATE TABLE IF NOT EXISTS bot.cursor (
        id            int PRIMARY KEY CHECK (id = 1),
        event_seq     bigint NOT NULL,
        update_offset bigint NOT NULL
    )",
];

/// A push waiting to be sent.
#[derive(Debug, sqlx::FromRow)]
pub struct Delivery {
    pub chat_id: i64,
    pub seq: i64,
    pub kind: String,
    pub body: String,
}

#[derive(Clone)]
pub struct BotStore {
    pool: PgPool,
}

impl BotStore {
    /// Creates the schema if needed. On the very first start the event cursor begins at the
    /// current head: the bot announces what happens from now on, not the whole history.
    pub async fn install(pool: PgPool, head: i64) -> Result<Self, sqlx::Error> {
        let mut tx = pool.begin().await?;
        // Two bots starting at once must not race on CREATE.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('facewatch-bot-schema'))")
            .execute(&mut *tx)
            .await?;
        for statement in SCHEMA_SQL {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        sqlx::query("INSERT INTO bot.cursor VALUES (1, $1, 0) ON CONFLICT (id) DO NOTHING")
            .bind(head)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Self { pool })
    }

    /// Turns pushes on for a chat from log position `head` on; a chat already on keeps its
    /// starting point, so nothing planned for it is skipped.
    pub async fn activate(&self, chat_id: i64, head: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO bot.chats VALUES ($1, true, now(), $2)
             ON CONFLICT (chat_id) DO UPDATE SET active = true,
               activated_at = CASE WHEN bot.chats.active THEN bot.chats.activated_at ELSE now() END,
               since_seq = CASE WHEN bot.chats.active THEN bot.chats.since_seq ELSE $2 END",
        )
        .bind(chat_id)
        .bind(head)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Pauses pushes, dropping those not sent yet; returns false if the chat had none running.
    pub async fn deactivate(&self, chat_id: i64) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let changed =
            sqlx::query("UPDATE bot.chats SET active = false WHERE chat_id = $1 AND active")
                .bind(chat_id)
                .execute(&mut *tx)
                .await?;
        sqlx::query("DELETE FROM bot.deliveries WHERE chat_id = $1 AND status = 'pending'")
            .bind(chat_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(changed.rows_affected() > 0)
    }

    pub async fn event_cursor(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT event_seq FROM bot.cursor")
            .fetch_one(&self.pool)
            .await
    }

    /// Records the pushes for the events up to `seq` and moves the event cursor, atomically: after
    /// a crash either both happened or neither, so no event is announced twice or skipped. Each
    /// `(kind, body)` goes to every active chat whose starting point is before `seq`.
    pub async fn plan(&self, seq: i64, pushes: &[(String, String)]) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        for (part, (kind, body)) in pushes.iter().enumerate() {
            sqlx::query(
                "INSERT INTO bot.deliveries (chat_id, seq, kind, part, body)
                 SELECT chat_id, $1, $2, $3, $4 FROM bot.chats WHERE active AND since_seq < $1
                 ON CONFLICT DO NOTHING",
            )
            .bind(seq)
            .bind(kind)
            .bind(part as i16)
            .bind(body)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE bot.cursor SET event_seq = $1 WHERE event_seq < $1")
            .bind(seq)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// Unsent pushes, in log order (a paused chat has none).
    pub async fn pending(&self) -> Result<Vec<Delivery>, sqlx::Error> {
        sqlx::query_as(
            "SELECT chat_id, seq, kind, body FROM bot.deliveries WHERE status = 'pending'
             ORDER BY seq, part, chat_id",
        )
        .fetch_all(&self.pool)
        .await
    }

    pub async fn mark_sent(&self, delivery: &Delivery) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE bot.deliveries SET status = 'sent', sent_at = now()
             WHERE chat_id = $1 AND seq = $2 AND kind = $3",
        )
        .bind(delivery.chat_id)
        .bind(delivery.seq)
        .bind(&delivery.kind)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Claims an update; false if it was already handled (or is being handled) before a restart.
    pub async fn claim_update(&self, update_id: i64) -> Result<bool, sqlx::Error> {
        let claimed =
            sqlx::query("INSERT INTO bot.handled_updates VALUES ($1) ON CONFLICT DO NOTHING")
                .bind(update_id)
                .execute(&self.pool)
                .await?;
        Ok(claimed.rows_affected() == 1)
    }

    pub async fn update_offset(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT update_offset FROM bot.cursor")
            .fetch_one(&self.pool)
            .await
    }

    /// Telegram forgets updates below the offset, so their claims can go too.
    pub async fn set_update_offset(&self, offset: i64) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE bot.cursor SET update_offset = $1")
            .bind(offset)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM bot.handled_updates WHERE update_id < $1")
            .bind(offset)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// Starts or advances the conversation of one user in one chat.
    pub async fn save_conversation<S: Serialize>(
        &self,
        chat_id: i64,
        user_id: i64,
        message_id: i32,
        state: &S,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO bot.conversations VALUES ($1, $2, $3, $4, now())
             ON CONFLICT (chat_id, user_id) DO UPDATE SET message_id = $3, state = $4, updated_at = now()",
        )
        .bind(chat_id)
        .bind(user_id)
        .bind(message_id)
        .bind(Json(state))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The conversation of this user if it lives in `message_id` (a button of an older menu, or
    /// of someone else's, finds none).
    pub async fn conversation<S: DeserializeOwned + Send + Unpin + 'static>(
        &self,
        chat_id: i64,
        user_id: i64,
        message_id: i32,
    ) -> Result<Option<S>, sqlx::Error> {
        let state: Option<Json<S>> = sqlx::query_scalar(
            "SELECT state FROM bot.conversations WHERE chat_id = $1 AND user_id = $2 AND message_id = $3",
        )
        .bind(chat_id)
        .bind(user_id)
        .bind(message_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(state.map(|Json(s)| s))
    }

    /// Ends a conversation; true for exactly one caller, so a final button pressed twice (or
    /// after a restart) delivers its result once.
    pub async fn finish_conversation(
        &self,
        chat_id: i64,
        user_id: i64,
        message_id: i32,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "DELETE FROM bot.conversations WHERE chat_id = $1 AND user_id = $2 AND message_id = $3",
        )
        .bind(chat_id)
        .bind(user_id)
        .bind(message_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
