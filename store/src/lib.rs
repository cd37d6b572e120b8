//! The write side: appends domain events to PostgreSQL through `postgres-es` (with group commit),
//! and reads them back in global order for the projections.

mod appender;
mod database;
mod feed;
mod repository;
mod store;
mod stream_locks;

/// Re-exported so that callers of `EventStore::execute` name the same trait.
pub use cqrs_es::Aggregate;
pub use database::{
    connect, connect_with, drop_database, test_database_url, ScratchDatabase, DEFAULT_DATABASE_URL,
    DEFAULT_POOL_SIZE, READ_SCHEMA,
};
pub use feed::{read_range, EventFeed, FeedError, RecordedEvent, EVENTS_CHANNEL};
pub use sqlx::PgPool;
pub use store::{CommandError, CommandMetadata, EventStore, Outcome};
