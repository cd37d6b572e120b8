//! How each event changes the read models. Runs inside the projector's transaction with the
//! search path set to the target schema; uses only data from the log (never the clock), so a replay
//! produces the same rows.

use chrono::{DateTime, Utc};
use facewatch_domain::alert::AlertEvent;
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

use crate::pending::LogRow;
use crate::Change;

/// Applies one event that `hot.rs` does not (the caller has written the log rows before it).
pub(crate) async fn apply(
    db: &mut PgConnection,
    rec: &RecordedEvent,
    changes: &mut Vec<Change>,
) -> Result<(), sqlx::Error> {
    let id = rec.aggregate_id.as_str();
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
        AnyEvent::Presence(e) => return presence(db, id, e, changes).await,
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

pub(crate) fn log_row(rec: &RecordedEvent) -> LogRow {
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
    LogRow {
        seq: rec.seq,
        at: rec.event.occurred_at(),
        recorded_at: rec.recorded_at,
        aggregate_type: rec.aggregate_type.clone(),
        aggregate_id: rec.aggregate_id.clone(),
        event_type: rec.event_type.clone(),
        employee_id,
        camera_id,
        payload: audit_payload(&rec.event),
        actor: rec.actor.clone(),
        correlation_id: rec.correlation_id.clone(),
    }
}

/// Keys whose values the audit copy of a payload does not show (see [`strip_secrets`]).
const SECRET_KEYS: [&str; 3] = ["stream_url", "embedding", "password_hash"];

/// The event's payload as `event_log` shows it (JSON text). It goes through a JSON tree, as the
/// event store's copy does (cqrs-es serializes to a `Value`): an `f32` such as a similarity then
/// reads 0.800000011920929 in both, not 0.8, so read models built before and after agree.
fn audit_payload(event: &AnyEvent) -> String {
    let mut payload = serde_json::to_value(event).expect("events serialize");
    strip_secrets(&mut payload);
    payload.to_string()
}

/// The audit browser is visible to API clients: drop stream URLs (credentials), password hashes and
/// the bulky embeddings from its copy of the payload. The event store keeps them.
fn strip_secrets(value: &mut serde_json::Value) {
    if let Some(object) = value.as_object_mut() {
        for key in SECRET_KEYS {
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
    employee_id: &str,
    e: &PresenceEvent,
    changes: &mut Vec<Change>,
) -> Result<(), sqlx::Error> {
    match e {
        // Applied a run at a time by hot.rs.
        PresenceEvent::FaceRecognized { .. }
        | PresenceEvent::EmployeeEntered { .. }
        | PresenceEvent::EmployeeExited { .. } => {}
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audit_copy_hides_secrets_and_keeps_everything_else() {
        let at = "2026-11-25T09:00:00Z".parse().unwrap();
        let camera = AnyEvent::Camera(CameraEvent::Added {
            name: "Door".into(),
            location: "Lobby".into(),
            stream_url: "rtsp://user:secret@10.0.0.5/stream".into(),
            enabled: true,
            at,
        });
        let shown: serde_json::Value = serde_json::from_str(&audit_payload(&camera)).unwrap();
        assert_eq!(shown["Camera"]["Added"]["stream_url"], "<redacted>");
        assert_eq!(shown["Camera"]["Added"]["name"], "Door");
        assert!(!audit_payload(&camera).contains("secret"));

        let sighting = AnyEvent::Presence(PresenceEvent::FaceRecognized {
            camera_id: "CAM1".into(),
            at,
            similarity: 0.8,
            track_id: 7,
            snapshot_ref: None,
        });
        // Numbers as the event store keeps them (f32 widened to f64), not shortest f32 text.
        let shown: serde_json::Value = serde_json::from_str(&audit_payload(&sighting)).unwrap();
        assert_eq!(shown, serde_json::to_value(&sighting).unwrap());
        assert_eq!(
            shown["Presence"]["FaceRecognized"]["similarity"],
            0.800000011920929
        );
    }
}
