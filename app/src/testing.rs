//! Test support shared by every crate's tests (feature `testing`): an [`App`] on a scratch
//! database with its projector running, as `facewatch serve` runs it.

use facewatch_projections::{schema, Projector};
use facewatch_store::{EventStore, ScratchDatabase, READ_SCHEMA};
use tokio::sync::watch;

use crate::{Actor, App, CommandContext};

pub struct TestApp {
    pub app: App,
    pub db: ScratchDatabase,
    stop: watch::Sender<bool>,
    projector: tokio::task::JoinHandle<()>,
}

impl TestApp {
    /// A fresh database (named after `prefix`), read models installed, projector following.
    pub async fn spawn(prefix: &str) -> Self {
        Self::spawn_with(prefix, |app| app).await
    }

    /// As [`TestApp::spawn`], with `configure` applied to the app (e.g. allowing `file://`
    /// camera URLs as the demo's configuration does).
    pub async fn spawn_with(prefix: &str, configure: impl FnOnce(App) -> App) -> Self {
        let db = ScratchDatabase::create(prefix)
            .await
            .expect("create a scratch database (is PostgreSQL running on 127.0.0.1:5432?)");
        schema::install(&db.pool, READ_SCHEMA, false)
            .await
            .expect("install the read models");
        let projector = Projector::new(db.pool.clone(), READ_SCHEMA);
        let app = configure(App::new(
            EventStore::new(db.pool.clone()),
            projector.clone(),
        ));
        let (stop, mut stopped) = watch::channel(false);
        let projector = tokio::spawn(projector.run(async move {
            let _ = stopped.wait_for(|s| *s).await;
        }));
        Self {
            app,
            db,
            stop,
            projector,
        }
    }

    /// A command context for an admin user.
    pub fn admin(&self) -> CommandContext {
        CommandContext::new(Actor::user("admin"))
    }

    /// Stops the projector and drops the database.
    pub async fn finish(self) {
        let _ = self.stop.send(true);
        let _ = self.projector.await;
        self.db.drop().await.expect("drop the scratch database");
    }
}
