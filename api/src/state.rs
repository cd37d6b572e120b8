use std::sync::Arc;

use chrono::{DateTime, Utc};
use facewatch_projections::Projector;
use facewatch_store::EventStore;
use sqlx::PgPool;

/// Everything a request handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: EventStore,
    projector: Projector,
    started_at: DateTime<Utc>,
}

impl AppState {
    pub fn new(store: EventStore, projector: Projector) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                projector,
                started_at: Utc::now(),
            }),
        }
    }

    pub fn store(&self) -> &EventStore {
        &self.inner.store
    }

    pub fn pool(&self) -> &PgPool {
        self.inner.store.pool()
    }

    pub fn projector(&self) -> &Projector {
        &self.inner.projector
    }

    pub fn started_at(&self) -> DateTime<Utc> {
        self.inner.started_at
    }
}
