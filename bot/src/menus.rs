//! Menus and the work their final taps ask for, in schema `bot` (tables in `store.rs`).
//!
//! * A menu row is written *before* its keyboard is sent, and every button carries the menu's
//!   token: a restart right after the send leaves buttons that still work.
//! * The final tap closes the menu and records the requested work (a job) in one transaction,
//!   so it happens for exactly one tap, and the job survives any restart until delivered.
//!   Each part of a job is marked once Telegram accepted it: a restart resumes with the next
//!   part. As for pushes, a crash between Telegram's acceptance and that mark repeats one part.

use serde::{de::DeserializeOwned, Serialize};
use sqlx::types::Json;

use crate::store::BotStore;

/// An open menu.
#[derive(Debug, sqlx::FromRow)]
pub struct MenuRow {
    pub user_id: i64,
    /// How the owner is named to others ("@ana" or "Ana").
    pub owner: String,
}

/// A job not delivered yet.
#[derive(Debug, sqlx::FromRow)]
pub struct JobRow<J> {
    pub id: i64,
    pub chat_id: i64,
    pub menu_message: i32,
    pub title: String,
    pub job: Json<J>,
    pub parts_done: i32,
    pub attempts: i32,
}

impl BotStore {
    /// Opens a menu for `user` in `chat` (replacing their older one) and returns its token. The
    /// update that opened a menu gets the same token again (handled twice across a crash, it
    /// resends the menu, and the copy Telegram may already show keeps working).
    pub async fn open_menu(
        &self,
        chat_id: i64,
        user_id: i64,
        owner: &str,
        update_id: i64,
    ) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(
            "INSERT INTO bot.menus (chat_id, user_id, owner, token, step, update_id)
             VALUES ($1, $2, $3, nextval('bot.menu_tokens'), 'start', $4)
             ON CONFLICT (chat_id, user_id) DO UPDATE SET owner = EXCLUDED.owner,
               token = CASE WHEN bot.menus.update_id = EXCLUDED.update_id
                            THEN bot.menus.token ELSE EXCLUDED.token END,
               step = EXCLUDED.step, update_id = EXCLUDED.update_id, updated_at = now()
             RETURNING token",
        )
        .bind(chat_id)
        .bind(user_id)
        .bind(owner)
        .bind(update_id)
        .fetch_one(&self.pool)
        .await
    }

    /// The open menu with this token in this chat, if any.
    pub async fn menu(&self, chat_id: i64, token: i64) -> Result<Option<MenuRow>, sqlx::Error> {
        sqlx::query_as("SELECT user_id, owner FROM bot.menus WHERE chat_id = $1 AND token = $2")
            .bind(chat_id)
            .bind(token)
            .fetch_optional(&self.pool)
            .await
    }

    /// Notes the step a menu is at (for the record: any button of an open menu works).
    pub async fn menu_step(&self, chat_id: i64, token: i64, step: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE bot.menus SET step = $3, updated_at = now() WHERE chat_id = $1 AND token = $2",
        )
        .bind(chat_id)
        .bind(token)
        .bind(step)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Closes the menu and records `job` with it, atomically; `None` when the menu was already
    /// closed (a second tap, or one after a restart), so the work is recorded once.
    pub async fn close_menu<J: Serialize + Sync>(
        &self,
        chat_id: i64,
        token: i64,
        menu_message: i32,
        title: &str,
        job: &J,
    ) -> Result<Option<i64>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let closed = sqlx::query("DELETE FROM bot.menus WHERE chat_id = $1 AND token = $2")
            .bind(chat_id)
            .bind(token)
            .execute(&mut *tx)
            .await?;
        if closed.rows_affected() == 0 {
            return Ok(None);
        }
        let id = sqlx::query_scalar(
            "INSERT INTO bot.jobs (chat_id, menu_message, title, job) VALUES ($1, $2, $3, $4)
             RETURNING id",
        )
        .bind(chat_id)
        .bind(menu_message)
        .bind(title)
        .bind(Json(job))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    /// Jobs not delivered yet, oldest first; `only` restricts to one.
    pub async fn pending_jobs<J: DeserializeOwned + Send + Unpin + 'static>(
        &self,
        only: Option<i64>,
    ) -> Result<Vec<JobRow<J>>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, chat_id, menu_message, title, job, parts_done, attempts FROM bot.jobs
             WHERE status = 'pending' AND ($1::bigint IS NULL OR id = $1) ORDER BY id",
        )
        .bind(only)
        .fetch_all(&self.pool)
        .await
    }

    /// Counts a delivery attempt of a job.
    pub async fn job_attempt(&self, id: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE bot.jobs SET attempts = attempts + 1 WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records that the first `parts` parts of a job reached Telegram.
    pub async fn job_progress(&self, id: i64, parts: i32) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE bot.jobs SET parts_done = $2 WHERE id = $1 AND parts_done < $2")
            .bind(id)
            .bind(parts)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends a job: `done`, or `failed` once retrying is pointless.
    pub async fn end_job(&self, id: i64, delivered: bool) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE bot.jobs SET status = $2, done_at = now() WHERE id = $1")
            .bind(id)
            .bind(if delivered { "done" } else { "failed" })
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Closes a menu without any work (nothing to show); false if it was closed already.
    pub async fn drop_menu(&self, chat_id: i64, token: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM bot.menus WHERE chat_id = $1 AND token = $2")
            .bind(chat_id)
            .bind(token)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
