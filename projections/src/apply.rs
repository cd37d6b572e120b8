//! How each event changes the read models. Runs inside the projector's transaction with the
//! search path set to the target schema; uses only data from the log (never the clock), so a replay
//! produces the same rows.

use chrono::{DateTime, Utc};
use facewatch_domain::alert::AlertEvent;
use facewatch_domain::alerts::{judge_exit, ExitVerdict};
use facewatch_domain::camera::CameraEvent;
use facewatch_domain::employee::EmployeeEvent;
use facewatch_domain::employee_code::EmployeeCodeEvent;
use facewatch_domain::maintenance::MaintenanceEvent;
use facewatch_domain::presence::{EntryType, PresenceEvent};
use facewatch_domain::schedule::ScheduleSnapshot;
use facewatch_domain::visitor::{Resolution, UnknownFaceEvent};
use facewatch_domain::AnyEvent;
use facewatch_store::RecordedEvent;
use sqlx::{PgConnection, Row};

use crate::pending::{LogRow, PendingWrites, Sighting};
use crate::Change;

/// Applies one event of a batch; `pending` must be flushed before the batch commits.
pub(crate) async fn apply(
    db: &mut PgConnection,
    rec: &RecordedEvent,
    pending: &mut PendingWrites,
    changes: &mut Vec<Change>,
) -> Result<(), sqlx::Error> {
    pending.log(log_row(rec));
    let id = rec.aggregate_id.as_str();
    if let AnyEvent::Presence(PresenceEvent::FaceRecognized {
        camera_id,
        at,
        snapshot_ref,
        ..
    }) = &rec.event
    {
        pending.sighting(
            id,
            Sighting {
                at: *at,
                camera_id: camera_id.clone(),
                snapshot_ref: snapshot_ref.clone(),
            },
        );
        changes.push(Change::Presence {
            employee_id: id.into(),
        });
        return Ok(());
    }
    // Every other rule reads or changes rows the pending writes may touch.
    pending.flush(db).await?;
    match &rec.event {
        AnyEvent::Employee(e) => employee(db, id, e).await?,
        AnyEvent::Camera(e) => camera(db, id, e).await?,
        AnyEvent::Schedule(e) => {
            let mut snapshot = schedule_at(db, e.effective_at()).await?.1;
            snapshot.apply(e);
            sqlx::query("INSERT INTO schedule_versions VALUES ($1, $2, $3)")
                .bind(rec.seq)
                .bind(e.effective_at())
                .bind(sqlx::types::Json(&snapshot))
                .execute(&mut *db)
                .await?;
            changes.push(Change::Schedule);
            return Ok(());
        }
        AnyEvent::Presence(e) => return presence(db, rec.seq, id, e, changes).await,
        // Users are not shown live anywhere: no change to announce.
        AnyEvent::User(e) => return crate::users::apply(db, id, e).await,
        // The Visitors page reads on demand: no change to announce.
        AnyEvent::UnknownFace(e) => return crate::visitors::apply(db, id, e).await,
        AnyEvent::Alert(AlertEvent::Acknowledged {
            alert_id, note, at, ..
        }) => {
            // An alert removed by "reset logs" stays acknowledged in the log only.
            sqlx::query(
                "UPDATE alerts SET acknowledged_at = $2, acknowledged_by = $3, ack_note = $4 WHERE id = $1",
            )
            .bind(alert_id)
            .bind(at)
            .bind(rec.actor.as_deref().unwrap_or("unknown"))
            .bind(note)
            .execute(&mut *db)
            .await?;
            changes.push(Change::AlertAcknowledged { id: *alert_id });
            return Ok(());
        }
        // Rule-keeping aggregates (code reservations, admin seats) only show in the audit log.
        AnyEvent::EmployeeCode(_) | AnyEvent::AdminSeats(_) => return Ok(()),
        AnyEvent::Maintenance(MaintenanceEvent::LogsReset { scope, window, .. }) => {
            let range =
                "($1::timestamptz IS NULL OR {c} >= $1) AND ($2::timestamptz IS NULL OR {c} < $2)";
            if scope.includes_events() {
                let sql = format!(
                    "DELETE FROM event_log WHERE seq < $3 AND {}",
                    range.replace("{c}", "at")
                );
                sqlx::query(&sql)
                    .bind(window.from)
                    .bind(window.to)
                    .bind(rec.seq)
                    .execute(&mut *db)
                    .await?;
            }
            if scope.includes_alerts() {
                let sql = format!(
                    "DELETE FROM alerts WHERE {}",
                    range.replace("{c}", "raised_at")
                );
                sqlx::query(&sql)
                    .bind(window.from)
                    .bind(window.to)
                    .execute(&mut *db)
                    .await?;
            }
            changes.push(Change::LogsReset);
            return Ok(());
        }
    }
    changes.push(match &rec.event {
        AnyEvent::Employee(_) => Change::Employee { id: id.into() },
        _ => Change::Camera { id: id.into() },
    });
    Ok(())
}

