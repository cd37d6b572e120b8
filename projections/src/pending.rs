//! The writes that dominate the log — the audit copy of every event and the "last seen" of every
//! sighting — gathered over a batch and written with one statement each, instead of one round trip
//! per event. Any other event flushes them first, so every rule still sees the rows in log order.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

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

/// The newest sighting of one employee in the batch.
pub(crate) struct Sighting {
    pub at: DateTime<Utc>,
    pub camera_id: String,
    pub snapshot_ref: Option<String>,
}

#[derive(Default)]
pub(crate) struct PendingWrites {
    log: Vec<LogRow>,
    sightings: HashMap<String, Sighting>,
}

impl PendingWrites {
    pub fn log(&mut self, row: LogRow) {
        self.log.push(row);
    }

    /// Applied one at a time, sightings keep the latest `last_seen` (a later event wins a tie), so
    /// only the newest of each employee needs writing.
    pub fn sighting(&mut self, employee_id: &str, sighting: Sighting) {
        match self.sightings.get_mut(employee_id) {
            Some(kept) if kept.at > sighting.at => {}
            Some(kept) => *kept = sighting,
            None => {
                self.sightings.insert(employee_id.to_string(), sighting);
            }
        }
    }

    /// Writes what is pending; the batch's later events may read it.
    pub async fn flush(&mut self, db: &mut PgConnection) -> Result<(), sqlx::Error> {
        if !self.sightings.is_empty() {
            let mut ids = Vec::with_capacity(self.sightings.len());
            let mut ats = Vec::with_capacity(self.sightings.len());
            let mut cameras = Vec::with_capacity(self.sightings.len());
            let mut snapshots = Vec::with_capacity(self.sightings.len());
            for (id, s) in self.sightings.drain() {
                ids.push(id);
                ats.push(s.at);
                cameras.push(s.camera_id);
                snapshots.push(s.snapshot_ref);
            }
            sqlx::query(
                "INSERT INTO presence
                 SELECT e, false, NULL, a, c, s
                 FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[]) AS t(e, a, c, s)
                 ON CONFLICT (employee_id) DO UPDATE
                 SET last_seen = excluded.last_seen, camera_id = excluded.camera_id,
                     snapshot_ref = excluded.snapshot_ref
                 WHERE presence.last_seen <= excluded.last_seen",
            )
            .bind(ids)
            .bind(ats)
            .bind(cameras)
            .bind(snapshots)
            .execute(&mut *db)
            .await?;
        }
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
