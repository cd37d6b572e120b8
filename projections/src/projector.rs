//! Follows the event log and keeps one read-model schema up to date, exactly once per event: each
//! batch of events and the checkpoint move forward in the same transaction. The position applied
//! is published on a `watch` channel, so a writer can wait until its own events are readable
//! without projecting them itself.
//!
//! Across processes (several `serve` instances, camera workers): one projector per schema applies
//! events at a time (a PostgreSQL advisory lock, see [`facewatch_store::lead`]); the others stand by
//! and take over when it dies. Each committed batch announces its changes and position with
//! `NOTIFY` on [`CHANGES_CHANNEL`] inside the transaction (so it is delivered only after commit),
//! and every process relays the announcements of other processes to its own subscribers and its
//! own `applied` position (see [`crate::relay`]).

use std::sync::Arc;
use std::time::Duration;

use facewatch_store::{
    follow_log, lead, read_range_after_query, spawn_on_own_thread, FeedError, FollowOptions,
    LeaderOptions, LogFollower,
};
use sqlx::PgPool;
use tokio::sync::{broadcast, oneshot, watch};

use crate::deferred::Deferred;
use crate::pending::apply_batch;
use crate::relay::{self, Announcement};
use crate::schema::{begin_batch_in_schema, begin_in_schema};
use crate::Change;

const BATCH: i64 = 500;
/// How often [`Projector::wait_until_applied`] looks at the checkpoint.
const PROJECTOR_POLL: Duration = Duration::from_millis(100);
/// Connections of a projector on its own thread: the leader lock, the two listeners (log and
/// announcements) and the batch in progress.
pub const OWN_CONNECTIONS: u32 = 4;
/// How often a standby projector tries to take over.
const STANDBY_CHECK: Duration = Duration::from_secs(1);
/// Waiting this long for the projector is worth a warning.
const PROJECTOR_PATIENCE: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("read model database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Feed(#[from] FeedError),
}

#[derive(Clone)]
pub struct Projector {
    pool: PgPool,
    schema: String,
    changes: broadcast::Sender<Change>,
    applied: Arc<watch::Sender<i64>>,
    /// Tells this process's announcements from those of other processes.
    origin: Arc<str>,
}

impl Projector {
    pub fn new(pool: PgPool, schema: &str) -> Self {
        let (changes, _) = broadcast::channel(4096);
        Self {
            pool,
            schema: schema.to_string(),
            changes,
            applied: Arc::new(watch::channel(0).0),
            origin: uuid::Uuid::new_v4().to_string().into(),
        }
    }

    /// Live changes, sent after the batch that made them is committed.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    /// The newest log position applied by this process's projector, updated after every commit.
    pub fn applied(&self) -> watch::Receiver<i64> {
        self.applied.subscribe()
    }

    /// The last event position this read model has applied.
    pub async fn checkpoint(&self) -> Result<i64, ProjectionError> {
        let mut tx = begin_in_schema(&self.pool, &self.schema).await?;
        let seq = sqlx::query_scalar("SELECT last_seq FROM checkpoint")
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(seq)
    }

    /// Applies every event after the checkpoint (up to `until`, if given); returns the new
    /// checkpoint. Several projectors of the same schema may run: the checkpoint row lock makes them
    /// take turns. Each batch uses one pooled connection: the events are read by the transaction
    /// that applies them.
    pub async fn catch_up(&self, until: Option<i64>) -> Result<i64, ProjectionError> {
        loop {
            let mut tx = begin_batch_in_schema(&self.pool, &self.schema).await?;
            // The checkpoint, locked, and the events after it: one round trip.
            let (last, events) = read_range_after_query(
                &mut tx,
                "SELECT last_seq AS position FROM checkpoint FOR UPDATE",
                until.unwrap_or(i64::MAX),
                BATCH,
            )
            .await?;
            let Some(newest) = events.last().map(|e| e.seq) else {
                tx.commit().await?;
                self.publish(last);
                return Ok(last);
            };
            let (mut changes, mut writes) = (Vec::new(), Deferred::default());
            apply_batch(&mut tx, &events, &mut changes, &mut writes).await?;
            // One notice per changed thing per batch (a sighting and its entry are one change).
            let mut seen = Vec::with_capacity(changes.len());
            changes.retain(|c| {
                let new = !seen.contains(c);
                if new {
                    seen.push(c.clone());
                }
                new
            });
            // The checkpoint moves with the batch; the announcement is delivered only if this
            // transaction commits.
            let announcement = Announcement {
                schema: self.schema.clone(),
                origin: self.origin.to_string(),
                position: newest,
                changes: changes.clone(),
            };
            relay::advance_and_announce(&mut tx, &announcement, writes).await?;
            tx.commit().await?;
            self.publish(newest);
            for change in changes {
                // Nobody listening is fine.
                let _ = self.changes.send(change);
            }
            // A short batch was the end of the log: looking again would find nothing (events
            // appended meanwhile wake the follower again).
            if events.len() < BATCH as usize {
                return Ok(newest);
            }
        }
    }

