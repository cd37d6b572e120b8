//! The use-case layer: the **only** code that executes commands on the event store. GraphQL and
//! REST resolvers, the camera forwarder, the absence watcher, user management, the CLI and the demo
//! call it. Every command carries a [`CommandContext`] (actor, correlation id, idempotency key, now);
//! cross-aggregate rules (employee active, camera enabled, code unique, last admin) live here.
//!
//! Reads stay with the read models: a write returns once this process's projector has applied it
//! (bounded wait, [`AppError::Stored`] past it), so the answer shows the write without the request
//! projecting anything itself.

pub mod absence;
mod alerts;
pub mod audits;
mod cameras;
mod context;
mod employees;
mod error;
mod faces;
pub mod housekeeping;
mod input;
mod maintenance;
pub mod passwords;
pub mod periodic;
mod presence;
pub mod reports;
mod schedule;
pub mod sessions;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod users;
mod visitors;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use facewatch_domain::camera::StreamScheme;
use facewatch_projections::Projector;
use facewatch_store::{Aggregate, EventStore, Outcome, PgPool};
use tokio::sync::watch;

pub use cameras::CameraInput;
pub use context::{Actor, CommandContext, InvalidActor, MAX_IDEMPOTENCY_KEY_LEN};
pub use employees::{EmployeeInput, FaceEmbedder, FacePhotos};
pub use error::{AppError, ConfirmReason, Result};
pub use faces::FaceEnrolment;
pub use facewatch_store::Outcome as CommandOutcome;
pub use presence::{AttendanceCorrection, SightingInput};
pub use schedule::{DayHoursInput, ScheduleInput};
pub use visitors::{UnknownFaceInput, TEMPLATES_PER_VISITOR};

/// Camera URL schemes accepted unless the server's configuration says otherwise.
pub const DEFAULT_STREAM_SCHEMES: [StreamScheme; 2] = [StreamScheme::Rtsp, StreamScheme::Rtsps];

/// How long a write waits for the read models by default before answering [`AppError::Stored`].
pub const DEFAULT_READ_WAIT: Duration = Duration::from_secs(10);

/// How long a rule check may trust this process's memory of an aggregate; see `App::load_for_check`.
pub const RULE_CHECK_MAX_AGE: Duration = Duration::from_secs(1);

/// The application; cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    store: EventStore,
    projector: Projector,
    applied: watch::Receiver<i64>,
    read_wait: Duration,
    embedder: Option<Arc<dyn FaceEmbedder>>,
    passwords: passwords::Passwords,
    sessions: sessions::SessionMemory,
    stream_schemes: Vec<StreamScheme>,
}

impl App {
    /// `projector` must be running (or be run by the caller) in this process: writes wait for it.
    pub fn new(store: EventStore, projector: Projector) -> Self {
        Self {
            inner: Arc::new(Inner {
                applied: projector.applied(),
                store,
                projector,
                read_wait: DEFAULT_READ_WAIT,
                embedder: None,
                passwords: passwords::Passwords::default(),
                sessions: Default::default(),
                stream_schemes: DEFAULT_STREAM_SCHEMES.to_vec(),
            }),
        }
    }

    /// Builder steps: only valid before the app is shared (cloned).
    fn edit(mut self, f: impl FnOnce(&mut Inner)) -> Self {
        f(Arc::get_mut(&mut self.inner).expect("configure App before cloning it"));
        self
    }

    /// How long a write waits for the read models before answering [`AppError::Stored`].
    pub fn with_read_wait(self, wait: Duration) -> Self {
        self.edit(|i| i.read_wait = wait)
    }

    /// Face photos can be enrolled once the face models are loaded.
    pub fn with_embedder(self, embedder: Arc<dyn FaceEmbedder>) -> Self {
        self.edit(|i| i.embedder = Some(embedder))
    }

    /// The camera URL schemes this server accepts (default [`DEFAULT_STREAM_SCHEMES`]): a
    /// `file://` or internal `http://` source reads the server's own files and network.
    pub fn with_stream_schemes(self, schemes: Vec<StreamScheme>) -> Self {
        self.edit(|i| i.stream_schemes = schemes)
    }

    pub fn stream_schemes(&self) -> &[StreamScheme] {
        &self.inner.stream_schemes
    }

    pub fn pool(&self) -> &PgPool {
        self.inner.store.pool()
    }

    pub fn projector(&self) -> &Projector {
        &self.inner.projector
    }

    pub fn passwords(&self) -> &passwords::Passwords {
        &self.inner.passwords
    }

    /// Sessions checked a moment ago (see [`sessions`]).
    pub fn sessions(&self) -> &sessions::SessionMemory {
        &self.inner.sessions
    }

    /// Runs one command; `step` names it within the request (for its idempotency key).
    async fn execute<A>(
        &self,
        ctx: &CommandContext,
        step: &str,
        id: &str,
        command: A::Command,
    ) -> Result<Outcome>
    where
        A: Aggregate<Services = ()>,
        A::Command: Clone,
        A::Error: Send + Sync + 'static,
    {
        input::check_id(id)?;
        let outcome = self
            .inner
            .store
            .execute::<A>(id, command, &ctx.metadata(step))
            .await?;
        if let Outcome::Duplicate { position } = outcome {
            tracing::info!(
                aggregate = A::TYPE,
                id,
                position,
                step,
                "idempotent retry: nothing appended"
            );
        }
        Ok(outcome)
    }

    /// The current state of an aggregate (for cross-aggregate checks).
    async fn load<A>(&self, id: &str) -> Result<A>
    where
        A: Aggregate<Services = ()>,
        A::Error: Send + Sync + 'static,
    {
        input::check_id(id)?;
        Ok(self.inner.store.load::<A>(id).await?)
    }

    /// The state of an aggregate for a rule check on a hot path (is the camera enabled, is the
    /// employee active): from memory if this process knew it current within [`RULE_CHECK_MAX_AGE`].
    /// Such a check races with the change it guards against anyway; this only widens the window for
    /// changes made by another process.
    async fn load_for_check<A>(&self, id: &str) -> Result<A>
    where
        A: Aggregate<Services = ()>,
        A::Error: Send + Sync + 'static,
    {
        Ok(self
            .inner
            .store
            .load_within::<A>(id, RULE_CHECK_MAX_AGE)
            .await?)
    }

    /// Waits until the read models include `outcomes` (bounded): after this, queries show them.
    pub async fn settle(&self, outcomes: &[Outcome]) -> Result<()> {
        let Some(position) = outcomes.iter().filter_map(|o| o.position()).max() else {
            return Ok(());
        };
        let mut applied = self.inner.applied.clone();
        let reached = applied.wait_for(|p| *p >= position);
        let reached = tokio::time::timeout(self.inner.read_wait, reached)
            .await
            .is_ok_and(|r| r.is_ok());
        if !reached {
            tracing::warn!(position, "read models behind the log: answering 'stored'");
            return Err(AppError::Stored { position });
        }
        Ok(())
    }
}