fn log_row(rec: &RecordedEvent) -> LogRow {
    let (employee_id, camera_id) = match &rec.event {
        AnyEvent::Employee(_) => (Some(rec.aggregate_id.clone()), None),
        AnyEvent::Camera(_) => (None, Some(rec.aggregate_id.clone())),
        AnyEvent::Presence(
            PresenceEvent::FaceRecognized { camera_id, .. }
            | PresenceEvent::EmployeeEntered { camera_id, .. }
            | PresenceEvent::EmployeeExited { camera_id, .. },
        ) => (Some(rec.aggregate_id.clone()), Some(camera_id.clone())),
        AnyEvent::Presence(PresenceEvent::AttendanceCorrected { .. }) => {
            (Some(rec.aggregate_id.clone()), None)
        }
        AnyEvent::EmployeeCode(EmployeeCodeEvent::CodeClaimed { employee_id, .. })
        | AnyEvent::EmployeeCode(EmployeeCodeEvent::CodeReleased { employee_id, .. }) => {
            (Some(employee_id.clone()), None)
        }
        AnyEvent::Schedule(_)
        | AnyEvent::Maintenance(_)
        | AnyEvent::User(_)
        | AnyEvent::AdminSeats(_) => (None, None),
        AnyEvent::UnknownFace(UnknownFaceEvent::Seen { camera_id, .. }) => {
            (None, Some(camera_id.clone()))
        }
        AnyEvent::Alert(AlertEvent::Acknowledged { employee_id, .. }) => {
            (Some(employee_id.clone()), None)
        }
        AnyEvent::UnknownFace(UnknownFaceEvent::Resolved { resolution, .. }) => match resolution {
            Resolution::Enrolled { employee_id } | Resolution::Attached { employee_id } => {
                (Some(employee_id.clone()), None)
            }
            Resolution::Dismissed => (None, None),
        },
    };
    let mut payload = serde_json::to_value(&rec.event).expect("events serialize");
    strip_secrets(&mut payload);
    LogRow {
        seq: rec.seq,
        at: rec.event.occurred_at(),
        recorded_at: rec.recorded_at,
        aggregate_type: rec.aggregate_type.clone(),
        aggregate_id: rec.aggregate_id.clone(),
        event_type: rec.event_type.clone(),
        employee_id,
        camera_id,
        payload,
        actor: rec.actor.clone(),
        correlation_id: rec.correlation_id.clone(),
    }
}

/// The audit browser is visible to API clients: drop stream URLs (credentials), password hashes and
/// the bulky embeddings from its copy of the payload. The event store keeps them.
fn strip_secrets(value: &mut serde_json::Value) {
    if let Some(object) = value.as_object_mut() {
        for key in ["stream_url", "embedding", "password_hash"] {
            if object.remove(key).is_some() {
                object.insert(
                    key.to_string(),
                    serde_json::Value::String("<redacted>".into()),
                );
            }
        }
        object.values_mut().for_each(strip_secrets);
    }
}

