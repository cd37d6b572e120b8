//! Replay audits as users start them — `facewatch replay` and the Audit page's button — recorded
//! (`replay_audits`) and shown while they run (a row of `audit_runs_in_progress`, which the Audit
//! page draws as a progress bar), whichever process runs them.

use facewatch_projections::rebuild::{Phase, Progress};
use facewatch_projections::replay::{self, AuditError, AuditMode, ReplayReport};
use facewatch_store::audit_runs::{AuditKind, AuditPhase, AuditRunError, RunProgress, RunTracker};
use facewatch_store::READ_SCHEMA;
use sqlx::PgPool;

#[derive(Debug, thiserror::Error)]
pub enum ReplayAuditError {
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("showing the audit's progress failed: {0}")]
    Progress(#[source] AuditRunError),
}

/// Replays the log (all of it, or what came after the last audit) `batch` events per transaction
/// into a scratch copy of the read models and compares it with the live ones. `on_progress` also
/// sees every step (the CLI draws its bar from it).
#[tracing::instrument(skip(pool, on_progress))]
pub async fn replay_audit(
    pool: &PgPool,
    mode: AuditMode,
    batch: usize,
    on_progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<ReplayReport, ReplayAuditError> {
    let kind = match mode {
        AuditMode::Full => AuditKind::Replay,
        AuditMode::FromSnapshot => AuditKind::ReplayIncremental,
    };
    let tracker = RunTracker::start(pool, kind, RunProgress::starting(AuditPhase::Replaying))
        .await
        .map_err(ReplayAuditError::Progress)?;
    let progress = |step: Progress| {
        tracker.update(run_progress(&step));
        on_progress(step);
    };
    let report = replay::audit_in_batches(pool, READ_SCHEMA, mode, batch, &progress).await;
    tracker.finish().await.map_err(ReplayAuditError::Progress)?;
    Ok(report?)
}

fn run_progress(step: &Progress) -> RunProgress {
    RunProgress {
        phase: match step.phase {
            Phase::Replaying => AuditPhase::Replaying,
            Phase::Comparing => AuditPhase::Comparing,
        },
        from_position: step.from,
        position: step.position,
        target_position: step.target,
        events: step.events,
    }
}
