//! Idempotency keys are bookkeeping, not facts: a key answers retries of one command for a while,
//! then it is forgotten so the table does not grow with every write for ever.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// Deletes the keys recorded before `before`; returns how many. A retry that arrives after its
/// key was forgotten is executed again (and decided again by its aggregate).
pub async fn forget_idempotency_keys(
    pool: &PgPool,
    before: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
        .bind(before)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
