//! Presence: sightings (from cameras or clients), attendance corrections, absence checks.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use facewatch_domain::camera::Camera;
use facewatch_domain::employee::Employee;
use facewatch_domain::presence::{EntryType, Presence, PresenceCommand};
use facewatch_projections::queries::{self, AttendanceView};
use facewatch_store::Outcome;

use crate::{App, AppError, CommandContext, Result};

/// Sightings may come from cameras whose clocks run a little ahead; more than this is an error.
const MAX_CLOCK_SKEW_SEC: i64 = 300;

#[derive(Debug, Clone)]
pub struct SightingInput {
    pub employee_id: String,
    pub camera_id: String,
    /// Defaults to the command's `now`.
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

impl App {
    /// Records that a camera recognised an employee. The same rules hold for every source (a
    /// camera pipeline or an API client): the employee is active, the camera exists and is enabled,
    /// the time is not in the future. Does not wait for the read models; see [`App::settle`].
    ///
    /// Its span is at `debug`: this is the use case every camera sighting runs, and an `info` span
    /// (created, its fields formatted, dropped) cost ~4 % of the server's CPU under write load.
    /// A refused sighting still comes back as an error naming the employee or camera.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %ctx.actor(), employee = input.employee_id, camera = input.camera_id))]
    pub async fn record_sighting(
        &self,
        ctx: &CommandContext,
        input: SightingInput,
    ) -> Result<Outcome> {
        let at = self
            .check_camera_report(ctx, &input.camera_id, input.at, "sighting")
            .await?;
        self.require_active_employee(&input.employee_id).await?;
        let sighting = PresenceCommand::RecordSighting {
            camera_id: input.camera_id,
            at,
            similarity: input.similarity as f32,
            track_id: input.track_id,
            snapshot_ref: input.snapshot_ref,
        };
        self.execute::<Presence>(ctx, "sighting", &input.employee_id, sighting)
            .await
    }

    /// Sets First In and/or Last Out by hand; automatic data never overwrites it.
    #[tracing::instrument(skip_all, fields(actor = %ctx.actor(), employee = input.employee_id, day = %input.day))]
    pub async fn correct_attendance(
        &self,
        ctx: &CommandContext,
        input: AttendanceCorrection,
    ) -> Result<AttendanceView> {
        crate::input::check_day("day", input.day)?;
        for at in [input.first_in, input.last_out].into_iter().flatten() {
            crate::input::check_instant("time", at)?;
        }
        // The times must fall on the corrected day, counted in the schedule's time zone (the one
        // attendance days are counted in), and be in order.
        let tz = self.current_schedule().await?.timezone;
        for (what, at) in [("first in", input.first_in), ("last out", input.last_out)] {
            if let Some(at) = at {
                let local = at.with_timezone(&tz).date_naive();
                if local != input.day {
                    return Err(AppError::invalid(format!(
                        "{what} {} is on {local}, not on {} (times are in {tz})",
                        at.with_timezone(&tz).format("%H:%M"),
                        input.day
                    )));
                }
            }
        }
        if let (Some(first_in), Some(last_out)) = (input.first_in, input.last_out) {
            if last_out < first_in {
                return Err(AppError::invalid("last out is before first in"));
            }
        }
        self.require_active_employee(&input.employee_id).await?;
        let correct = PresenceCommand::CorrectAttendance {
            day: input.day,
            first_in: input.first_in,
            last_out: input.last_out,
            entry_type: input.entry_type,
            note: input.note,
            now: ctx.now(),
        };
        let outcome = self
            .execute::<Presence>(ctx, "correct", &input.employee_id, correct)
            .await?;
        self.settle(&[outcome]).await?;
        self.attendance_row(&input.employee_id, input.day)
            .await?
            .ok_or_else(|| AppError::internal("corrected attendance row missing"))
    }

    pub async fn attendance_row(
        &self,
        employee_id: &str,
        day: NaiveDate,
    ) -> Result<Option<AttendanceView>> {
        Ok(
            queries::attendance(self.pool(), day, day, Some(employee_id))
                .await?
                .into_iter()
                .next(),
        )
    }

    /// One absence pass: records an exit for every present employee unseen for `timeout_sec`
    /// (dated when last seen). The aggregate re-checks, so a sighting that raced in wins. Returns
    /// how many employees were checked.
    #[tracing::instrument(skip_all, fields(actor = %ctx.actor()))]
    pub async fn check_absences(&self, ctx: &CommandContext, timeout_sec: u32) -> Result<usize> {
        let now = ctx.now();
        let timeout = Duration::seconds(timeout_sec.into());
        let due: Vec<String> = queries::present_employees(self.pool())
            .await?
            .into_iter()
            .filter(|(_, last_seen)| now - *last_seen >= timeout)
            .map(|(id, _)| id)
            .collect();
        let mut outcomes = Vec::with_capacity(due.len());
        for id in &due {
            let check = PresenceCommand::CheckAbsence { now, timeout_sec };
            outcomes.push(self.execute::<Presence>(ctx, "absence", id, check).await?);
        }
        self.settle(&outcomes).await?;
        Ok(due.len())
    }

    /// The rules for anything a camera reports: the camera exists and is enabled, the time (the
    /// command's `now` when absent) is not in the future. Returns the time.
    pub(crate) async fn check_camera_report(
        &self,
        ctx: &CommandContext,
        camera_id: &str,
        at: Option<DateTime<Utc>>,
        what: &str,
    ) -> Result<DateTime<Utc>> {
        let now = ctx.now();
        let at = at.unwrap_or(now);
        crate::input::check_instant(&format!("{what} time"), at)?;
        if at > now + Duration::seconds(MAX_CLOCK_SKEW_SEC) {
            return Err(AppError::invalid(format!(
                "{what} time {at} is in the future"
            )));
        }
        let camera = self.load_for_check::<Camera>(camera_id).await?;
        if !camera.exists {
            return Err(AppError::not_found("camera", camera_id));
        }
        if !camera.enabled {
            return Err(AppError::invalid(format!(
                "camera {camera_id:?} is disabled"
            )));
        }
        Ok(at)
    }

    pub(crate) async fn require_active_employee(&self, id: &str) -> Result<()> {
        if self.load_for_check::<Employee>(id).await?.is_active() {
            Ok(())
        } else {
            Err(AppError::not_found("active employee", id))
        }
    }
}
