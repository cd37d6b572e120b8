//! The bot's own durable state, in schema `bot` next to the read models: which chats receive
//! pushes and from where, every push delivery (the dedupe key), conversations, and the cursors.

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
    // Menus (keyboards) live in `bot.menus` and the work a final tap asked for in `bot.jobs`:
    // see `menus.rs`. Conversations keyed by message id came before; their menus close.
    "DROP TABLE IF EXISTS bot.conversations",
    // Telegram update ids already taken on (a restart never handles one twice).
    // `done` is set once handled: an update a crash interrupted is handled again after the
    // restart (a command shows its menu after all; a final tap is protected by its menu).
    "CREATE TABLE IF NOT EXISTS bot.handled_updates (update_id bigint PRIMARY KEY)",
    "ALTER TABLE bot.handled_updates ADD COLUMN IF NOT EXISTS done boolean NOT NULL DEFAULT true",
    "CREATE TABLE IF NOT EXISTS bot.cursor (
        id            int PRIMARY KEY CHECK (id = 1),
        event_seq     bigint NOT NULL,
        update_offset bigint NOT NULL
    )",
    "CREATE SEQUENCE IF NOT EXISTS bot.menu_tokens",
    // The open menu of one user in one chat (a newer menu replaces it). `token` is in the
    // callback data of its buttons, so a press is matched to the menu without knowing the
    // message id: the row is written before the menu is sent.
    "CREATE TABLE IF NOT EXISTS bot.menus (
        chat_id    bigint      NOT NULL,
        user_id    bigint      NOT NULL,
        owner      text        NOT NULL,
        token      bigint      NOT NULL UNIQUE,
        step       text        NOT NULL,
        -- The Telegram update (command) that opened it.
        update_id  bigint      NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (chat_id, user_id)
    )",
    // What a final tap asked for (an export, a photo set), recorded in the transaction that
    // closes the menu and delivered from here, part by part, across restarts.
    "CREATE TABLE IF NOT EXISTS bot.jobs (
        id           bigserial   PRIMARY KEY,
        chat_id      bigint      NOT NULL,
        menu_message integer     NOT NULL,
        title        text        NOT NULL,
        job          jsonb       NOT NULL,
        parts_done   integer     NOT NULL DEFAULT 0,
        attempts     integer     NOT NULL DEFAULT 0,
        status       text        NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'done', 'failed')),
        created_at   timestamptz NOT NULL DEFAULT now(),
        done_at      timestamptz
    )",
    "CREATE INDEX IF NOT EXISTS jobs_pending ON bot.jobs (id) WHERE status = 'pending'",
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
    pub(crate) pool: PgPool,
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

    /// Claims an update; false if it was handled before (a restart may redeliver it). One
    /// bot polls a token, so no other process holds a claim that is not done.
    pub async fn claim_update(&self, update_id: i64) -> Result<bool, sqlx::Error> {
        let claimed = sqlx::query(
            "INSERT INTO bot.handled_updates (update_id, done) VALUES ($1, false)
             ON CONFLICT (update_id) DO UPDATE SET done = false WHERE NOT bot.handled_updates.done",
        )
        .bind(update_id)
        .execute(&self.pool)
        .await?;
        Ok(claimed.rows_affected() == 1)
    }

    /// The update is handled (successfully or not): it is never handled again.
    pub async fn update_handled(&self, update_id: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE bot.handled_updates SET done = true WHERE update_id = $1")
            .bind(update_id)
            .execute(&self.pool)
            .await?;
        Ok(())
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
}
