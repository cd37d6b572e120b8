//! Housekeeping of bookkeeping tables (not facts, so not events): idempotency keys answer retries
//! for a window, then they are forgotten, so the table stays bounded by the write rate × window.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{App, Result};

/// How often expired keys are deleted.
const EVERY: Duration = Duration::from_secs(3600);

impl App {
    /// Forgets the idempotency keys recorded before `before`; returns how many. A retry that comes
    /// after its key was forgotten is a new request.
    pub async fn forget_idempotency_keys(&self, before: DateTime<Utc>) -> Result<u64> {
        Ok(facewatch_store::forget_idempotency_keys(self.pool(), before).await?)
    }
}

/// Forgets idempotency keys older than `keep`, hourly, until `shutdown` resolves.
pub async fn expire_idempotency_keys(
    app: App,
    keep: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let app = &app;
    crate::periodic::every(EVERY, shutdown, move || async move {
        match app.forget_idempotency_keys(Utc::now() - keep).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(keys = n, "forgot expired idempotency keys"),
            Err(e) => tracing::error!(
                error = &e as &dyn std::error::Error,
                "expiring idempotency keys failed"
            ),
        }
    })
    .await
}
