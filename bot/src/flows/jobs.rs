//! The work a menu's final tap asks for: an export, an employee's First In / Last Out photos,
//! a camera's latest frame. Recorded with the tap (`BotStore::close_menu`), delivered here part
//! by part (part 0 turns the menu into its title, then one message per part), resumed after a
//! restart from the first part Telegram has not accepted.

use chrono::{Days, NaiveDate};
use facewatch_projections::queries;
use facewatch_reports::{
    alerts_xlsx, attendance_xlsx, AlertReportRow, AttendanceReportRow, ReportError, ReportFilter,
};
use serde::{Deserialize, Serialize};
use teloxide::prelude::*;
use teloxide::types::{InputFile, MessageId};
use teloxide::RequestError;

use super::buttons::Report;
use super::{camera_label, edit, local_midnight, send, tz};
use crate::menus::JobRow;
use crate::{local_time, Ctx};

/// Attempts Telegram may refuse a job before it is given up (and the user told so). While
/// Telegram or the database is unreachable a job waits, however long that takes.
const MAX_ATTEMPTS: i32 = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Job {
    /// The range is fixed when the user taps it: delivered tomorrow, it is still "today's".
    Export {
        report: Report,
        employee: Option<String>,
        from: NaiveDate,
        to: NaiveDate,
    },
    Attendance {
        day: NaiveDate,
        employee: String,
    },
    Capture {
        camera: String,
    },
}

