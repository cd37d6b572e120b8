//! Reads of the live read models, shared by the API, the bot and the camera supervisor.

use chrono::{DateTime, NaiveDate, Utc};
use facewatch_domain::schedule::ScheduleSnapshot;
use serde::Serialize;
use sqlx::types::Json;
use sqlx::{FromRow, PgPool};

#[derive(Debug, Clone, Serialize, FromRow)]
pub struct EmployeeView {
    pub id: String,
    pub name: String,
    pub code: String,
    pub department: String,
    pub status: String,
    pub templates: i32,
    pub enrolled_at: DateTime<Utc>,
    pub present: Option<bool>,
    pub since: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    pub camera_id: Option<String>,
    pub camera_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, FromRow)]
pub struct CameraView {
    pub id: String,
    pub name: String,
    pub location: String,
    /// Server-side only; the API exposes `facewatch_api::redact_url` of it.
    pub stream_url: String,
    pub enabled: bool,
    pub added_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, FromRow)]
pub struct AttendanceView {
    pub employee_id: String,
    pub employee_name: String,
    pub employee_code: String,
    pub department: String,
    pub day: NaiveDate,
    pub first_in: Option<DateTime<Utc>>,
    pub first_in_camera: Option<String>,
    pub first_in_camera_id: Option<String>,
    pub first_in_photo: Option<String>,
    pub last_out: Option<DateTime<Utc>>,
    pub last_out_camera: Option<String>,
    pub last_out_camera_id: Option<String>,
    pub last_out_photo: Option<String>,
    pub entry_type: String,
    pub note: String,
}

#[derive(Debug, Clone, Serialize, FromRow)]
pub struct AlertView {
    pub id: i64,
    /// The local day (in the time zone of the schedule it was judged with) it was raised on.
    pub day: NaiveDate,
    /// 1, 2, 3… in the order the alerts of `day` were raised: what a person calls it
    /// ("alert 3 of the 25th"); `id` is a log position.
    pub day_number: i64,
    pub employee_id: String,
    pub employee_name: String,
    pub employee_code: String,
    pub camera_id: String,
    pub camera_name: Option<String>,
    pub raised_at: DateTime<Utc>,
    pub detected_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub reason: String,
    pub schedule_effective_at: Option<DateTime<Utc>>,
    pub schedule: Json<ScheduleSnapshot>,
    /// The photo of the last sighting before the exit.
    pub snapshot_ref: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// The actor who acknowledged it (`user:alice`).
    pub acknowledged_by: Option<String>,
    pub ack_note: Option<String>,
}

#[derive(Debug, Clone, Serialize, FromRow)]
pub struct EventLogEntry {
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

#[derive(Debug, Clone, Serialize, FromRow)]
pub struct ScheduleVersion {
    pub seq: i64,
    pub effective_at: DateTime<Utc>,
    pub snapshot: Json<ScheduleSnapshot>,
}

#[derive(Debug, Clone, FromRow)]
pub struct FaceTemplateRow {
    pub template_id: String,
    pub employee_id: String,
    pub pose: String,
    pub model_id: String,
    pub embedding: Vec<f32>,
}

/// A dashboard account as the users table shows it (never the password hash).
#[derive(Debug, Clone, Serialize, FromRow)]
pub struct UserRow {
    pub username: String,
    /// ADMIN | VIEWER
    pub role: String,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub async fn users(pool: &PgPool) -> Result<Vec<UserRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT username, role, disabled, created_at, updated_at FROM users ORDER BY username",
    )
    .fetch_all(pool)
    .await
}

/// One entry of an employee's face library.
#[derive(Debug, Clone, Serialize, FromRow)]
pub struct FaceLibraryEntry {
    pub template_id: String,
    pub pose: String,
    pub model_id: String,
    pub added_at: DateTime<Utc>,
    /// UPLOAD | WEBCAM | VISITOR | EMBEDDING; null for templates from before the library.
    pub source: Option<String>,
    pub photo_ref: Option<String>,
}

/// A template with its owner, for comparing a new photo with everyone enrolled.
#[derive(Debug, Clone, FromRow)]
pub struct OwnedTemplate {
    pub employee_id: String,
    pub employee_name: String,
    pub model_id: String,
    pub embedding: Vec<f32>,
}

/// Filters for the event log browser.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub event_type: Option<String>,
    pub employee_id: Option<String>,
    /// Only events before this log position (the next page of a newest-first listing).
    pub before_seq: Option<i64>,
    pub limit: i64,
}

const EMPLOYEE_SELECT: &str = "SELECT e.id, e.name, e.code, e.department, e.status, e.templates,
        e.enrolled_at, p.present, p.since, p.last_seen, p.camera_id, c.name AS camera_name
    FROM employees e LEFT JOIN presence p ON p.employee_id = e.id
    LEFT JOIN cameras c ON c.id = p.camera_id";

