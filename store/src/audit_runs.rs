//! Audits in progress (migrations/0008_audit_progress.sql): a `facewatch replay` or `verify`
//! process keeps one row of `audit_runs_in_progress` up to date, about once a second, so that the
//! Audit page (another process) can show how far it got, its events/s and its ETA.
//!
//! The row is written by a heartbeat task on a connection of its own, so it stays fresh while the
//! run is busy in a long statement (the comparison of the read models). It records that
//! connection's backend: a process that dies takes its session with it, and its row is then
//! reported [stale](AuditRun::stale) at once; one that hangs stops refreshing `updated_at` and is
//! reported stale after [`STALE_AFTER_SECS`]. A finished run deletes its row.

use std::time::{Duration, Instant};

use serde::Serialize;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

/// How often a running audit refreshes its row.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// A row not refreshed for this long belongs to a run that no longer makes progress.
pub const STALE_AFTER_SECS: i64 = 10;

/// SQL that is true for a row `r` whose process is gone (its session ended) or silent.
fn stale() -> String {
    format!(
        "(NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = r.backend_pid) \
          OR r.updated_at < now() - make_interval(secs => {STALE_AFTER_SECS}))"
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuditKind {
    /// A full `facewatch replay`.
    Replay,
    /// `facewatch replay --from-snapshot`.
    ReplayIncremental,
    /// `facewatch verify`.
    Verify,
}

impl AuditKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::Replay => "REPLAY",
            AuditKind::ReplayIncremental => "REPLAY_INCREMENTAL",
            AuditKind::Verify => "VERIFY",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuditPhase {
    /// Events are being replayed into the scratch read models.
    Replaying,
    /// The hash chain is being walked.
    Verifying,
    /// The read models are being fingerprinted and compared.
    Comparing,
    /// The result is being stored.
    Recording,
}

impl AuditPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditPhase::Replaying => "REPLAYING",
            AuditPhase::Verifying => "VERIFYING",
            AuditPhase::Comparing => "COMPARING",
            AuditPhase::Recording => "RECORDING",
        }
    }

    /// Phases that read events (the ones events/s and the ETA are about).
    fn reads_events(self) -> bool {
        matches!(self, AuditPhase::Replaying | AuditPhase::Verifying)
    }
}

/// Where a run is, as its process reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunProgress {
    pub phase: AuditPhase,
    /// The position the run started after.
    pub from_position: i64,
    /// The position reached.
    pub position: i64,
    /// The position it runs to.
    pub target_position: i64,
    /// Events read so far.
    pub events: i64,
}

