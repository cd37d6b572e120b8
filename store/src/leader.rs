//! "Exactly one at a time" for the jobs that must not run twice across processes (the projector
//! of a read-model schema, the MQTT and webhook publishers): the job runs only while this process
//! holds a PostgreSQL session advisory lock, taken on a connection of its own. When the process
//! dies, or its connection does, PostgreSQL releases the lock and a standby takes over at its next
//! try. The lock is a guard against duplicated work, not the only line of defence: each job still
//! commits its progress with its checkpoint, so a moment of overlap cannot apply anything twice.

use std::future::Future;
use std::time::Duration;

use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::watch;

/// How a job takes turns.
#[derive(Debug, Clone)]
pub struct LeaderOptions {
    /// The lock's name (one lock per name and database), e.g. `projector:read`.
    pub name: String,
    /// How often a standby tries to take over, and the leader checks its lock connection.
    pub check: Duration,
}

/// Runs `job` whenever this process holds the lock `options.name`, until `stop` resolves. `job`
/// gets a future that resolves when it should end (stop requested); when the lock connection is
/// lost, the job is dropped at once (it no longer owns the work) and this process stands by again.
pub async fn lead<J, F>(
    pool: &PgPool,
    options: LeaderOptions,
    mut job: J,
    stop: impl Future<Output = ()>,
) where
    J: FnMut(LeaderStop) -> F,
    F: Future<Output = ()>,
{
    tokio::pin!(stop);
    let name = options.name.as_str();
    let mut standing_by = false;
    // A standby keeps its connection and asks again on it.
    let mut session: Option<PgConnection> = None;
    loop {
        let acquired = tokio::select! {
            biased;
            () = &mut stop => return,
            acquired = try_lock(pool, &mut session, name) => acquired,
        };
        let pause = match acquired {
            Ok(true) => None,
            Ok(false) => {
                if !standing_by {
                    tracing::info!(job = name, "another process runs this job: standing by");
                    standing_by = true;
                }
                Some(options.check)
            }
            Err(e) => {
                tracing::warn!(job = name, "cannot take the job's lock, retrying: {e}");
                session = None;
                Some(options.check)
            }
        };
        if let Some(pause) = pause {
            tokio::select! {
                biased;
                () = &mut stop => return,
                () = tokio::time::sleep(pause) => continue,
            }
        }
        let Some(mut conn) = session.take() else {
            continue;
        };
        standing_by = false;
        tracing::info!(job = name, "this process runs the job now");
        let (stop_job, job_stopped) = watch::channel(false);
        let run = job(LeaderStop(job_stopped));
        tokio::pin!(run);
        let lost = async {
            loop {
                tokio::time::sleep(options.check).await;
                if let Err(e) = sqlx::query("SELECT 1").execute(&mut conn).await {
                    return e;
                }
            }
        };
        tokio::select! {
            () = &mut run => {
                let _ = conn.close().await;
                return;
            }
            e = lost => {
                tracing::warn!(job = name, "lost the job's lock connection, standing by: {e}");
                continue;
            }
            () = &mut stop => {
                let _ = stop_job.send(true);
                run.await;
                // Closing the session releases the lock for a standby at once.
                let _ = conn.close().await;
                return;
            }
        }
    }
}

/// Resolves when the leader's job should end.
pub struct LeaderStop(watch::Receiver<bool>);

impl LeaderStop {
    pub async fn wait(mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// Tries to take the lock `name` on `session` (connected first if needed): `false` when another
/// session holds it.
async fn try_lock(
    pool: &PgPool,
    session: &mut Option<PgConnection>,
    name: &str,
) -> Result<bool, sqlx::Error> {
    let conn = match session {
        Some(conn) => conn,
        None => session.insert(PgConnection::connect_with(&pool.connect_options()).await?),
    };
    sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext($1)::bigint)")
        .bind(format!("facewatch:{name}"))
        .fetch_one(conn)
        .await
}