pub async fn employees(pool: &PgPool) -> Result<Vec<EmployeeView>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{EMPLOYEE_SELECT} WHERE e.status <> 'DELETED' ORDER BY e.name, e.id"
    ))
    .fetch_all(pool)
    .await
}

pub async fn employee(pool: &PgPool, id: &str) -> Result<Option<EmployeeView>, sqlx::Error> {
    sqlx::query_as(&format!("{EMPLOYEE_SELECT} WHERE e.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

pub async fn cameras(pool: &PgPool) -> Result<Vec<CameraView>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, name, location, stream_url, enabled, added_at FROM cameras ORDER BY name, id",
    )
    .fetch_all(pool)
    .await
}

pub async fn camera(pool: &PgPool, id: &str) -> Result<Option<CameraView>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, name, location, stream_url, enabled, added_at FROM cameras WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// The schedule in force now (the newest version), or the built-in default.
pub async fn current_schedule(pool: &PgPool) -> Result<ScheduleSnapshot, sqlx::Error> {
    let latest: Option<Json<ScheduleSnapshot>> =
        sqlx::query_scalar("SELECT snapshot FROM schedule_versions ORDER BY seq DESC LIMIT 1")
            .fetch_optional(pool)
            .await?;
    Ok(latest.map(|Json(s)| s).unwrap_or_default())
}

pub async fn schedule_history(pool: &PgPool) -> Result<Vec<ScheduleVersion>, sqlx::Error> {
    sqlx::query_as("SELECT seq, effective_at, snapshot FROM schedule_versions ORDER BY seq")
        .fetch_all(pool)
        .await
}

pub async fn attendance(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
    employee_id: Option<&str>,
) -> Result<Vec<AttendanceView>, sqlx::Error> {
    sqlx::query_as(
        "SELECT a.employee_id, e.name AS employee_name, e.code AS employee_code, e.department,
                a.day, a.first_in, fc.name AS first_in_camera,
                a.first_in_camera AS first_in_camera_id, a.first_in_photo, a.last_out,
                lc.name AS last_out_camera, a.last_out_camera AS last_out_camera_id,
                a.last_out_photo, a.entry_type, a.note
         FROM attendance a JOIN employees e ON e.id = a.employee_id
         LEFT JOIN cameras fc ON fc.id = a.first_in_camera
         LEFT JOIN cameras lc ON lc.id = a.last_out_camera
         WHERE a.day BETWEEN $1 AND $2 AND ($3::text IS NULL OR a.employee_id = $3)
         ORDER BY a.day, e.name, a.employee_id",
    )
    .bind(from)
    .bind(to)
    .bind(employee_id)
    .fetch_all(pool)
    .await
}

/// Alerts with their per-day number: the day is local to the schedule stored with each alert, so
/// a later time-zone change never renumbers old alerts. The number is counted among the alerts
/// raised within two days (index `alerts_raised`), not over the whole table.
const ALERT_SELECT: &str = "SELECT a.id, a.day,
        (SELECT count(*) FROM alerts b
         WHERE b.raised_at > a.raised_at - interval '2 days' AND b.raised_at <= a.raised_at + interval '2 days'
           AND (b.raised_at AT TIME ZONE (b.schedule->>'timezone'))::date = a.day
           AND b.id <= a.id) AS day_number,
        a.employee_id, e.name AS employee_name, e.code AS employee_code, a.camera_id,
        c.name AS camera_name, a.raised_at, a.detected_at, a.resolved_at, a.reason,
        a.schedule_effective_at, a.schedule, a.snapshot_ref, a.acknowledged_at, a.acknowledged_by,
        a.ack_note
    FROM (SELECT *, (raised_at AT TIME ZONE (schedule->>'timezone'))::date AS day FROM alerts) a
    JOIN employees e ON e.id = a.employee_id LEFT JOIN cameras c ON c.id = a.camera_id";

/// Alerts raised in `[from, to)`, optionally for one employee and/or only open ones.
pub async fn alerts(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    employee_id: Option<&str>,
    open_only: bool,
) -> Result<Vec<AlertView>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{ALERT_SELECT} WHERE a.raised_at >= $1 AND a.raised_at < $2
         AND ($3::text IS NULL OR a.employee_id = $3) AND (NOT $4 OR a.resolved_at IS NULL)
         ORDER BY a.raised_at DESC, a.id DESC"
    ))
    .bind(from)
    .bind(to)
    .bind(employee_id)
    .bind(open_only)
    .fetch_all(pool)
    .await
}

pub async fn open_alerts(pool: &PgPool) -> Result<Vec<AlertView>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{ALERT_SELECT} WHERE a.resolved_at IS NULL ORDER BY a.raised_at DESC, a.id DESC"
    ))
    .fetch_all(pool)
    .await
}

