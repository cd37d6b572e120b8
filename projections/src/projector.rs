//! Follows the event log and keeps one read-model schema up to date, exactly once per event: each
//! batch of events and the checkpoint move forward in the same transaction. The position applied
//! is published on a `watch` channel, so a writer can wait until its own events are readable
//! without projecting them itself.

use std::sync::Arc;
use std::time::Duration;

use facewatch_store::{follow_log, read_range, FeedError, FollowOptions, LogFollower};
use sqlx::PgPool;
use tokio::sync::{broadcast, watch};

use crate::pending::apply_batch;
use crate::schema::use_schema;
use crate::Change;

const BATCH: i64 = 500;
/// How often [`Projector::wait_until_applied`] looks at the checkpoint.
const PROJECTOR_POLL: Duration = Duration::from_millis(100);
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
}

impl Projector {
    pub fn new(pool: PgPool, schema: &str) -> Self {
        let (changes, _) = broadcast::channel(4096);
        Self {
            pool,
            schema: schema.to_string(),
            changes,
            applied: Arc::new(watch::channel(0).0),
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
        let mut tx = self.pool.begin().await?;
        use_schema(&mut tx, &self.schema).await?;
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
            let mut tx = self.pool.begin().await?;
            use_schema(&mut tx, &self.schema).await?;
            let last: i64 = sqlx::query_scalar("SELECT last_seq FROM checkpoint FOR UPDATE")
                .fetch_one(&mut *tx)
                .await?;
            let events = read_range(&mut tx, last, until.unwrap_or(i64::MAX), BATCH).await?;
            let Some(newest) = events.last().map(|e| e.seq) else {
                tx.commit().await?;
                self.publish(last);
                return Ok(last);
            };
            let mut changes = Vec::new();
            apply_batch(&mut tx, &events, &mut changes).await?;
            sqlx::query("UPDATE checkpoint SET last_seq = $1")
                .bind(newest)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            self.publish(newest);
            // One notice per changed thing per batch (a sighting and its entry are one change).
            let mut seen = Vec::with_capacity(changes.len());
            changes.retain(|c| {
                let new = !seen.contains(c);
                if new {
                    seen.push(c.clone());
                }
                new
            });
            for change in changes {
                // Nobody listening is fine.
                let _ = self.changes.send(change);
            }
        }
    }

    fn publish(&self, position: i64) {
        self.applied.send_if_modified(|applied| {
            let newer = position > *applied;
            if newer {
                *applied = position;
            }
            newer
        });
    }

    /// Follows the log until `shutdown` resolves: woken by NOTIFY on append, with a periodic
    /// catch-up as a safety net for missed notifications or a lost connection.
    pub async fn run(mut self, shutdown: impl std::future::Future<Output = ()>) {
        let pool = self.pool.clone();
        let options = FollowOptions {
            name: "projector",
            idle: Duration::from_secs(1),
            retry: Duration::from_secs(1),
        };
        follow_log(&pool, options, &mut self, shutdown).await;
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
}
