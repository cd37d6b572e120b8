//! The write side: appends domain events to PostgreSQL through `postgres-es`, and reads them back
//! in global order for the projections.

mod database;
mod feed;
mod store;

/// Re-exported so that callers of `EventStore::execute` name the same trait.
pub use cqrs_es::Aggregate;
pub use database::{
    connect, drop_database, test_database_url, ScratchDatabase, DEFAULT_DATABASE_URL, READ_SCHEMA,
};
pub use feed::{EventFeed, FeedError, RecordedEvent, EVENTS_CHANNEL};
pub use sqlx::PgPool;
pub use store::{CommandError, EventStore};
