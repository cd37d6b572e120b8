//! Writes: thin wrappers over the use cases of [`facewatch_app::App`], which validate, run the
//! domain commands and wait for the read models.

use async_graphql::{Context, InputObject, Object, Result};
use chrono::{DateTime, NaiveDate, Utc};
use facewatch_app as app;
use facewatch_domain::presence::EntryType;
use facewatch_domain::schedule::ScheduleSnapshot;

use super::caller::caller;
use super::errors::{app_error, bad_input};
use super::faces::FaceSource;
use super::types::*;

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

impl From<EmployeeInput> for app::EmployeeInput {
    fn from(i: EmployeeInput) -> Self {
        Self {
            name: i.name,
            code: i.code,
            department: i.department,
        }
    }
}

fn weekday(w: Weekday) -> chrono::Weekday {
    match w {
        Weekday::Monday => chrono::Weekday::Mon,
        Weekday::Tuesday => chrono::Weekday::Tue,
        Weekday::Wednesday => chrono::Weekday::Wed,
        Weekday::Thursday => chrono::Weekday::Thu,
        Weekday::Friday => chrono::Weekday::Fri,
        Weekday::Saturday => chrono::Weekday::Sat,
        Weekday::Sunday => chrono::Weekday::Sun,
    }
}

#[Object(name = "DomainMutation")]
impl Mutation {
    async fn enroll_employee(&self, ctx: &Context<'_>, input: EmployeeInput) -> Result<Employee> {
        let (app, caller) = caller(ctx)?;
        view(app.enroll_employee(&caller, input.into()).await)
    }

    async fn update_employee(
        &self,
        ctx: &Context<'_>,
        id: String,
        input: EmployeeInput,
    ) -> Result<Employee> {
        let (app, caller) = caller(ctx)?;
        view(app.update_employee(&caller, &id, input.into()).await)
    }

    /// Active employees are recognised and alerted on; inactive ones are kept but ignored.
    async fn set_employee_active(
        &self,
        ctx: &Context<'_>,
        id: String,
        active: bool,
    ) -> Result<Employee> {
        let (app, caller) = caller(ctx)?;
        view(app.set_employee_active(&caller, &id, active).await)
    }

    /// Deletes an employee: templates and presence go; history keeps the name.
    async fn delete_employee(&self, ctx: &Context<'_>, id: String) -> Result<bool> {
        let (app, caller) = caller(ctx)?;
        app.delete_employee(&caller, &id).await.map_err(app_error)?;
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
        let (app, caller) = caller(ctx)?;
        let added = app.add_face_template(&caller, &employee_id, pose.into(), embedding, model_id);
        view(added.await)
    }

