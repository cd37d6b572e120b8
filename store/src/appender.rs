//! Group commit: one task per [`crate::EventStore`] writes the events of every command that is
//! waiting, taking the global-order lock once: in one round trip when the group passes its checks
//! as a whole ([`crate::append_function`]), else deciding command by command in one transaction
//! ([`crate::append_checked`]). Concurrent commands then share one commit (one WAL flush) instead
//! of queueing on the lock one commit at a time, while numbers are still drawn under the lock, so
//! no reader ever sees event n+1 before n.

use std::collections::HashMap;

use cqrs_es::persist::SerializedEvent;
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use crate::{append_checked, append_function};

/// The advisory lock that orders appends (see migrations/0001_event_store.sql).
pub(crate) const GLOBAL_ORDER_LOCK: i64 = 7415562201;
/// Commands written by one transaction at most.
const MAX_BATCH: usize = 256;
/// Commands that may wait for the appender before senders are slowed down.
const QUEUE: usize = 4096;
/// Connections of an appender on its own thread: one group is written at a time (a second for a
/// group's careful path is never needed at once, but a broken connection is replaced without
/// waiting).
pub(crate) const OWN_CONNECTIONS: u32 = 2;

/// The events one command produced for one aggregate.
#[derive(Debug)]
pub(crate) struct AppendRequest {
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub events: Vec<SerializedEvent>,
    /// `(payload, snapshot number, last sequence it includes)`.
    pub snapshot: Option<(serde_json::Value, i64, i64)>,
    pub idempotency_key: Option<String>,
}

/// What happened to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Its events were stored; the newest is at this log position.
    Stored { position: i64 },
    /// Its idempotency key was already used: nothing was stored. `position` is the original's.
    Duplicate { position: i64 },
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum AppendError {
    /// Another writer appended to the aggregate first (optimistic concurrency).
    #[error("the aggregate changed concurrently")]
    Conflict,
    #[error("appending events failed: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the appender has stopped")]
    Stopped,
}

struct Job {
    request: AppendRequest,
    reply: oneshot::Sender<Result<Appended, AppendError>>,
}

/// A handle on the appender task; cheap to clone. The task ends when the last handle is dropped.
#[derive(Clone)]
pub(crate) struct Appender {
    jobs: mpsc::Sender<Job>,
}

impl Appender {
    pub fn spawn(pool: PgPool) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run(pool, queue));
        Self { jobs }
    }

    /// [`Appender::spawn`] on a thread of its own with [`OWN_CONNECTIONS`] connections of its own
    /// (see `own_thread.rs`). The appender is the write path's one serial stage that every write
    /// passes: on the server's runtime, each answer from PostgreSQL waited for a worker to finish
    /// with request tasks before the group's commands heard back and the next group left. The
    /// thread ends once the last handle is dropped.
    pub fn spawn_on_own_thread(pool: &PgPool) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel(QUEUE);
        crate::spawn_on_own_thread("appender", pool, OWN_CONNECTIONS, |pool| run(pool, queue))?;
        Ok(Self { jobs })
    }

    pub async fn append(&self, request: AppendRequest) -> Result<Appended, AppendError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { request, reply })
            .await
            .map_err(|_| AppendError::Stopped)?;
        answer.await.map_err(|_| AppendError::Stopped)?
    }
}

async fn run(pool: PgPool, mut queue: mpsc::Receiver<Job>) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let requests: Vec<&AppendRequest> = batch.iter().map(|j| &j.request).collect();
        match write_batch(&pool, &requests).await {
            Ok(outcomes) => {
                for (job, outcome) in batch.into_iter().zip(outcomes) {
                    let _ = job.reply.send(outcome);
                }
            }
            // One bad request (a value PostgreSQL refuses) must not fail the others: write each
            // alone, so only the culprit gets the error.
            Err(e) if batch.len() > 1 => {
                tracing::debug!("batch of {} failed ({e}), writing one by one", batch.len());
                for job in batch {
                    let outcome = match write_batch(&pool, &[&job.request]).await {
                        Ok(mut outcomes) => outcomes.remove(0),
                        Err(e) => Err(AppendError::Database(e)),
                    };
                    let _ = job.reply.send(outcome);
                }
            }
            Err(e) => {
                let job = batch.remove(0);
                let _ = job.reply.send(Err(AppendError::Database(e)));
            }
        }
    }
}

/// Each stored event's log position by `(aggregate type, aggregate id, sequence)`.
pub(crate) type Positions = HashMap<(String, String, i64), i64>;

/// The newest log position of `request`'s events (0 if none was stored).
pub(crate) fn position_of(positions: &Positions, request: &AppendRequest) -> i64 {
    request
        .events
        .iter()
        .filter_map(|e| {
            let event = (
                request.aggregate_type.clone(),
                request.aggregate_id.clone(),
                e.sequence as i64,
            );
            positions.get(&event).copied()
        })
        .max()
        .unwrap_or(0)
}