impl Job {
    /// Messages after the menu's own edit.
    fn parts(&self) -> i32 {
        match self {
            Job::Export { .. } | Job::Capture { .. } => 1,
            Job::Attendance { .. } => 2,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum JobError {
    #[error("Telegram did not take the message")]
    Telegram(#[from] RequestError),
    #[error("reading the bot's state or the read models failed")]
    Database(#[from] sqlx::Error),
    #[error("building the spreadsheet failed")]
    Report(#[from] ReportError),
    #[error("employee {0} no longer exists")]
    NoEmployee(String),
}

/// Delivers every pending job (after a restart, or after Telegram failed earlier); stops at
/// the first failure, leaving the rest for the next round.
pub(crate) async fn resume(ctx: &Ctx) {
    let jobs = match ctx.store.pending_jobs::<Job>(None).await {
        Ok(jobs) => jobs,
        Err(e) => {
            tracing::error!("bot cannot read its pending jobs: {e}");
            return;
        }
    };
    for job in jobs {
        tracing::info!(
            job = job.id,
            chat = job.chat_id,
            "resuming a recorded request"
        );
        if !deliver(ctx, job).await {
            return;
        }
    }
}

/// Delivers the job `id` just recorded; false if it stays pending.
pub(crate) async fn run(ctx: &Ctx, id: i64) -> bool {
    match ctx.store.pending_jobs::<Job>(Some(id)).await {
        Ok(jobs) => match jobs.into_iter().next() {
            Some(job) => deliver(ctx, job).await,
            None => true,
        },
        Err(e) => {
            tracing::error!(job = id, "bot cannot read a job it recorded: {e}");
            false
        }
    }
}

/// One delivery attempt; true when the job is finished (delivered or given up).
async fn deliver(ctx: &Ctx, row: JobRow<Job>) -> bool {
    match try_deliver(ctx, &row).await {
        Ok(()) => true,
        Err(e) if no_answer(&e) || (refused(&e) && row.attempts + 1 < MAX_ATTEMPTS) => {
            tracing::warn!(
                job = row.id,
                "request not delivered yet, will retry: {}",
                ctx.redact(&e)
            );
            false
        }
        Err(e) => {
            tracing::error!(
                job = row.id,
                "giving up a request: {}",
                ctx.redact(&error_chain(&e))
            );
            if let Err(e) = ctx.store.end_job(row.id, false).await {
                tracing::error!(job = row.id, "bot cannot record a failed request: {e}");
                return false;
            }
            let text = format!(
                "⚠️ Sorry, \"{}\" could not be delivered. Please try again.",
                row.title
            );
            if let Err(e) = send(ctx, row.chat_id, &text, None).await {
                tracing::warn!("bot cannot apologise: {}", ctx.redact(&e));
            }
            true
        }
    }
}

/// Nobody answered: try again later, without limit (as pushes do).
fn no_answer(error: &JobError) -> bool {
    matches!(
        error,
        JobError::Database(_)
            | JobError::Telegram(
                RequestError::Network(_) | RequestError::RetryAfter(_) | RequestError::Io(_)
            )
    )
}

/// Telegram answered with an error: maybe passing (a 5xx), maybe not; a few more tries.
fn refused(error: &JobError) -> bool {
    matches!(error, JobError::Telegram(_))
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text += &format!(": {e}");
        source = e.source();
    }
    text
}

async fn try_deliver(ctx: &Ctx, row: &JobRow<Job>) -> Result<(), JobError> {
    ctx.store.job_attempt(row.id).await?;
    let job = &row.job.0;
    for part in row.parts_done..=job.parts() {
        if part == 0 {
            // The menu becomes its title; its keyboard goes.
            edit(
                ctx,
                row.chat_id,
                MessageId(row.menu_message),
                &row.title,
                None,
            )
            .await?;
        } else {
            send_part(ctx, row.chat_id, job, part).await?;
        }
        ctx.store.job_progress(row.id, part + 1).await?;
    }
    ctx.store.end_job(row.id, true).await?;
    tracing::debug!(job = row.id, "request delivered");
    Ok(())
}

async fn send_part(ctx: &Ctx, chat: i64, job: &Job, part: i32) -> Result<(), JobError> {
    match job {
        Job::Export {
            report,
            employee,
            from,
            to,
        } => export(ctx, chat, *report, employee.as_deref(), *from, *to).await,
        Job::Attendance { day, employee } => attendance(ctx, chat, *day, employee, part).await,
        Job::Capture { camera } => capture(ctx, chat, camera).await,
    }
}

/// Part 1 is First In, part 2 Last Out: each a photo with time, zone and camera.
async fn attendance(
    ctx: &Ctx,
    chat: i64,
    day: NaiveDate,
    employee: &str,
    part: i32,
) -> Result<(), JobError> {
    let tz = tz(ctx).await?;
    let row = queries::attendance(&ctx.pool, day, day, Some(employee))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| JobError::NoEmployee(employee.into()))?;
    let (label, at, camera, photo) = if part == 1 {
        (
            "🟢 First In",
            row.first_in,
            row.first_in_camera_id,
            row.first_in_photo,
        )
    } else {
        (
            "🔴 Last Out",
            row.last_out,
            row.last_out_camera_id,
            row.last_out_photo,
        )
    };
    let Some(at) = at else {
        return Ok(send(ctx, chat, &format!("{label}: not recorded."), None).await?);
    };
    let mut caption = format!("{label}: {}", local_time(at, tz));
    if let Some(camera) = camera {
        caption += &format!(" · {}", camera_label(ctx, &camera).await?);
    }
    let file = photo
        .as_deref()
        .and_then(|r| ctx.snapshots.resolve(r).ok())
        .filter(|p| p.is_file());
    match file {
        Some(path) => {
            ctx.bot
                .send_photo(ChatId(chat), InputFile::file(path))
                .caption(caption)
                .await?;
            Ok(())
        }
        None => Ok(send(ctx, chat, &format!("{caption}\n(no photo)"), None).await?),
    }
}

async fn capture(ctx: &Ctx, chat: i64, camera: &str) -> Result<(), JobError> {
    let label = camera_label(ctx, camera).await?;
    match ctx.snapshots.latest(camera) {
        Some((path, at)) => {
            let caption = format!("📷 {label} — {}", local_time(at, tz(ctx).await?));
            ctx.bot
                .send_photo(ChatId(chat), InputFile::file(path))
                .caption(caption)
                .await?;
            Ok(())
        }
        None => Ok(send(ctx, chat, &format!("📷 {label}: no snapshot yet."), None).await?),
    }
}

async fn export(
    ctx: &Ctx,
    chat: i64,
    report: Report,
    employee_id: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(), JobError> {
    let tz = tz(ctx).await?;
    let employee = match employee_id {
        Some(id) => Some(
            queries::employee(&ctx.pool, id)
                .await?
                .ok_or_else(|| JobError::NoEmployee(id.into()))?,
        ),
        None => None,
    };
    let filter = ReportFilter {
        from,
        to,
        employee: employee.map(|e| format!("{} ({})", e.name, e.code)),
    };
    filter.validate()?;
    let (bytes, rows) = match report {
        Report::Attendance => {
            let rows: Vec<AttendanceReportRow> =
                queries::attendance(&ctx.pool, from, to, employee_id)
                    .await?
                    .iter()
                    .map(AttendanceReportRow::from)
                    .collect();
            (attendance_xlsx(&rows, &filter, tz)?, rows.len())
        }
        Report::Alerts => {
            let start = local_midnight(from, tz);
            let end = local_midnight(to + Days::new(1), tz);
            let rows: Vec<AlertReportRow> =
                queries::alerts(&ctx.pool, start, end, employee_id, false)
                    .await?
                    .iter()
                    .map(AlertReportRow::from)
                    .collect();
            (alerts_xlsx(&rows, &filter, tz)?, rows.len())
        }
    };
    let name = format!("{}_{from}_{to}.xlsx", report.file_stem());
    ctx.bot
        .send_document(ChatId(chat), InputFile::memory(bytes).file_name(name))
        .caption(filter.describe(&format!("{} report", report.title()), rows))
        .await?;
    Ok(())
}
