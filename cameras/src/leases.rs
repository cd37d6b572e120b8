//! Camera leases: which worker runs which camera, through rows in PostgreSQL
//! (migrations/0007_scale_out.sql). With every heartbeat a worker renews its own row and its
//! leases, works out its quota from the live workers' capacities ([`crate::balance`]), gives back
//! cameras above it (the caller stops them first) and claims free or expired ones below it. A dead
//! worker's leases expire after the lease time and the others take its cameras over. A worker that
//! cannot renew stops its cameras once its leases may have expired (it fences itself), so a camera
//! never runs twice for longer than one heartbeat's clock drift.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use sqlx::PgPool;

use crate::balance;

/// How a process takes part in running the cameras.
#[derive(Debug, Clone)]
pub struct LeaseSettings {
    /// Unique per process (see [`LeaseSettings::new_worker_id`]).
    pub worker_id: String,
    /// The most cameras this process runs.
    pub max_cameras: usize,
    /// How long a lease lasts without renewal: a dead worker's cameras move within it (plus one
    /// heartbeat).
    pub lease: Duration,
}

impl LeaseSettings {
    /// A worker id unique to this process: host name, process id and a random part.
    pub fn new_worker_id() -> String {
        let host = host_name();
        let random = uuid_part();
        format!("{host}-{}-{random}", std::process::id())
    }

    /// How often leases are renewed: five times per lease, so that a slow heartbeat or two never
    /// lets a lease lapse.
    pub fn heartbeat(&self) -> Duration {
        (self.lease / 5).max(Duration::from_millis(100))
    }
}

fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

fn uuid_part() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{:x}",
        (nanos as u64) ^ (u64::from(std::process::id()) << 32)
    )
}

/// What to do after a heartbeat.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Plan {
    /// The cameras this worker runs now.
    pub run: BTreeSet<String>,
    /// Cameras to stop and then give back with [`Leases::release`].
    pub release: Vec<String>,
}

pub(crate) struct Leases {
    pool: PgPool,
    settings: LeaseSettings,
    held: BTreeSet<String>,
    /// Until when the leases renewed last are surely ours (measured from before the renewal).
    valid_until: Option<Instant>,
}

impl Leases {
    pub fn new(pool: PgPool, settings: LeaseSettings) -> Self {
        Self {
            pool,
            settings,
            held: BTreeSet::new(),
            valid_until: None,
        }
    }

    pub fn settings(&self) -> &LeaseSettings {
        &self.settings
    }

    /// Whether the leases may have lapsed (no successful renewal within the lease time).
    pub fn lapsed(&self) -> bool {
        self.valid_until.is_none_or(|until| Instant::now() >= until)
    }

