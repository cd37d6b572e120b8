//! Replay audit: rebuild every read model from event zero into a scratch schema and compare it,
//! table by table, with the live one at the same log position.

use serde::Serialize;
use sqlx::{PgPool, Row};

use crate::projector::{ProjectionError, Projector};
use crate::schema::{checked_schema, install};

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
    pub tables: Vec<TableAudit>,
}

impl ReplayReport {
    pub fn all_match(&self) -> bool {
        self.tables.iter().all(|t| t.matches)
    }
}

/// Rebuilds `scratch` from the log and compares it with `live`. The live projector is held at one
/// position (its checkpoint row is locked) while the tables are compared.
pub async fn verify(
    pool: &PgPool,
    live: &str,
    scratch: &str,
) -> Result<ReplayReport, ProjectionError> {
    let (live, scratch) = (checked_schema(live)?, checked_schema(scratch)?);
    install(pool, scratch, true).await?;
    let replayer = Projector::new(pool.clone(), scratch);
    loop {
        let target: i64 = sqlx::query_scalar(&format!("SELECT last_seq FROM {live}.checkpoint"))
            .fetch_one(pool)
            .await?;
        replayer.catch_up(Some(target)).await?;
        let mut tx = pool.begin().await?;
        let locked: i64 = sqlx::query_scalar(&format!(
            "SELECT last_seq FROM {live}.checkpoint FOR UPDATE"
        ))
        .fetch_one(&mut *tx)
        .await?;
        if locked != target {
            continue; // The live side moved on meanwhile; catch up again.
        }
        let mut tables = Vec::new();
        for table in TABLES {
            let (live_rows, live_checksum) = fingerprint(&mut tx, live, table).await?;
            let (replayed_rows, replayed_checksum) = fingerprint(&mut tx, scratch, table).await?;
            tables.push(TableAudit {
                table: table.to_string(),
                matches: live_rows == replayed_rows && live_checksum == replayed_checksum,
                live_rows,
                replayed_rows,
                live_checksum,
                replayed_checksum,
            });
        }
        tx.commit().await?;
        sqlx::query(&format!("DROP SCHEMA {scratch} CASCADE"))
            .execute(pool)
            .await?;
        return Ok(ReplayReport {
            position: target,
            tables,
        });
    }
}

/// Row count and an order-independent checksum of a table's full contents.
async fn fingerprint(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    schema: &str,
    table: &str,
) -> Result<(i64, String), sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT count(*) AS n, coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') AS sum
         FROM {schema}.{table} t"
    ))
    .fetch_one(&mut **tx)
    .await?;
    Ok((row.get("n"), row.get("sum")))
}
