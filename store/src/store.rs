use std::collections::HashMap;
use std::time::Duration;

use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, AggregateError, CqrsFramework};
use sqlx::PgPool;

use crate::appender::{Appended, Appender};
use crate::repository::CommandRepository;
use crate::stream_locks::StreamLocks;

/// How often a command is retried after losing an optimistic-concurrency race.
const CONFLICT_RETRIES: u32 = 20;

/// A snapshot of an aggregate is stored every this many events, so loading a busy aggregate (an
/// employee seen all day) reads one snapshot plus a few events instead of its whole history.
const SNAPSHOT_EVERY: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum CommandError<E: std::error::Error + 'static> {
    /// The domain refused the command; nothing was written.
    #[error("{0}")]
    Rejected(#[source] E),
    /// Still conflicting after all retries (extreme contention on one aggregate).
    #[error("too much concurrent activity on {aggregate} {id}, try again")]
    Contention { aggregate: &'static str, id: String },
    #[error("event store failure: {0}")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl<E: std::error::Error> CommandError<E> {
    fn from_aggregate(error: AggregateError<E>) -> Self {
        match error {
            AggregateError::UserError(e) => CommandError::Rejected(e),
            other => CommandError::Store(Box::new(StoreFailure(other.to_string()))),
        }
    }
}

/// An event-store failure reported by `cqrs-es` (its error type is generic over the aggregate).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct StoreFailure(String);

/// Who asked for a command and on whose behalf, stored with every event it produces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandMetadata {
    /// `user:alice`, `camera:CAM1`, `system:absence-watcher`, `cli`, …
    pub actor: String,
    /// Ties together the events of one request (several commands, several aggregates).
    pub correlation_id: String,
    /// A client's retry key, already scoped by the caller; a second command with the same key
    /// stores nothing and answers [`Outcome::Duplicate`].
    pub idempotency_key: Option<String>,
}

impl CommandMetadata {
    fn event_metadata(&self) -> HashMap<String, String> {
        HashMap::from([
            ("actor".to_string(), self.actor.clone()),
            ("correlation_id".to_string(), self.correlation_id.clone()),
        ])
    }
}

/// What a successful command did to the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The command changed nothing (no event).
    Unchanged,
    /// Its events were appended; the newest is at `position` in the global log.
    Stored { position: i64 },
    /// Its idempotency key had been used: nothing new was stored; `position` is the original's.
    Duplicate { position: i64 },
}

impl Outcome {
    /// The log position a reader must reach to see this command's effect.
    pub fn position(self) -> Option<i64> {
        match self {
            Outcome::Unchanged => None,
            Outcome::Stored { position } | Outcome::Duplicate { position } => Some(position),
        }
    }
}

/// Appends events by running commands against aggregates stored with `postgres-es`; concurrent
/// commands are committed together by one appender task per store (group commit).
#[derive(Clone)]
pub struct EventStore {
    pool: PgPool,
    appender: Appender,
    turns: std::sync::Arc<StreamLocks>,
}

impl EventStore {
    /// Needs a Tokio runtime: it starts the appender task.
    pub fn new(pool: PgPool) -> Self {
        Self {
            appender: Appender::spawn(pool.clone()),
            pool,
            turns: Default::default(),
        }
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
        metadata: &CommandMetadata,
    ) -> Result<Outcome, CommandError<A::Error>>
    where
        A: Aggregate<Services = ()>,
        A::Command: Clone,
        A::Error: 'static,
    {
        let _turn = self.turns.turn(format!("{}/{id}", A::TYPE)).await;
        // A retry is answered before the aggregate decides: the command may no longer be valid
        // (an enrolment retried finds the employee enrolled) but it was, and it was stored.
        if let Some(key) = &metadata.idempotency_key {
            let used: Option<i64> =
                sqlx::query_scalar("SELECT position FROM idempotency_keys WHERE key = $1")
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| CommandError::Store(Box::new(e)))?;
            if let Some(position) = used {
                return Ok(Outcome::Duplicate { position });
            }
        }
        for attempt in 0..CONFLICT_RETRIES {
            let repository = CommandRepository::new(
                self.pool.clone(),
                self.appender.clone(),
                SNAPSHOT_EVERY,
                metadata.idempotency_key.clone(),
            );
            let answer = repository.answer.clone();
            let store = PersistedEventStore::<_, A>::new_snapshot_store(repository, SNAPSHOT_EVERY);
            let cqrs = CqrsFramework::new(store, vec![], ());
            match cqrs
                .execute_with_metadata(id, command.clone(), metadata.event_metadata())
                .await
            {
                Err(AggregateError::AggregateConflict) => {
                    tracing::debug!(aggregate = A::TYPE, id, attempt, "conflict, retrying");
                    tokio::time::sleep(Duration::from_millis(1 << attempt.min(6))).await;
                }
                Err(e) => return Err(CommandError::from_aggregate(e)),
                Ok(()) => {
                    let answer = *answer.lock().expect("answer lock");
                    return Ok(match answer {
                        None => Outcome::Unchanged,
                        Some(Appended::Stored { position }) => Outcome::Stored { position },
                        Some(Appended::Duplicate { position }) => Outcome::Duplicate { position },
                    });
                }
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
        A::Error: 'static,
    {
        use cqrs_es::EventStore as _;
        let repository = CommandRepository::new(
            self.pool.clone(),
            self.appender.clone(),
            SNAPSHOT_EVERY,
            None,
        );
        let store = PersistedEventStore::<_, A>::new_snapshot_store(repository, SNAPSHOT_EVERY);
        let context = store
            .load_aggregate(id)
            .await
            .map_err(CommandError::from_aggregate)?;
        Ok(context.aggregate)
    }
}