    /// Renews, rebalances and claims, given the enabled cameras.
    pub async fn heartbeat(&mut self, enabled: &BTreeSet<String>) -> Result<Plan, sqlx::Error> {
        let sent = Instant::now();
        let (me, lease_ms) = (
            &self.settings.worker_id,
            self.settings.lease.as_millis() as i64,
        );
        sqlx::query(
            "INSERT INTO camera_workers (worker_id, host, max_cameras, expires_at)
             VALUES ($1, $2, $3, now() + $4 * interval '1 millisecond')
             ON CONFLICT (worker_id) DO UPDATE
             SET expires_at = EXCLUDED.expires_at, max_cameras = EXCLUDED.max_cameras",
        )
        .bind(me)
        .bind(host_name())
        .bind(self.settings.max_cameras as i32)
        .bind(lease_ms)
        .execute(&self.pool)
        .await?;
        let renewed: Vec<String> = sqlx::query_scalar(
            "UPDATE camera_leases SET expires_at = now() + $2 * interval '1 millisecond'
             WHERE worker_id = $1 RETURNING camera_id",
        )
        .bind(me)
        .bind(lease_ms)
        .fetch_all(&self.pool)
        .await?;
        self.valid_until = Some(sent + self.settings.lease);
        self.held = renewed.into_iter().collect();

        let workers: Vec<(String, i32)> = sqlx::query_as(
            "SELECT worker_id, max_cameras FROM camera_workers
             WHERE expires_at > now() ORDER BY worker_id",
        )
        .fetch_all(&self.pool)
        .await?;
        let capacities: Vec<usize> = workers.iter().map(|(_, c)| *c as usize).collect();
        let quotas = balance::quotas(&capacities, enabled.len());
        let quota = workers
            .iter()
            .position(|(id, _)| id == me)
            .map_or(0, |i| quotas[i]);

        // Cameras no longer enabled, then those above the quota (the last by id).
        let mut release: Vec<String> = self.held.difference(enabled).cloned().collect();
        let mut keep: Vec<String> = self.held.intersection(enabled).cloned().collect();
        while keep.len() > quota {
            release.extend(keep.pop());
        }
        let mut run: BTreeSet<String> = keep.into_iter().collect();
        if run.len() < quota {
            let candidates: Vec<String> = enabled.difference(&self.held).cloned().collect();
            let free: Vec<String> = sqlx::query_scalar(
                "SELECT id FROM unnest($1::text[]) AS id
                 WHERE NOT EXISTS (SELECT 1 FROM camera_leases l
                                   WHERE l.camera_id = id AND l.expires_at > now())
                 ORDER BY id",
            )
            .bind(&candidates)
            .fetch_all(&self.pool)
            .await?;
            for camera in free {
                if run.len() >= quota {
                    break;
                }
                if self.claim(&camera).await? {
                    tracing::info!(camera, worker = me, "camera lease taken");
                    self.held.insert(camera.clone());
                    run.insert(camera);
                }
            }
        }
        Ok(Plan { run, release })
    }

    /// Takes `camera` unless a live lease of another worker holds it.
    async fn claim(&self, camera: &str) -> Result<bool, sqlx::Error> {
        let claimed: Option<String> = sqlx::query_scalar(
            "INSERT INTO camera_leases (camera_id, worker_id, expires_at)
             VALUES ($1, $2, now() + $3 * interval '1 millisecond')
             ON CONFLICT (camera_id) DO UPDATE
             SET worker_id = EXCLUDED.worker_id, expires_at = EXCLUDED.expires_at,
                 acquired_at = now()
             WHERE camera_leases.expires_at <= now() OR camera_leases.worker_id = EXCLUDED.worker_id
             RETURNING camera_id",
        )
        .bind(camera)
        .bind(&self.settings.worker_id)
        .bind(self.settings.lease.as_millis() as i64)
        .fetch_optional(&self.pool)
        .await?;
        Ok(claimed.is_some())
    }

    /// Gives back cameras this worker has stopped, for others to take at once.
    pub async fn release(&mut self, cameras: &[String]) -> Result<(), sqlx::Error> {
        if cameras.is_empty() {
            return Ok(());
        }
        let me = &self.settings.worker_id;
        sqlx::query("DELETE FROM camera_leases WHERE worker_id = $1 AND camera_id = ANY($2)")
            .bind(me)
            .bind(cameras)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM camera_status WHERE worker_id = $1 AND camera_id = ANY($2)")
            .bind(me)
            .bind(cameras)
            .execute(&self.pool)
            .await?;
        for camera in cameras {
            self.held.remove(camera);
            tracing::info!(camera, worker = me, "camera lease given back");
        }
        Ok(())
    }

    /// Leaves: gives back every lease and the worker row (on a clean stop; a killed worker's rows
    /// simply expire).
    pub async fn leave(&mut self) -> Result<(), sqlx::Error> {
        let held: Vec<String> = self.held.iter().cloned().collect();
        self.release(&held).await?;
        sqlx::query("DELETE FROM camera_workers WHERE worker_id = $1")
            .bind(&self.settings.worker_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
