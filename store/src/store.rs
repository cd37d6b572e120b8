use std::sync::Arc;
use std::time::Duration;

use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{PersistedEventRepository, PersistenceError, SerializedEvent};
use cqrs_es::{Aggregate, DomainEvent};
use postgres_es::PostgresEventRepository;
use sqlx::PgPool;

use crate::appender::{AppendError, AppendRequest, Appended, Appender};
use crate::cache::AggregateCache;
use crate::stream_locks::StreamLocks;

/// How often a command is retried after losing an optimistic-concurrency race.
const CONFLICT_RETRIES: u32 = 20;

/// A snapshot of an aggregate is stored every this many events, so loading a busy aggregate (an
/// employee seen all day) in a fresh process reads one snapshot plus a few events instead of its
/// whole history.
const SNAPSHOT_EVERY: usize = 100;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum CommandError<E: std::error::Error + 'static> {
    /// The domain refused the command; nothing was written.
    #[error("{0}")]
    Rejected(#[source] E),
    /// Still conflicting after all retries (extreme contention on one aggregate).
    #[error("too much concurrent activity on {aggregate} {id}, try again")]
    Contention { aggregate: &'static str, id: String },
    #[error("event store failure: {0}")]
    Store(#[source] BoxError),
}

fn store_error<E: std::error::Error>(error: impl Into<BoxError>) -> CommandError<E> {
    CommandError::Store(error.into())
}

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
    fn event_metadata(&self) -> serde_json::Value {
        serde_json::json!({ "actor": self.actor, "correlation_id": self.correlation_id })
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

/// Runs commands against aggregates: `cqrs-es` aggregates decide, `postgres-es` reads their
/// snapshots and events, one appender task per store commits concurrent commands together (group
/// commit), and recently used aggregates stay in memory.
#[derive(Clone)]
pub struct EventStore {
    pool: PgPool,
    appender: Appender,
    turns: Arc<StreamLocks>,
    cache: Arc<AggregateCache>,
}

impl EventStore {
    /// Needs a Tokio runtime: it starts the appender task.
    pub fn new(pool: PgPool) -> Self {
        Self::with_appender(Appender::spawn(pool.clone()), pool)
    }

    /// [`EventStore::new`] with the appender on a thread of its own (see
    /// [`Appender::spawn_on_own_thread`]), for the server: every write waits for it.
    pub fn with_appender_on_own_thread(pool: PgPool) -> std::io::Result<Self> {
        Ok(Self::with_appender(
            Appender::spawn_on_own_thread(&pool)?,
            pool,
        ))
    }

    fn with_appender(appender: Appender, pool: PgPool) -> Self {
        Self {
            appender,
            pool,
            turns: Default::default(),
            cache: Default::default(),
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
        let stream = format!("{}/{id}", A::TYPE);
        // Commands on one aggregate take turns in this process (see stream_locks.rs).
        let _turn = self.turns.turn(stream.clone()).await;
        // A retry is answered before the aggregate decides: the command may no longer be valid
        // (an enrolment retried finds the employee enrolled) but it was, and it was stored.
        if let Some(key) = &metadata.idempotency_key {
            let used: Option<i64> =
                sqlx::query_scalar("SELECT position FROM idempotency_keys WHERE key = $1")
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(store_error)?;
            if let Some(position) = used {
                return Ok(Outcome::Duplicate { position });
            }
        }
        for attempt in 0..CONFLICT_RETRIES {
            // The cached state may be stale if another process wrote: the append then conflicts.
            let cached = self.cache.get(&stream);
            let from_cache = cached.is_some();
            let (mut aggregate, sequence) = match cached {
                Some(cached) => (
                    serde_json::from_value(cached.state).map_err(store_error)?,
                    cached.sequence,
                ),
                None => self.load_from_database::<A>(id).await?,
            };
            let sink = EventSink::default();
            aggregate
                .handle(command.clone(), &(), &sink)
                .await
                .map_err(CommandError::Rejected)?;
            let events = sink.collect().await;
            let state = serde_json::to_value(&aggregate).map_err(store_error)?;
            if events.is_empty() {
                // "Nothing to do" decided on a cached state must not hide another process's
                // events: no append will check it, so look.
                if from_cache && self.has_events_after::<A>(id, sequence).await? {
                    self.cache.forget(&stream);
                    continue;
                }
                self.cache.put(stream, state, sequence);
                return Ok(Outcome::Unchanged);
            }
            let last = sequence + events.len();
            let request = AppendRequest {
                aggregate_type: A::TYPE.to_string(),
                aggregate_id: id.to_string(),
                events: serialize::<A>(id, sequence, &events, metadata)?,
                // The state after every event of the command, when it passes a multiple of
                // SNAPSHOT_EVERY.
                snapshot: (last / SNAPSHOT_EVERY > sequence / SNAPSHOT_EVERY)
                    .then(|| (state.clone(), (last / SNAPSHOT_EVERY) as i64, last as i64)),
                idempotency_key: metadata.idempotency_key.clone(),
            };
            match self.appender.append(request).await {
                Ok(Appended::Stored { position }) => {
                    self.cache.put(stream, state, last);
                    return Ok(Outcome::Stored { position });
                }
                Ok(Appended::Duplicate { position }) => {
                    self.cache.forget(&stream);
                    return Ok(Outcome::Duplicate { position });
                }
                Err(AppendError::Conflict) => {
                    self.cache.forget(&stream);
                    tracing::debug!(aggregate = A::TYPE, id, attempt, "conflict, retrying");
                    tokio::time::sleep(Duration::from_millis(1 << attempt.min(6))).await;
                }
                Err(e) => {
                    self.cache.forget(&stream);
                    return Err(store_error(e));
                }
            }
        }
        Err(CommandError::Contention {
            aggregate: A::TYPE,
            id: id.to_string(),
        })
    }

    /// The current state of aggregate `id` (the default state if it has no events), as committed
    /// in the database now (the cached state plus any events other processes appended since).
    pub async fn load<A>(&self, id: &str) -> Result<A, CommandError<A::Error>>
    where
        A: Aggregate<Services = ()>,
        A::Error: 'static,
    {
        self.load_within::<A>(id, Duration::ZERO).await
    }

    /// Like [`EventStore::load`], but a state this process knew to be current less than `max_age`
    /// ago is answered from memory, without asking PostgreSQL. This process's own commands keep the
    /// memory current; only another process's events can be missed, for at most `max_age`. For
    /// checks that are a race anyway (the camera may be disabled just after the check), on hot paths.
    pub async fn load_within<A>(
        &self,
        id: &str,
        max_age: Duration,
    ) -> Result<A, CommandError<A::Error>>
    where
        A: Aggregate<Services = ()>,
        A::Error: 'static,
    {
        let stream = format!("{}/{id}", A::TYPE);
        let Some(cached) = self.cache.get(&stream) else {
            let (aggregate, sequence) = self.load_from_database::<A>(id).await?;
            let state = serde_json::to_value(&aggregate).map_err(store_error)?;
            self.cache.put(stream, state, sequence);
            return Ok(aggregate);
        };
        let mut aggregate: A = serde_json::from_value(cached.state).map_err(store_error)?;
        if cached.current_at.elapsed() < max_age {
            return Ok(aggregate);
        }
        let sequence = cached.sequence;
        let reads = PostgresEventRepository::new(self.pool.clone());
        let tail = reads
            .get_last_events::<A>(id, sequence)
            .await
            .map_err(store_error)?;
        if tail.is_empty() {
            self.cache.confirm(&stream, sequence);
            return Ok(aggregate);
        }
        let sequence = apply(&mut aggregate, sequence, tail)?;
        let state = serde_json::to_value(&aggregate).map_err(store_error)?;
        self.cache.put(stream, state, sequence);
        Ok(aggregate)
    }

    async fn has_events_after<A>(
        &self,
        id: &str,
        sequence: usize,
    ) -> Result<bool, CommandError<A::Error>>
    where
        A: Aggregate,
        A::Error: 'static,
    {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM events \
             WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence > $3)",
        )
        .bind(A::TYPE)
        .bind(id)
        .bind(sequence as i64)
        .fetch_one(&self.pool)
        .await
        .map_err(store_error)
    }

    /// The newest snapshot plus the events after it; returns the state and its sequence.
    async fn load_from_database<A>(&self, id: &str) -> Result<(A, usize), CommandError<A::Error>>
    where
        A: Aggregate<Services = ()>,
        A::Error: 'static,
    {
        let reads = PostgresEventRepository::new(self.pool.clone());
        let snapshot = reads.get_snapshot::<A>(id).await.map_err(store_error)?;
        // A snapshot of an older shape of the aggregate is ignored: the events rebuild it.
        let (mut aggregate, sequence): (A, usize) = snapshot
            .and_then(|s| {
                Some((
                    serde_json::from_value(s.aggregate).ok()?,
                    s.current_sequence,
                ))
            })
            .unwrap_or_default();
        let tail = reads
            .get_last_events::<A>(id, sequence)
            .await
            .map_err(store_error)?;
        let sequence = apply(&mut aggregate, sequence, tail)?;
        Ok((aggregate, sequence))
    }
}

/// Applies stored events in order; returns the newest sequence.
fn apply<A: Aggregate>(
    aggregate: &mut A,
    mut sequence: usize,
    events: Vec<SerializedEvent>,
) -> Result<usize, CommandError<A::Error>>
where
    A::Error: 'static,
{
    for event in events {
        let payload: A::Event = serde_json::from_value(event.payload).map_err(|e| {
            store_error::<A::Error>(PersistenceError::DeserializationError(Box::new(e)))
        })?;
        aggregate.apply(payload);
        sequence = event.sequence;
    }
    Ok(sequence)
}

/// The command's events as rows for the `events` table, numbered after `sequence`.
fn serialize<A: Aggregate>(
    id: &str,
    sequence: usize,
    events: &[A::Event],
    metadata: &CommandMetadata,
) -> Result<Vec<SerializedEvent>, CommandError<A::Error>>
where
    A::Error: 'static,
{
    let metadata = metadata.event_metadata();
    events
        .iter()
        .zip(sequence + 1..)
        .map(|(event, sequence)| {
            Ok(SerializedEvent::new(
                id.to_string(),
                sequence,
                A::TYPE.to_string(),
                event.event_type(),
                event.event_version(),
                serde_json::to_value(event).map_err(store_error)?,
                metadata.clone(),
            ))
        })
        .collect()
}
