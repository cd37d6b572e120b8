//! Group commit: one task per [`crate::EventStore`] writes the events of every command that is
//! waiting, in one transaction that takes the global-order lock once. Concurrent commands then share
//! one commit (one WAL flush) instead of queueing on the lock one commit at a time, while numbers
//! are still drawn under the lock, so no reader ever sees event n+1 before n.

use std::collections::{HashMap, HashSet};

use cqrs_es::persist::SerializedEvent;
use sqlx::{PgPool, Postgres, Row, Transaction};
use tokio::sync::{mpsc, oneshot};

use crate::append_function;

/// The advisory lock that orders appends (see migrations/0001_event_store.sql).
const GLOBAL_ORDER_LOCK: i64 = 7415562201;
/// Commands written by one transaction at most.
const MAX_BATCH: usize = 256;
/// Commands that may wait for the appender before senders are slowed down.
const QUEUE: usize = 4096;

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
fn position_of(positions: &Positions, request: &AppendRequest) -> i64 {
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
    write_checked(pool, batch).await
}

/// Writes every acceptable request of `batch` in one transaction, deciding on each on its own
/// (a stream another process moved, an idempotency key already used, …).
async fn write_checked(
    pool: &PgPool,
    batch: &[&AppendRequest],
) -> Result<Vec<Result<Appended, AppendError>>, sqlx::Error> {
    // BEGIN and the lock in one round trip (the appender's commits are the write path's pace).
    let mut tx = pool
        .begin_with(format!(
            "BEGIN; SELECT pg_advisory_xact_lock({GLOBAL_ORDER_LOCK})"
        ))
        .await?;
    // Under the lock nobody else appends, so what these reads see is the truth until we commit.
    let used_keys = used_keys(&mut tx, batch).await?;
    let mut last_sequence = last_sequences(&mut tx, batch).await?;

    enum Verdict {
        Write,
        Duplicate(i64),
        DuplicateOfBatch(usize),
        Conflict,
    }
    let mut verdicts = Vec::with_capacity(batch.len());
    let mut keys_in_batch: HashMap<&str, usize> = HashMap::new();
    for (index, request) in batch.iter().enumerate() {
        let verdict = match request.idempotency_key.as_deref() {
            Some(key) if used_keys.contains_key(key) => Verdict::Duplicate(used_keys[key]),
            Some(key) if keys_in_batch.contains_key(key) => {
                Verdict::DuplicateOfBatch(keys_in_batch[key])
            }
            _ => {
                let stream = (request.aggregate_type.clone(), request.aggregate_id.clone());
                let current = last_sequence.get(&stream).copied().unwrap_or(0);
                let first = request.events.first().map_or(0, |e| e.sequence as i64);
                if first != current + 1 {
                    Verdict::Conflict
                } else {
                    let last = request.events.last().map_or(current, |e| e.sequence as i64);
                    last_sequence.insert(stream, last);
                    if let Some(key) = request.idempotency_key.as_deref() {
                        keys_in_batch.insert(key, index);
                    }
                    Verdict::Write
                }
            }
        };
        verdicts.push(verdict);
    }

    let writes: Vec<&AppendRequest> = batch
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| matches!(v, Verdict::Write))
        .map(|(r, _)| *r)
        .collect();
    let positions = insert_events(&mut tx, &writes).await?;
    let position_of = |request: &AppendRequest| position_of(&positions, request);
    for request in &writes {
        if let Some(snapshot) = &request.snapshot {
            save_snapshot(&mut tx, request, snapshot).await?;
        }
        if let Some(key) = &request.idempotency_key {
            sqlx::query(
                "INSERT INTO idempotency_keys (key, aggregate_type, aggregate_id, position) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(key)
            .bind(&request.aggregate_type)
            .bind(&request.aggregate_id)
            .bind(position_of(request))
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;

    Ok(batch
        .iter()
        .zip(&verdicts)
        .map(|(request, verdict)| match verdict {
            Verdict::Write => Ok(Appended::Stored {
                position: position_of(request),
            }),
            Verdict::Duplicate(position) => Ok(Appended::Duplicate {
                position: *position,
            }),
            Verdict::DuplicateOfBatch(original) => Ok(Appended::Duplicate {
                position: position_of(batch[*original]),
            }),
            Verdict::Conflict => Err(AppendError::Conflict),
        })
        .collect())
}

async fn used_keys(
    tx: &mut Transaction<'_, Postgres>,
    batch: &[&AppendRequest],
) -> Result<HashMap<String, i64>, sqlx::Error> {
    let keys: Vec<&str> = batch
        .iter()
        .filter_map(|r| r.idempotency_key.as_deref())
        .collect();
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query("SELECT key, position FROM idempotency_keys WHERE key = ANY($1)")
        .bind(&keys)
        .fetch_all(&mut **tx)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.get("key"), row.get("position")))
        .collect())
}

