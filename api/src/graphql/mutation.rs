//! Writes: each mutation validates its input, runs one domain command (events are appended or
//! nothing is), then waits for the read models to include it so the answer reflects the write.

use async_graphql::{Context, InputObject, Object, Result};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use facewatch_domain::camera::{Camera as CameraAggregate, CameraCommand};
use facewatch_domain::employee::{Employee as EmployeeAggregate, EmployeeCommand, Profile};
use facewatch_domain::maintenance::{Maintenance, MaintenanceCommand, TimeWindow as Window};
use facewatch_domain::presence::{EntryType, Presence, PresenceCommand};
use facewatch_domain::schedule::{
    Schedule as ScheduleAggregate, ScheduleCommand, TimeRange, WeeklyHours,
};
use facewatch_domain::{MAINTENANCE_ID, SCHEDULE_ID};
use facewatch_projections::{queries, replay};
use facewatch_store::{Aggregate, READ_SCHEMA};

use super::errors::{bad_input, command, internal, not_found};
use super::types::*;
use crate::AppState;

pub struct Mutation;

#[derive(InputObject)]
pub struct EmployeeInput {
    pub name: String,
    pub code: String,
    #[graphql(default)]
    pub department: String,
}

#[derive(InputObject)]
pub struct CameraInput {
    /// Optional stable id (e.g. "CAM1"); generated when omitted.
    pub id: Option<String>,
    pub name: String,
    #[graphql(default)]
    pub location: String,
    /// rtsp://, rtsps://, file://, http(s):// — stored server-side only.
    pub stream_url: String,
    #[graphql(default = true)]
    pub enabled: bool,
}

#[derive(InputObject)]
pub struct DayHoursInput {
    pub weekday: Weekday,
    /// "HH:MM" or "HH:MM:SS"; an end before the start is a night shift ending the next day.
    pub start: String,
    pub end: String,
}

#[derive(InputObject)]
pub struct ScheduleInput {
    pub work_hours: Vec<DayHoursInput>,
    pub lunch_start: Option<String>,
    pub lunch_end: Option<String>,
    /// IANA time zone name, e.g. "Asia/Jakarta".
    #[graphql(default_with = "String::from(\"UTC\")")]
    pub timezone: String,
    #[graphql(default = 300)]
    pub alert_min_interval_sec: u32,
}

#[derive(InputObject)]
pub struct SightingInput {
    pub employee_id: String,
    pub camera_id: String,
    /// Defaults to now.
    pub at: Option<DateTime<Utc>>,
    pub similarity: f64,
    #[graphql(default)]
    pub track_id: u64,
    pub snapshot_ref: Option<String>,
}

