//! The Telegram bot (`facewatch bot`): a separate process that follows the event log to push
//! ENTER / EXIT / alert / schedule notices to the chats that asked for them, and answers the
//! interactive menus (/status, /attendance, /capture, /export_data) from the read models.
//!
//! Everything it must not forget lives in PostgreSQL schema `bot` (see `store`, `menus`): a
//! restart resumes every menu and every requested export or photo set, and sends no push twice.

mod flows;
mod menus;
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
use teloxide::types::BotCommand;
use teloxide::{ApiError, RequestError};
use tokio::sync::watch;

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
    /// On shutdown, how long work in progress (an upload, a push) may take to finish; what is
    /// still running then stays recorded and the next start delivers it.
    pub shutdown_grace_sec: u64,
}

impl Default for BotSettings {
    fn default() -> Self {
        Self {
            allowed_chats: Vec::new(),
            api_url: None,
            data_dir: PathBuf::from("data"),
            poll_timeout_sec: 10,
            camera_online_sec: 60,
            shutdown_grace_sec: 10,
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
    prepare(&ctx).await;

    // Both loops watch `stop`: a push being sent and a batch of updates being handled (an
    // upload included) finish before they return. Nothing is spawned, so dropping this future
    // (a kill) stops everything at once; what was recorded is delivered after the next start.
    let (stop, stopped) = watch::channel(false);
    let work = futures::future::join(
        push::follow(ctx.clone(), stopped.clone()),
        flows::poll(ctx.clone(), stopped),
    );
    tokio::pin!(work, shutdown);
    tokio::select! {
        () = &mut shutdown => {}
        _ = &mut work => unreachable!("the loops run until stopped"),
    }
    stop.send_replace(true);
    let grace = Duration::from_secs(ctx.settings.shutdown_grace_sec);
    match tokio::time::timeout(grace, work).await {
        Ok(_) => tracing::info!("telegram bot stopped"),
        Err(_) => tracing::warn!(
            "telegram bot stopped with work in progress after {grace:?}; it stays recorded and \
             the next start delivers it"
        ),
    }
    Ok(())
}

/// Start-up chores: polling needs the webhook gone (Telegram refuses getUpdates while one is
/// set), and the command list makes "/" offer the commands. Failures are logged, not fatal.
async fn prepare(ctx: &Ctx) {
    match ctx.bot.get_webhook_info().await {
        Ok(info) => match info.url {
            Some(url) => {
                // The URL may embed a secret path; its host is enough to recognise it.
                let host = url.host_str().unwrap_or("?").to_owned();
                match ctx.bot.delete_webhook().await {
                    Ok(_) => tracing::warn!(
                        webhook_host = %host,
                        "removed a webhook left on this bot token (polling needs it gone)"
                    ),
                    Err(e) => tracing::error!("cannot remove the webhook: {}", ctx.redact(&e)),
                }
            }
            None => tracing::debug!("no webhook set"),
        },
        Err(e) => tracing::warn!("cannot read the webhook info: {}", ctx.redact(&e)),
    }
    let commands =
        flows::COMMANDS.map(|(command, description)| BotCommand::new(command, description));
    match ctx.bot.set_my_commands(commands).await {
        Ok(_) => tracing::debug!("command list registered"),
        Err(e) => tracing::warn!("cannot register the command list: {}", ctx.redact(&e)),
    }
}

/// Resolves once `stop` is set (or its sender is gone).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is dropped here, never held across an await.
    let _ = stop.wait_for(|stopped| *stopped).await;
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

/// Telegram answers that need no action: an edit that changes nothing (a second Refresh
/// within the same second), an edit of a message that is gone.
pub(crate) fn benign(error: &RequestError) -> bool {
    matches!(
        error,
        RequestError::Api(ApiError::MessageNotModified | ApiError::MessageToEditNotFound)
    )
}

/// A time as the workplace reads it, with the zone: "2026-11-25 19:52:29 WIB" (the schedule's
/// time zone; chrono-tz's abbreviation, or the offset where the zone has none).
pub(crate) fn local_time(at: chrono::DateTime<chrono::Utc>, tz: chrono_tz::Tz) -> String {
    at.with_timezone(&tz)
        .format("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

/// Who made a change, from an event's actor: "alice", "the command line", "the system
/// (absence-watcher)"; `None` when the event has no actor.
pub(crate) fn describe_actor(actor: Option<&str>) -> Option<String> {
    let actor = actor?;
    Some(match actor.split_once(':') {
        Some(("user", name)) => name.to_owned(),
        Some(("camera", id)) => format!("camera {id}"),
        Some(("system", what)) => format!("the system ({what})"),
        _ if actor == "cli" => "the command line".to_owned(),
        _ if actor == "mqtt" => "an MQTT command".to_owned(),
        _ => actor.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_carry_their_zone_and_actors_read_as_people() {
        let at = "2026-11-25T12:52:29Z".parse().unwrap();
        assert_eq!(
            local_time(at, chrono_tz::Asia::Jakarta),
            "2026-11-25 19:52:29 WIB"
        );
        assert_eq!(local_time(at, chrono_tz::UTC), "2026-11-25 12:52:29 UTC");
        assert_eq!(describe_actor(Some("user:alice")).unwrap(), "alice");
        assert_eq!(describe_actor(Some("cli")).unwrap(), "the command line");
        assert_eq!(describe_actor(Some("mqtt")).unwrap(), "an MQTT command");
        assert_eq!(
            describe_actor(Some("system:demo")).unwrap(),
            "the system (demo)"
        );
        assert_eq!(describe_actor(None), None);
    }
}
