//! Replay audit: rebuild every read model from the log into another schema and compare it, table
//! by table (checksums computed in the database), with the live one at the same log position.
//!
//! [`audit`] keeps a matching replay as the schema [`SNAPSHOT_SCHEMA`], so that the next audit can
//! start from it and replay only what was appended since ([`AuditMode::FromSnapshot`]).

use std::time::Instant;

use serde::Serialize;
use sqlx::PgPool;

use crate::checksum::{checksums, TableChecksum};
use crate::projector::ProjectionError;
use crate::rebuild::{make_scratch, replay_into, Phase, Progress, DEFAULT_BATCH};
use crate::schema::{checked_schema, install, model_version};

/// Every read-model table, in the order reports list them.
pub const TABLES: [&str; 11] = [
    "employees",
    "face_templates",
    "cameras",
    "schedule_versions",
    "presence",
    "attendance",
    "alerts",
    "alert_state",
    "event_log",
    "users",
    "unknown_faces",
];

/// Where the last matching replay is kept.
pub const SNAPSHOT_SCHEMA: &str = "audit_snapshot";
/// Where a full audit replays before its result replaces the snapshot.
const FULL_AUDIT_SCHEMA: &str = "audit_replay";
/// Audits take turns (they share the snapshot schema).
const AUDIT_LOCK: i64 = 7415562215;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TableAudit {
    pub table: String,
    pub live_rows: i64,
    pub replayed_rows: i64,
    pub live_checksum: String,
    pub replayed_checksum: String,
    pub matches: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReplayReport {
    /// The log position both sides were compared at.
    pub position: i64,
    /// The position the replay started after (0 for a full replay).
    pub from_position: i64,
    /// Events replayed.
    pub events: i64,
    /// Replay and comparison together.
    pub seconds: f64,
    pub tables: Vec<TableAudit>,
}

impl ReplayReport {
    pub fn all_match(&self) -> bool {
        self.tables.iter().all(|t| t.matches)
    }

    pub fn events_per_sec(&self) -> f64 {
        self.events as f64 / self.seconds.max(1e-9)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditMode {
    /// Replay the whole log.
    Full,
    /// Start from the snapshot kept by the last audit.
    FromSnapshot,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Projection(#[from] ProjectionError),
    #[error("no audit snapshot of the current read model: run a full `facewatch replay` first")]
    NoSnapshot,
    #[error("another replay audit is running")]
    Busy,
}

impl From<sqlx::Error> for AuditError {
    fn from(e: sqlx::Error) -> Self {
        AuditError::Projection(e.into())
    }
}

/// Rebuilds `scratch` from the log and compares it with `live`, then drops it.
pub async fn verify(
    pool: &PgPool,
    live: &str,
    scratch: &str,
) -> Result<ReplayReport, ProjectionError> {
    let scratch = checked_schema(scratch)?;
    install(pool, scratch, true).await?;
    make_scratch(pool, scratch).await?;
    let report = compare(pool, live, scratch, DEFAULT_BATCH, &|_| {}).await;
    sqlx::query(&format!("DROP SCHEMA {scratch} CASCADE"))
        .execute(pool)
        .await?;
    report
}

/// A replay audit of `live` that is recorded (`replay_audits`) and, when it matches, kept as the
/// starting point of the next incremental one.
pub async fn audit(
    pool: &PgPool,
    live: &str,
    mode: AuditMode,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<ReplayReport, AuditError> {
    audit_in_batches(pool, live, mode, DEFAULT_BATCH, progress).await
}

/// [`audit`], applying `batch` events per transaction.
#[tracing::instrument(skip(pool, progress))]
pub async fn audit_in_batches(
    pool: &PgPool,
    live: &str,
    mode: AuditMode,
    batch: usize,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<ReplayReport, AuditError> {
    // A session lock on a connection held for the whole audit.
    let mut guard = pool.acquire().await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(AUDIT_LOCK)
        .fetch_one(&mut *guard)
        .await?;
    if !locked {
        return Err(AuditError::Busy);
    }
    let result = audit_locked(pool, live, mode, batch, progress).await;
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(AUDIT_LOCK)
        .execute(&mut *guard)
        .await?;
    result
}

async fn audit_locked(
    pool: &PgPool,
    live: &str,
    mode: AuditMode,
    batch: usize,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<ReplayReport, AuditError> {
    let report = match mode {
        AuditMode::Full => {
            install(pool, FULL_AUDIT_SCHEMA, true).await?;
            make_scratch(pool, FULL_AUDIT_SCHEMA).await?;
            let report = compare(pool, live, FULL_AUDIT_SCHEMA, batch, progress).await?;
            let mut tx = pool.begin().await?;
            if report.all_match() {
                sqlx::query(&format!("DROP SCHEMA IF EXISTS {SNAPSHOT_SCHEMA} CASCADE"))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(&format!(
                    "ALTER SCHEMA {FULL_AUDIT_SCHEMA} RENAME TO {SNAPSHOT_SCHEMA}"
                ))
                .execute(&mut *tx)
                .await?;
            } else {
                sqlx::query(&format!("DROP SCHEMA {FULL_AUDIT_SCHEMA} CASCADE"))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            report
        }
        AuditMode::FromSnapshot => {
            // The snapshot must be of the current read model and intact (an unlogged table is
            // emptied by a crash, checkpoint row included).
            let version: Option<String> = match sqlx::query_scalar(&format!(
                "SELECT model_version FROM {SNAPSHOT_SCHEMA}.checkpoint"
            ))
            .fetch_optional(pool)
            .await
            {
                Ok(version) => version,
                Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => None,
                Err(e) => return Err(e.into()),
            };
            if version.as_deref() != Some(model_version().as_str()) {
                return Err(AuditError::NoSnapshot);
            }
            // A mismatch leaves the snapshot as replayed: it is the log's truth either way.
            compare(pool, live, SNAPSHOT_SCHEMA, batch, progress).await?
        }
    };
    record(pool, mode, &report).await?;
    Ok(report)
}

/// Brings `replayed` up to `live`'s position and compares the two. The live projector is held at
/// one position (its checkpoint row is locked) while its tables are fingerprinted.
async fn compare(
    pool: &PgPool,
    live: &str,
    replayed: &str,
    batch: usize,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<ReplayReport, ProjectionError> {
    let started = Instant::now();
    let (live, replayed) = (checked_schema(live)?, checked_schema(replayed)?);
    let from_position: i64 =
        sqlx::query_scalar(&format!("SELECT last_seq FROM {replayed}.checkpoint"))
            .fetch_one(pool)
            .await?;
    let mut events = 0;
    loop {
        let target: i64 = sqlx::query_scalar(&format!("SELECT last_seq FROM {live}.checkpoint"))
            .fetch_one(pool)
            .await?;
        events += replay_into(pool, replayed, target, batch, progress).await?;
        progress(Progress {
            phase: Phase::Comparing,
            from: from_position,
            position: target,
            target,
            events,
            elapsed: started.elapsed(),
        });
        let mut live_tx = pool.begin().await?;
        let locked: i64 = sqlx::query_scalar(&format!(
            "SELECT last_seq FROM {live}.checkpoint FOR UPDATE"
        ))
        .fetch_one(&mut *live_tx)
        .await?;
        if locked != target {
            continue; // The live side moved on meanwhile; catch up again.
        }
        let mut replayed_tx = pool.begin().await?;
        // Both sides at once, on two connections.
        let (live_sums, replayed_sums) = tokio::try_join!(
            checksums(&mut live_tx, live),
            checksums(&mut replayed_tx, replayed)
        )?;
        live_tx.commit().await?;
        replayed_tx.commit().await?;
        return Ok(ReplayReport {
            position: target,
            from_position,
            events,
            seconds: started.elapsed().as_secs_f64(),
            tables: live_sums
                .into_iter()
                .zip(replayed_sums)
                .map(|(l, r)| table_audit(l, r))
                .collect(),
        });
    }
}

fn table_audit(live: TableChecksum, replayed: TableChecksum) -> TableAudit {
    TableAudit {
        matches: live.rows == replayed.rows && live.checksum == replayed.checksum,
        table: live.table,
        live_rows: live.rows,
        replayed_rows: replayed.rows,
        live_checksum: live.checksum,
        replayed_checksum: replayed.checksum,
    }
}

async fn record(pool: &PgPool, mode: AuditMode, report: &ReplayReport) -> Result<(), sqlx::Error> {
    let tables: Vec<TableChecksum> = report
        .tables
        .iter()
        .map(|t| TableChecksum {
            table: t.table.clone(),
            rows: t.replayed_rows,
            checksum: t.replayed_checksum.clone(),
        })
        .collect();
    sqlx::query(
        "INSERT INTO replay_audits \
             (incremental, from_position, position, events, matches, tables, events_per_sec) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(mode == AuditMode::FromSnapshot)
    .bind(report.from_position)
    .bind(report.position)
    .bind(report.events)
    .bind(report.all_match())
    .bind(sqlx::types::Json(tables))
    .bind(report.events_per_sec())
    .execute(pool)
    .await?;
    Ok(())
}

/// The newest recorded replay audit, for the Audit page.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditRecord {
    pub finished_at: chrono::DateTime<chrono::Utc>,
    pub incremental: bool,
    pub from_position: i64,
    pub position: i64,
    pub events: i64,
    pub matches: bool,
    pub events_per_sec: f64,
}

pub async fn last_audit(pool: &PgPool) -> Result<Option<AuditRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT finished_at, incremental, from_position, position, events, matches, events_per_sec \
         FROM replay_audits ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await
}
