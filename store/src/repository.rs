//! The `cqrs-es` repository behind [`crate::EventStore`]: reads (aggregate events, snapshots) come
//! from `postgres-es`; writes go to the group-commit [`Appender`], which also records the
//! idempotency key and reports the log position of what it stored.

use std::sync::{Arc, Mutex};

use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use cqrs_es::Aggregate;
use postgres_es::PostgresEventRepository;
use serde_json::Value;
use sqlx::PgPool;

use crate::appender::{AppendError, AppendRequest, Appended, Appender};

/// One command's repository: it carries that command's idempotency key and keeps what the
/// appender answered, for [`crate::EventStore::execute`] to return.
pub(crate) struct CommandRepository {
    reads: PostgresEventRepository,
    appender: Appender,
    snapshot_every: usize,
    idempotency_key: Option<String>,
    pub answer: Arc<Mutex<Option<Appended>>>,
}

impl CommandRepository {
    pub fn new(
        pool: PgPool,
        appender: Appender,
        snapshot_every: usize,
        idempotency_key: Option<String>,
    ) -> Self {
        Self {
            reads: PostgresEventRepository::new(pool),
            appender,
            snapshot_every,
            idempotency_key,
            answer: Arc::new(Mutex::new(None)),
        }
    }
}

impl PersistedEventRepository for CommandRepository {
    async fn get_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.reads.get_events::<A>(aggregate_id).await
    }

    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.reads
            .get_last_events::<A>(aggregate_id, last_sequence)
            .await
    }

    async fn get_snapshot<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        self.reads.get_snapshot::<A>(aggregate_id).await
    }

    async fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        snapshot_update: Option<(String, Value, usize)>,
    ) -> Result<(), PersistenceError> {
        let Some(first) = events.first() else {
            return Ok(());
        };
        // cqrs-es folds the events up to the last multiple of `snapshot_every` into the snapshot;
        // record exactly that sequence (postgres-es 0.5 records the newest event's, which loses the
        // events after the boundary when one command crosses it).
        let last = events.last().map_or(0, |e| e.sequence);
        let snapshot = snapshot_update.map(|(_, payload, number)| {
            let folded = last / self.snapshot_every * self.snapshot_every;
            (payload, number as i64, folded as i64)
        });
        let request = AppendRequest {
            aggregate_type: A::TYPE.to_string(),
            aggregate_id: first.aggregate_id.clone(),
            events: events.to_vec(),
            snapshot,
            idempotency_key: self.idempotency_key.clone(),
        };
        match self.appender.append(request).await {
            Ok(appended) => {
                *self.answer.lock().expect("answer lock") = Some(appended);
                Ok(())
            }
            Err(AppendError::Conflict) => Err(PersistenceError::OptimisticLockError),
            Err(AppendError::Database(e)) => Err(PersistenceError::UnknownError(Box::new(e))),
            Err(e @ AppendError::Stopped) => Err(PersistenceError::UnknownError(Box::new(e))),
        }
    }

    async fn stream_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<ReplayStream, PersistenceError> {
        self.reads.stream_events::<A>(aggregate_id).await
    }

    async fn stream_all_events<A: Aggregate>(&self) -> Result<ReplayStream, PersistenceError> {
        self.reads.stream_all_events::<A>().await
    }
}