pub async fn alert(pool: &PgPool, id: i64) -> Result<Option<AlertView>, sqlx::Error> {
    sqlx::query_as(&format!("{ALERT_SELECT} WHERE a.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// The alerts an entry (the event at log position `seq`, at time `at`) resolved: an entry
/// resolves every alert of the employee still open at that moment. Newest first.
pub async fn alerts_resolved_by_entry(
    pool: &PgPool,
    employee_id: &str,
    seq: i64,
    at: DateTime<Utc>,
) -> Result<Vec<AlertView>, sqlx::Error> {
    // PostgreSQL keeps microseconds; the event has nanoseconds.
    sqlx::query_as(&format!(
        "{ALERT_SELECT} WHERE a.employee_id = $1 AND a.id < $2
         AND a.resolved_at BETWEEN $3 - interval '1 microsecond' AND $3 + interval '1 microsecond'
         ORDER BY a.raised_at DESC, a.id DESC"
    ))
    .bind(employee_id)
    .bind(seq)
    .bind(at)
    .fetch_all(pool)
    .await
}

pub async fn events(
    pool: &PgPool,
    filter: &EventFilter,
) -> Result<Vec<EventLogEntry>, sqlx::Error> {
    sqlx::query_as(
        "SELECT seq, at, recorded_at, aggregate_type, aggregate_id, event_type, employee_id, camera_id, payload,
                actor, correlation_id
         FROM event_log
         WHERE ($1::timestamptz IS NULL OR at >= $1) AND ($2::timestamptz IS NULL OR at < $2)
           AND ($3::text IS NULL OR event_type = $3) AND ($4::text IS NULL OR employee_id = $4)
           AND ($6::bigint IS NULL OR seq < $6)
         ORDER BY seq DESC LIMIT $5",
    )
    .bind(filter.from)
    .bind(filter.to)
    .bind(filter.event_type.as_deref())
    .bind(filter.employee_id.as_deref())
    .bind(filter.limit)
    .bind(filter.before_seq)
    .fetch_all(pool)
    .await
}

/// The kinds of events the audit log holds, with their aggregate type, for the type picker.
pub async fn event_types(pool: &PgPool) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT DISTINCT aggregate_type, event_type FROM event_log ORDER BY aggregate_type, event_type",
    )
    .fetch_all(pool)
    .await
}

/// Rows a log reset over `[from, to)` would hide: (event log rows, alert rows).
pub async fn count_logs(
    pool: &PgPool,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT
           (SELECT count(*) FROM event_log WHERE ($1::timestamptz IS NULL OR at >= $1) AND ($2::timestamptz IS NULL OR at < $2)),
           (SELECT count(*) FROM alerts WHERE ($1::timestamptz IS NULL OR raised_at >= $1) AND ($2::timestamptz IS NULL OR raised_at < $2))",
    )
    .bind(from)
    .bind(to)
    .fetch_one(pool)
    .await
}

/// Employees currently present, with when they were last seen (for the absence check).
pub async fn present_employees(pool: &PgPool) -> Result<Vec<(String, DateTime<Utc>)>, sqlx::Error> {
    sqlx::query_as("SELECT employee_id, last_seen FROM presence WHERE present ORDER BY employee_id")
        .fetch_all(pool)
        .await
}

/// An employee's face templates, oldest first.
pub async fn face_library(
    pool: &PgPool,
    employee_id: &str,
) -> Result<Vec<FaceLibraryEntry>, sqlx::Error> {
    sqlx::query_as(
        "SELECT template_id, pose, model_id, added_at, source, photo_ref FROM face_templates
         WHERE employee_id = $1 ORDER BY added_at, template_id",
    )
    .bind(employee_id)
    .fetch_all(pool)
    .await
}

/// The templates of every employee who is not deleted (active or not), with their names.
pub async fn templates_with_owners(pool: &PgPool) -> Result<Vec<OwnedTemplate>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.employee_id, e.name AS employee_name, t.model_id, t.embedding
         FROM face_templates t JOIN employees e ON e.id = t.employee_id
         WHERE e.status <> 'DELETED' ORDER BY t.employee_id, t.template_id",
    )
    .fetch_all(pool)
    .await
}

/// Enrolled face templates of active employees (the recogniser's gallery).
pub async fn face_templates(pool: &PgPool) -> Result<Vec<FaceTemplateRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.template_id, t.employee_id, t.pose, t.model_id, t.embedding
         FROM face_templates t JOIN employees e ON e.id = t.employee_id
         WHERE e.status = 'ACTIVE' ORDER BY t.employee_id, t.template_id",
    )
    .fetch_all(pool)
    .await
}
