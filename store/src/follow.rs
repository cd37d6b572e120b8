//! The one "follow the event log" driver shared by every reader that keeps its own checkpoint
//! (the projector, the bot's pushes, the MQTT and webhook publishers): it calls the reader's
//! [`LogFollower::step`] whenever new events may be there — woken by `LISTEN facewatch_events`,
//! with a periodic wake-up as a safety net for a missed notification or a lost connection — and
//! retries a failed step after a pause. Reading batches after the checkpoint and moving it stays
//! with each reader, which knows where its checkpoint lives and what must commit with it.

use std::future::Future;
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;

use crate::EVENTS_CHANNEL;

/// A reader of the log with its own checkpoint.
pub trait LogFollower: Send {
    type Error: std::fmt::Display + Send;

    /// Handles everything new since the checkpoint. `Ok(Some(wait))` asks to be called again
    /// after `wait` at the latest even without new events (e.g. a delivery to retry).
    fn step(&mut self) -> impl Future<Output = Result<Option<Duration>, Self::Error>> + Send;
}

/// How a follower is woken.
#[derive(Debug, Clone, Copy)]
pub struct FollowOptions {
    /// Names the follower in logs.
    pub name: &'static str,
    /// Longest pause between two steps without a notification.
    pub idle: Duration,
    /// Pause after a failed step (and between polls while LISTEN is unavailable).
    pub retry: Duration,
}

/// Runs `follower` until `stop` resolves. A step in progress is finished first: `stop` is only
/// looked at between steps.
pub async fn follow_log<F: LogFollower>(
    pool: &PgPool,
    options: FollowOptions,
    follower: &mut F,
    stop: impl Future<Output = ()>,
) {
    tokio::pin!(stop);
    let name = options.name;
    let mut listener: Option<PgListener> = None;
    loop {
        if listener.is_none() {
            listener = match PgListener::connect_with(pool).await {
                Ok(mut l) => match l.listen(EVENTS_CHANNEL).await {
                    Ok(()) => Some(l),
                    Err(e) => {
                        tracing::warn!(follower = name, "cannot LISTEN, polling instead: {e}");
                        None
                    }
                },
                Err(e) => {
                    tracing::warn!(follower = name, "cannot LISTEN, polling instead: {e}");
                    None
                }
            };
        }
        let pause = match follower.step().await {
            Ok(wait) => wait.map_or(options.idle, |w| w.min(options.idle)),
            Err(e) => {
                tracing::error!(
                    follower = name,
                    "following the event log failed, retrying: {e}"
                );
                options.retry
            }
        };
        let woken = async {
            match listener.as_mut() {
                Some(l) => match tokio::time::timeout(pause, l.recv()).await {
                    Ok(Ok(_)) | Err(_) => true,
                    Ok(Err(e)) => {
                        tracing::warn!(follower = name, "lost the LISTEN connection: {e}");
                        false
                    }
                },
                None => {
                    tokio::time::sleep(pause.min(options.retry)).await;
                    true
                }
            }
        };
        tokio::select! {
            biased;
            () = &mut stop => return,
            keep = woken => if !keep { listener = None },
        }
    }
}