#[derive(InputObject)]
pub struct AttendanceCorrectionInput {
    pub employee_id: String,
    pub day: NaiveDate,
    pub first_in: Option<DateTime<Utc>>,
    pub last_out: Option<DateTime<Utc>>,
    #[graphql(default)]
    pub note: String,
    #[graphql(default_with = "CorrectionType::Manual")]
    pub entry_type: CorrectionType,
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

async fn employee_view(state: &AppState, id: &str) -> Result<Employee> {
    queries::employee(state.pool(), id)
        .await
        .map_err(internal)?
        .map(Into::into)
        .ok_or_else(|| not_found("employee", id))
}

async fn camera_view(state: &AppState, id: &str) -> Result<Camera> {
    queries::camera(state.pool(), id)
        .await
        .map_err(internal)?
        .map(Into::into)
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

/// UTC bounds of local calendar days `[from, to]` in the schedule's time zone.
async fn day_window(
    state: &AppState,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Window> {
    let tz = queries::current_schedule(state.pool())
        .await
        .map_err(internal)?
        .timezone;
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
    Ok(Window {
        from: from.and_then(start_of),
        to: to.and_then(|d| start_of(d + Duration::days(1))),
    })
}

#[Object]
impl Mutation {
    async fn enroll_employee(&self, ctx: &Context<'_>, input: EmployeeInput) -> Result<Employee> {
        let state = ctx.data::<AppState>()?;
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
        let profile = Profile {
            name: input.name.trim().into(),
            code: input.code.trim().into(),
            department: input.department.trim().into(),
        };
        let cmd = EmployeeCommand::Enroll {
            profile,
            now: Utc::now(),
        };
        execute::<EmployeeAggregate>(state, &id, cmd).await?;
        employee_view(state, &id).await
    }

    async fn update_employee(
        &self,
        ctx: &Context<'_>,
        id: String,
        input: EmployeeInput,
    ) -> Result<Employee> {
        let state = ctx.data::<AppState>()?;
        let profile = Profile {
            name: input.name.trim().into(),
            code: input.code.trim().into(),
            department: input.department.trim().into(),
        };
        let cmd = EmployeeCommand::UpdateProfile {
            profile,
            now: Utc::now(),
        };
        execute::<EmployeeAggregate>(state, &id, cmd).await?;
        employee_view(state, &id).await
    }

    /// Active employees are recognised and alerted on; inactive ones are kept but ignored.
    async fn set_employee_active(
        &self,
        ctx: &Context<'_>,
        id: String,
        active: bool,
    ) -> Result<Employee> {
        let state = ctx.data::<AppState>()?;
        let now = Utc::now();
        let cmd = if active {
            EmployeeCommand::Reactivate { now }
        } else {
            EmployeeCommand::Deactivate { now }
        };
        execute::<EmployeeAggregate>(state, &id, cmd).await?;
        employee_view(state, &id).await
    }

    /// Deletes an employee: templates and presence go; history keeps the name.
    async fn delete_employee(&self, ctx: &Context<'_>, id: String) -> Result<bool> {
        let state = ctx.data::<AppState>()?;
        let cmd = EmployeeCommand::Delete { now: Utc::now() };
        execute::<EmployeeAggregate>(state, &id, cmd).await?;
        Ok(true)
    }

    /// Adds a face template from an embedding computed elsewhere (photo enrolment computes it
    /// server-side).
    async fn add_face_template(
        &self,
        ctx: &Context<'_>,
        employee_id: String,
        pose: Pose,
        embedding: Vec<f32>,
        model_id: String,
    ) -> Result<Employee> {
        let state = ctx.data::<AppState>()?;
        let cmd = EmployeeCommand::AddFaceTemplate {
            template_id: uuid::Uuid::new_v4().to_string(),
            pose: pose.into(),
            embedding,
            model_id,
            now: Utc::now(),
        };
        execute::<EmployeeAggregate>(state, &employee_id, cmd).await?;
        employee_view(state, &employee_id).await
    }

    async fn add_camera(&self, ctx: &Context<'_>, input: CameraInput) -> Result<Camera> {
        let state = ctx.data::<AppState>()?;
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
    async fn update_camera(
        &self,
        ctx: &Context<'_>,
        id: String,
        name: String,
        #[graphql(default)] location: String,
        stream_url: Option<String>,
    ) -> Result<Camera> {
        let state = ctx.data::<AppState>()?;
        let now = Utc::now();
        let rename = CameraCommand::Rename {
            name: name.trim().into(),
            location: location.trim().into(),
            now,
        };
        if let Some(url) = &stream_url {
            facewatch_domain::camera::validate_stream_url(url.trim())
                .map_err(|e| bad_input(e.to_string()))?;
        }
        execute::<CameraAggregate>(state, &id, rename).await?;
        if let Some(stream_url) = stream_url {
            let change = CameraCommand::ChangeStreamUrl {
                stream_url: stream_url.trim().into(),
                now,
            };
            execute::<CameraAggregate>(state, &id, change).await?;
        }
        camera_view(state, &id).await
    }

    async fn set_camera_enabled(
        &self,
        ctx: &Context<'_>,
        id: String,
        enabled: bool,
    ) -> Result<Camera> {
        let state = ctx.data::<AppState>()?;
        let cmd = CameraCommand::SetEnabled {
            enabled,
            now: Utc::now(),
        };
        execute::<CameraAggregate>(state, &id, cmd).await?;
        camera_view(state, &id).await
    }

    async fn remove_camera(&self, ctx: &Context<'_>, id: String) -> Result<bool> {
        let state = ctx.data::<AppState>()?;
        let cmd = CameraCommand::Remove { now: Utc::now() };
        execute::<CameraAggregate>(state, &id, cmd).await?;
        Ok(true)
    }

    /// Saves work hours, lunch break and time zone; takes effect now, never retroactively.
    async fn save_schedule(&self, ctx: &Context<'_>, input: ScheduleInput) -> Result<Schedule> {
        let state = ctx.data::<AppState>()?;
        let mut work_hours = WeeklyHours { days: [None; 7] };
        for day in &input.work_hours {
            let index = WEEKDAYS
                .iter()
                .position(|w| *w == day.weekday)
                .unwrap_or_default();
            if work_hours.days[index].is_some() {
                return Err(bad_input(format!("{:?} is given twice", day.weekday)));
            }
            let start = parse_time("start", &day.start)?;
            let end = parse_time("end", &day.end)?;
            work_hours.days[index] =
                Some(TimeRange::new(start, end).map_err(|e| bad_input(e.to_string()))?);
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

    async fn set_schedule_mode(&self, ctx: &Context<'_>, mode: Mode) -> Result<Schedule> {
        let state = ctx.data::<AppState>()?;
        let cmd = ScheduleCommand::SwitchMode {
            mode: mode.into(),
            now: Utc::now(),
        };
        schedule_command(state, cmd).await
    }

    /// In manual mode: switch tracking on or off.
    async fn set_manual_tracking(&self, ctx: &Context<'_>, on: bool) -> Result<Schedule> {
        let state = ctx.data::<AppState>()?;
        let cmd = ScheduleCommand::SetManualTracking {
            on,
            now: Utc::now(),
        };
        schedule_command(state, cmd).await
    }

    async fn pause_schedule(&self, ctx: &Context<'_>, minutes: u32) -> Result<Schedule> {
        let state = ctx.data::<AppState>()?;
        let cmd = ScheduleCommand::PauseFor {
            minutes,
            now: Utc::now(),
        };
        schedule_command(state, cmd).await
    }

    async fn resume_schedule(&self, ctx: &Context<'_>) -> Result<Schedule> {
        let state = ctx.data::<AppState>()?;
        schedule_command(state, ScheduleCommand::Resume { now: Utc::now() }).await
    }

    /// Records that a camera recognised an employee (what the camera pipeline does for real).
    async fn record_sighting(&self, ctx: &Context<'_>, input: SightingInput) -> Result<Employee> {
        let state = ctx.data::<AppState>()?;
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
    async fn correct_attendance(
        &self,
        ctx: &Context<'_>,
        input: AttendanceCorrectionInput,
    ) -> Result<AttendanceRecord> {
        let state = ctx.data::<AppState>()?;
        require_employee(state, &input.employee_id).await?;
        let cmd = PresenceCommand::CorrectAttendance {
            day: input.day,
            first_in: input.first_in,
            last_out: input.last_out,
            entry_type: match input.entry_type {
                CorrectionType::Manual => EntryType::Manual,
                CorrectionType::System => EntryType::System,
            },
            note: input.note,
            now: Utc::now(),
        };
        execute::<Presence>(state, &input.employee_id, cmd).await?;
        queries::attendance(state.pool(), input.day, input.day, Some(&input.employee_id))
            .await
            .map_err(internal)?
            .into_iter()
            .next()
            .map(Into::into)
            .ok_or_else(|| internal("corrected attendance row missing"))
    }

    /// Hides event-log and/or alert rows of local days `[from, to]` (all when omitted) from the
    /// read models. The event store keeps every event: this is itself an event.
    async fn reset_logs(
        &self,
        ctx: &Context<'_>,
        scope: LogScope,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<ResetResult> {
        let state = ctx.data::<AppState>()?;
        let window = day_window(state, from, to).await?;
        let (event_rows, alert_rows) = queries::count_logs(state.pool(), window.from, window.to)
            .await
            .map_err(internal)?;
        let scope: facewatch_domain::maintenance::LogScope = scope.into();
        let cmd = MaintenanceCommand::ResetLogs {
            scope,
            window,
            now: Utc::now(),
        };
        execute::<Maintenance>(state, MAINTENANCE_ID, cmd).await?;
        Ok(ResetResult {
            event_rows: if scope.includes_events() {
                event_rows
            } else {
                0
            },
            alert_rows: if scope.includes_alerts() {
                alert_rows
            } else {
                0
            },
        })
    }

    /// Rebuilds every read model from the log into a scratch schema and compares it with the live
    /// one.
    async fn run_replay_audit(&self, ctx: &Context<'_>) -> Result<ReplayAudit> {
        let state = ctx.data::<AppState>()?;
        let scratch = format!(
            "replay_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        replay::verify(state.pool(), READ_SCHEMA, &scratch)
            .await
            .map(Into::into)
            .map_err(internal)
    }
}

async fn schedule_command(state: &AppState, cmd: ScheduleCommand) -> Result<Schedule> {
    execute::<ScheduleAggregate>(state, SCHEDULE_ID, cmd).await?;
    let snapshot = queries::current_schedule(state.pool())
        .await
        .map_err(internal)?;
    Ok(Schedule::at(&snapshot, Utc::now()))
}
