//! Replaying the log into a read-model schema fast: one query streams the events (decoded by a
//! reader task while the previous batch is written, so PostgreSQL and the decoding overlap), and
//! large batches go through the same rules as the live projector (`pending::apply_batch`). The
//! audit copy of each batch (`event_log`, a row per event: most of the writing) goes in at the
//! same time on a connection of its own, committed before the batch's checkpoint. At most a few
//! batches are in memory at once, whatever the size of the log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use facewatch_store::{stream_range, FeedError, RecordedEvent};
use futures::StreamExt;
use sqlx::{Arguments, ConnectOptions, Connection, PgConnection, PgPool};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::deferred::Deferred;
use crate::pending::{apply_batch, apply_batch_without_log, reads_event_log, PendingWrites};
use crate::projector::ProjectionError;
use crate::replay::TABLES;
use crate::schema::{checked_schema, use_schema};

/// Events applied per transaction unless asked otherwise.
pub const DEFAULT_BATCH: usize = 5_000;
/// Decoded batches waiting for the writer.
const READ_AHEAD: usize = 2;

/// What an audit is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Phase {
    /// Applying events to the replayed read models.
    Replaying,
    /// Fingerprinting and comparing the read models (`position` is where they are compared).
    Comparing,
}

/// Where a replay is: shown as a progress bar (CLI) or on the Audit page.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Progress {
    pub phase: Phase,
    /// The position the replay started after.
    pub from: i64,
    /// The position reached.
    pub position: i64,
    /// The position it runs to.
    pub target: i64,
    /// Events applied so far.
    pub events: i64,
    pub elapsed: Duration,
}

impl Progress {
    pub fn events_per_sec(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Applies every event after `schema`'s checkpoint up to position `until`, `batch` events per
/// transaction; returns the events applied. `progress` is called after every batch.
pub async fn replay_into(
    pool: &PgPool,
    schema: &str,
    until: i64,
    batch: usize,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<i64, ProjectionError> {
    let batch = batch.max(1);
    let schema = checked_schema(schema)?;
    let started = Instant::now();
    let from: i64 = sqlx::query_scalar(&format!("SELECT last_seq FROM {schema}.checkpoint"))
        .fetch_one(pool)
        .await?;
    // A replay stopped between a batch's `event_log` commit and its checkpoint's left rows ahead.
    sqlx::query(&format!("DELETE FROM {schema}.event_log WHERE seq > $1"))
        .bind(from)
        .execute(pool)
        .await?;
    let mut log_connection = log_connection(pool, schema).await?;
    let (batches, mut ready) = mpsc::channel(READ_AHEAD);
    let reader = tokio::spawn(read_batches(pool.clone(), from, until, batch, batches));
    let mut report = Progress {
        phase: Phase::Replaying,
        from,
        position: from,
        target: until,
        events: 0,
        elapsed: Duration::ZERO,
    };
    progress(report);
    let mut changes = Vec::new();
    while let Some(batch) = ready.recv().await {
        let batch = Arc::new(batch?);
        let Some(newest) = batch.last().map(|e| e.seq) else {
            continue;
        };
        let mut tx = pool.begin().await?;
        use_schema(&mut tx, schema).await?;
        // A replay can be redone: no need to wait for the disk at every batch.
        sqlx::query("SET LOCAL synchronous_commit = off")
            .execute(&mut *tx)
            .await?;
        let mut writes = Deferred::default();
        if batch.iter().any(reads_event_log) {
            // A log reset deletes from `event_log`: its batch writes everything in order here.
            apply_batch(&mut tx, &batch, &mut changes, &mut writes).await?;
        } else {
            let log = write_log(log_connection, batch.clone());
            apply_batch_without_log(&mut tx, &batch, &mut changes, &mut writes).await?;
            let (connection, written) = log
                .await
                .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
            written?;
            log_connection = connection;
        }
        changes.clear();
        writes.push("UPDATE checkpoint SET last_seq = $1", |a| a.add(newest))?;
        writes.send(&mut tx).await?;
        tx.commit().await?;
        report.position = newest;
        report.events += batch.len() as i64;
        report.elapsed = started.elapsed();
        progress(report);
    }
    // The reader ends on its own once everything was sent (or on its first error, sent above).
    let _ = reader.await;
    let _ = log_connection.close().await;
    Ok(report.events)
}

/// A connection of its own (not from the pool, which may be small and also serves the reader) for
/// the `event_log` rows, pointed at `schema`.
async fn log_connection(pool: &PgPool, schema: &str) -> Result<PgConnection, sqlx::Error> {
    let mut connection = pool.connect_options().connect().await?;
    for setting in [
        format!("SET search_path TO {schema}, public"),
        "SET synchronous_commit = off".to_string(),
    ] {
        sqlx::query(&setting).execute(&mut connection).await?;
    }
    Ok(connection)
}

/// Writes and commits the `event_log` rows of `batch` on `connection`, in a task of its own so
/// that encoding and `COPY` run alongside the rest of the batch; gives the connection back.
fn write_log(
    mut connection: PgConnection,
    batch: Arc<Vec<RecordedEvent>>,
) -> JoinHandle<(PgConnection, Result<(), sqlx::Error>)> {
    tokio::spawn(async move {
        let written = async {
            let mut tx = connection.begin().await?;
            PendingWrites::of(&batch).flush(&mut tx).await?;
            tx.commit().await
        }
        .await;
        (connection, written)
    })
}

async fn read_batches(
    pool: PgPool,
    after: i64,
    until: i64,
    size: usize,
    batches: mpsc::Sender<Result<Vec<RecordedEvent>, FeedError>>,
) {
    let mut events = stream_range(&pool, after, until);
    let mut batch = Vec::with_capacity(size);
    while let Some(event) = events.next().await {
        match event {
            Ok(event) => {
                batch.push(event);
                if batch.len() == size {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(size));
                    if batches.send(Ok(full)).await.is_err() {
                        return; // The writer gave up.
                    }
                }
            }
            Err(e) => {
                let _ = batches.send(Err(e)).await;
                return;
            }
        }
    }
    if !batch.is_empty() {
        let _ = batches.send(Ok(batch)).await;
    }
}

/// Makes a freshly installed scratch schema cheap to fill: its tables are not WAL-logged (an
/// audit copy is rebuilt, not recovered, after a crash; PostgreSQL empties unlogged tables then,
/// which the audit notices as a missing checkpoint).
pub async fn make_scratch(pool: &PgPool, schema: &str) -> Result<(), sqlx::Error> {
    let schema = checked_schema(schema)?;
    for table in TABLES.iter().chain(&["checkpoint"]) {
        sqlx::query(&format!("ALTER TABLE {schema}.{table} SET UNLOGGED"))
            .execute(pool)
            .await?;
    }
    Ok(())
}