/// Writes every acceptable request of `batch` and says what became of each: in one round trip
/// when the batch passes as a whole (the common case), else request by request.
async fn write_batch(
    pool: &PgPool,
    batch: &[&AppendRequest],
) -> Result<Vec<Result<Appended, AppendError>>, sqlx::Error> {
    if let Some(positions) = append_function::append(pool, batch).await? {
        return Ok(batch
            .iter()
            .map(|request| {
                Ok(Appended::Stored {
                    position: position_of(&positions, request),
                })
            })
            .collect());
    }
    append_checked::write(pool, batch).await
}

#[cfg(test)]
impl AppendRequest {
    /// `Happened` events of aggregate type `test` with these sequences on `stream`.
    pub(crate) fn for_test(stream: &str, sequences: &[usize], key: Option<&str>) -> Self {
        let event = |sequence| {
            SerializedEvent::new(
                stream.into(),
                sequence,
                "test".into(),
                "Happened".into(),
                "1.0".into(),
                serde_json::json!({ "n": sequence }),
                serde_json::json!({}),
            )
        };
        Self {
            aggregate_type: "test".into(),
            aggregate_id: stream.into(),
            events: sequences.iter().copied().map(event).collect(),
            snapshot: None,
            idempotency_key: key.map(str::to_string),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScratchDatabase;

    fn request(stream: &str, sequences: &[usize], key: Option<&str>) -> AppendRequest {
        AppendRequest::for_test(stream, sequences, key)
    }

    async fn stored(pool: &PgPool) -> Vec<(String, i64)> {
        sqlx::query_as("SELECT aggregate_id, sequence FROM events ORDER BY global_seq")
            .fetch_all(pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_batch_that_passes_as_a_whole_is_written_in_one_call_in_order() {
        let db = ScratchDatabase::create("fw_appender").await.unwrap();
        let (a1, a2, b) = (
            request("a", &[1, 2], Some("k-a")),
            request("a", &[3], None),
            request("b", &[1], None),
        );
        let outcomes = write_batch(&db.pool, &[&a1, &a2, &b]).await.unwrap();
        let positions: Vec<i64> = outcomes
            .into_iter()
            .map(|o| match o.unwrap() {
                Appended::Stored { position } => position,
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(positions[0] < positions[1] && positions[1] < positions[2]);
        assert_eq!(
            stored(&db.pool).await,
            [
                ("a".into(), 1),
                ("a".into(), 2),
                ("a".into(), 3),
                ("b".into(), 1)
            ]
        );
        let key: i64 =
            sqlx::query_scalar("SELECT position FROM idempotency_keys WHERE key = 'k-a'")
                .fetch_one(&db.pool)
                .await
                .unwrap();
        assert_eq!(
            key, positions[0],
            "the key names the request's newest event"
        );
        db.drop().await.unwrap();
    }

    #[tokio::test]
    async fn two_snapshots_of_one_stream_in_a_batch_leave_the_newer() {
        let db = ScratchDatabase::create("fw_appender").await.unwrap();
        let (mut older, mut newer) = (request("a", &[1], None), request("a", &[2], None));
        older.snapshot = Some((serde_json::json!({ "at": 1 }), 0, 1));
        newer.snapshot = Some((serde_json::json!({ "at": 2 }), 0, 2));
        for path in ["one call", "command by command"] {
            let outcomes = if path == "one call" {
                write_batch(&db.pool, &[&older, &newer]).await.unwrap()
            } else {
                let (a3, a4) = (request("a", &[3], None), request("a", &[4], None));
                older = AppendRequest {
                    snapshot: Some((serde_json::json!({ "at": 3 }), 0, 3)),
                    ..a3
                };
                newer = AppendRequest {
                    snapshot: Some((serde_json::json!({ "at": 4 }), 0, 4)),
                    ..a4
                };
                append_checked::write(&db.pool, &[&older, &newer])
                    .await
                    .unwrap()
            };
            assert!(
                outcomes
                    .iter()
                    .all(|o| matches!(o, Ok(Appended::Stored { .. }))),
                "{path}"
            );
            let snapshots: Vec<i64> =
                sqlx::query_scalar("SELECT last_sequence FROM snapshots WHERE aggregate_id = 'a'")
                    .fetch_all(&db.pool)
                    .await
                    .unwrap();
            let newest = newer.events[0].sequence as i64;
            assert_eq!(snapshots, [newest], "{path}");
        }
        db.drop().await.unwrap();
    }

    #[tokio::test]
    async fn a_stale_request_or_a_used_key_fails_only_itself() {
        let db = ScratchDatabase::create("fw_appender").await.unwrap();
        let first = request("a", &[1], Some("k-used"));
        write_batch(&db.pool, &[&first]).await.unwrap();
        // `a` already ends at 1 (another process wrote it); the key was used by `first`.
        let (stale, retried, fine) = (
            request("a", &[1], None),
            request("b", &[1], Some("k-used")),
            request("c", &[1], None),
        );
        let outcomes = write_batch(&db.pool, &[&stale, &retried, &fine])
            .await
            .unwrap();
        assert!(matches!(outcomes[0], Err(AppendError::Conflict)));
        assert!(matches!(outcomes[1], Ok(Appended::Duplicate { .. })));
        assert!(matches!(outcomes[2], Ok(Appended::Stored { .. })));
        assert_eq!(stored(&db.pool).await, [("a".into(), 1), ("c".into(), 1)]);
        db.drop().await.unwrap();
    }
}