    pub(crate) fn publish(&self, position: i64) {
        self.applied.send_if_modified(|applied| {
            let newer = position > *applied;
            if newer {
                *applied = position;
            }
            newer
        });
    }

    /// Until `shutdown` resolves: follows the log whenever this process holds the schema's
    /// projector lock (woken by NOTIFY on append, with a periodic catch-up as a safety net for
    /// missed notifications or a lost connection), stands by otherwise; and relays what the
    /// projectors of other processes announce.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        let (stop, stopped) = watch::channel(false);
        let pool = self.pool.clone();
        let leader = LeaderOptions {
            name: format!("projector:{}", self.schema),
            check: STANDBY_CHECK,
        };
        let apply = lead(
            &pool,
            leader,
            |leader_stop| {
                let (pool, mut me) = (self.pool.clone(), self.clone());
                async move {
                    let options = FollowOptions {
                        name: "projector",
                        idle: Duration::from_secs(1),
                        retry: Duration::from_secs(1),
                    };
                    follow_log(&pool, options, &mut me, leader_stop.wait()).await;
                }
            },
            until(stopped.clone()),
        );
        let relay = relay::follow(self.clone(), until(stopped));
        let trigger = async move {
            shutdown.await;
            let _ = stop.send(true);
        };
        tokio::join!(apply, relay, trigger);
    }

    /// [`Projector::run`] on a thread of its own with [`OWN_CONNECTIONS`] connections of its own
    /// (see [`spawn_on_own_thread`] for why); the receiver resolves once it has stopped.
    pub fn spawn_on_own_thread(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<oneshot::Receiver<()>> {
        let pool = self.pool.clone();
        spawn_on_own_thread("projector", &pool, OWN_CONNECTIONS, |pool| {
            Self { pool, ..self }.run(shutdown)
        })
    }

    /// Until `shutdown` resolves: keeps this process's subscribers and `applied` position current
    /// from the announcements of the projectors of other processes, never projecting itself (a
    /// camera worker).
    pub async fn follow_others(self, shutdown: impl std::future::Future<Output = ()>) {
        relay::follow(self, shutdown).await;
    }

    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub(crate) fn schema(&self) -> &str {
        &self.schema
    }

    pub(crate) fn origin(&self) -> &str {
        &self.origin
    }

    /// Hands a change announced by another process to this process's subscribers.
    pub(crate) fn forward(&self, change: Change) {
        let _ = self.changes.send(change);
    }

    /// Waits until this read model has applied the event at `seq` (written by a projector in
    /// this or another process), for readers that quote the read models about an event.
    pub async fn wait_until_applied(&self, seq: i64) -> Result<(), ProjectionError> {
        let mut waited = Duration::ZERO;
        while self.checkpoint().await? < seq {
            if waited == PROJECTOR_PATIENCE {
                tracing::warn!(
                    seq,
                    schema = self.schema,
                    "read models are behind the log; is the projector (`facewatch serve`) running?"
                );
            }
            tokio::time::sleep(PROJECTOR_POLL).await;
            waited += PROJECTOR_POLL;
        }
        Ok(())
    }
}

impl LogFollower for Projector {
    type Error = ProjectionError;

    async fn step(&mut self) -> Result<Option<Duration>, ProjectionError> {
        self.catch_up(None).await.map(|_| None)
    }

    /// What this schema's checkpoint has reached. A batch applies every event there is, so the
    /// notifications of appends committed while it ran arrive after it: under load, each batch
    /// was followed by a step that found nothing (three round trips), ~0.6 of them per batch.
    fn handled(&self) -> Option<i64> {
        Some(*self.applied.borrow())
    }
}

async fn until(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|s| *s).await;
}
