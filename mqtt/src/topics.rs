//! Topic names, and the whole retained state as it should be on the broker now: presence and
//! today's attendance per employee, camera connectivity, whether monitoring is active, and the
//! Home Assistant discovery configs for all of them. The publisher compares it with what it
//! published last and sends only the differences.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use facewatch_projections::queries::{self, AttendanceView, EmployeeView};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::settings::MqttSettings;

/// Whether a camera's pipeline delivers frames (implemented by the camera supervisor).
pub trait CameraLiveness: Send + Sync {
    fn online(&self, camera_id: &str) -> bool;
}

/// No camera pipelines run in this process: every camera is offline.
pub struct NoCameras;

impl CameraLiveness for NoCameras {
    fn online(&self, _camera_id: &str) -> bool {
        false
    }
}

#[derive(Debug, Clone)]
pub struct Topics {
    prefix: String,
    discovery: Option<String>,
    /// Home Assistant's node id: the prefix with '/' turned into '_'.
    node: String,
}

impl Topics {
    pub fn new(settings: &MqttSettings) -> Self {
        Self {
            prefix: settings.topic_prefix.clone(),
            discovery: Some(settings.discovery_prefix.clone()).filter(|d| !d.is_empty()),
            node: settings.topic_prefix.replace('/', "_"),
        }
    }

    pub fn status(&self) -> String {
        format!("{}/status", self.prefix)
    }
    pub fn alerts(&self) -> String {
        format!("{}/alerts", self.prefix)
    }
    pub fn unknown(&self) -> String {
        format!("{}/unknown", self.prefix)
    }
    pub fn schedule_set(&self) -> String {
        format!("{}/schedule/set", self.prefix)
    }
    pub fn schedule_result(&self) -> String {
        format!("{}/schedule/result", self.prefix)
    }
    pub fn presence(&self, employee_id: &str) -> String {
        format!("{}/presence/{}", self.prefix, segment(employee_id))
    }
    pub fn attendance(&self, employee_id: &str) -> String {
        format!("{}/attendance/{}", self.prefix, segment(employee_id))
    }
    pub fn camera_status(&self, camera_id: &str) -> String {
        format!("{}/cameras/{}/status", self.prefix, segment(camera_id))
    }
    pub fn monitoring(&self) -> String {
        format!("{}/monitoring", self.prefix)
    }

    fn discovery(&self, component: &str, object: &str) -> Option<String> {
        let d = self.discovery.as_ref()?;
        Some(format!(
            "{d}/{component}/{}/{}/config",
            self.node,
            segment(object)
        ))
    }

    fn availability(&self) -> Value {
        json!({
            "availability_topic": self.status(),
            "payload_available": "online",
            "payload_not_available": "offline",
        })
    }
}

