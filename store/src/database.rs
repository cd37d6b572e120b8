use std::str::FromStr;

use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool, Postgres};

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/facewatch";

/// Schema that holds the live read models. Pool connections resolve unqualified table names there
/// first and in `public` (the event store) second, so projection SQL is schema-agnostic and a replay
/// can run the very same SQL against another schema.
pub const READ_SCHEMA: &str = "read";

/// Pooled connections per process unless configured (`database.max_connections`). Every request
/// holds at most one at a time; the appender, the projector and each LISTEN hold one more each.
pub const DEFAULT_POOL_SIZE: u32 = 16;

/// [`connect_with`] and a pool of [`DEFAULT_POOL_SIZE`] connections.
pub async fn connect(url: &str) -> Result<PgPool, sqlx::Error> {
    connect_with(url, DEFAULT_POOL_SIZE).await
}

/// Connects to `url`, creating the database if it does not exist yet, and applies the event-store
/// migrations (idempotent).
pub async fn connect_with(url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    if !Postgres::database_exists(url).await? {
        // Two processes may race to create it; losing that race is fine.
        if let Err(e) = Postgres::create_database(url).await {
            if !Postgres::database_exists(url).await? {
                return Err(e);
            }
        }
    }
    // Migrations run on a plain connection so that they always target `public`.
    let mut migration_conn = PgConnection::connect(url).await?;
    sqlx::migrate!("../migrations")
        .run(&mut migration_conn)
        .await?;
    migration_conn.close().await?;
    let options = PgConnectOptions::from_str(url)?
        .options([("search_path", format!("{READ_SCHEMA},public"))]);
    PgPoolOptions::new()
        .max_connections(max_connections.max(2))
        .connect_with(options)
        .await
}

/// A fresh, uniquely named database URL on the server of `base_url` (for tests and demos).
pub fn test_database_url(base_url: &str, prefix: &str) -> String {
    let (server, _) = base_url.rsplit_once('/').unwrap_or((base_url, ""));
    let unique = uuid::Uuid::new_v4().simple().to_string();
    format!("{server}/{prefix}_{}", &unique[..12])
}

/// Drops a database, closing its other connections first.
pub async fn drop_database(url: &str) -> Result<(), sqlx::Error> {
    Postgres::force_drop_database(url).await
}

/// A throw-away database with the event store installed: every integration test gets its own.
/// The server comes from `DATABASE_URL` (default: the local PostgreSQL).
pub struct ScratchDatabase {
    pub url: String,
    pub pool: PgPool,
}

impl ScratchDatabase {
    pub async fn create(prefix: &str) -> Result<Self, sqlx::Error> {
        let base = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.into());
        let url = test_database_url(&base, prefix);
        let pool = connect(&url).await?;
        Ok(Self { url, pool })
    }

    pub async fn drop(self) -> Result<(), sqlx::Error> {
        self.pool.close().await;
        drop_database(&self.url).await
    }
}
