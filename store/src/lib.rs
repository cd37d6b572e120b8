//! The write side: runs `cqrs-es` aggregates on events stored in PostgreSQL (read through
//! `postgres-es`, appended with group commit), and reads the log back in global order for the
//! projections.

mod append_checked;
mod append_function;
mod appender;
pub mod audit_runs;
mod cache;
pub mod chain;
mod database;
mod feed;
mod follow;
mod idempotency;
mod leader;
mod own_thread;
mod store;
mod stream_locks;

pub use chain::{verify_chain, ChainProblem, ChainReport, Link};
/// Re-exported so that callers of `EventStore::execute` name the same trait.
pub use cqrs_es::Aggregate;
pub use database::{
    connect, connect_options, connect_with, drop_database, test_database_url, ScratchDatabase,
    DEFAULT_DATABASE_URL, DEFAULT_POOL_SIZE, READ_SCHEMA,
};
pub use feed::{
    read_range_after_query, stream_range, EventFeed, FeedError, RecordedEvent, EVENTS_CHANNEL,
};
pub use follow::{follow_log, listen_on, FollowOptions, LogFollower};
pub use idempotency::forget_idempotency_keys;
pub use leader::{lead, LeaderOptions, LeaderStop};
pub use own_thread::spawn_on_own_thread;
pub use sqlx::PgPool;
pub use store::{CommandError, CommandMetadata, EventStore, Outcome};
