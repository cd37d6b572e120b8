//! The events that make up almost all of the log — sightings, entries and exits — applied a run at
//! a time: the rows the run touches (presence, attendance, alert state, open alerts) are read with
//! one statement per table, the run is folded in memory with the same rules as one-by-one SQL, and
//! the changed rows are written back with one statement per table. A replay of a million events is
//! then a few statements per thousand events instead of several per event, and the live projector
//! uses the very same code, so both always agree.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, DurationRound, NaiveDate, TimeDelta, Utc};
use facewatch_domain::alerts::{judge_exit, ExitVerdict};
use facewatch_domain::presence::PresenceEvent;
use facewatch_domain::schedule::ScheduleSnapshot;
use facewatch_domain::AnyEvent;
use facewatch_store::RecordedEvent;
use sqlx::{PgConnection, Row};

use crate::deferred::Deferred;
use crate::Change;

mod write;
use write::write_rows;

/// Whether `event` is applied by [`apply_run`] (everything else goes through `apply.rs`).
pub(crate) fn is_hot(event: &RecordedEvent) -> bool {
    matches!(
        event.event,
        AnyEvent::Presence(
            PresenceEvent::FaceRecognized { .. }
                | PresenceEvent::EmployeeEntered { .. }
                | PresenceEvent::EmployeeExited { .. }
        )
    )
}

/// Times as PostgreSQL stores them (microseconds), so that comparisons made in memory agree with
/// the ones SQL would make on stored values.
pub(crate) fn stored(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(at)
}

#[derive(Clone)]
struct PresenceRow {
    present: bool,
    since: Option<DateTime<Utc>>,
    last_seen: DateTime<Utc>,
    camera_id: String,
    snapshot_ref: Option<String>,
}

#[derive(Clone, Default)]
struct AttendanceRow {
    first_in: Option<DateTime<Utc>>,
    first_in_camera: Option<String>,
    first_in_photo: Option<String>,
    last_out: Option<DateTime<Utc>>,
    last_out_camera: Option<String>,
    last_out_photo: Option<String>,
    entry_type: String,
    note: String,
}

struct NewAlert {
    id: i64,
    employee_id: String,
    camera_id: String,
    raised_at: DateTime<Utc>,
    detected_at: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
    schedule_effective_at: Option<DateTime<Utc>>,
    schedule: serde_json::Value,
    /// The photo of the employee's last sighting before the exit.
    snapshot_ref: Option<String>,
}

/// Every schedule version, oldest effective first (ties: log order).
struct Schedules(Vec<(DateTime<Utc>, ScheduleSnapshot)>);

impl Schedules {
    async fn load(db: &mut PgConnection) -> Result<Self, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT effective_at, snapshot FROM schedule_versions ORDER BY effective_at, seq",
        )
        .fetch_all(db)
        .await?;
        Ok(Self(
            rows.into_iter()
                .map(|row| {
                    let sqlx::types::Json(snapshot) = row.get("snapshot");
                    (row.get("effective_at"), snapshot)
                })
                .collect(),
        ))
    }

    /// The schedule in force at `at` (see `apply::schedule_at`).
    fn at(&self, at: DateTime<Utc>) -> (Option<DateTime<Utc>>, ScheduleSnapshot) {
        let in_force = self.0.partition_point(|(effective, _)| *effective <= at);
        match in_force.checked_sub(1) {
            Some(i) => (Some(self.0[i].0), self.0[i].1.clone()),
            None => (None, ScheduleSnapshot::default()),
        }
    }
}

/// The rows one run touches, as read before it and changed by it.
#[derive(Default)]
struct Rows {
    presence: HashMap<String, PresenceRow>,
    attendance: HashMap<(String, NaiveDate), AttendanceRow>,
    alert_state: HashMap<String, DateTime<Utc>>,
    open_alerts: HashMap<String, Vec<i64>>,
    changed_presence: HashSet<String>,
    changed_attendance: HashSet<(String, NaiveDate)>,
    changed_alert_state: HashSet<String>,
    new_alerts: Vec<NewAlert>,
    resolved: Vec<(i64, DateTime<Utc>)>,
}