/// The newest sequence number of every stream the batch appends to (absent: a new stream).
async fn last_sequences(
    tx: &mut Transaction<'_, Postgres>,
    batch: &[&AppendRequest],
) -> Result<HashMap<(String, String), i64>, sqlx::Error> {
    let streams: HashSet<(&str, &str)> = batch
        .iter()
        .map(|r| (r.aggregate_type.as_str(), r.aggregate_id.as_str()))
        .collect();
    let (types, ids): (Vec<&str>, Vec<&str>) = streams.into_iter().unzip();
    // One index probe per stream (newest sequence first), however long the stream is.
    let rows = sqlx::query(
        "SELECT s.t, s.i, (SELECT e.sequence FROM events e \
                           WHERE e.aggregate_type = s.t AND e.aggregate_id = s.i \
                           ORDER BY e.sequence DESC LIMIT 1) AS last \
         FROM unnest($1::text[], $2::text[]) AS s(t, i)",
    )
    .bind(&types)
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let last: Option<i64> = row.get("last");
            Some(((row.get("t"), row.get("i")), last?))
        })
        .collect())
}

/// Inserts the events of every request with one statement; returns each event's log position.
async fn insert_events(
    tx: &mut Transaction<'_, Postgres>,
    writes: &[&AppendRequest],
) -> Result<Positions, sqlx::Error> {
    let events: Vec<&SerializedEvent> = writes.iter().flat_map(|r| &r.events).collect();
    if events.is_empty() {
        return Ok(HashMap::new());
    }
    let column =
        |f: fn(&SerializedEvent) -> String| events.iter().map(|e| f(e)).collect::<Vec<_>>();
    let rows = sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         SELECT t, i, s, et, ev, p::json, m::json \
         FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::jsonb[], $7::jsonb[]) \
              WITH ORDINALITY AS e(t, i, s, et, ev, p, m, n) \
         ORDER BY n \
         RETURNING aggregate_type, aggregate_id, sequence, global_seq",
    )
    .bind(column(|e| e.aggregate_type.clone()))
    .bind(column(|e| e.aggregate_id.clone()))
    .bind(events.iter().map(|e| e.sequence as i64).collect::<Vec<_>>())
    .bind(column(|e| e.event_type.clone()))
    .bind(column(|e| e.event_version.clone()))
    .bind(events.iter().map(|e| e.payload.clone()).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.metadata.clone()).collect::<Vec<_>>())
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let event = (
                row.get("aggregate_type"),
                row.get("aggregate_id"),
                row.get("sequence"),
            );
            (event, row.get("global_seq"))
        })
        .collect())
}

/// Snapshots are a cache of the stream; the first is inserted, later ones replace it.
async fn save_snapshot(
    tx: &mut Transaction<'_, Postgres>,
    request: &AppendRequest,
    (payload, number, last_sequence): &(serde_json::Value, i64, i64),
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM snapshots WHERE aggregate_type = $1 AND aggregate_id = $2")
        .bind(&request.aggregate_type)
        .bind(&request.aggregate_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence, current_snapshot, payload) \
         VALUES ($1, $2, $3, $4, $5::json)",
    )
    .bind(&request.aggregate_type)
    .bind(&request.aggregate_id)
    .bind(last_sequence)
    .bind(number)
    .bind(payload)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScratchDatabase;
    use serde_json::json;

    fn request(stream: &str, sequences: &[usize], key: Option<&str>) -> AppendRequest {
        AppendRequest {
            aggregate_type: "test".into(),
            aggregate_id: stream.into(),
            events: sequences
                .iter()
                .map(|&sequence| {
                    SerializedEvent::new(
                        stream.into(),
                        sequence,
                        "test".into(),
                        "Happened".into(),
                        "1.0".into(),
                        json!({ "n": sequence }),
                        json!({}),
                    )
                })
                .collect(),
            snapshot: None,
            idempotency_key: key.map(str::to_string),
        }
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