async fn employee(db: &mut PgConnection, id: &str, e: &EmployeeEvent) -> Result<(), sqlx::Error> {
    match e {
        EmployeeEvent::Enrolled { profile, at } => {
            sqlx::query("INSERT INTO employees VALUES ($1, $2, $3, $4, 'ACTIVE', 0, $5, $5)")
                .bind(id)
                .bind(&profile.name)
                .bind(&profile.code)
                .bind(&profile.department)
                .bind(at)
                .execute(db)
                .await?;
        }
        EmployeeEvent::ProfileUpdated { profile, at } => {
            sqlx::query(
                "UPDATE employees SET name = $2, code = $3, department = $4, updated_at = $5 WHERE id = $1",
            )
            .bind(id)
            .bind(&profile.name)
            .bind(&profile.code)
            .bind(&profile.department)
            .bind(at)
            .execute(db)
            .await?;
        }
        EmployeeEvent::FaceTemplateAdded {
            template_id,
            pose,
            embedding,
            model_id,
            at,
            source,
            photo_ref,
        } => {
            sqlx::query("INSERT INTO face_templates VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(template_id)
                .bind(id)
                .bind(enum_text(pose))
                .bind(model_id)
                .bind(embedding)
                .bind(at)
                .bind(source.as_ref().map(enum_text))
                .bind(photo_ref)
                .execute(&mut *db)
                .await?;
            sqlx::query(
                "UPDATE employees SET templates = templates + 1, updated_at = $2 WHERE id = $1",
            )
            .bind(id)
            .bind(at)
            .execute(db)
            .await?;
        }
        EmployeeEvent::FaceTemplateRemoved { template_id, at } => {
            let removed = sqlx::query(
                "DELETE FROM face_templates WHERE template_id = $1 AND employee_id = $2",
            )
            .bind(template_id)
            .bind(id)
            .execute(&mut *db)
            .await?;
            if removed.rows_affected() > 0 {
                sqlx::query(
                    "UPDATE employees SET templates = templates - 1, updated_at = $2 WHERE id = $1",
                )
                .bind(id)
                .bind(at)
                .execute(db)
                .await?;
            }
        }
        EmployeeEvent::Deactivated { at } => {
            set_status(db, id, "INACTIVE", *at).await?;
        }
        EmployeeEvent::Reactivated { at } => {
            set_status(db, id, "ACTIVE", *at).await?;
        }
        EmployeeEvent::Deleted { at } => {
            // The row stays (status DELETED) so that history keeps the name; templates and live
            // presence go.
            set_status(db, id, "DELETED", *at).await?;
            sqlx::query("DELETE FROM face_templates WHERE employee_id = $1")
                .bind(id)
                .execute(&mut *db)
                .await?;
            sqlx::query("DELETE FROM presence WHERE employee_id = $1")
                .bind(id)
                .execute(db)
                .await?;
        }
    }
    Ok(())
}

/// The name serde gives a unit enum variant (`FRONT`, `UPLOAD`).
fn enum_text(value: &impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

async fn set_status(
    db: &mut PgConnection,
    id: &str,
    status: &str,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE employees SET status = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(status)
        .bind(at)
        .execute(db)
        .await?;
    Ok(())
}

async fn camera(db: &mut PgConnection, id: &str, e: &CameraEvent) -> Result<(), sqlx::Error> {
    match e {
        CameraEvent::Added {
            name,
            location,
            stream_url,
            enabled,
            at,
        } => {
            sqlx::query("INSERT INTO cameras VALUES ($1, $2, $3, $4, $5, $6, $6)")
                .bind(id)
                .bind(name)
                .bind(location)
                .bind(stream_url)
                .bind(enabled)
                .bind(at)
                .execute(db)
                .await?;
        }
        CameraEvent::Renamed { name, location, at } => {
            sqlx::query(
                "UPDATE cameras SET name = $2, location = $3, updated_at = $4 WHERE id = $1",
            )
            .bind(id)
            .bind(name)
            .bind(location)
            .bind(at)
            .execute(db)
            .await?;
        }
        CameraEvent::StreamUrlChanged { stream_url, at } => {
            sqlx::query("UPDATE cameras SET stream_url = $2, updated_at = $3 WHERE id = $1")
                .bind(id)
                .bind(stream_url)
                .bind(at)
                .execute(db)
                .await?;
        }
        CameraEvent::Enabled { at } | CameraEvent::Disabled { at } => {
            sqlx::query("UPDATE cameras SET enabled = $2, updated_at = $3 WHERE id = $1")
                .bind(id)
                .bind(matches!(e, CameraEvent::Enabled { .. }))
                .bind(at)
                .execute(db)
                .await?;
        }
        CameraEvent::Removed { .. } => {
            sqlx::query("DELETE FROM cameras WHERE id = $1")
                .bind(id)
                .execute(db)
                .await?;
        }
    }
    Ok(())
}

/// The schedule in force at `at`: the newest version whose effective time is not after `at`.
pub(crate) async fn schedule_at(
    db: &mut PgConnection,
    at: DateTime<Utc>,
) -> Result<(Option<DateTime<Utc>>, ScheduleSnapshot), sqlx::Error> {
    let row = sqlx::query(
        "SELECT effective_at, snapshot FROM schedule_versions WHERE effective_at <= $1
         ORDER BY effective_at DESC, seq DESC LIMIT 1",
    )
    .bind(at)
    .fetch_optional(db)
    .await?;
    Ok(match row {
        Some(row) => {
            let sqlx::types::Json(snapshot) = row.get("snapshot");
            (Some(row.get("effective_at")), snapshot)
        }
        None => (None, ScheduleSnapshot::default()),
    })
}

async fn presence(
    db: &mut PgConnection,
    seq: i64,
    employee_id: &str,
    e: &PresenceEvent,
    changes: &mut Vec<Change>,
) -> Result<(), sqlx::Error> {
    match e {
        // Batched by `apply` (see pending.rs).
        PresenceEvent::FaceRecognized { .. } => {}
        PresenceEvent::EmployeeEntered {
            camera_id,
            at,
            snapshot_ref,
        } => {
            sqlx::query("UPDATE presence SET present = true, since = $2 WHERE employee_id = $1")
                .bind(employee_id)
                .bind(at)
                .execute(&mut *db)
                .await?;
            let (_, schedule) = schedule_at(db, *at).await?;
            let day = schedule.local_day(*at);
            // The first entry of the day is First In; MANUAL/SYSTEM rows are never overwritten.
            sqlx::query(
                "INSERT INTO attendance (employee_id, day, first_in, first_in_camera, first_in_photo, entry_type)
                 VALUES ($1, $2, $3, $4, $5, 'AUTO')
                 ON CONFLICT (employee_id, day) DO UPDATE
                 SET first_in = $3, first_in_camera = $4, first_in_photo = $5
                 WHERE attendance.entry_type = 'AUTO'
                   AND (attendance.first_in IS NULL OR attendance.first_in > $3)",
            )
            .bind(employee_id)
            .bind(day)
            .bind(at)
            .bind(camera_id)
            .bind(snapshot_ref)
            .execute(&mut *db)
            .await?;
            let resolved: Vec<i64> = sqlx::query_scalar(
                "UPDATE alerts SET resolved_at = $2 WHERE employee_id = $1 AND resolved_at IS NULL RETURNING id",
            )
            .bind(employee_id)
            .bind(at)
            .fetch_all(&mut *db)
            .await?;
            changes.extend(resolved.into_iter().map(|id| Change::AlertResolved { id }));
            changes.push(Change::Attendance {
                employee_id: employee_id.into(),
                day,
            });
        }
        PresenceEvent::EmployeeExited {
            camera_id,
            at,
            snapshot_ref,
            detected_at,
        } => {
            sqlx::query("UPDATE presence SET present = false, since = $2 WHERE employee_id = $1")
                .bind(employee_id)
                .bind(at)
                .execute(&mut *db)
                .await?;
            let (effective_at, schedule) = schedule_at(db, *at).await?;
            let day = schedule.local_day(*at);
            // The latest exit of the day is Last Out.
            sqlx::query(
                "INSERT INTO attendance (employee_id, day, last_out, last_out_camera, last_out_photo, entry_type)
                 VALUES ($1, $2, $3, $4, $5, 'AUTO')
                 ON CONFLICT (employee_id, day) DO UPDATE
                 SET last_out = $3, last_out_camera = $4, last_out_photo = $5
                 WHERE attendance.entry_type = 'AUTO'
                   AND (attendance.last_out IS NULL OR attendance.last_out < $3)",
            )
            .bind(employee_id)
            .bind(day)
            .bind(at)
            .bind(camera_id)
            .bind(snapshot_ref)
            .execute(&mut *db)
            .await?;
            changes.push(Change::Presence {
                employee_id: employee_id.into(),
            });
            changes.push(Change::Attendance {
                employee_id: employee_id.into(),
                day,
            });
            let last_alert_at: Option<DateTime<Utc>> =
                sqlx::query_scalar("SELECT last_alert_at FROM alert_state WHERE employee_id = $1")
                    .bind(employee_id)
                    .fetch_optional(&mut *db)
                    .await?;
            let verdict = judge_exit(&schedule, *at, last_alert_at);
            tracing::debug!(employee_id, %at, ?verdict, "exit judged");
            if verdict == ExitVerdict::Violation {
                sqlx::query(
                    "INSERT INTO alerts (id, employee_id, camera_id, raised_at, detected_at, resolved_at,
                         reason, schedule_effective_at, schedule, snapshot_ref)
                     VALUES ($1, $2, $3, $4, $5, NULL, 'EXIT_DURING_WORK_HOURS', $6, $7, $8)",
                )
                .bind(seq)
                .bind(employee_id)
                .bind(camera_id)
                .bind(at)
                .bind(detected_at)
                .bind(effective_at)
                .bind(sqlx::types::Json(&schedule))
                .bind(snapshot_ref)
                .execute(&mut *db)
                .await?;
                sqlx::query(
                    "INSERT INTO alert_state VALUES ($1, $2)
                     ON CONFLICT (employee_id) DO UPDATE SET last_alert_at = $2",
                )
                .bind(employee_id)
                .bind(at)
                .execute(&mut *db)
                .await?;
                changes.push(Change::AlertRaised { id: seq });
            }
        }
        PresenceEvent::AttendanceCorrected {
            day,
            first_in,
            last_out,
            entry_type,
            note,
            ..
        } => {
            let entry_type = match entry_type {
                EntryType::Auto => "AUTO",
                EntryType::Manual => "MANUAL",
                EntryType::System => "SYSTEM",
            };
            // A correction replaces the times it gives and keeps the others.
            sqlx::query(
                "INSERT INTO attendance (employee_id, day, first_in, last_out, entry_type, note)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (employee_id, day) DO UPDATE SET
                   first_in = COALESCE($3, attendance.first_in),
                   first_in_camera = CASE WHEN $3 IS NULL THEN attendance.first_in_camera END,
                   first_in_photo = CASE WHEN $3 IS NULL THEN attendance.first_in_photo END,
                   last_out = COALESCE($4, attendance.last_out),
                   last_out_camera = CASE WHEN $4 IS NULL THEN attendance.last_out_camera END,
                   last_out_photo = CASE WHEN $4 IS NULL THEN attendance.last_out_photo END,
                   entry_type = $5, note = $6",
            )
            .bind(employee_id)
            .bind(day)
            .bind(first_in)
            .bind(last_out)
            .bind(entry_type)
            .bind(note)
            .execute(db)
            .await?;
            changes.push(Change::Attendance {
                employee_id: employee_id.into(),
                day: *day,
            });
        }
    }
    Ok(())
}
