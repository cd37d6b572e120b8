//! Applying a batch of events: the audit copy of every event (`event_log`) is gathered and written
//! with one statement, runs of sightings/entries/exits go to `hot.rs`, and any other event is
//! applied on its own by `apply.rs` after everything before it has been written, so every rule
//! sees the rows in log order.

use chrono::{DateTime, Utc};
use facewatch_domain::maintenance::MaintenanceEvent;
use facewatch_domain::AnyEvent;
use facewatch_store::RecordedEvent;
use sqlx::{Arguments, PgConnection};

use crate::apply::{apply, log_row};
use crate::deferred::Deferred;
use crate::hot::{apply_run, is_hot, stored};
use crate::Change;

/// Applies `events` (in log order) to the read models of the connection's search path. The
/// batch's last writes are left in `writes`: the caller sends them with its checkpoint.
pub(crate) async fn apply_batch(
    db: &mut PgConnection,
    events: &[RecordedEvent],
    changes: &mut Vec<Change>,
    writes: &mut Deferred,
) -> Result<(), sqlx::Error> {
    let mut pending = PendingWrites::default();
    apply_events(db, events, changes, Some(&mut pending), writes).await?;
    pending.defer(db, writes).await
}

/// [`apply_batch`] without the `event_log` rows, which the caller writes elsewhere
/// ([`PendingWrites::of`]), e.g. on a second connection at the same time. Only for batches in
/// which no event reads `event_log` (none [`reads_event_log`]).
pub(crate) async fn apply_batch_without_log(
    db: &mut PgConnection,
    events: &[RecordedEvent],
    changes: &mut Vec<Change>,
    writes: &mut Deferred,
) -> Result<(), sqlx::Error> {
    debug_assert!(!events.iter().any(reads_event_log));
    apply_events(db, events, changes, None, writes).await
}

/// Whether applying `event` reads `event_log` (so the rows before it must be written first).
pub(crate) fn reads_event_log(event: &RecordedEvent) -> bool {
    matches!(
        event.event,
        AnyEvent::Maintenance(MaintenanceEvent::LogsReset { .. })
    )
}

/// Applies `events`; with `log`, also gathers their `event_log` rows there. Everything gathered
/// is written before any event other than a sighting, entry or exit is applied (it may read
/// it); what the last run of those changed is left in `writes` for the caller to send.
async fn apply_events(
    db: &mut PgConnection,
    events: &[RecordedEvent],
    changes: &mut Vec<Change>,
    mut log: Option<&mut PendingWrites>,
    writes: &mut Deferred,
) -> Result<(), sqlx::Error> {
    let mut rest = events;
    while let Some(first) = rest.first() {
        let run = rest.iter().take_while(|e| is_hot(e)).count();
        if run > 0 {
            if let Some(log) = log.as_deref_mut() {
                rest[..run].iter().for_each(|e| log.log(log_row(e)));
            }
            apply_run(db, &rest[..run], changes, writes).await?;
            rest = &rest[run..];
        } else {
            if let Some(log) = log.as_deref_mut() {
                log.log(log_row(first));
                log.defer(db, writes).await?;
            }
            writes.send(db).await?;
            apply(db, first, changes).await?;
            rest = &rest[1..];
        }
    }
    Ok(())
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
    /// JSON text, secrets redacted.
    pub payload: String,
    pub actor: Option<String>,
    pub correlation_id: Option<String>,
}

/// Pending `event_log` rows written by one `INSERT` at most; more go by `COPY`.
const INSERT_AT_MOST: usize = 64;

#[derive(Default)]
pub(crate) struct PendingWrites {
    log: Vec<LogRow>,
}

impl PendingWrites {
    /// The `event_log` rows of `events`.
    pub fn of(events: &[RecordedEvent]) -> Self {
        Self {
            log: events.iter().map(log_row).collect(),
        }
    }

    pub fn log(&mut self, row: LogRow) {
        self.log.push(row);
    }

