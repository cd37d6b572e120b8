use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::{Connection, PgConnection, PgPool, Postgres};

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/facewatch";

/// Schema that holds the live read models. Pool connections resolve unqualified table names there
/// first and in `public` (the event store) second, so projection SQL is schema-agnostic and a replay
/// can run the very same SQL against another schema.
pub const READ_SCHEMA: &str = "read";

/// Pooled connections per process unless configured (`database.max_connections`). Every request
/// holds at most one at a time; the appender, the projector (unless on threads of their own, see
/// [`crate::spawn_on_own_thread`]) and each LISTEN hold one more each.
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
    let mut migration_conn = PgConnection::connect_with(&connect_options(url)?).await?;
    sqlx::migrate!("../migrations")
        .run(&mut migration_conn)
        .await?;
    migration_conn.close().await?;
    let options = connect_options(url)?.options([("search_path", format!("{READ_SCHEMA},public"))]);
    pool_options(max_connections).connect_with(options).await
}

/// How facewatch pools connections (see [`connect_with`]).
pub(crate) fn pool_options(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections.max(2))
        // sqlx pings a connection before every use by default: a second round trip for each short
        // query of the write path. Only a connection idle long enough to have been dropped by a
        // firewall or a restarted server is checked; a connection that breaks in use fails its
        // query with an error and leaves the pool.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= CHECK_IDLE_AFTER {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
}

/// The options facewatch connects to `url` with (TLS only where it protects something, see
/// [`plain_on_loopback`]).
pub fn connect_options(url: &str) -> Result<PgConnectOptions, sqlx::Error> {
    Ok(plain_on_loopback(url, PgConnectOptions::from_str(url)?))
}

/// A pooled connection idle at least this long is checked with a round trip before it is used.
const CHECK_IDLE_AFTER: Duration = Duration::from_secs(30);

/// TLS to a server on this very host protects nothing and costs both sides CPU on every query
/// (`sslmode=prefer`, the default, negotiates it): on a loopback address or a Unix socket, and
/// unless the URL or `PGSSLMODE` asks for a mode, connect without it.
fn plain_on_loopback(url: &str, options: PgConnectOptions) -> PgConnectOptions {
    let asked = url.contains("sslmode=") || std::env::var_os("PGSSLMODE").is_some();
    let host = options.get_host();
    let local = host.starts_with('/')
        || host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if local && !asked {
        options.ssl_mode(PgSslMode::Disable)
    } else {
        options
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(url: &str) -> PgSslMode {
        plain_on_loopback(url, PgConnectOptions::from_str(url).unwrap()).get_ssl_mode()
    }

    #[test]
    fn loopback_connections_skip_tls_unless_a_mode_is_asked_for() {
        if std::env::var_os("PGSSLMODE").is_some() {
            return; // the environment decides; nothing of ours to check
        }
        for url in [
            "postgres://postgres@127.0.0.1:5432/fw",
            "postgres://postgres@localhost/fw",
            "postgres://postgres@[::1]:5432/fw",
            "postgres:///fw?host=/var/run/postgresql",
        ] {
            assert!(matches!(mode(url), PgSslMode::Disable), "{url}");
        }
        assert!(matches!(
            mode("postgres://postgres@db.example.com/fw"),
            PgSslMode::Prefer
        ));
        assert!(matches!(
            mode("postgres://postgres@127.0.0.1/fw?sslmode=require"),
            PgSslMode::Require
        ));
    }
}
