//! Where the audits stand, for the Audit page: the event log's chain head, the last `verify` and
//! the last replay audit (both run from the command line; see README "Audits at scale"), and the
//! progress of the ones running now (rows the running processes keep fresh).

use async_graphql::{Context, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use facewatch_projections::replay;
use facewatch_store::audit_runs::{self, AuditRun};
use facewatch_store::chain;

use super::errors::internal;
use crate::AppState;

#[derive(SimpleObject)]
pub struct ChainVerification {
    pub finished_at: DateTime<Utc>,
    pub events: i64,
    pub intact: bool,
    /// `POSITION:HASH` of the last event that chained correctly.
    pub head: Option<String>,
    /// ALTERED, REMOVED, INSERTED or REWRITTEN.
    pub problem: Option<String>,
    pub problem_position: Option<i64>,
    pub events_per_sec: f64,
}

#[derive(SimpleObject)]
pub struct ReplayAuditRun {
    pub finished_at: DateTime<Utc>,
    pub incremental: bool,
    pub from_position: i64,
    pub position: i64,
    pub events: i64,
    pub matches: bool,
    pub events_per_sec: f64,
}

/// A replay audit (`facewatch replay` or the Audit page's button) or a `facewatch verify` running
/// now, as it last reported (about once a second).
#[derive(SimpleObject)]
pub struct AuditRunProgress {
    pub id: i64,
    /// REPLAY, REPLAY_INCREMENTAL (`--from-snapshot`) or VERIFY.
    pub kind: String,
    /// REPLAYING or VERIFYING (reading events), COMPARING (fingerprinting the read models) or
    /// RECORDING (storing the result).
    pub phase: String,
    /// Where the process runs (host name and process id).
    pub host: String,
    pub pid: i32,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The log position the run started after, the one reached, and the one it runs to.
    pub from_position: i64,
    pub position: i64,
    pub target_position: i64,
    pub events: i64,
    /// Events read per second (while reading events; kept once it compares).
    pub events_per_sec: f64,
    /// Seconds left at that rate, while reading events.
    pub eta_seconds: Option<f64>,
    /// The process died (its database session ended) or has not reported for 10 s.
    pub stale: bool,
}

impl From<AuditRun> for AuditRunProgress {
    fn from(r: AuditRun) -> Self {
        Self {
            eta_seconds: r.eta_seconds(),
            id: r.id,
            kind: r.kind,
            phase: r.phase,
            host: r.host,
            pid: r.pid,
            started_at: r.started_at,
            updated_at: r.updated_at,
            from_position: r.from_position,
            position: r.position,
            target_position: r.target_position,
            events: r.events,
            events_per_sec: r.events_per_sec,
            stale: r.stale,
        }
    }
}

#[derive(SimpleObject)]
pub struct AuditStatus {
    /// `POSITION:HASH` of the newest event (what an outside party may hold).
    pub chain_head: Option<String>,
    pub last_verification: Option<ChainVerification>,
    pub last_replay: Option<ReplayAuditRun>,
    /// Replays and verifications running now (and runs whose process died, until the next run
    /// starts), oldest first.
    pub running: Vec<AuditRunProgress>,
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    async fn audit_status(&self, ctx: &Context<'_>) -> Result<AuditStatus> {
        let pool = ctx.data::<AppState>()?.pool();
        let head = chain::chain_head(pool).await.map_err(internal)?;
        let verification = chain::last_verification(pool).await.map_err(internal)?;
        let replayed = replay::last_audit(pool).await.map_err(internal)?;
        let running = audit_runs::runs_in_progress(pool).await.map_err(internal)?;
        Ok(AuditStatus {
            running: running.into_iter().map(Into::into).collect(),
            chain_head: head.map(|h| h.to_string()),
            last_verification: verification.map(|v| ChainVerification {
                finished_at: v.finished_at,
                events: v.events,
                intact: v.intact,
                head: v.head,
                problem: v.problem,
                problem_position: v.problem_position,
                events_per_sec: v.events_per_sec,
            }),
            last_replay: replayed.map(|r| ReplayAuditRun {
                finished_at: r.finished_at,
                incremental: r.incremental,
                from_position: r.from_position,
                position: r.position,
                events: r.events,
                matches: r.matches,
                events_per_sec: r.events_per_sec,
            }),
        })
    }
}
