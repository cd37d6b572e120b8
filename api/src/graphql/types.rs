//! GraphQL object types, built from the read-model views.

use async_graphql::{Enum, SimpleObject};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use facewatch_domain::redact::redact_url;
use facewatch_domain::schedule::ScheduleSnapshot;
use facewatch_projections::queries::{
    AlertView, AttendanceView, CameraView, EmployeeView, EventLogEntry,
};
use facewatch_projections::replay::{ReplayReport, TableAudit};

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "facewatch_domain::schedule::Mode")]
pub enum Mode {
    Auto,
    Manual,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "facewatch_domain::schedule::MonitoringState")]
pub enum MonitoringState {
    Active,
    OffHours,
    LunchBreak,
    Paused,
    TrackingOff,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "facewatch_domain::employee::Pose")]
pub enum Pose {
    Front,
    Left,
    Right,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "facewatch_domain::maintenance::LogScope")]
pub enum LogScope {
    Events,
    Alerts,
    Both,
}

/// Correction sources a client may write (AUTO is the cameras').
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum CorrectionType {
    Manual,
    System,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

pub const WEEKDAYS: [Weekday; 7] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
    Weekday::Saturday,
    Weekday::Sunday,
];

#[derive(SimpleObject)]
pub struct Presence {
    pub present: bool,
    /// When the employee last entered (if present) or left (if absent).
    pub since: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    pub camera_id: Option<String>,
    pub camera_name: Option<String>,
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Employee {
    pub id: String,
    pub name: String,
    pub code: String,
    pub department: String,
    /// ACTIVE, INACTIVE or DELETED.
    pub status: String,
    pub face_templates: i32,
    pub enrolled_at: DateTime<Utc>,
    pub presence: Presence,
}

impl Employee {
    /// An answer for a selection that asks for nothing but `id` (see
    /// [`super::mutation::selects_only_id`]): the other fields are never sent, so the read model
    /// need not be read for them.
    pub(crate) fn id_only(id: String) -> Self {
        Self {
            id,
            name: String::new(),
            code: String::new(),
            department: String::new(),
            status: String::new(),
            face_templates: 0,
            enrolled_at: DateTime::<Utc>::UNIX_EPOCH,
            presence: Presence {
                present: false,
                since: None,
                last_seen: None,
                camera_id: None,
                camera_name: None,
            },
        }
    }
}

impl From<EmployeeView> for Employee {
    fn from(v: EmployeeView) -> Self {
        Self {
            presence: Presence {
                present: v.present.unwrap_or(false),
                since: v.since,
                last_seen: v.last_seen,
                camera_id: v.camera_id,
                camera_name: v.camera_name,
            },
            id: v.id,
            name: v.name,
            code: v.code,
            department: v.department,
            status: v.status,
            face_templates: v.templates,
            enrolled_at: v.enrolled_at,
        }
    }
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Camera {
    pub id: String,
    pub name: String,
    pub location: String,
    pub enabled: bool,
    /// The stream address without credentials (userinfo, query values, credential path segments:
    /// `facewatch_domain::redact::redact_url`); the real one never leaves the server.
    pub stream_url_redacted: String,
    /// What kind of source the camera plays (a FILE is a recorded video, played in a loop).
    pub source: CameraSource,
    pub added_at: DateTime<Utc>,
}

/// The kind of stream a camera plays, from its URL scheme.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum CameraSource {
    Rtsp,
    Http,
    File,
    Other,
}

impl CameraSource {
    pub fn of_url(url: &str) -> Self {
        use facewatch_domain::camera::StreamScheme;
        match StreamScheme::of_url(url) {
            Some(StreamScheme::Rtsp | StreamScheme::Rtsps) => Self::Rtsp,
            Some(StreamScheme::Http | StreamScheme::Https) => Self::Http,
            Some(StreamScheme::File) => Self::File,
            None => Self::Other,
        }
    }
}

#[async_graphql::ComplexObject]
impl Camera {
    /// Live pipeline health; null when the camera is not running (disabled, or cameras are off).
    async fn health(&self, ctx: &async_graphql::Context<'_>) -> Option<crate::CameraStatus> {
        let state = ctx.data_unchecked::<crate::AppState>();
        state.camera_monitor()?.health(&self.id)
    }
}

impl From<CameraView> for Camera {
    fn from(v: CameraView) -> Self {
        Self {
            stream_url_redacted: redact_url(&v.stream_url),
            source: CameraSource::of_url(&v.stream_url),
            id: v.id,
            name: v.name,
            location: v.location,
            enabled: v.enabled,
            added_at: v.added_at,
        }
    }
}

#[derive(SimpleObject)]
pub struct DayHours {
    pub weekday: Weekday,
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub crosses_midnight: bool,
}

#[derive(SimpleObject)]
pub struct TimeWindow {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

#[derive(SimpleObject)]
pub struct Schedule {
    /// When this version took effect (null: the built-in default).
    pub effective_at: Option<DateTime<Utc>>,
    pub work_hours: Vec<DayHours>,
    pub lunch: Option<TimeWindow>,
    pub timezone: String,
    pub mode: Mode,
    pub manual_tracking: bool,
    pub paused_until: Option<DateTime<Utc>>,
    pub alert_min_interval_sec: u32,
    /// The monitoring state under this schedule at `stateAt`.
    pub monitoring_state: MonitoringState,
    pub state_at: DateTime<Utc>,
}

impl Schedule {
    pub fn at(snapshot: &ScheduleSnapshot, at: DateTime<Utc>) -> Self {
        Self {
            effective_at: snapshot.effective_at,
            work_hours: snapshot
                .work_hours
                .days
                .iter()
                .zip(WEEKDAYS)
                .filter_map(|(range, weekday)| {
                    range.map(|r| DayHours {
                        weekday,
                        start: r.start,
                        end: r.end,
                        crosses_midnight: r.crosses_midnight(),
                    })
                })
                .collect(),
            lunch: snapshot.lunch.map(|l| TimeWindow {
                start: l.start,
                end: l.end,
            }),
            timezone: snapshot.timezone.name().to_string(),
            mode: snapshot.mode.into(),
            manual_tracking: snapshot.manual_tracking,
            paused_until: snapshot.paused_until,
            alert_min_interval_sec: snapshot.alert_min_interval_sec,
            monitoring_state: snapshot.state_at(at).into(),
            state_at: at,
        }
    }
}

#[derive(SimpleObject)]
pub struct AttendanceRecord {
    pub employee_id: String,
    pub employee_name: String,
    pub employee_code: String,
    pub department: String,
    pub day: NaiveDate,
    pub first_in: Option<DateTime<Utc>>,
    pub first_in_camera: Option<String>,
    /// Snapshot reference of the First In photo (served by the files API).
    pub first_in_photo: Option<String>,
    pub last_out: Option<DateTime<Utc>>,
    pub last_out_camera: Option<String>,
    pub last_out_photo: Option<String>,
    /// AUTO, MANUAL or SYSTEM.
    pub entry_type: String,
    pub note: String,
}

impl From<AttendanceView> for AttendanceRecord {
    fn from(v: AttendanceView) -> Self {
        Self {
            employee_id: v.employee_id,
            employee_name: v.employee_name,
            employee_code: v.employee_code,
            department: v.department,
            day: v.day,
            first_in: v.first_in,
            first_in_camera: v.first_in_camera,
            first_in_photo: v.first_in_photo,
            last_out: v.last_out,
            last_out_camera: v.last_out_camera,
            last_out_photo: v.last_out_photo,
            entry_type: v.entry_type,
            note: v.note,
        }
    }
}

#[derive(SimpleObject)]
pub struct Alert {
    pub id: i64,
    pub employee_id: String,
    pub employee_name: String,
    pub camera_id: String,
    pub camera_name: Option<String>,
    /// When the employee left (last seen).
    pub raised_at: DateTime<Utc>,
    /// When the absence became known (absence timeout expired).
    pub detected_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub open: bool,
    pub reason: String,
    /// The schedule in force when the employee left, kept with the alert for ever.
    pub schedule: Schedule,
    /// `/api/files/…` of the photo of the employee's last sighting before the exit.
    pub snapshot_url: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// Who acknowledged it: the actor (`user:alice`).
    pub acknowledged_by: Option<String>,
    pub ack_note: Option<String>,
}

impl From<AlertView> for Alert {
    fn from(v: AlertView) -> Self {
        Self {
            schedule: Schedule::at(&v.schedule.0, v.raised_at),
            open: v.resolved_at.is_none(),
            id: v.id,
            employee_id: v.employee_id,
            employee_name: v.employee_name,
            camera_id: v.camera_id,
            camera_name: v.camera_name,
            raised_at: v.raised_at,
            detected_at: v.detected_at,
            resolved_at: v.resolved_at,
            reason: v.reason,
            snapshot_url: v.snapshot_ref.as_deref().map(crate::rest::files::url),
            acknowledged_at: v.acknowledged_at,
            acknowledged_by: v.acknowledged_by,
            ack_note: v.ack_note,
        }
    }
}

#[derive(SimpleObject)]
pub struct EventEntry {
    /// Position in the event log.
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub event_type: String,
    pub employee_id: Option<String>,
    pub camera_id: Option<String>,
    pub payload: async_graphql::Json<serde_json::Value>,
    /// Who caused it: `user:NAME`, `camera:ID`, `system:JOB`, `cli` (null for events stored
    /// before actors were recorded).
    pub actor: Option<String>,
    /// The request it belongs to (one request may append several events).
    pub correlation_id: Option<String>,
}

impl From<EventLogEntry> for EventEntry {
    fn from(v: EventLogEntry) -> Self {
        Self {
            seq: v.seq,
            at: v.at,
            recorded_at: v.recorded_at,
            aggregate_type: v.aggregate_type,
            aggregate_id: v.aggregate_id,
            event_type: v.event_type,
            employee_id: v.employee_id,
            camera_id: v.camera_id,
            payload: async_graphql::Json(v.payload),
            actor: v.actor,
            correlation_id: v.correlation_id,
        }
    }
}

#[derive(SimpleObject)]
pub struct EventTypeEntry {
    pub aggregate_type: String,
    pub event_type: String,
}

#[derive(SimpleObject)]
pub struct SystemStatus {
    pub started_at: DateTime<Utc>,
    pub uptime_seconds: i64,
    /// How many events the log holds.
    pub events_stored: i64,
    /// Position the read models have reached.
    pub projected_up_to: i64,
}

#[derive(SimpleObject)]
pub struct ResetResult {
    pub event_rows: i64,
    pub alert_rows: i64,
}

#[derive(SimpleObject)]
pub struct TableAuditResult {
    pub table: String,
    pub live_rows: i64,
    pub replayed_rows: i64,
    pub live_checksum: String,
    pub replayed_checksum: String,
    pub matches: bool,
}

#[derive(SimpleObject)]
pub struct ReplayAudit {
    pub position: i64,
    pub all_match: bool,
    pub tables: Vec<TableAuditResult>,
}

impl From<ReplayReport> for ReplayAudit {
    fn from(r: ReplayReport) -> Self {
        Self {
            position: r.position,
            all_match: r.all_match(),
            tables: r
                .tables
                .into_iter()
                .map(|t: TableAudit| TableAuditResult {
                    table: t.table,
                    live_rows: t.live_rows,
                    replayed_rows: t.replayed_rows,
                    live_checksum: t.live_checksum,
                    replayed_checksum: t.replayed_checksum,
                    matches: t.matches,
                })
                .collect(),
        }
    }
}
