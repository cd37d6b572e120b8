//! Creating (and, when the model changed, rebuilding) a read-model schema.

use sqlx::{PgPool, Postgres, Transaction};

const READ_MODEL_SQL: &str = include_str!("../../migrations/read_model/schema.sql");

/// Fingerprint of the read-model DDL (FNV-1a), stored in the checkpoint row.
pub fn model_version() -> String {
    let hash = READ_MODEL_SQL.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    });
    format!("{hash:016x}")
}

/// Schema names are interpolated into SQL, so only plain identifiers are accepted.
pub fn checked_schema(schema: &str) -> Result<&str, sqlx::Error> {
    let valid = !schema.is_empty()
        && schema.len() < 64
        && schema.starts_with(|c: char| c.is_ascii_lowercase())
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(schema)
    } else {
        Err(sqlx::Error::Protocol(format!(
            "invalid schema name {schema:?}"
        )))
    }
}

/// Points the transaction's unqualified table names at `schema` (then `public` for the events).
pub async fn use_schema(
    tx: &mut Transaction<'_, Postgres>,
    schema: &str,
) -> Result<(), sqlx::Error> {
    let schema = checked_schema(schema)?;
    sqlx::query(&format!("SET LOCAL search_path TO {schema}, public"))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A transaction whose unqualified table names point at `schema` (then `public`), begun in one
/// round trip: the projector begins one per batch, so every round trip counts.
pub async fn begin_in_schema(
    pool: &PgPool,
    schema: &str,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let schema = checked_schema(schema)?;
    pool.begin_with(format!("BEGIN; SET LOCAL search_path TO {schema}, public"))
        .await
}

/// [`begin_in_schema`] for a projector's batch, whose commit does not wait for the WAL to reach
/// the disk (`synchronous_commit = off`; the flush follows within a fraction of a second). A read
/// model is derived from the log, which the appender commits durably: a crash of PostgreSQL can
/// only lose the newest batches' rows together with the checkpoint that covers them, and the
/// projector then applies those events again. Every write waits for the projector, so the flush
/// it no longer waits for was a second disk wait in every write's answer.
pub async fn begin_batch_in_schema(
    pool: &PgPool,
    schema: &str,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let schema = checked_schema(schema)?;
    pool.begin_with(format!(
        "BEGIN; SET LOCAL search_path TO {schema}, public; SET LOCAL synchronous_commit TO off"
    ))
    .await
}

/// Ensures `schema` holds the current read model. Returns true if it was (re)created empty, in
/// which case the projector rebuilds it from the first event. `fresh` forces a rebuild.
pub async fn install(pool: &PgPool, schema: &str, fresh: bool) -> Result<bool, sqlx::Error> {
    let schema = checked_schema(schema)?;
    let mut tx = pool.begin().await?;
    // Serialise installers of the same schema (several processes may start at once).
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
        .bind(schema)
        .execute(&mut *tx)
        .await?;
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(format!("{schema}.checkpoint"))
        .fetch_one(&mut *tx)
        .await?;
    let current: Option<String> = if exists && !fresh {
        sqlx::query_scalar(&format!("SELECT model_version FROM {schema}.checkpoint"))
            .fetch_optional(&mut *tx)
            .await?
    } else {
        None
    };
    if current.as_deref() == Some(model_version().as_str()) {
        tx.commit().await?;
        return Ok(false);
    }
    if exists {
        tracing::info!(
            schema,
            "read model changed or rebuild requested: rebuilding from the log"
        );
    }
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut *tx)
        .await?;
    use_schema(&mut tx, schema).await?;
    // A plain string runs as a simple query: the whole multi-statement file at once.
    sqlx::Executor::execute(&mut *tx, READ_MODEL_SQL).await?;
    sqlx::query("INSERT INTO checkpoint VALUES (1, 0, $1)")
        .bind(model_version())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}