    /// Writes what is pending, which the batch's later events may read: a few rows (a live
    /// batch) with one `INSERT` (one round trip), many (a replay's thousands) with one `COPY`
    /// (several times faster per row, but a second round trip and more setup).
    pub async fn flush(&mut self, db: &mut PgConnection) -> Result<(), sqlx::Error> {
        let mut writes = Deferred::default();
        self.defer(db, &mut writes).await?;
        writes.send(db).await
    }

    /// Like [`PendingWrites::flush`], but a few rows are gathered in `writes` (sent by the caller
    /// with the batch's other writes) instead of being inserted at once.
    pub async fn defer(
        &mut self,
        db: &mut PgConnection,
        writes: &mut Deferred,
    ) -> Result<(), sqlx::Error> {
        match self.log.len() {
            0 => Ok(()),
            n if n <= INSERT_AT_MOST => self.insert(writes),
            _ => self.copy(db).await,
        }
    }

    fn insert(&mut self, writes: &mut Deferred) -> Result<(), sqlx::Error> {
        let rows = std::mem::take(&mut self.log);
        let text = |f: fn(&LogRow) -> Option<&str>| rows.iter().map(f).collect::<Vec<_>>();
        writes.push(
            "INSERT INTO event_log (seq, at, recorded_at, aggregate_type, aggregate_id, event_type, \
                                    employee_id, camera_id, payload, actor, correlation_id) \
             SELECT s, a, r, t, i, e, em, c, p::jsonb, ac, co \
             FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[], $4::text[], $5::text[], \
                         $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[]) \
                  AS l(s, a, r, t, i, e, em, c, p, ac, co)",
            |a| {
                a.add(rows.iter().map(|r| r.seq).collect::<Vec<_>>())?;
                a.add(rows.iter().map(|r| r.at).collect::<Vec<_>>())?;
                a.add(rows.iter().map(|r| r.recorded_at).collect::<Vec<_>>())?;
                a.add(text(|r| Some(&r.aggregate_type)))?;
                a.add(text(|r| Some(&r.aggregate_id)))?;
                a.add(text(|r| Some(&r.event_type)))?;
                a.add(text(|r| r.employee_id.as_deref()))?;
                a.add(text(|r| r.camera_id.as_deref()))?;
                a.add(text(|r| Some(&r.payload)))?;
                a.add(text(|r| r.actor.as_deref()))?;
                a.add(text(|r| r.correlation_id.as_deref()))
            },
        )
    }

    async fn copy(&mut self, db: &mut PgConnection) -> Result<(), sqlx::Error> {
        let mut data = String::with_capacity(self.log.len() * 400);
        for row in self.log.drain(..) {
            row.write_copy_line(&mut data);
        }
        let mut copy = db.copy_in_raw("COPY event_log FROM STDIN").await?;
        copy.send(data.into_bytes()).await?;
        copy.finish().await?;
        Ok(())
    }
}

impl LogRow {
    /// The row in `COPY` text format: tab-separated, `\N` for NULL, times as stored (microseconds,
    /// truncated like bound parameters are).
    fn write_copy_line(self, out: &mut String) {
        use std::fmt::Write;
        let time = |out: &mut String, at: DateTime<Utc>| {
            write_copy_time(out, stored(at));
            out.push('\t');
        };
        let _ = write!(out, "{}\t", self.seq);
        time(out, self.at);
        time(out, self.recorded_at);
        for text in [
            Some(self.aggregate_type.as_str()),
            Some(self.aggregate_id.as_str()),
            Some(self.event_type.as_str()),
            self.employee_id.as_deref(),
            self.camera_id.as_deref(),
            Some(self.payload.as_str()),
            self.actor.as_deref(),
        ] {
            copy_text(out, text);
            out.push('\t');
        }
        copy_text(out, self.correlation_id.as_deref());
        out.push('\n');
    }
}