/// An id as one topic level (no wildcards, separators or spaces).
fn segment(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Every retained topic this publisher wants, with its payload.
pub async fn desired_state(
    pool: &PgPool,
    topics: &Topics,
    cameras: &dyn CameraLiveness,
    now: DateTime<Utc>,
) -> Result<BTreeMap<String, String>, sqlx::Error> {
    let mut state = BTreeMap::new();
    let mut put = |topic: Option<String>, payload: Value| {
        if let Some(topic) = topic {
            let payload = match payload {
                Value::String(word) => word,
                json => json.to_string(),
            };
            state.insert(topic, payload);
        }
    };
    let schedule = queries::current_schedule(pool).await?;
    let today = schedule.local_day(now);
    let monitoring = schedule.state_at(now);
    put(
        Some(topics.monitoring()),
        json!({
            "state": monitoring,
            "active": monitoring == facewatch_domain::schedule::MonitoringState::Active,
            "mode": schedule.mode,
            "paused_until": schedule.paused_until.filter(|until| *until > now),
        }),
    );
    put(
        topics.discovery("binary_sensor", "monitoring"),
        with(
            topics.availability(),
            json!({
                "name": "Monitoring active",
                "unique_id": format!("{}_monitoring", topics.node),
                "state_topic": topics.monitoring(),
                "value_template": "{{ 'ON' if value_json.active else 'OFF' }}",
                "json_attributes_topic": topics.monitoring(),
                "device": system_device(topics),
            }),
        ),
    );
    let attendance: BTreeMap<String, AttendanceView> =
        queries::attendance(pool, today, today, None)
            .await?
            .into_iter()
            .map(|row| (row.employee_id.clone(), row))
            .collect();
    for employee in queries::employees(pool).await? {
        put(Some(topics.presence(&employee.id)), presence(&employee));
        put(
            Some(topics.attendance(&employee.id)),
            attendance_json(today, attendance.get(&employee.id)),
        );
        employee_discovery(topics, &employee, &mut put);
    }
    for camera in queries::cameras(pool).await? {
        let online = camera.enabled && cameras.online(&camera.id);
        state_camera(topics, &camera.id, &camera.name, online, &mut put);
    }
    Ok(state)
}

fn presence(e: &EmployeeView) -> Value {
    let home = e.present == Some(true);
    json!({
        "state": if home { "home" } else { "not_home" },
        "camera": e.camera_id,
        "camera_name": e.camera_name,
        "since": e.since.filter(|_| home),
        "last_seen": e.last_seen,
    })
}

fn attendance_json(day: chrono::NaiveDate, row: Option<&AttendanceView>) -> Value {
    json!({
        "day": day,
        "first_in": row.and_then(|r| r.first_in),
        "first_in_camera": row.and_then(|r| r.first_in_camera_id.clone()),
        "last_out": row.and_then(|r| r.last_out),
        "last_out_camera": row.and_then(|r| r.last_out_camera_id.clone()),
        "entry_type": row.map(|r| r.entry_type.clone()),
    })
}

fn employee_discovery(
    topics: &Topics,
    e: &EmployeeView,
    put: &mut impl FnMut(Option<String>, Value),
) {
    let id = segment(&e.id);
    let device = json!({
        "identifiers": [format!("{}_employee_{id}", topics.node)],
        "name": e.name,
        "manufacturer": "facewatch",
        "model": "Employee",
        "via_device": topics.node,
    });
    put(
        topics.discovery("binary_sensor", &format!("{id}_presence")),
        with(
            topics.availability(),
            json!({
                "name": "Presence",
                "unique_id": format!("{}_{id}_presence", topics.node),
                "device_class": "presence",
                "state_topic": topics.presence(&e.id),
                "value_template": "{{ 'ON' if value_json.state == 'home' else 'OFF' }}",
                "json_attributes_topic": topics.presence(&e.id),
                "device": device,
            }),
        ),
    );
    put(
        topics.discovery("sensor", &format!("{id}_last_camera")),
        with(
            topics.availability(),
            json!({
                "name": "Last seen camera",
                "unique_id": format!("{}_{id}_last_camera", topics.node),
                "icon": "mdi:cctv",
                "state_topic": topics.presence(&e.id),
                "value_template": "{{ value_json.camera_name or value_json.camera or 'unknown' }}",
                "device": device,
            }),
        ),
    );
}

fn state_camera(
    topics: &Topics,
    id: &str,
    name: &str,
    online: bool,
    put: &mut impl FnMut(Option<String>, Value),
) {
    let status = topics.camera_status(id);
    // A bare word, as the issue asks: `online` / `offline`.
    put(
        Some(status.clone()),
        Value::String(if online { "online" } else { "offline" }.into()),
    );
    let object = segment(id);
    put(
        topics.discovery("binary_sensor", &format!("camera_{object}_connectivity")),
        with(
            topics.availability(),
            json!({
                "name": "Connectivity",
                "unique_id": format!("{}_camera_{object}_connectivity", topics.node),
                "device_class": "connectivity",
                "state_topic": status,
                "payload_on": "online",
                "payload_off": "offline",
                "device": {
                    "identifiers": [format!("{}_camera_{object}", topics.node)],
                    "name": name,
                    "manufacturer": "facewatch",
                    "model": "Camera",
                    "via_device": topics.node,
                },
            }),
        ),
    );
}

fn system_device(topics: &Topics) -> Value {
    json!({
        "identifiers": [topics.node],
        "name": "facewatch",
        "manufacturer": "facewatch",
        "model": "facewatch server",
    })
}

/// `base` with the keys of `extra` added.
fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
    base
}
