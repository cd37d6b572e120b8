use chrono::{DateTime, Utc};
use facewatch_domain::event::DecodeError;
use facewatch_domain::AnyEvent;
use futures::stream::{BoxStream, StreamExt};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};

/// The channel `pg_notify` announces new events on (see migrations/0001_event_store.sql).
pub const EVENTS_CHANNEL: &str = "facewatch_events";

/// One stored event with its position in the whole log.
#[derive(Debug, Clone)]
pub struct RecordedEvent {
    pub seq: i64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub event_type: String,
    pub recorded_at: DateTime<Utc>,
    /// Who caused it (`user:alice`, `camera:CAM1`, …); absent on events stored before actors.
    pub actor: Option<String>,
    /// The request it belongs to.
    pub correlation_id: Option<String>,
    pub event: AnyEvent,
}

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("reading the event log failed: {0}")]
    Database(#[from] sqlx::Error),
    #[error("event #{seq} cannot be decoded: {source}")]
    Decode {
        seq: i64,
        #[source]
        source: DecodeError,
    },
}

/// Reads the event log in global order.
#[derive(Clone)]
pub struct EventFeed {
    pool: PgPool,
}

impl EventFeed {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Up to `limit` events after position `after`, oldest first.
    pub async fn read_after(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<RecordedEvent>, FeedError> {
        self.read_range(after, i64::MAX, limit).await
    }

    /// Up to `limit` events with `after < position <= until`, oldest first.
    pub async fn read_range(
        &self,
        after: i64,
        until: i64,
        limit: i64,
    ) -> Result<Vec<RecordedEvent>, FeedError> {
        let mut conn = self.pool.acquire().await?;
        read_range(&mut conn, after, until, limit).await
    }

    /// The position of the newest event (0 for an empty log).
    pub async fn head(&self) -> Result<i64, FeedError> {
        let head: Option<i64> = sqlx::query_scalar("SELECT max(global_seq) FROM events")
            .fetch_one(&self.pool)
            .await?;
        Ok(head.unwrap_or(0))
    }

    /// How many events the log holds (positions have gaps: a rolled-back append uses one up).
    pub async fn count(&self) -> Result<i64, FeedError> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&self.pool)
            .await?)
    }
}

/// The columns [`decode`] reads.
macro_rules! select_events {
    () => {
        "SELECT global_seq, aggregate_type, aggregate_id, event_type, recorded_at, \
         payload::text AS payload, metadata::text AS metadata FROM events "
    };
}

/// Up to `limit` events with `after < position <= until`, oldest first, read on `conn` (e.g. the
/// transaction that applies them, so that a reader holds one connection, not two).
async fn read_range(
    conn: &mut PgConnection,
    after: i64,
    until: i64,
    limit: i64,
) -> Result<Vec<RecordedEvent>, FeedError> {
    let rows = sqlx::query(concat!(
        select_events!(),
        "WHERE global_seq > $1 AND global_seq <= $2 ORDER BY global_seq LIMIT $3"
    ))
    .bind(after)
    .bind(until)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(decode).collect()
}

/// Like [`EventFeed::read_range`], after the position that the query `after` gives (one row, one
/// `bigint` column named `position`; e.g. a reader's checkpoint with its row lock), in the same
/// round trip. Returns that position too (events or not).
pub async fn read_range_after_query(
    conn: &mut PgConnection,
    after: &str,
    until: i64,
    limit: i64,
) -> Result<(i64, Vec<RecordedEvent>), FeedError> {
    let sql = format!(
        concat!(
            "WITH a AS ({}) SELECT a.position AS after_position, e.* FROM a LEFT JOIN LATERAL (",
            select_events!(),
            "WHERE global_seq > a.position AND global_seq <= $1 ORDER BY global_seq LIMIT $2) e ON true"
        ),
        after
    );
    let rows = sqlx::query(&sql)
        .bind(until)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    let position = match rows.first() {
        Some(row) => row.try_get("after_position")?,
        None => return Err(sqlx::Error::RowNotFound.into()),
    };
    let mut events = Vec::with_capacity(rows.len());
    for row in rows {
        // No event after the position: one row of NULLs beside it.
        if row.try_get::<Option<i64>, _>("global_seq")?.is_some() {
            events.push(decode(row)?);
        }
    }
    Ok((position, events))
}

/// Every event with `after < position <= until`, oldest first, as one query streamed row by row
/// (one snapshot of the log; memory stays flat however many events there are).
pub fn stream_range(
    pool: &PgPool,
    after: i64,
    until: i64,
) -> BoxStream<'_, Result<RecordedEvent, FeedError>> {
    sqlx::query(concat!(
        select_events!(),
        "WHERE global_seq > $1 AND global_seq <= $2 ORDER BY global_seq"
    ))
    .bind(after)
    .bind(until)
    .fetch(pool)
    .map(|row| decode(row?))
    .boxed()
}

/// Who caused an event; older events may lack either.
#[derive(Default, serde::Deserialize)]
struct Metadata {
    actor: Option<String>,
    correlation_id: Option<String>,
}

fn decode(row: PgRow) -> Result<RecordedEvent, FeedError> {
    let seq: i64 = row.try_get("global_seq")?;
    let aggregate_type: String = row.try_get("aggregate_type")?;
    let payload: &str = row.try_get("payload")?;
    let metadata: Metadata = serde_json::from_str(row.try_get("metadata")?).unwrap_or_default();
    let event = AnyEvent::decode(&aggregate_type, payload)
        .map_err(|source| FeedError::Decode { seq, source })?;
    Ok(RecordedEvent {
        seq,
        aggregate_type,
        aggregate_id: row.try_get("aggregate_id")?,
        event_type: row.try_get("event_type")?,
        recorded_at: row.try_get("recorded_at")?,
        actor: metadata.actor,
        correlation_id: metadata.correlation_id,
        event,
    })
}