impl RunProgress {
    /// A run in `phase` that has not read anything yet (positions are filled in as it goes).
    pub fn starting(phase: AuditPhase) -> Self {
        Self {
            phase,
            from_position: 0,
            position: 0,
            target_position: 0,
            events: 0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuditRunError {
    #[error("cannot record the audit's progress: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the audit's progress heartbeat stopped: {0}")]
    Heartbeat(#[from] tokio::task::JoinError),
}

/// The row of one running audit, kept fresh until [`RunTracker::finish`]. Dropping the tracker
/// instead (an error, a panic) closes its session, which marks the row stale.
pub struct RunTracker {
    id: i64,
    latest: watch::Sender<RunProgress>,
    stop: Option<oneshot::Sender<()>>,
    heartbeat: Option<JoinHandle<Result<(), sqlx::Error>>>,
}

impl RunTracker {
    /// Inserts the run's row (removing the rows of runs found dead) and starts its heartbeat.
    #[tracing::instrument(skip(pool, first))]
    pub async fn start(
        pool: &PgPool,
        kind: AuditKind,
        first: RunProgress,
    ) -> Result<Self, AuditRunError> {
        // Its own session, outside the pool: its end is the run's end.
        let mut conn = pool.acquire().await?.detach();
        sqlx::query(&format!(
            "DELETE FROM audit_runs_in_progress r WHERE {}",
            stale()
        ))
        .execute(&mut conn)
        .await?;
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_default();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO audit_runs_in_progress \
                 (kind, phase, host, pid, backend_pid, from_position, position, target_position, events) \
             VALUES ($1, $2, $3, $4, pg_backend_pid(), $5, $6, $7, $8) RETURNING id",
        )
        .bind(kind.as_str())
        .bind(first.phase.as_str())
        .bind(host)
        .bind(std::process::id() as i32)
        .bind(first.from_position)
        .bind(first.position)
        .bind(first.target_position)
        .bind(first.events)
        .fetch_one(&mut conn)
        .await?;
        let (latest, updates) = watch::channel(first);
        let (stop, stopped) = oneshot::channel();
        let heartbeat = tokio::spawn(beat(conn, id, updates, stopped));
        Ok(Self {
            id,
            latest,
            stop: Some(stop),
            heartbeat: Some(heartbeat),
        })
    }

    /// The row's id.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// Reports where the run is (cheap: the heartbeat writes it at its next beat).
    pub fn update(&self, progress: RunProgress) {
        self.latest.send_replace(progress);
    }

    /// Moves the run to another phase, keeping its positions.
    pub fn phase(&self, phase: AuditPhase) {
        self.latest.send_modify(|p| p.phase = phase);
    }

    /// Stops the heartbeat and deletes the run's row.
    pub async fn finish(mut self) -> Result<(), AuditRunError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.heartbeat.take() {
            Some(heartbeat) => Ok(heartbeat.await??),
            None => Ok(()),
        }
    }
}

impl Drop for RunTracker {
    fn drop(&mut self) {
        // Not finished: end the session without deleting the row, so that it reads as stale.
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.abort();
        }
    }
}

/// Writes the latest progress once per [`HEARTBEAT`] until told to stop, then deletes the row.
async fn beat(
    mut conn: PgConnection,
    id: i64,
    updates: watch::Receiver<RunProgress>,
    mut stopped: oneshot::Receiver<()>,
) -> Result<(), sqlx::Error> {
    let started = Instant::now();
    let mut rate = Rate::default();
    let mut tick = tokio::time::interval(HEARTBEAT);
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            _ = tick.tick() => {
                let p = *updates.borrow();
                let per_sec = rate.observe(p, started.elapsed());
                sqlx::query(
                    "UPDATE audit_runs_in_progress SET phase = $2, from_position = $3, position = $4, \
                         target_position = $5, events = $6, events_per_sec = $7, updated_at = now() \
                     WHERE id = $1",
                )
                .bind(id)
                .bind(p.phase.as_str())
                .bind(p.from_position)
                .bind(p.position)
                .bind(p.target_position)
                .bind(p.events)
                .bind(per_sec)
                .execute(&mut conn)
                .await?;
            }
        }
    }
    sqlx::query("DELETE FROM audit_runs_in_progress WHERE id = $1")
        .bind(id)
        .execute(&mut conn)
        .await?;
    conn.close().await
}

/// Events/s over the phases that read events: frozen when the run moves on to comparing.
#[derive(Default)]
struct Rate {
    /// Time spent in event-reading phases, and its start when in one now.
    reading: Duration,
    since: Option<Duration>,
    per_sec: f64,
}

impl Rate {
    fn observe(&mut self, p: RunProgress, now: Duration) -> f64 {
        match (p.phase.reads_events(), self.since) {
            (true, None) => self.since = Some(now),
            (false, Some(since)) => {
                self.reading += now - since;
                self.since = None;
            }
            _ => {}
        }
        let reading = self.reading + self.since.map_or(Duration::ZERO, |s| now - s);
        if p.phase.reads_events() && reading > Duration::ZERO {
            self.per_sec = p.events as f64 / reading.as_secs_f64();
        }
        self.per_sec
    }
}

/// A run as the Audit page shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditRun {
    pub id: i64,
    pub kind: String,
    pub phase: String,
    pub host: String,
    pub pid: i32,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub from_position: i64,
    pub position: i64,
    pub target_position: i64,
    pub events: i64,
    pub events_per_sec: f64,
    /// The process died (its database session ended) or stopped reporting.
    pub stale: bool,
}

impl AuditRun {
    /// Seconds left at the current rate, while events are being read.
    pub fn eta_seconds(&self) -> Option<f64> {
        let reading = matches!(self.phase.as_str(), "REPLAYING" | "VERIFYING");
        (reading && !self.stale && self.events_per_sec > 0.0)
            .then(|| (self.target_position - self.position).max(0) as f64 / self.events_per_sec)
    }
}

/// The audits running (or found dead and not yet cleared), oldest first.
pub async fn runs_in_progress(pool: &PgPool) -> Result<Vec<AuditRun>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT id, kind, phase, host, pid, started_at, updated_at, from_position, position, \
                target_position, events, events_per_sec, {} AS stale \
         FROM audit_runs_in_progress r ORDER BY id",
        stale()
    ))
    .fetch_all(pool)
    .await
}
