//! What one event of the log means to the outside world, as JSON: the alerts MQTT publishes and
//! the notices webhooks POST. Names and alert verdicts come from the read models, so a caller
//! waits until the projector has applied the event first.

use facewatch_domain::presence::PresenceEvent;
use facewatch_domain::visitor::UnknownFaceEvent;
use facewatch_domain::AnyEvent;
use facewatch_projections::queries::{self, AlertView};
use facewatch_store::RecordedEvent;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::PgPool;

/// The kinds of notice a webhook endpoint can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NoticeType {
    #[serde(rename = "employee.entered")]
    EmployeeEntered,
    #[serde(rename = "employee.exited")]
    EmployeeExited,
    #[serde(rename = "alert.raised")]
    AlertRaised,
    #[serde(rename = "alert.resolved")]
    AlertResolved,
    #[serde(rename = "schedule.changed")]
    ScheduleChanged,
    #[serde(rename = "unknown_face.seen")]
    UnknownFaceSeen,
}

impl NoticeType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EmployeeEntered => "employee.entered",
            Self::EmployeeExited => "employee.exited",
            Self::AlertRaised => "alert.raised",
            Self::AlertResolved => "alert.resolved",
            Self::ScheduleChanged => "schedule.changed",
            Self::UnknownFaceSeen => "unknown_face.seen",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub kind: NoticeType,
    /// Unique among the notices of one event (an entry may resolve several alerts).
    pub key: String,
    pub data: Value,
}

impl Notice {
    fn new(kind: NoticeType, data: Value) -> Self {
        Self {
            kind,
            key: kind.as_str().to_string(),
            data,
        }
    }
}

/// The notices of one event, in the order they happened (an entry before the alerts it resolves).
pub async fn notices(pool: &PgPool, rec: &RecordedEvent) -> Result<Vec<Notice>, sqlx::Error> {
    let employee_id = rec.aggregate_id.as_str();
    let mut notices = Vec::new();
    match &rec.event {
        AnyEvent::Presence(PresenceEvent::EmployeeEntered { camera_id, at, .. }) => {
            let mut data = who_where(pool, employee_id, camera_id).await?;
            data["at"] = json!(at);
            notices.push(Notice::new(NoticeType::EmployeeEntered, data));
            for alert in queries::alerts_resolved_by_entry(pool, employee_id, rec.seq, *at).await? {
                notices.push(Notice {
                    key: format!("alert.resolved:{}", alert.id),
                    ..Notice::new(NoticeType::AlertResolved, alert_json(&alert, true))
                });
            }
        }
        AnyEvent::Presence(PresenceEvent::EmployeeExited {
            camera_id,
            at,
            detected_at,
            ..
        }) => {
            let mut data = who_where(pool, employee_id, camera_id).await?;
            data["last_seen"] = json!(at);
            data["detected_at"] = json!(detected_at);
            notices.push(Notice::new(NoticeType::EmployeeExited, data));
            // The projector raised an alert for this exit iff a row has its position as id.
            if let Some(alert) = queries::alert(pool, rec.seq).await? {
                notices.push(Notice::new(
                    NoticeType::AlertRaised,
                    alert_json(&alert, false),
                ));
            }
        }
        AnyEvent::Schedule(_) => {
            let schedule = queries::schedule_history(pool)
                .await?
                .into_iter()
                .find(|v| v.seq == rec.seq)
                .map(|v| v.snapshot.0);
            notices.push(Notice::new(
                NoticeType::ScheduleChanged,
                json!({
                    "change": rec.event_type,
                    "actor": rec.actor,
                    "schedule": schedule,
                }),
            ));
        }
        AnyEvent::UnknownFace(UnknownFaceEvent::Seen {
            camera_id,
            at,
            track_id,
            snapshot_ref,
            ..
        }) => {
            let camera_name = queries::camera(pool, camera_id).await?.map(|c| c.name);
            notices.push(Notice::new(
                NoticeType::UnknownFaceSeen,
                json!({
                    "face_id": rec.aggregate_id,
                    "camera_id": camera_id,
                    "camera_name": camera_name,
                    "at": at,
                    "track_id": track_id,
                    // Served to a logged-in dashboard user (GET, any role).
                    "snapshot_url": snapshot_ref.as_ref().map(|r| format!("/api/files/{r}")),
                }),
            ));
        }
        _ => {}
    }
    Ok(notices)
}

/// An alert as MQTT and webhooks show it, as it was when raised or when resolved (a publisher
/// catching up reads a raised alert that may be resolved since).
pub fn alert_json(alert: &AlertView, resolved: bool) -> Value {
    json!({
        "alert_id": alert.id,
        "state": if resolved { "resolved" } else { "raised" },
        "employee_id": alert.employee_id,
        "employee_name": alert.employee_name,
        "camera_id": alert.camera_id,
        "camera_name": alert.camera_name,
        "reason": alert.reason,
        "raised_at": alert.raised_at,
        "resolved_at": alert.resolved_at.filter(|_| resolved),
        // The schedule version the exit was judged by (when it took effect).
        "schedule_version": alert.schedule_effective_at,
    })
}

async fn who_where(
    pool: &PgPool,
    employee_id: &str,
    camera_id: &str,
) -> Result<Value, sqlx::Error> {
    let employee_name = queries::employee(pool, employee_id).await?.map(|e| e.name);
    let camera_name = queries::camera(pool, camera_id).await?.map(|c| c.name);
    Ok(json!({
        "employee_id": employee_id,
        "employee_name": employee_name,
        "camera_id": camera_id,
        "camera_name": camera_name,
    }))
}
