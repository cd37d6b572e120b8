//! Background jobs for attendance photos: copying each day's First In / Last Out snapshot into
//! `attendance_captures/YYYY-MM-DD/{employee}/` as the read models change, and deleting old
//! capture and snapshot day folders.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use facewatch_captures::{last_out_due, purge_older_than, CaptureInfo};
use facewatch_projections::queries::{self, AttendanceView};
use facewatch_projections::Change;
use tokio::sync::broadcast::error::RecvError;

use crate::AppState;

/// How often delayed Last Out candidates are re-checked.
const PENDING_CHECK: Duration = Duration::from_secs(1);

/// Last Out candidates waiting for `last_out_delay_sec`: (employee, day) → exit time.
type Pending = HashMap<(String, NaiveDate), DateTime<Utc>>;

/// Writes attendance captures until `shutdown`: on start for today's rows (whatever happened
/// while the process was down), then on every attendance change. First In follows
/// `first_in_overwrite_enabled`; Last Out is written only once the exit is
/// `last_out_delay_sec` old and the employee has not come back, so a brief absence does not
/// replace the photo of the real end of the day.
pub async fn run_capture_writer(state: AppState, shutdown: impl Future<Output = ()>) {
    // Subscribe before the backfill so no change falls between the two.
    let mut changes = state.projector().subscribe();
    let mut pending = Pending::new();
    backfill(&state, &mut pending).await;
    let mut ticker = tokio::time::interval(PENDING_CHECK);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            change = changes.recv() => match change {
                Ok(Change::Attendance { employee_id, day }) => {
                    capture(&state, &employee_id, day, &mut pending).await;
                }
                Ok(_) => {}
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!("capture writer missed {missed} changes; rescanning today");
                    backfill(&state, &mut pending).await;
                }
                Err(RecvError::Closed) => return,
            },
            _ = ticker.tick(), if !pending.is_empty() => {
                let policy = state.attendance_captures().policy();
                let now = Utc::now();
                let due: Vec<_> = pending
                    .iter()
                    .filter(|(_, at)| last_out_due(**at, now, &policy))
                    .map(|(key, _)| key.clone())
                    .collect();
                for (employee_id, day) in due {
                    pending.remove(&(employee_id.clone(), day));
                    capture(&state, &employee_id, day, &mut pending).await;
                }
            }
        }
    }
}

async fn backfill(state: &AppState, pending: &mut Pending) {
    let rows = async {
        let today = state.app().current_schedule().await?.local_day(Utc::now());
        queries::attendance(state.pool(), today, today, None)
            .await
            .map_err(facewatch_app::AppError::from)
    };
    if let Ok(rows) = rows.await {
        for row in rows {
            store(state, &row, pending).await;
        }
    }
}

async fn capture(state: &AppState, employee_id: &str, day: NaiveDate, pending: &mut Pending) {
    if let Ok(Some(row)) = state.app().attendance_row(employee_id, day).await {
        store(state, &row, pending).await;
    }
}

/// Brings one employee-day's capture folder up to date with its attendance row.
async fn store(state: &AppState, row: &AttendanceView, pending: &mut Pending) {
    let captures = state.attendance_captures();
    let (employee, day) = (row.employee_id.as_str(), row.day);
    let stored = match captures.read(day, employee) {
        Ok(set) => set.meta.unwrap_or_default(),
        Err(e) => {
            tracing::error!("attendance captures of {employee} on {day}: {e}");
            return;
        }
    };
    let recorded = |info: &Option<CaptureInfo>| {
        info.as_ref()
            .and_then(|i| i.snapshot_ref.as_ref())
            .map(|r| r.as_str().to_owned())
    };
    if let Some(first_in) = slot(
        state,
        row.first_in,
        &row.first_in_camera_id,
        &row.first_in_camera,
        &row.first_in_photo,
    ) {
        if recorded(&stored.first_in) != first_in.1.snapshot_ref.as_ref().map(|r| r.to_string()) {
            write(state, row, first_in, Slot::FirstIn).await;
        }
    }
    let Some(last_out) = slot(
        state,
        row.last_out,
        &row.last_out_camera_id,
        &row.last_out_camera,
        &row.last_out_photo,
    ) else {
        return;
    };
    if recorded(&stored.last_out) == last_out.1.snapshot_ref.as_ref().map(|r| r.to_string()) {
        return;
    }
    let at = last_out.1.time;
    let key = (employee.to_owned(), day);
    if !last_out_due(at, Utc::now(), &captures.policy()) {
        pending.insert(key, at);
        return;
    }
    pending.remove(&key);
    let back = match queries::employee(state.pool(), employee).await {
        Ok(view) => {
            view.is_some_and(|v| v.present == Some(true) && v.since.is_some_and(|s| s > at))
        }
        Err(e) => {
            tracing::error!("presence of {employee}: {e}");
            return;
        }
    };
    // Came back: this exit was not the end of the day; the next exit brings a new candidate.
    if !back {
        write(state, row, last_out, Slot::LastOut).await;
    }
}