/// A time in `COPY` text format, UTC with microseconds. Written field by field: chrono's
/// `format` interprets its pattern for every value, a visible share of a replay's client CPU.
fn write_copy_time(out: &mut String, at: DateTime<Utc>) {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write;
    let (date, time) = (at.date_naive(), at.time());
    // Years of other widths and leap seconds (nanoseconds ≥ 1e9) take chrono's own path.
    if !(1..=9999).contains(&date.year()) || time.nanosecond() >= 1_000_000_000 {
        let _ = write!(out, "{}", at.format("%Y-%m-%d %H:%M:%S%.6f+00"));
        return;
    }
    let _ = write!(
        out,
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00",
        date.year(),
        date.month(),
        date.day(),
        time.hour(),
        time.minute(),
        time.second(),
        time.nanosecond() / 1_000,
    );
}

/// One `COPY` text field.
fn copy_text(out: &mut String, text: Option<&str>) {
    let Some(text) = text else {
        out.push_str("\\N");
        return;
    };
    if !text.contains(['\\', '\n', '\r', '\t']) {
        out.push_str(text);
        return;
    }
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};

    fn rows() -> Vec<LogRow> {
        let at = Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).unwrap();
        (0..3)
            .map(|i| LogRow {
                seq: i + 1,
                at: at + chrono::Duration::nanoseconds(1_234_567 * i),
                recorded_at: at,
                aggregate_type: "presence".into(),
                aggregate_id: format!("emp\t{i}\\x\nü"),
                event_type: "FaceRecognized".into(),
                employee_id: (i != 1).then(|| "emp-1".into()),
                camera_id: None,
                payload: format!(r#"{{"note":"tab\there","n":{i}}}"#),
                actor: Some("user:ana".into()),
                correlation_id: (i == 2).then(|| "c\r1".into()),
            })
            .collect()
    }

    #[tokio::test]
    async fn insert_and_copy_store_the_same_rows() {
        let db = facewatch_store::ScratchDatabase::create("fw_pending")
            .await
            .unwrap();
        for (schema, by_insert) in [("by_insert", true), ("by_copy", false)] {
            crate::schema::install(&db.pool, schema, true)
                .await
                .unwrap();
            let mut tx = crate::schema::begin_in_schema(&db.pool, schema)
                .await
                .unwrap();
            let mut pending = PendingWrites { log: rows() };
            if by_insert {
                let mut writes = Deferred::default();
                pending.insert(&mut writes).unwrap();
                writes.send(&mut tx).await.unwrap();
            } else {
                pending.copy(&mut tx).await.unwrap();
            }
            tx.commit().await.unwrap();
        }
        let differ: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM ((SELECT * FROM by_insert.event_log EXCEPT SELECT * FROM by_copy.event_log) \
             UNION ALL (SELECT * FROM by_copy.event_log EXCEPT SELECT * FROM by_insert.event_log)) d",
        )
        .fetch_one(&db.pool)
        .await
        .unwrap();
        let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM by_copy.event_log")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!((differ, stored), (0, 3));
        db.drop().await.unwrap();
    }

    #[test]
    fn copy_times_are_written_as_chrono_formats_them() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let times = [
            Utc.from_utc_datetime(&day(2026, 1, 5).and_hms_micro_opt(7, 3, 9, 42).unwrap()),
            Utc.from_utc_datetime(
                &day(999, 12, 31)
                    .and_hms_micro_opt(23, 59, 59, 999_999)
                    .unwrap(),
            ),
            Utc.from_utc_datetime(
                &day(2016, 12, 31)
                    .and_hms_micro_opt(23, 59, 59, 1_500_000)
                    .unwrap(),
            ),
            Utc.from_utc_datetime(&day(12026, 6, 1).and_hms_opt(0, 0, 0).unwrap()),
        ];
        for at in times {
            let mut fast = String::new();
            write_copy_time(&mut fast, at);
            assert_eq!(fast, at.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string());
        }
    }
}
