use std::time::Duration;

use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, AggregateError, EventStore as _};
use postgres_es::{postgres_snapshot_cqrs, PostgresEventRepository};
use sqlx::PgPool;

/// How often a command is retried after losing an optimistic-concurrency race.
const CONFLICT_RETRIES: u32 = 20;

/// A snapshot of an aggregate is stored every this many events, so loading a busy aggregate (an
/// employee seen all day) reads one snapshot plus a few events instead of its whole history.
const SNAPSHOT_EVERY: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum CommandError<E: std::error::Error> {
    /// The domain refused the command; nothing was written.
    #[error("{0}")]
    Rejected(E),
    /// Still conflicting after all retries (extreme contention on one aggregate).
    #[error("too much concurrent activity on {aggregate} {id}, try again")]
    Contention { aggregate: &'static str, id: String },
    #[error("event store failure: {0}")]
    Store(String),
}

impl<E: std::error::Error> CommandError<E> {
    fn from_aggregate(error: AggregateError<E>) -> Self {
        match error {
            AggregateError::UserError(e) => CommandError::Rejected(e),
            other => CommandError::Store(other.to_string()),
        }
    }
}

/// Appends events by running commands against aggregates stored with `postgres-es`.
#[derive(Clone)]
pub struct EventStore {
    pool: PgPool,
}

impl EventStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Runs `command` on aggregate `id`. A concurrency conflict (another writer appended to the same
    /// aggregate first) reloads the aggregate and decides again, so no command is lost.
    pub async fn execute<A>(
        &self,
        id: &str,
        command: A::Command,
    ) -> Result<(), CommandError<A::Error>>
    where
        A: Aggregate<Services = ()>,
        A::Command: Clone,
    {
        let cqrs = postgres_snapshot_cqrs::<A>(self.pool.clone(), vec![], SNAPSHOT_EVERY, ());
        for attempt in 0..CONFLICT_RETRIES {
            match cqrs.execute(id, command.clone()).await {
                Err(AggregateError::AggregateConflict) => {
                    tracing::debug!(aggregate = A::TYPE, id, attempt, "conflict, retrying");
                    tokio::time::sleep(Duration::from_millis(2 << attempt.min(6))).await;
                }
                result => return result.map_err(CommandError::from_aggregate),
            }
        }
        Err(CommandError::Contention {
            aggregate: A::TYPE,
            id: id.to_string(),
        })
    }

    /// The current state of aggregate `id` (the default state if it has no events).
    pub async fn load<A>(&self, id: &str) -> Result<A, CommandError<A::Error>>
    where
        A: Aggregate<Services = ()>,
    {
        let repo = PostgresEventRepository::new(self.pool.clone());
        let store = PersistedEventStore::<_, A>::new_snapshot_store(repo, SNAPSHOT_EVERY);
        let context = store
            .load_aggregate(id)
            .await
            .map_err(CommandError::from_aggregate)?;
        Ok(context.aggregate)
    }
}