/// Applies a run of hot events (all `is_hot`, in log order): reads the rows it touches on `db`,
/// gathers the changed ones in `writes` (which must hold nothing these reads should see).
pub(crate) async fn apply_run(
    db: &mut PgConnection,
    run: &[RecordedEvent],
    changes: &mut Vec<Change>,
    writes: &mut Deferred,
) -> Result<(), sqlx::Error> {
    debug_assert!(writes.is_empty(), "unsent writes before a run's reads");
    let transitions = run.iter().any(|e| {
        !matches!(
            e.event,
            AnyEvent::Presence(PresenceEvent::FaceRecognized { .. })
        )
    });
    let schedules = if transitions {
        Schedules::load(db).await?
    } else {
        Schedules(Vec::new())
    };
    let mut rows = read_rows(db, run, &schedules).await?;
    for event in run {
        fold(&mut rows, &schedules, event, changes);
    }
    write_rows(writes, rows)
}

/// The schedule in force at an entry or exit at `at` (looked up at the stored time, as SQL
/// did), and the day it counts for.
fn judged_at(
    schedules: &Schedules,
    at: DateTime<Utc>,
) -> (Option<DateTime<Utc>>, ScheduleSnapshot, NaiveDate) {
    let (effective_at, schedule) = schedules.at(stored(at));
    let day = schedule.local_day(at);
    (effective_at, schedule, day)
}

async fn read_rows(
    db: &mut PgConnection,
    run: &[RecordedEvent],
    schedules: &Schedules,
) -> Result<Rows, sqlx::Error> {
    let mut employees = HashSet::new();
    let mut days = HashSet::new();
    for event in run {
        employees.insert(event.aggregate_id.clone());
        if let AnyEvent::Presence(
            PresenceEvent::EmployeeEntered { at, .. } | PresenceEvent::EmployeeExited { at, .. },
        ) = &event.event
        {
            days.insert((event.aggregate_id.clone(), judged_at(schedules, *at).2));
        }
    }
    let employees: Vec<String> = employees.into_iter().collect();
    let mut rows = Rows::default();
    for row in sqlx::query(
        "SELECT employee_id, present, since, last_seen, camera_id, snapshot_ref FROM presence \
         WHERE employee_id = ANY($1)",
    )
    .bind(&employees)
    .fetch_all(&mut *db)
    .await?
    {
        rows.presence.insert(
            row.get("employee_id"),
            PresenceRow {
                present: row.get("present"),
                since: row.get("since"),
                last_seen: row.get("last_seen"),
                camera_id: row.get("camera_id"),
                snapshot_ref: row.get("snapshot_ref"),
            },
        );
    }
    if days.is_empty() {
        return Ok(rows);
    }
    let (ids, dates): (Vec<String>, Vec<NaiveDate>) = days.into_iter().unzip();
    for row in sqlx::query(
        "SELECT a.* FROM attendance a \
         JOIN unnest($1::text[], $2::date[]) AS k(e, d) ON a.employee_id = k.e AND a.day = k.d",
    )
    .bind(&ids)
    .bind(&dates)
    .fetch_all(&mut *db)
    .await?
    {
        rows.attendance.insert(
            (row.get("employee_id"), row.get("day")),
            AttendanceRow {
                first_in: row.get("first_in"),
                first_in_camera: row.get("first_in_camera"),
                first_in_photo: row.get("first_in_photo"),
                last_out: row.get("last_out"),
                last_out_camera: row.get("last_out_camera"),
                last_out_photo: row.get("last_out_photo"),
                entry_type: row.get("entry_type"),
                note: row.get("note"),
            },
        );
    }
    for row in sqlx::query(
        "SELECT employee_id, last_alert_at FROM alert_state WHERE employee_id = ANY($1)",
    )
    .bind(&employees)
    .fetch_all(&mut *db)
    .await?
    {
        rows.alert_state
            .insert(row.get("employee_id"), row.get("last_alert_at"));
    }
    for row in sqlx::query(
        "SELECT id, employee_id FROM alerts WHERE resolved_at IS NULL AND employee_id = ANY($1) \
         ORDER BY id",
    )
    .bind(&employees)
    .fetch_all(&mut *db)
    .await?
    {
        rows.open_alerts
            .entry(row.get("employee_id"))
            .or_default()
            .push(row.get("id"));
    }
    Ok(rows)
}

