//! `facewatch worker`: camera pipelines only. Runs the cameras it holds leases for (shared with
//! every other worker and `serve` against the same database, see `facewatch_cameras::leases`),
//! records their sightings through the application layer like any other writer, and reports their
//! health and newest frames to PostgreSQL for the API instances. It projects nothing: its view of
//! the read models (camera changes, the positions writes wait for) comes from the active
//! projector's announcements.

use std::time::Duration;

use anyhow::{ensure, Context};
use facewatch_app::App;
use facewatch_projections::{schema, Projector};
use facewatch_store::{EventStore, PgPool, READ_SCHEMA};
use tokio::sync::watch;

use crate::config::{self, Settings};
use crate::{select_decoder, stop_signal, until};

pub async fn run(settings: Settings, pool: PgPool) -> anyhow::Result<()> {
    ensure!(
        settings.cameras.max_cameras > 0,
        "cameras.max_cameras is 0: this worker would run no camera"
    );
    select_decoder(&settings)?;
    let ai = config::load_ai_params(&settings.cameras.ai_params_file)?;
    settings.presence.check_sighting_interval(&ai)?;
    let vision = facewatch_cameras::Vision::load(ai, settings.data_dir.clone())
        .context("the worker needs the face models (scripts/setup-inference.sh)")?;
    // Idempotent; lets a worker start before any `serve` on a fresh database.
    schema::install(&pool, READ_SCHEMA, false).await?;
    let projector = Projector::new(pool.clone(), READ_SCHEMA);
    let app = App::new(EventStore::new(pool), projector.clone())
        .with_read_wait(Duration::from_secs(settings.read_wait_sec.into()))
        .with_stream_schemes(settings.cameras.allowed_url_schemes.clone());
    let (stop, stopped) = watch::channel(false);
    let follow = tokio::spawn(projector.follow_others(until(stopped.clone())));
    let leases = settings.cameras.leases();
    tracing::info!(
        worker = leases.worker_id,
        max_cameras = leases.max_cameras,
        lease = ?leases.lease,
        "camera worker started"
    );
    let cameras = tokio::spawn(facewatch_cameras::supervise_leased(
        vision,
        app,
        leases,
        until(stopped),
    ));
    stop_signal().await;
    tracing::info!("camera worker stopping: giving back its cameras");
    let _ = stop.send(true);
    cameras.await?;
    follow.await?;
    Ok(())
}
