//! The application's use cases, shared by GraphQL and REST: each write validates its input, runs
//! one domain command (events are appended or nothing is), then waits for the read models to
//! include it so the answer reflects the write. Transport layers only translate [`ServiceError`].

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use facewatch_domain::camera::{Camera as CameraAggregate, CameraCommand};
use facewatch_domain::employee::{Employee as EmployeeAggregate, EmployeeCommand, Pose, Profile};
use facewatch_domain::maintenance::{LogScope, Maintenance, MaintenanceCommand, TimeWindow};
use facewatch_domain::presence::{EntryType, Presence, PresenceCommand};
use facewatch_domain::schedule::{
    Mode, Schedule as ScheduleAggregate, ScheduleCommand, ScheduleSnapshot, TimeRange, WeeklyHours,
};
use facewatch_domain::{MAINTENANCE_ID, SCHEDULE_ID};
use facewatch_projections::queries::{self, AlertView, AttendanceView, CameraView, EmployeeView};
use facewatch_projections::replay::{self, ReplayReport};
use facewatch_reports::ReportFilter;
use facewatch_store::{Aggregate, CommandError, READ_SCHEMA};
use serde::Deserialize;

use crate::AppState;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    BadInput(String),
    #[error("unknown {what} {id:?}")]
    NotFound { what: &'static str, id: String },
    /// A concurrent write won; retrying may succeed.
    #[error("{0}")]
    Conflict(String),
    /// A part of the system this request needs is not running (e.g. the face models).
    #[error("{0}")]
    Unavailable(String),
    /// Details are in the server log only.
    #[error("internal error, see server log")]
    Internal,
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

pub fn bad_input(message: impl Into<String>) -> ServiceError {
    ServiceError::BadInput(message.into())
}

pub fn not_found(what: &'static str, id: &str) -> ServiceError {
    ServiceError::NotFound {
        what,
        id: id.to_owned(),
    }
}

/// Internal failures are logged in full and reported without internals.
pub fn internal(error: impl std::fmt::Display) -> ServiceError {
    tracing::error!("request failed: {error}");
    ServiceError::Internal
}

/// A domain rejection is the caller's mistake; anything else is ours.
fn command<E: std::error::Error>(error: CommandError<E>) -> ServiceError {
    match error {
        CommandError::Rejected(e) => bad_input(e.to_string()),
        CommandError::Contention { .. } => ServiceError::Conflict(error.to_string()),
        CommandError::Store(_) => internal(error),
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct EmployeeInput {
    pub name: String,
    pub code: String,
    #[serde(default)]
    pub department: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CameraInput {
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub location: String,
    pub stream_url: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DayHoursInput {
    /// `Mon`/`Monday` (any case) in JSON.
    pub weekday: Weekday,
    /// "HH:MM" or "HH:MM:SS"; an end before the start is a night shift ending the next day.
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ScheduleInput {
    pub work_hours: Vec<DayHoursInput>,
    pub lunch_start: Option<String>,
    pub lunch_end: Option<String>,
    #[serde(default = "utc")]
    pub timezone: String,
    #[serde(default = "default_alert_interval")]
    pub alert_min_interval_sec: u32,
}

fn utc() -> String {
    "UTC".into()
}

fn default_alert_interval() -> u32 {
    300
}

#[derive(Debug, Clone)]
pub struct SightingInput {
    pub employee_id: String,
    pub camera_id: String,
    pub at: Option<DateTime<Utc>>,
    pub similarity: f64,
    pub track_id: u64,
    pub snapshot_ref: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AttendanceCorrection {
    pub employee_id: String,
    pub day: NaiveDate,
    pub first_in: Option<DateTime<Utc>>,
    pub last_out: Option<DateTime<Utc>>,
    pub note: String,
    pub entry_type: EntryType,
}

/// Sightings may come from cameras whose clocks run a little ahead; more than this is an error.
const MAX_CLOCK_SKEW_SEC: i64 = 300;

fn parse_time(field: &str, value: &str) -> Result<NaiveTime> {
    NaiveTime::parse_from_str(value, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(value, "%H:%M"))
        .map_err(|_| bad_input(format!("{field}: {value:?} is not a time of day (HH:MM)")))
}

async fn execute<A>(state: &AppState, id: &str, cmd: A::Command) -> Result<()>
where
    A: Aggregate<Services = ()>,
    A::Command: Clone,
{
    state.store().execute::<A>(id, cmd).await.map_err(command)?;
    state.projector().catch_up(None).await.map_err(internal)?;
    Ok(())
}

pub async fn employee_view(state: &AppState, id: &str) -> Result<EmployeeView> {
    queries::employee(state.pool(), id)
        .await
        .map_err(internal)?
        .ok_or_else(|| not_found("employee", id))
}

pub async fn camera_view(state: &AppState, id: &str) -> Result<CameraView> {
    queries::camera(state.pool(), id)
        .await
        .map_err(internal)?
        .ok_or_else(|| not_found("camera", id))
}

async fn require_employee(state: &AppState, id: &str) -> Result<()> {
    let employee = state
        .store()
        .load::<EmployeeAggregate>(id)
        .await
        .map_err(command)?;
    if employee.is_active() {
        Ok(())
    } else {
        Err(not_found("active employee", id))
    }
}

/// UTC bounds of local calendar days `[from, to]` in time zone `tz`; an omitted end is open.
pub fn day_window(tz: Tz, from: Option<NaiveDate>, to: Option<NaiveDate>) -> Result<TimeWindow> {
    let start_of = |day: NaiveDate| {
        tz.from_local_datetime(&day.and_time(NaiveTime::MIN))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    };
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(bad_input(format!(
                "date range is inverted: {f} is after {t}"
            )));
        }
    }
    Ok(TimeWindow {
        from: from.and_then(start_of),
        to: to.and_then(|d| start_of(d + Duration::days(1))),
    })
}

pub async fn current_schedule(state: &AppState) -> Result<ScheduleSnapshot> {
    queries::current_schedule(state.pool())
        .await
        .map_err(internal)
}

fn profile(input: EmployeeInput) -> Profile {
    Profile {
        name: input.name.trim().into(),
        code: input.code.trim().into(),
        department: input.department.trim().into(),
    }
}

pub async fn enroll_employee(state: &AppState, input: EmployeeInput) -> Result<EmployeeView> {
    let taken = queries::employees(state.pool())
        .await
        .map_err(internal)?
        .into_iter()
        .any(|e| e.code == input.code.trim());
    if taken {
        return Err(bad_input(format!(
            "employee code {:?} is already in use",
            input.code
        )));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let cmd = EmployeeCommand::Enroll {
        profile: profile(input),
        now: Utc::now(),
    };
    execute::<EmployeeAggregate>(state, &id, cmd).await?;
    employee_view(state, &id).await
}

pub async fn update_employee(
    state: &AppState,
    id: &str,
    input: EmployeeInput,
) -> Result<EmployeeView> {
    let cmd = EmployeeCommand::UpdateProfile {
        profile: profile(input),
        now: Utc::now(),
    };
    execute::<EmployeeAggregate>(state, id, cmd).await?;
    employee_view(state, id).await
}

pub async fn set_employee_active(state: &AppState, id: &str, active: bool) -> Result<EmployeeView> {
    let now = Utc::now();
    let cmd = if active {
        EmployeeCommand::Reactivate { now }
    } else {
        EmployeeCommand::Deactivate { now }
    };
    execute::<EmployeeAggregate>(state, id, cmd).await?;
    employee_view(state, id).await
}

pub async fn delete_employee(state: &AppState, id: &str) -> Result<()> {
    let cmd = EmployeeCommand::Delete { now: Utc::now() };
    execute::<EmployeeAggregate>(state, id, cmd).await
}

pub async fn add_face_template(
    state: &AppState,
    employee_id: &str,
    pose: Pose,
    embedding: Vec<f32>,
    model_id: String,
) -> Result<EmployeeView> {
    let cmd = EmployeeCommand::AddFaceTemplate {
        template_id: uuid::Uuid::new_v4().to_string(),
        pose,
        embedding,
        model_id,
        now: Utc::now(),
    };
    execute::<EmployeeAggregate>(state, employee_id, cmd).await?;
    employee_view(state, employee_id).await
}

/// Enrolment photos: `(pose, label for messages, image bytes)`.
pub type FacePhotos = Vec<(Pose, String, Vec<u8>)>;

/// Turns enrolment photos into face templates. Every photo is embedded before anything is stored,
/// so one bad photo (no face, several faces, poor quality) adds no template at all.
pub async fn enroll_face_photos(
    state: &AppState,
    employee_id: &str,
    photos: FacePhotos,
) -> Result<EmployeeView> {
    let embedder = state
        .embedder()
        .cloned()
        .ok_or_else(|| ServiceError::Unavailable("face models not loaded".into()))?;
    employee_view(state, employee_id).await?;
    if photos.is_empty() {
        return Err(bad_input("no photo: send front, left and/or right"));
    }
    // Face models are CPU/GPU bound: keep them off the async workers.
    let embedded = tokio::task::spawn_blocking(move || {
        photos
            .into_iter()
            .map(|(pose, label, bytes)| {
                embedder
                    .embed(&bytes)
                    .map(|(embedding, model)| (pose, embedding, model))
                    .map_err(|reason| bad_input(format!("{label}: {reason}")))
            })
            .collect::<Result<Vec<_>>>()
    })
    .await
    .map_err(|e| {
        tracing::error!("face embedding task failed: {e}");
        ServiceError::Internal
    })??;
    for (pose, embedding, model_id) in embedded {
        add_face_template(state, employee_id, pose, embedding, model_id).await?;
    }
    employee_view(state, employee_id).await
}

pub async fn add_camera(state: &AppState, input: CameraInput) -> Result<CameraView> {
    let id = input
        .id
        .map(|id| id.trim().to_string())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let valid_id = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid_id {
        return Err(bad_input(
            "camera id must be 1-64 letters, digits, '-' or '_'",
        ));
    }
    let cmd = CameraCommand::Add {
        name: input.name.trim().into(),
        location: input.location.trim().into(),
        stream_url: input.stream_url.trim().into(),
        enabled: input.enabled,
        now: Utc::now(),
    };
    execute::<CameraAggregate>(state, &id, cmd).await?;
    camera_view(state, &id).await
}

/// Renames/moves a camera and, if given, points it at a new stream.
pub async fn update_camera(
    state: &AppState,
    id: &str,
    name: &str,
    location: &str,
    stream_url: Option<&str>,
) -> Result<CameraView> {
    let now = Utc::now();
    if let Some(url) = stream_url {
        facewatch_domain::camera::validate_stream_url(url.trim())
            .map_err(|e| bad_input(e.to_string()))?;
    }
    let rename = CameraCommand::Rename {
        name: name.trim().into(),
        location: location.trim().into(),
        now,
    };
    execute::<CameraAggregate>(state, id, rename).await?;
    if let Some(stream_url) = stream_url {
        let change = CameraCommand::ChangeStreamUrl {
            stream_url: stream_url.trim().into(),
            now,
        };
        execute::<CameraAggregate>(state, id, change).await?;
    }
    camera_view(state, id).await
}

pub async fn set_camera_enabled(state: &AppState, id: &str, enabled: bool) -> Result<CameraView> {
    let cmd = CameraCommand::SetEnabled {
        enabled,
        now: Utc::now(),
    };
    execute::<CameraAggregate>(state, id, cmd).await?;
    camera_view(state, id).await
}

pub async fn remove_camera(state: &AppState, id: &str) -> Result<()> {
    let cmd = CameraCommand::Remove { now: Utc::now() };
    execute::<CameraAggregate>(state, id, cmd).await
}

/// Saves work hours, lunch break and time zone; takes effect now, never retroactively.
pub async fn save_schedule(state: &AppState, input: ScheduleInput) -> Result<ScheduleSnapshot> {
    let mut work_hours = WeeklyHours { days: [None; 7] };
    for day in &input.work_hours {
        let slot = &mut work_hours.days[day.weekday.num_days_from_monday() as usize];
        if slot.is_some() {
            return Err(bad_input(format!("{} is given twice", day.weekday)));
        }
        let start = parse_time("start", &day.start)?;
        let end = parse_time("end", &day.end)?;
        *slot = Some(TimeRange::new(start, end).map_err(|e| bad_input(e.to_string()))?);
    }
    let lunch = match (&input.lunch_start, &input.lunch_end) {
        (Some(s), Some(e)) => Some(TimeRange {
            start: parse_time("lunchStart", s)?,
            end: parse_time("lunchEnd", e)?,
        }),
        (None, None) => None,
        _ => return Err(bad_input("give both lunchStart and lunchEnd, or neither")),
    };
    let cmd = ScheduleCommand::Save {
        work_hours,
        lunch,
        timezone: input.timezone,
        alert_min_interval_sec: input.alert_min_interval_sec,
        now: Utc::now(),
    };
    schedule_command(state, cmd).await
}

pub async fn set_schedule_mode(state: &AppState, mode: Mode) -> Result<ScheduleSnapshot> {
    let cmd = ScheduleCommand::SwitchMode {
        mode,
        now: Utc::now(),
    };
    schedule_command(state, cmd).await
}

/// In manual mode: switch tracking on or off.
pub async fn set_manual_tracking(state: &AppState, on: bool) -> Result<ScheduleSnapshot> {
    let cmd = ScheduleCommand::SetManualTracking {
        on,
        now: Utc::now(),
    };
    schedule_command(state, cmd).await
}

pub async fn pause_schedule(state: &AppState, minutes: u32) -> Result<ScheduleSnapshot> {
    let cmd = ScheduleCommand::PauseFor {
        minutes,
        now: Utc::now(),
    };
    schedule_command(state, cmd).await
}

pub async fn resume_schedule(state: &AppState) -> Result<ScheduleSnapshot> {
    schedule_command(state, ScheduleCommand::Resume { now: Utc::now() }).await
}

async fn schedule_command(state: &AppState, cmd: ScheduleCommand) -> Result<ScheduleSnapshot> {
    execute::<ScheduleAggregate>(state, SCHEDULE_ID, cmd).await?;
    current_schedule(state).await
}

/// Records that a camera recognised an employee (what the camera pipeline does for real).
pub async fn record_sighting(state: &AppState, input: SightingInput) -> Result<EmployeeView> {
    let now = Utc::now();
    let at = input.at.unwrap_or(now);
    if at > now + Duration::seconds(MAX_CLOCK_SKEW_SEC) {
        return Err(bad_input(format!("sighting time {at} is in the future")));
    }
    require_employee(state, &input.employee_id).await?;
    let camera = state
        .store()
        .load::<CameraAggregate>(&input.camera_id)
        .await
        .map_err(command)?;
    if !camera.exists {
        return Err(not_found("camera", &input.camera_id));
    }
    if !camera.enabled {
        return Err(bad_input(format!(
            "camera {:?} is disabled",
            input.camera_id
        )));
    }
    let cmd = PresenceCommand::RecordSighting {
        camera_id: input.camera_id,
        at,
        similarity: input.similarity as f32,
        track_id: input.track_id,
        snapshot_ref: input.snapshot_ref,
    };
    execute::<Presence>(state, &input.employee_id, cmd).await?;
    employee_view(state, &input.employee_id).await
}

/// Sets First In and/or Last Out by hand; automatic data never overwrites it.
pub async fn correct_attendance(
    state: &AppState,
    input: AttendanceCorrection,
) -> Result<AttendanceView> {
    require_employee(state, &input.employee_id).await?;
    let cmd = PresenceCommand::CorrectAttendance {
        day: input.day,
        first_in: input.first_in,
        last_out: input.last_out,
        entry_type: input.entry_type,
        note: input.note,
        now: Utc::now(),
    };
    execute::<Presence>(state, &input.employee_id, cmd).await?;
    attendance_row(state, &input.employee_id, input.day)
        .await?
        .ok_or_else(|| internal("corrected attendance row missing"))
}

pub async fn attendance_row(
    state: &AppState,
    employee_id: &str,
    day: NaiveDate,
) -> Result<Option<AttendanceView>> {
    Ok(
        queries::attendance(state.pool(), day, day, Some(employee_id))
            .await
            .map_err(internal)?
            .into_iter()
            .next(),
    )
}

/// Hides event-log and/or alert rows of local days `[from, to]` (all when omitted) from the read
/// models and returns how many (event, alert) rows that hid. The event store keeps every event:
/// this is itself an event.
pub async fn reset_logs(
    state: &AppState,
    scope: LogScope,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<(i64, i64)> {
    let window = day_window(current_schedule(state).await?.timezone, from, to)?;
    let (event_rows, alert_rows) = queries::count_logs(state.pool(), window.from, window.to)
        .await
        .map_err(internal)?;
    let cmd = MaintenanceCommand::ResetLogs {
        scope,
        window,
        now: Utc::now(),
    };
    execute::<Maintenance>(state, MAINTENANCE_ID, cmd).await?;
    Ok((
        if scope.includes_events() {
            event_rows
        } else {
            0
        },
        if scope.includes_alerts() {
            alert_rows
        } else {
            0
        },
    ))
}

/// Rebuilds every read model from the log into a scratch schema and compares it with the live one.
pub async fn run_replay_audit(state: &AppState) -> Result<ReplayReport> {
    let scratch = format!(
        "replay_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    replay::verify(state.pool(), READ_SCHEMA, &scratch)
        .await
        .map_err(internal)
}

/// Checks a report filter (inverted or too long ranges are the caller's mistake).
fn check_filter(filter: &ReportFilter) -> Result<()> {
    filter.validate().map_err(|e| bad_input(e.to_string()))
}

/// Attendance rows of a report, in the schedule's time zone (the one its days are counted in).
pub async fn attendance_report(
    state: &AppState,
    filter: &ReportFilter,
) -> Result<(Vec<AttendanceView>, Tz)> {
    check_filter(filter)?;
    let tz = current_schedule(state).await?.timezone;
    let rows = queries::attendance(
        state.pool(),
        filter.from,
        filter.to,
        filter.employee.as_deref(),
    )
    .await
    .map_err(internal)?;
    Ok((rows, tz))
}

/// Alerts raised on the local days of a report.
pub async fn alerts_report(
    state: &AppState,
    filter: &ReportFilter,
) -> Result<(Vec<AlertView>, Tz)> {
    check_filter(filter)?;
    let tz = current_schedule(state).await?.timezone;
    let window = day_window(tz, Some(filter.from), Some(filter.to))?;
    let (Some(from), Some(to)) = (window.from, window.to) else {
        return Err(bad_input(format!(
            "{} – {} has no start of day in {tz}",
            filter.from, filter.to
        )));
    };
    let rows = queries::alerts(state.pool(), from, to, filter.employee.as_deref(), false)
        .await
        .map_err(internal)?;
    Ok((rows, tz))
}

/// The AI parameters in force at the next restart: `{path, source, params}` from the params file,
/// or from the example file (the defaults) when there is none yet.
pub async fn ai_params(state: &AppState) -> Result<serde_json::Value> {
    let file = state.params_file().to_owned();
    let (source, path) = if file.is_file() {
        ("file", file)
    } else {
        ("defaults", file.with_extension("example.toml"))
    };
    let text = tokio::fs::read_to_string(&path)
        .await
        .map_err(|e| internal(format!("read {}: {e}", path.display())))?;
    let params: serde_json::Value = toml::from_str(&text)
        .map_err(|e| internal(format!("{} is not valid TOML: {e}", path.display())))?;
    Ok(serde_json::json!({ "path": path, "source": source, "params": params }))
}
