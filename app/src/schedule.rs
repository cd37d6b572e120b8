//! Schedule control: work hours, lunch, time zone, auto/manual mode, manual tracking, pause.

use chrono::{NaiveTime, Weekday};
use facewatch_domain::schedule::{
    Mode, Schedule, ScheduleCommand, ScheduleSnapshot, TimeRange, WeeklyHours,
};
use facewatch_domain::SCHEDULE_ID;
use facewatch_projections::queries;
use serde::Deserialize;

use crate::{App, AppError, CommandContext, Result};

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

fn parse_time(field: &str, value: &str) -> Result<NaiveTime> {
    NaiveTime::parse_from_str(value, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(value, "%H:%M"))
        .map_err(|_| AppError::invalid(format!("{field}: {value:?} is not a time of day (HH:MM)")))
}

impl App {
    pub async fn current_schedule(&self) -> Result<ScheduleSnapshot> {
        Ok(queries::current_schedule(self.pool()).await?)
    }

    /// Saves work hours, lunch break and time zone; takes effect now, never retroactively.
    #[tracing::instrument(skip_all, fields(actor = %ctx.actor()))]
    pub async fn save_schedule(
        &self,
        ctx: &CommandContext,
        input: ScheduleInput,
    ) -> Result<ScheduleSnapshot> {
        let mut work_hours = WeeklyHours { days: [None; 7] };
        for day in &input.work_hours {
            let slot = &mut work_hours.days[day.weekday.num_days_from_monday() as usize];
            if slot.is_some() {
                return Err(AppError::invalid(format!("{} is given twice", day.weekday)));
            }
            let start = parse_time("start", &day.start)?;
            let end = parse_time("end", &day.end)?;
            *slot = Some(TimeRange::new(start, end).map_err(|e| AppError::invalid(e.to_string()))?);
        }
        let lunch = match (&input.lunch_start, &input.lunch_end) {
            (Some(s), Some(e)) => Some(TimeRange {
                start: parse_time("lunchStart", s)?,
                end: parse_time("lunchEnd", e)?,
            }),
            (None, None) => None,
            _ => {
                return Err(AppError::invalid(
                    "give both lunchStart and lunchEnd, or neither",
                ))
            }
        };
        let save = ScheduleCommand::Save {
            work_hours,
            lunch,
            timezone: input.timezone,
            alert_min_interval_sec: input.alert_min_interval_sec,
            now: ctx.now(),
        };
        self.schedule_command(ctx, "save", save).await
    }

    #[tracing::instrument(skip_all, fields(actor = %ctx.actor(), ?mode))]
    pub async fn set_schedule_mode(
        &self,
        ctx: &CommandContext,
        mode: Mode,
    ) -> Result<ScheduleSnapshot> {
        let command = ScheduleCommand::SwitchMode {
            mode,
            now: ctx.now(),
        };
        self.schedule_command(ctx, "mode", command).await
    }

    /// In manual mode: switch tracking on or off.
    #[tracing::instrument(skip_all, fields(actor = %ctx.actor(), on))]
    pub async fn set_manual_tracking(
        &self,
        ctx: &CommandContext,
        on: bool,
    ) -> Result<ScheduleSnapshot> {
        let command = ScheduleCommand::SetManualTracking { on, now: ctx.now() };
        self.schedule_command(ctx, "tracking", command).await
    }

    #[tracing::instrument(skip_all, fields(actor = %ctx.actor(), minutes))]
    pub async fn pause_schedule(
        &self,
        ctx: &CommandContext,
        minutes: u32,
    ) -> Result<ScheduleSnapshot> {
        let command = ScheduleCommand::PauseFor {
            minutes,
            now: ctx.now(),
        };
        self.schedule_command(ctx, "pause", command).await
    }

    #[tracing::instrument(skip_all, fields(actor = %ctx.actor()))]
    pub async fn resume_schedule(&self, ctx: &CommandContext) -> Result<ScheduleSnapshot> {
        let command = ScheduleCommand::Resume { now: ctx.now() };
        self.schedule_command(ctx, "resume", command).await
    }

    async fn schedule_command(
        &self,
        ctx: &CommandContext,
        step: &str,
        command: ScheduleCommand,
    ) -> Result<ScheduleSnapshot> {
        let outcome = self
            .execute::<Schedule>(ctx, step, SCHEDULE_ID, command)
            .await?;
        self.settle(&[outcome]).await?;
        self.current_schedule().await
    }
}
