//! The appender's careful path: a group that failed the one-round-trip checks (a stream another
//! process moved, an idempotency key already used, one key twice) is written in one transaction
//! that decides on each command on its own, so only the culprits fail; the commands it keeps are
//! written by the same `facewatch_append` call as the common path.

use std::collections::{HashMap, HashSet};

use sqlx::{PgPool, Postgres, Row, Transaction};

use crate::append_function;
use crate::appender::{
    position_of, AppendError, AppendRequest, Appended, Positions, GLOBAL_ORDER_LOCK,
};

/// Writes every acceptable request of `batch` in one transaction, deciding on each on its own
/// (a stream another process moved, an idempotency key already used, …).
pub(crate) async fn write(
    pool: &PgPool,
    batch: &[&AppendRequest],
) -> Result<Vec<Result<Appended, AppendError>>, sqlx::Error> {
    // BEGIN and the lock in one round trip (the appender's commits are the write path's pace).
    let mut tx = pool
        .begin_with(format!(
            "BEGIN; SELECT pg_advisory_xact_lock({GLOBAL_ORDER_LOCK})"
        ))
        .await?;
    // Under the lock nobody else appends, so what these reads see is the truth until we commit.
    let used_keys = used_keys(&mut tx, batch).await?;
    let mut last_sequence = last_sequences(&mut tx, batch).await?;

    enum Verdict {
        Write,
        Duplicate(i64),
        DuplicateOfBatch(usize),
        Conflict,
    }
    let mut verdicts = Vec::with_capacity(batch.len());
    let mut keys_in_batch: HashMap<&str, usize> = HashMap::new();
    for (index, request) in batch.iter().enumerate() {
        let verdict = match request.idempotency_key.as_deref() {
            Some(key) if used_keys.contains_key(key) => Verdict::Duplicate(used_keys[key]),
            Some(key) if keys_in_batch.contains_key(key) => {
                Verdict::DuplicateOfBatch(keys_in_batch[key])
            }
            _ => {
                let stream = (request.aggregate_type.clone(), request.aggregate_id.clone());
                let current = last_sequence.get(&stream).copied().unwrap_or(0);
                let first = request.events.first().map_or(0, |e| e.sequence as i64);
                if first != current + 1 {
                    Verdict::Conflict
                } else {
                    let last = request.events.last().map_or(current, |e| e.sequence as i64);
                    last_sequence.insert(stream, last);
                    if let Some(key) = request.idempotency_key.as_deref() {
                        keys_in_batch.insert(key, index);
                    }
                    Verdict::Write
                }
            }
        };
        verdicts.push(verdict);
    }

    let writes: Vec<&AppendRequest> = batch
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| matches!(v, Verdict::Write))
        .map(|(r, _)| *r)
        .collect();
    // What was decided to be written passes the same checks under the lock held since BEGIN.
    let positions = if writes.is_empty() {
        Positions::new()
    } else {
        append_function::append(&mut *tx, &writes)
            .await?
            .ok_or_else(|| {
                sqlx::Error::Protocol("commands checked under the lock failed its checks".into())
            })?
    };
    let position_of = |request: &AppendRequest| position_of(&positions, request);
    tx.commit().await?;

    Ok(batch
        .iter()
        .zip(&verdicts)
        .map(|(request, verdict)| match verdict {
            Verdict::Write => Ok(Appended::Stored {
                position: position_of(request),
            }),
            Verdict::Duplicate(position) => Ok(Appended::Duplicate {
                position: *position,
            }),
            Verdict::DuplicateOfBatch(original) => Ok(Appended::Duplicate {
                position: position_of(batch[*original]),
            }),
            Verdict::Conflict => Err(AppendError::Conflict),
        })
        .collect())
}

async fn used_keys(
    tx: &mut Transaction<'_, Postgres>,
    batch: &[&AppendRequest],
) -> Result<HashMap<String, i64>, sqlx::Error> {
    let keys: Vec<&str> = batch
        .iter()
        .filter_map(|r| r.idempotency_key.as_deref())
        .collect();
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query("SELECT key, position FROM idempotency_keys WHERE key = ANY($1)")
        .bind(&keys)
        .fetch_all(&mut **tx)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.get("key"), row.get("position")))
        .collect())
}

/// The newest sequence number of every stream the batch appends to (absent: a new stream).
async fn last_sequences(
    tx: &mut Transaction<'_, Postgres>,
    batch: &[&AppendRequest],
) -> Result<HashMap<(String, String), i64>, sqlx::Error> {
    let streams: HashSet<(&str, &str)> = batch
        .iter()
        .map(|r| (r.aggregate_type.as_str(), r.aggregate_id.as_str()))
        .collect();
    let (types, ids): (Vec<&str>, Vec<&str>) = streams.into_iter().unzip();
    // One index probe per stream (newest sequence first), however long the stream is.
    let rows = sqlx::query(
        "SELECT s.t, s.i, (SELECT e.sequence FROM events e \
                           WHERE e.aggregate_type = s.t AND e.aggregate_id = s.i \
                           ORDER BY e.sequence DESC LIMIT 1) AS last \
         FROM unnest($1::text[], $2::text[]) AS s(t, i)",
    )
    .bind(&types)
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let last: Option<i64> = row.get("last");
            Some(((row.get("t"), row.get("i")), last?))
        })
        .collect())
}
