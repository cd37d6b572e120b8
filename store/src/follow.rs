//! The one "follow the event log" driver shared by every reader that keeps its own checkpoint
//! (the projector, the bot's pushes, the MQTT and webhook publishers): it calls the reader's
//! [`LogFollower::step`] whenever new events may be there — woken by `LISTEN facewatch_events`
//! (skipping a notification of events the reader has already handled), with a periodic wake-up as
//! a safety net for a missed notification or a lost connection — and retries a failed step after a
//! pause. Reading batches after the checkpoint and moving it stays with each reader, which knows
//! where its checkpoint lives and what must commit with it.

use std::future::Future;
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::time::Instant;

use crate::EVENTS_CHANNEL;

/// A reader of the log with its own checkpoint.
pub trait LogFollower: Send {
    type Error: std::fmt::Display + Send;

    /// Handles everything new since the checkpoint. `Ok(Some(wait))` asks to be called again
    /// after `wait` at the latest even without new events (e.g. a delivery to retry).
    fn step(&mut self) -> impl Future<Output = Result<Option<Duration>, Self::Error>> + Send;

    /// The log position this reader has certainly handled, if it knows: a notification of events
    /// up to there is skipped instead of costing a step that finds nothing (a step reads all that
    /// is there, so the notifications of events committed during a step arrive after it).
    fn handled(&self) -> Option<i64> {
        None
    }
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

/// Why a follower stopped waiting.
#[derive(Debug)]
enum Woken {
    /// A notification says the log reaches this position (None: it did not say), past what the
    /// follower has handled.
    News(Option<i64>),
    /// The deadline passed.
    Due,
    /// The `LISTEN` connection broke: make a new one, then step.
    ListenerLost(sqlx::Error),
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
            listener = listen(pool, name).await;
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
        let deadline = Instant::now()
            + match listener {
                Some(_) => pause,
                None => pause.min(options.retry),
            };
        let woken = wait(&mut listener, deadline, || follower.handled());
        tokio::select! {
            biased;
            () = &mut stop => return,
            woken = woken => match woken {
                Woken::News(position) => tracing::trace!(follower = name, ?position, "new events"),
                Woken::Due => {}
                Woken::ListenerLost(e) => {
                    tracing::warn!(follower = name, "lost the LISTEN connection: {e}");
                    listener = None;
                }
            },
        }
    }
}

/// A connection of its own that `LISTEN`s on `channel`: the one way every follower of the log or
/// of read-model changes subscribes, each deciding what to do without one (poll, as a rule).
pub async fn listen_on(pool: &PgPool, channel: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(channel).await?;
    Ok(listener)
}

async fn listen(pool: &PgPool, name: &str) -> Option<PgListener> {
    listen_on(pool, EVENTS_CHANNEL)
        .await
        .inspect_err(|e| tracing::warn!(follower = name, "cannot LISTEN, polling instead: {e}"))
        .ok()
}

/// Waits until `deadline`, or until a notification reaches past what the follower has `handled`.
/// The payload is the log's newest position at the notifying append (migration 0011).
async fn wait(
    listener: &mut Option<PgListener>,
    deadline: Instant,
    handled: impl Fn() -> Option<i64>,
) -> Woken {
    // Whether events up to `position` (None: unknown) may be new to the follower.
    let news = |position: Option<i64>| match (position, handled()) {
        (Some(position), Some(handled)) => position > handled,
        _ => true,
    };
    loop {
        let notified = async {
            match listener.as_mut() {
                Some(l) => l.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            notification = notified => match notification {
                Ok(n) => {
                    // An older server's notification carries no position.
                    let position = n.payload().parse().ok();
                    if news(position) {
                        return Woken::News(position);
                    }
                }
                Err(e) => return Woken::ListenerLost(e),
            },
            () = tokio::time::sleep_until(deadline) => return Woken::Due,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScratchDatabase;

    async fn notify(pool: &PgPool, payload: &str) {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(EVENTS_CHANNEL)
            .bind(payload)
            .execute(pool)
            .await
            .unwrap();
    }

    fn in_a_minute() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    #[tokio::test]
    async fn notifications_up_to_what_was_handled_are_skipped() {
        let db = ScratchDatabase::create("fw_follow").await.unwrap();
        let mut listener = listen(&db.pool, "test").await;
        assert!(listener.is_some());
        // Delivered in commit order: 5 (handled), 7, then one without a position.
        for payload in ["5", "7", ""] {
            notify(&db.pool, payload).await;
        }
        let handled = || Some(5);
        let woken = wait(&mut listener, in_a_minute(), handled).await;
        assert!(matches!(woken, Woken::News(Some(7))), "{woken:?}");
        let woken = wait(&mut listener, in_a_minute(), handled).await;
        assert!(matches!(woken, Woken::News(None)), "{woken:?}");
        // Nothing past 5 any more: the deadline ends the wait.
        notify(&db.pool, "4").await;
        let soon = Instant::now() + Duration::from_millis(300);
        let woken = wait(&mut listener, soon, handled).await;
        assert!(matches!(woken, Woken::Due), "{woken:?}");
        // A follower that does not say what it handled steps on every notification.
        notify(&db.pool, "3").await;
        let woken = wait(&mut listener, in_a_minute(), || None).await;
        assert!(matches!(woken, Woken::News(Some(3))), "{woken:?}");
        drop(listener);
        db.drop().await.unwrap();
    }
}
