//! The appender's careful path: a group that failed the one-round-trip checks (a stream another
//! process moved, an idempotency key already used, one key twice) is written in one transaction
//! that decides on each command on its own, so only the culprits fail.

use std::collections::{HashMap, HashSet};

use cqrs_es::persist::SerializedEvent;
use sqlx::{PgPool, Postgres, Row, Transaction};

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
    let positions = insert_events(&mut tx, &writes).await?;
    let position_of = |request: &AppendRequest| position_of(&positions, request);
    for request in &writes {
        if let Some(snapshot) = &request.snapshot {
            save_snapshot(&mut tx, request, snapshot).await?;
        }
        if let Some(key) = &request.idempotency_key {
            sqlx::query(
                "INSERT INTO idempotency_keys (key, aggregate_type, aggregate_id, position) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(key)
            .bind(&request.aggregate_type)
            .bind(&request.aggregate_id)
            .bind(position_of(request))
            .execute(&mut *tx)
            .await?;
        }
    }
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

/// Inserts the events of every request with one statement; returns each event's log position.
async fn insert_events(
    tx: &mut Transaction<'_, Postgres>,
    writes: &[&AppendRequest],
) -> Result<Positions, sqlx::Error> {
    let events: Vec<&SerializedEvent> = writes.iter().flat_map(|r| &r.events).collect();
    if events.is_empty() {
        return Ok(HashMap::new());
    }
    let column =
        |f: fn(&SerializedEvent) -> String| events.iter().map(|e| f(e)).collect::<Vec<_>>();
    let rows = sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         SELECT t, i, s, et, ev, p::json, m::json \
         FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::jsonb[], $7::jsonb[]) \
              WITH ORDINALITY AS e(t, i, s, et, ev, p, m, n) \
         ORDER BY n \
         RETURNING aggregate_type, aggregate_id, sequence, global_seq",
    )
    .bind(column(|e| e.aggregate_type.clone()))
    .bind(column(|e| e.aggregate_id.clone()))
    .bind(events.iter().map(|e| e.sequence as i64).collect::<Vec<_>>())
    .bind(column(|e| e.event_type.clone()))
    .bind(column(|e| e.event_version.clone()))
    .bind(events.iter().map(|e| e.payload.clone()).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.metadata.clone()).collect::<Vec<_>>())
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let event = (
                row.get("aggregate_type"),
                row.get("aggregate_id"),
                row.get("sequence"),
            );
            (event, row.get("global_seq"))
        })
        .collect())
}

/// Snapshots are a cache of the stream; the first is inserted, later ones replace it.
async fn save_snapshot(
    tx: &mut Transaction<'_, Postgres>,
    request: &AppendRequest,
    (payload, number, last_sequence): &(serde_json::Value, i64, i64),
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM snapshots WHERE aggregate_type = $1 AND aggregate_id = $2")
        .bind(&request.aggregate_type)
        .bind(&request.aggregate_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence, current_snapshot, payload) \
         VALUES ($1, $2, $3, $4, $5::json)",
    )
    .bind(&request.aggregate_type)
    .bind(&request.aggregate_id)
    .bind(last_sequence)
    .bind(number)
    .bind(payload)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