#[derive(Clone, Copy)]
enum Slot {
    FirstIn,
    LastOut,
}

/// The snapshot path and capture info of a First In / Last Out, when it has a usable photo.
fn slot(
    state: &AppState,
    time: Option<DateTime<Utc>>,
    camera_id: &Option<String>,
    camera_name: &Option<String>,
    photo: &Option<String>,
) -> Option<(std::path::PathBuf, CaptureInfo)> {
    let (time, photo) = (time?, photo.as_deref()?);
    let snapshots = state.snapshots();
    let reference = match snapshots.checked_ref(photo) {
        Ok(reference) => reference,
        Err(e) => {
            tracing::warn!("attendance photo skipped: {e}");
            return None;
        }
    };
    let camera_id = camera_id.clone().unwrap_or_default();
    Some((
        snapshots.data_dir().join(reference.as_str()),
        CaptureInfo {
            time,
            camera_name: camera_name.clone().unwrap_or_else(|| camera_id.clone()),
            camera_id,
            snapshot_ref: Some(reference),
        },
    ))
}

async fn write(
    state: &AppState,
    row: &AttendanceView,
    (path, info): (std::path::PathBuf, CaptureInfo),
    slot: Slot,
) {
    let captures = state.attendance_captures();
    let (employee, day) = (row.employee_id.clone(), row.day);
    let written = tokio::task::spawn_blocking(move || {
        let jpeg = std::fs::read(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
        match slot {
            Slot::FirstIn => captures.write_first_in(day, &employee, &jpeg, info),
            Slot::LastOut => captures.write_last_out(day, &employee, &jpeg, info),
        }
        .map_err(|e| e.to_string())
    })
    .await;
    match written {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(
            "attendance capture of {} on {}: {e}",
            row.employee_id,
            row.day
        ),
        Err(e) => tracing::error!("attendance capture task failed: {e}"),
    }
}

/// Deletes capture and snapshot day folders older than `retention_days` (0 keeps everything),
/// once at start and then at every local midnight of the schedule's time zone, until `shutdown`.
pub async fn run_retention(
    state: AppState,
    retention_days: u32,
    shutdown: impl Future<Output = ()>,
) {
    if retention_days == 0 {
        return;
    }
    tokio::pin!(shutdown);
    loop {
        let Ok(schedule) = state.app().current_schedule().await else {
            // The read model is unreachable; try again in a minute.
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(Duration::from_secs(60)) => continue,
            }
        };
        let today = schedule.local_day(Utc::now());
        let dir = state.data_dir().to_owned();
        match tokio::task::spawn_blocking(move || purge_older_than(&dir, today, retention_days))
            .await
        {
            Ok(Ok(report)) if !report.removed_days.is_empty() => {
                tracing::info!("retention removed day folders {:?}", report.removed_days);
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!("retention failed: {e}"),
            Err(e) => tracing::error!("retention task failed: {e}"),
        }
        let next_midnight = today
            .succ_opt()
            .and_then(|d| {
                schedule
                    .timezone
                    .from_local_datetime(&d.and_time(NaiveTime::MIN))
                    .earliest()
            })
            .map(|t| t.with_timezone(&Utc));
        let wait = next_midnight
            .and_then(|t| (t - Utc::now()).to_std().ok())
            .unwrap_or(Duration::from_secs(60));
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}
