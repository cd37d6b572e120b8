//! Applying a batch of events: the audit copy of every event (`event_log`) is gathered and written
//! with one statement, runs of sightings/entries/exits go to `hot.rs`, and any other event is
//! applied on its own by `apply.rs` after everything before it has been written, so every rule
//! sees the rows in log order.

use chrono::{DateTime, Utc};
use facewatch_store::RecordedEvent;
use sqlx::PgConnection;

use crate::apply::{apply, log_row};
use crate::hot::{apply_run, is_hot, stored};
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

    /// Writes what is pending with one `COPY` (several times faster than `INSERT … unnest` for
    /// the thousands of rows of a replay batch); the batch's later events may read it.
    pub async fn flush(&mut self, db: &mut PgConnection) -> Result<(), sqlx::Error> {
        if self.log.is_empty() {
            return Ok(());
        }
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
            let _ = write!(out, "{}\t", stored(at).format("%Y-%m-%d %H:%M:%S%.6f+00"));
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
            Some(self.payload.to_string().as_str()),
            self.actor.as_deref(),
        ] {
            copy_text(out, text);
            out.push('\t');
        }
        copy_text(out, self.correlation_id.as_deref());
        out.push('\n');
    }
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
