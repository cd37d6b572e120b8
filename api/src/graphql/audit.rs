//! Where the audits stand, for the Audit page: the event log's chain head, the last `verify` and
//! the last replay audit (both run from the command line; see README "Audits at scale").

use async_graphql::{Context, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use facewatch_projections::replay;
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

#[derive(SimpleObject)]
pub struct AuditStatus {
    /// `POSITION:HASH` of the newest event (what an outside party may hold).
    pub chain_head: Option<String>,
    pub last_verification: Option<ChainVerification>,
    pub last_replay: Option<ReplayAuditRun>,
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
        Ok(AuditStatus {
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
