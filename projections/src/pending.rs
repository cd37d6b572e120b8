//! Applying a batch of events: the audit copy of every event (`event_log`) is gathered and written
//! with one statement, runs of sightings/entries/exits go to `hot.rs`, and any other event is
//! applied on its own by `apply.rs` after everything before it has been written, so every rule
//! sees the rows in log order.

use chrono::{DateTime, Utc};
use facewatch_store::RecordedEvent;
use sqlx::PgConnection;

use crate::apply::{apply, log_row};
use crate::hot::{apply_run, is_hot};
use crate::Change;

/// Applies `events` (in log order) to the read models of the connection's search path.
pub(crate) async fn apply_batch(
    db: &mut PgConnection,
    events: &[RecordedEvent],
    changes: &mut Vec<Change>,
) -> Result<(), sqlx::Error> {
    let mut pending = PendingWrites::default();
    let mut rest = events;
    while let Some(first) = rest.first() {
        let run = rest.iter().take_while(|e| is_hot(e)).count();
        if run > 0 {
            rest[..run].iter().for_each(|e| pending.log(log_row(e)));
            apply_run(db, &rest[..run], changes).await?;
            rest = &rest[run..];
        } else {
            pending.log(log_row(first));
            pending.flush(db).await?;
            apply(db, first, changes).await?;
            rest = &rest[1..];
        }
    }
    pending.flush(db).await
}

/// One row of `event_log`.
pub(crate) struct LogRow {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub event_type: String,
    pub employee_id: Option<String>,
    pub camera_id: Option<String>,
    pub payload: serde_json::Value,
    pub actor: Option<String>,
    pub correlation_id: Option<String>,
}

#[derive(Default)]
pub(crate) struct PendingWrites {
    log: Vec<LogRow>,
}

impl PendingWrites {
    pub fn log(&mut self, row: LogRow) {
        self.log.push(row);
    }

    /// Writes what is pending; the batch's later events may read it.
    pub async fn flush(&mut self, db: &mut PgConnection) -> Result<(), sqlx::Error> {
        if !self.log.is_empty() {
            let columns = LogColumns::from(std::mem::take(&mut self.log));
            sqlx::query(
                "INSERT INTO event_log
                 SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[], $4::text[],
                                      $5::text[], $6::text[], $7::text[], $8::text[], $9::jsonb[],
                                      $10::text[], $11::text[])",
            )
            .bind(columns.seq)
            .bind(columns.at)
            .bind(columns.recorded_at)
            .bind(columns.aggregate_type)
            .bind(columns.aggregate_id)
            .bind(columns.event_type)
            .bind(columns.employee_id)
            .bind(columns.camera_id)
            .bind(columns.payload)
            .bind(columns.actor)
            .bind(columns.correlation_id)
            .execute(&mut *db)
            .await?;
        }
        Ok(())
    }
}

/// `event_log` rows as one array per column, for `unnest`.
#[derive(Default)]
struct LogColumns {
    seq: Vec<i64>,
    at: Vec<DateTime<Utc>>,
    recorded_at: Vec<DateTime<Utc>>,
    aggregate_type: Vec<String>,
    aggregate_id: Vec<String>,
    event_type: Vec<String>,
    employee_id: Vec<Option<String>>,
    camera_id: Vec<Option<String>>,
    payload: Vec<serde_json::Value>,
    actor: Vec<Option<String>>,
    correlation_id: Vec<Option<String>>,
}

impl From<Vec<LogRow>> for LogColumns {
    fn from(rows: Vec<LogRow>) -> Self {
        let mut c = LogColumns::default();
        for r in rows {
            c.seq.push(r.seq);
            c.at.push(r.at);
            c.recorded_at.push(r.recorded_at);
            c.aggregate_type.push(r.aggregate_type);
            c.aggregate_id.push(r.aggregate_id);
            c.event_type.push(r.event_type);
            c.employee_id.push(r.employee_id);
            c.camera_id.push(r.camera_id);
            c.payload.push(r.payload);
            c.actor.push(r.actor);
            c.correlation_id.push(r.correlation_id);
        }
        c
    }
}