/// One event, with the rules of one-by-one SQL (see the git history of `apply.rs`).
fn fold(rows: &mut Rows, schedules: &Schedules, rec: &RecordedEvent, changes: &mut Vec<Change>) {
    let employee = rec.aggregate_id.as_str();
    let AnyEvent::Presence(event) = &rec.event else {
        return;
    };
    match event {
        PresenceEvent::FaceRecognized {
            camera_id,
            at,
            snapshot_ref,
            ..
        } => {
            let at = stored(*at);
            let seen = |row: &mut PresenceRow| {
                row.last_seen = at;
                row.camera_id = camera_id.clone();
                row.snapshot_ref = snapshot_ref.clone();
            };
            match rows.presence.get_mut(employee) {
                Some(row) if row.last_seen <= at => seen(row),
                Some(_) => {}
                None => {
                    rows.presence.insert(
                        employee.to_string(),
                        PresenceRow {
                            present: false,
                            since: None,
                            last_seen: at,
                            camera_id: camera_id.clone(),
                            snapshot_ref: snapshot_ref.clone(),
                        },
                    );
                }
            }
            rows.changed_presence.insert(employee.to_string());
            changes.push(Change::Presence {
                employee_id: employee.into(),
            });
        }
        PresenceEvent::EmployeeEntered {
            camera_id,
            at,
            snapshot_ref,
        } => {
            let day = judged_at(schedules, *at).2;
            let at = stored(*at);
            rows.set_present(employee, true, at);
            let key = (employee.to_string(), day);
            let row = rows
                .attendance
                .entry(key.clone())
                .or_insert_with(|| AttendanceRow {
                    entry_type: "AUTO".into(),
                    ..Default::default()
                });
            // The first entry of the day is First In; MANUAL/SYSTEM rows are never overwritten.
            if row.entry_type == "AUTO" && row.first_in.is_none_or(|first| first > at) {
                row.first_in = Some(at);
                row.first_in_camera = Some(camera_id.clone());
                row.first_in_photo = snapshot_ref.clone();
            }
            rows.changed_attendance.insert(key);
            for id in rows.open_alerts.remove(employee).unwrap_or_default() {
                match rows.new_alerts.iter_mut().find(|a| a.id == id) {
                    Some(alert) => alert.resolved_at = Some(at),
                    None => rows.resolved.push((id, at)),
                }
                changes.push(Change::AlertResolved { id });
            }
            changes.push(Change::Attendance {
                employee_id: employee.into(),
                day,
            });
        }
        PresenceEvent::EmployeeExited {
            camera_id,
            at,
            snapshot_ref,
            detected_at,
        } => {
            let (effective_at, schedule, day) = judged_at(schedules, *at);
            let verdict = judge_exit(&schedule, *at, rows.alert_state.get(employee).copied());
            tracing::debug!(employee, %at, ?verdict, "exit judged");
            let at = stored(*at);
            rows.set_present(employee, false, at);
            let key = (employee.to_string(), day);
            let row = rows
                .attendance
                .entry(key.clone())
                .or_insert_with(|| AttendanceRow {
                    entry_type: "AUTO".into(),
                    ..Default::default()
                });
            // The latest exit of the day is Last Out.
            if row.entry_type == "AUTO" && row.last_out.is_none_or(|last| last < at) {
                row.last_out = Some(at);
                row.last_out_camera = Some(camera_id.clone());
                row.last_out_photo = snapshot_ref.clone();
            }
            rows.changed_attendance.insert(key);
            changes.push(Change::Presence {
                employee_id: employee.into(),
            });
            changes.push(Change::Attendance {
                employee_id: employee.into(),
                day,
            });
            if verdict == ExitVerdict::Violation {
                rows.new_alerts.push(NewAlert {
                    id: rec.seq,
                    employee_id: employee.to_string(),
                    camera_id: camera_id.clone(),
                    raised_at: at,
                    detected_at: stored(*detected_at),
                    resolved_at: None,
                    schedule_effective_at: effective_at,
                    schedule: serde_json::to_value(&schedule).expect("schedules serialize"),
                    snapshot_ref: snapshot_ref.clone(),
                });
                rows.open_alerts
                    .entry(employee.to_string())
                    .or_default()
                    .push(rec.seq);
                rows.alert_state.insert(employee.to_string(), at);
                rows.changed_alert_state.insert(employee.to_string());
                changes.push(Change::AlertRaised { id: rec.seq });
            }
        }
        PresenceEvent::AttendanceCorrected { .. } => {}
    }
}

impl Rows {
    /// Entries and exits change an existing presence row only.
    fn set_present(&mut self, employee: &str, present: bool, at: DateTime<Utc>) {
        if let Some(row) = self.presence.get_mut(employee) {
            row.present = present;
            row.since = Some(at);
            self.changed_presence.insert(employee.to_string());
        }
    }
}
