//! Read-model fingerprints computed inside PostgreSQL in one pass per table: nothing is sorted and
//! no row travels to the client. A row's fingerprint is two 64-bit hashes of its text form
//! (`hashtextextended` with two seeds: as fast as reading the row, where MD5 tripled the time); a
//! table's is the row count and the MD5 of the two sums (`numeric`: independent of row order,
//! never overflowing). These catch any divergence between replayed and live read models; they are
//! not a cryptographic commitment (the event log's hash chain is). The text form depends on
//! session settings, which are pinned here so that fingerprints taken at different times agree.

use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, Row};

use crate::replay::TABLES;
use crate::schema::checked_schema;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableChecksum {
    pub table: String,
    pub rows: i64,
    pub checksum: String,
}

/// Fingerprints of every read-model table of `schema`, in [`TABLES`] order. Runs in the caller's
/// transaction (its settings are changed for the rest of it).
pub async fn checksums(
    tx: &mut PgConnection,
    schema: &str,
) -> Result<Vec<TableChecksum>, sqlx::Error> {
    let schema = checked_schema(schema)?;
    for setting in [
        "SET LOCAL TimeZone = 'UTC'",
        "SET LOCAL DateStyle = 'ISO, YMD'",
        "SET LOCAL IntervalStyle = 'postgres'",
        "SET LOCAL extra_float_digits = 1",
    ] {
        sqlx::query(setting).execute(&mut *tx).await?;
    }
    let mut sums = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let row = sqlx::query(&format!(
            "SELECT count(*) AS n,
                    md5(coalesce(sum(hashtextextended(r, 0)), 0)::text || ':' ||
                        coalesce(sum(hashtextextended(r, 1)), 0)::text) AS sum
             FROM (SELECT t::text AS r FROM {schema}.{table} t) rows"
        ))
        .fetch_one(&mut *tx)
        .await?;
        sums.push(TableChecksum {
            table: table.to_string(),
            rows: row.get("n"),
            checksum: row.get("sum"),
        });
    }
    Ok(sums)
}
