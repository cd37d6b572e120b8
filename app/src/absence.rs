//! The absence watcher: turns silence into exits, as actor `system:absence-watcher`.

use std::time::Duration;

use crate::{Actor, App, CommandContext};

#[derive(Debug, Clone, Copy)]
pub struct AbsencePolicy {
    /// Seconds without a sighting after which a present employee counts as gone.
    pub present_timeout_sec: u32,
    /// How often to look.
    pub check_every: Duration,
}

/// Runs [`App::check_absences`] every `policy.check_every` until `shutdown` resolves.
pub async fn watch(
    app: App,
    policy: AbsencePolicy,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let app = &app;
    crate::periodic::every(policy.check_every, shutdown, move || async move {
        let ctx = CommandContext::new(Actor::system("absence-watcher"));
        if let Err(e) = app.check_absences(&ctx, policy.present_timeout_sec).await {
            tracing::error!(error = &e as &dyn std::error::Error, "absence check failed");
        }
    })
    .await
}