    /// Enrols one face photo (base64-encoded JPEG or PNG) for a pose. The photo must show exactly
    /// one face of good quality; otherwise the error says why and nothing is stored. A photo that
    /// matches another employee (code `FACE_MATCHES_OTHER`, "this face matches NAME") or is far
    /// from the employee's own templates (`FACE_FAR_FROM_OWN`) is refused unless `confirm`.
    async fn enroll_face_photo(
        &self,
        ctx: &Context<'_>,
        employee_id: String,
        pose: Pose,
        photo_base64: String,
        #[graphql(default_with = "FaceSource::Upload")] source: FaceSource,
        #[graphql(default)] confirm: bool,
    ) -> Result<Employee> {
        use base64::Engine as _;
        let (app, caller) = caller(ctx)?;
        // Accept data URLs from browsers ("data:image/jpeg;base64,....") as well as bare base64.
        let encoded = photo_base64
            .split_once(";base64,")
            .map_or(photo_base64.as_str(), |(_, data)| data);
        let photo = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|e| bad_input(format!("photoBase64 is not base64: {e}")))?;
        if photo.len() > crate::MAX_PHOTO_BYTES {
            return Err(bad_input(format!(
                "a photo must have at most {} bytes",
                crate::MAX_PHOTO_BYTES
            )));
        }
        let label =
            format!("{:?} photo", facewatch_domain::employee::Pose::from(pose)).to_lowercase();
        let photos = vec![(pose.into(), label, photo)];
        let enrolment = app::FaceEnrolment {
            source: source.into(),
            confirmed: confirm,
        };
        view(
            app.enroll_face_photos(&caller, &employee_id, photos, enrolment)
                .await,
        )
    }

    /// The camera with its live pipeline health: ONLINE with an fps once frames arrive, or
    /// OFFLINE with the (redacted) stream error. Null health: the camera is not running.
    async fn test_camera_connection(&self, ctx: &Context<'_>, id: String) -> Result<Camera> {
        let (app, _) = caller(ctx)?;
        view(app.camera_view(&id).await)
    }

    async fn add_camera(&self, ctx: &Context<'_>, input: CameraInput) -> Result<Camera> {
        let (app, caller) = caller(ctx)?;
        let input = app::CameraInput {
            id: input.id,
            name: input.name,
            location: input.location,
            stream_url: input.stream_url,
            enabled: input.enabled,
        };
        view(app.add_camera(&caller, input).await)
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
        let (app, caller) = caller(ctx)?;
        view(
            app.update_camera(&caller, &id, &name, &location, stream_url.as_deref())
                .await,
        )
    }

    async fn set_camera_enabled(
        &self,
        ctx: &Context<'_>,
        id: String,
        enabled: bool,
    ) -> Result<Camera> {
        let (app, caller) = caller(ctx)?;
        view(app.set_camera_enabled(&caller, &id, enabled).await)
    }

    async fn remove_camera(&self, ctx: &Context<'_>, id: String) -> Result<bool> {
        let (app, caller) = caller(ctx)?;
        app.remove_camera(&caller, &id).await.map_err(app_error)?;
        Ok(true)
    }

    /// Saves work hours, lunch break and time zone; takes effect now, never retroactively.
    async fn save_schedule(&self, ctx: &Context<'_>, input: ScheduleInput) -> Result<Schedule> {
        let (app, caller) = caller(ctx)?;
        let input = app::ScheduleInput {
            work_hours: input
                .work_hours
                .into_iter()
                .map(|d| app::DayHoursInput {
                    weekday: weekday(d.weekday),
                    start: d.start,
                    end: d.end,
                })
                .collect(),
            lunch_start: input.lunch_start,
            lunch_end: input.lunch_end,
            timezone: input.timezone,
            alert_min_interval_sec: input.alert_min_interval_sec,
        };
        schedule(app.save_schedule(&caller, input).await)
    }

    async fn set_schedule_mode(&self, ctx: &Context<'_>, mode: Mode) -> Result<Schedule> {
        let (app, caller) = caller(ctx)?;
        schedule(app.set_schedule_mode(&caller, mode.into()).await)
    }

    /// In manual mode: switch tracking on or off.
    async fn set_manual_tracking(&self, ctx: &Context<'_>, on: bool) -> Result<Schedule> {
        let (app, caller) = caller(ctx)?;
        schedule(app.set_manual_tracking(&caller, on).await)
    }

    async fn pause_schedule(&self, ctx: &Context<'_>, minutes: u32) -> Result<Schedule> {
        let (app, caller) = caller(ctx)?;
        schedule(app.pause_schedule(&caller, minutes).await)
    }

    async fn resume_schedule(&self, ctx: &Context<'_>) -> Result<Schedule> {
        let (app, caller) = caller(ctx)?;
        schedule(app.resume_schedule(&caller).await)
    }

    /// Records that a camera recognised an employee (what the camera pipeline does for real).
    async fn record_sighting(&self, ctx: &Context<'_>, input: SightingInput) -> Result<Employee> {
        let (app, caller) = caller(ctx)?;
        let input = app::SightingInput {
            employee_id: input.employee_id,
            camera_id: input.camera_id,
            at: input.at,
            similarity: input.similarity,
            track_id: input.track_id,
            snapshot_ref: input.snapshot_ref,
        };
        let employee_id = input.employee_id.clone();
        let outcome = app
            .record_sighting(&caller, input)
            .await
            .map_err(app_error)?;
        app.settle(&[outcome]).await.map_err(app_error)?;
        // Cameras and integrations ask for `{ id }` only: no need to read the employee back.
        if selects_only_id(ctx) {
            return Ok(Employee::id_only(employee_id));
        }
        view(app.employee_view(&employee_id).await)
    }

    /// Sets First In and/or Last Out by hand; automatic data never overwrites it.
    async fn correct_attendance(
        &self,
        ctx: &Context<'_>,
        input: AttendanceCorrectionInput,
    ) -> Result<AttendanceRecord> {
        let (app, caller) = caller(ctx)?;
        let input = app::AttendanceCorrection {
            employee_id: input.employee_id,
            day: input.day,
            first_in: input.first_in,
            last_out: input.last_out,
            note: input.note,
            entry_type: match input.entry_type {
                CorrectionType::Manual => EntryType::Manual,
                CorrectionType::System => EntryType::System,
            },
        };
        view(app.correct_attendance(&caller, input).await)
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
        let (app, caller) = caller(ctx)?;
        let (event_rows, alert_rows) = app
            .reset_logs(&caller, scope.into(), from, to)
            .await
            .map_err(app_error)?;
        Ok(ResetResult {
            event_rows,
            alert_rows,
        })
    }

    /// Rebuilds every read model from the log into a scratch schema and compares it with the live
    /// one.
    async fn run_replay_audit(&self, ctx: &Context<'_>) -> Result<ReplayAudit> {
        let (app, _) = caller(ctx)?;
        view(app.run_replay_audit().await)
    }
}

/// Whether the current field's selection asks for nothing but `id` (and `__typename`); fragments
/// are looked into.
pub(crate) fn selects_only_id(ctx: &Context<'_>) -> bool {
    ctx.field()
        .selection_set()
        .all(|field| matches!(field.name(), "id" | "__typename"))
}

fn view<V, T: From<V>>(result: app::Result<V>) -> Result<T> {
    result.map(Into::into).map_err(app_error)
}

fn schedule(result: app::Result<ScheduleSnapshot>) -> Result<Schedule> {
    result
        .map(|snapshot| Schedule::at(&snapshot, Utc::now()))
        .map_err(app_error)
}
