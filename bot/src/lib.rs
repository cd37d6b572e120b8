//! The Telegram bot (`facewatch bot`): a separate process that follows the event log to push
//! ENTER / EXIT / alert / schedule notices to the chats that asked for them, and answers the
//! interactive menus (/status, /attendance, /capture, /export_data) from the read models.
//!
//! Everything it must not forget lives in PostgreSQL schema `bot` (see `store`): a restart
//! resumes every conversation and sends no push twice.

mod flows;
mod push;
mod store;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use facewatch_captures::SnapshotStore;
use facewatch_store::{EventFeed, PgPool};
use serde::{Deserialize, Serialize};
use teloxide::prelude::*;
use teloxide::RequestError;

use crate::store::BotStore;

/// `[bot]` settings. The token is not among them: it comes from `TELEGRAM_BOT_TOKEN`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BotSettings {
    /// Chats that may use the bot; everybody else is refused.
    pub allowed_chats: Vec<i64>,
    /// Bot API server; `None` = Telegram's (set it for a local Bot API server or tests).
    pub api_url: Option<String>,
    /// Where the camera supervisor keeps snapshots and live previews: not a key of its own,
    /// the caller copies the top-level `data_dir` here so both processes read the same files.
    #[serde(skip)]
    pub data_dir: PathBuf,
    /// Long-poll duration of getUpdates, in seconds (below the HTTP client's 17 s timeout).
    pub poll_timeout_sec: u32,
    /// A camera counts as online when its live preview is at most this old.
    pub camera_online_sec: u64,
}

impl Default for BotSettings {
    fn default() -> Self {
        Self {
            allowed_chats: Vec::new(),
            api_url: None,
            data_dir: PathBuf::from("data"),
            poll_timeout_sec: 10,
            camera_online_sec: 60,
        }
    }
}

/// What every handler needs.
pub(crate) struct Ctx {
    pub bot: Bot,
    pub pool: PgPool,
    pub store: BotStore,
    pub feed: EventFeed,
    pub snapshots: SnapshotStore,
    pub settings: BotSettings,
    token: String,
}

impl Ctx {
    pub fn allowed(&self, chat_id: i64) -> bool {
        self.settings.allowed_chats.contains(&chat_id)
    }

    /// Error text safe to log: teloxide already hides the token in network errors, this also
    /// covers any other error that might quote the request URL.
    pub fn redact(&self, error: &dyn std::fmt::Display) -> String {
        error.to_string().replace(&self.token, "<token>")
    }
}

/// Runs the bot until `shutdown` resolves (or a fatal error: bad settings, token refused,
/// database unreachable at start). `pool` is a `facewatch_store::connect` pool of the
/// database the read models live in.
pub async fn run(
    settings: BotSettings,
    token: String,
    pool: PgPool,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        !token.trim().is_empty(),
        "the Telegram bot token is empty (set TELEGRAM_BOT_TOKEN)"
    );
    anyhow::ensure!(
        settings.poll_timeout_sec < 17,
        "bot.poll_timeout_sec must be below 17 seconds (the HTTP timeout), got {}",
        settings.poll_timeout_sec
    );
    if settings.allowed_chats.is_empty() {
        tracing::warn!("bot.allowed_chats is empty: every chat will be refused");
    }
    let mut bot = Bot::new(token.clone());
    if let Some(url) = &settings.api_url {
        let url = url::Url::parse(url)
            .with_context(|| format!("bot.api_url {url:?} is not a valid URL"))?;
        bot = bot.set_api_url(url);
    }
    let feed = EventFeed::new(pool.clone());
    let store = BotStore::install(pool.clone(), feed.head().await?)
        .await
        .context("creating the bot's tables")?;
    let ctx = Arc::new(Ctx {
        bot,
        snapshots: SnapshotStore::new(settings.data_dir.clone()),
        pool,
        store,
        feed,
        settings,
        token,
    });
    let me = ctx
        .bot
        .get_me()
        .await
        .map_err(|e| anyhow::anyhow!("Telegram refused the bot token: {}", ctx.redact(&e)))?;
    tracing::info!(bot = %me.username(), chats = ?ctx.settings.allowed_chats, "telegram bot started");
    tokio::select! {
        () = shutdown => Ok(()),
        () = push::follow(ctx.clone()) => unreachable!("the push loop never ends"),
        () = flows::poll(ctx.clone()) => unreachable!("the update loop never ends"),
    }
}

/// Pause before retrying after a failure (Telegram or database unreachable).
pub(crate) const RETRY: Duration = Duration::from_secs(2);

/// Telegram's rate limit tells how long to wait; other failures get the default pause.
pub(crate) fn retry_after(error: &RequestError) -> Duration {
    match error {
        RequestError::RetryAfter(seconds) => seconds.duration(),
        _ => RETRY,
    }
}

/// A time as the workplace reads it (the schedule's time zone).
pub(crate) fn local_time(at: chrono::DateTime<chrono::Utc>, tz: chrono_tz::Tz) -> String {
    at.with_timezone(&tz)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}
