//! Maintenance: hiding old log rows (an event itself) and the replay audit.

use chrono::NaiveDate;
use facewatch_domain::maintenance::{LogScope, Maintenance, MaintenanceCommand};
use facewatch_domain::MAINTENANCE_ID;
use facewatch_projections::queries;
use facewatch_projections::rebuild::DEFAULT_BATCH;
use facewatch_projections::replay::{AuditError, AuditMode, ReplayReport};

use crate::audits::ReplayAuditError;
use crate::reports::day_window;
use crate::{App, AppError, CommandContext, Result};

impl App {
    /// Hides event-log and/or alert rows of local days `[from, to]` (all when omitted) from the read
    /// models and returns how many (event, alert) rows that hid. The event store keeps every event:
    /// this is itself an event.
    #[tracing::instrument(skip_all, fields(actor = %ctx.actor(), ?scope))]
    pub async fn reset_logs(
        &self,
        ctx: &CommandContext,
        scope: LogScope,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<(i64, i64)> {
        for day in [from, to].into_iter().flatten() {
            crate::input::check_day("day", day)?;
        }
        let window = day_window(self.current_schedule().await?.timezone, from, to)?;
        let (event_rows, alert_rows) =
            queries::count_logs(self.pool(), window.from, window.to).await?;
        let reset = MaintenanceCommand::ResetLogs {
            scope,
            window,
            now: ctx.now(),
        };
        let outcome = self
            .execute::<Maintenance>(ctx, "reset-logs", MAINTENANCE_ID, reset)
            .await?;
        self.settle(&[outcome]).await?;
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

    /// A full replay audit (the Audit page's button): rebuilds every read model from the log into
    /// a scratch schema and compares it with the live one, shown on the Audit page while it runs and
    /// recorded (and, when it matches, kept for the next incremental audit) like `facewatch replay`.
    pub async fn run_replay_audit(&self) -> Result<ReplayReport> {
        crate::audits::replay_audit(self.pool(), AuditMode::Full, DEFAULT_BATCH, &|_| {})
            .await
            .map_err(|e| match e {
                ReplayAuditError::Audit(AuditError::Busy) => AppError::Conflict(
                    "another replay audit is running; try again when it ends".into(),
                ),
                e => AppError::internal(e),
            })
    }
}
