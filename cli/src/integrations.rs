//! The optional outbound integrations of `serve`: MQTT (`[mqtt]`), webhooks (`[webhooks]`) and
//! the export of the chain head (`[audit] head_export_sec`). Each runs as its own task, on one
//! instance at a time; a failure there is logged and never stops the rest of facewatch.

use std::future::Future;
use std::sync::Arc;

use std::time::Duration;

use facewatch_app::App;
use facewatch_mqtt::CameraLiveness;
use facewatch_store::{lead, LeaderOptions};
use tokio::task::JoinHandle;

use crate::config::Settings;

/// How often a standby publisher tries to take over.
const STANDBY_CHECK: Duration = Duration::from_secs(2);

/// Starts the configured integrations; each ends when `until_stopped()` resolves.
pub fn spawn<F>(
    settings: &Settings,
    app: &App,
    cameras: Arc<dyn CameraLiveness>,
    until_stopped: impl Fn() -> F,
) -> Vec<JoinHandle<()>>
where
    F: Future<Output = ()> + Send + 'static,
{
    let mut tasks = Vec::new();
    if let Some(mqtt) = settings.mqtt.clone() {
        let app = app.clone();
        let stop = until_stopped();
        tasks.push(tokio::spawn(async move {
            let pool = app.pool().clone();
            let job = |leader: facewatch_store::LeaderStop| {
                let run = facewatch_mqtt::run_mqtt(
                    app.clone(),
                    mqtt.clone(),
                    cameras.clone(),
                    leader.wait(),
                );
                async move {
                    if let Err(e) = run.await {
                        tracing::error!("MQTT disabled: {e}");
                    }
                }
            };
            lead(&pool, options("mqtt"), job, stop).await;
        }));
    }
    let mqtt_prefix = settings.mqtt.as_ref().map(|m| m.topic_prefix.as_str());
    if let Some(export) = settings.audit.head_export(mqtt_prefix) {
        let pool = app.pool().clone();
        let stop = until_stopped();
        tasks.push(tokio::spawn(async move {
            let job = |leader: facewatch_store::LeaderStop| {
                facewatch_mqtt::chain_head::run_head_export(
                    pool.clone(),
                    export.clone(),
                    leader.wait(),
                )
            };
            lead(&pool, options("chain-head"), job, stop).await;
        }));
    }
    if let Some(webhooks) = settings.webhooks.clone() {
        if !webhooks.endpoints.is_empty() {
            let app = app.clone();
            let stop = until_stopped();
            tasks.push(tokio::spawn(async move {
                let pool = app.pool().clone();
                let job = |leader: facewatch_store::LeaderStop| {
                    let run =
                        facewatch_mqtt::run_webhooks(app.clone(), webhooks.clone(), leader.wait());
                    async move {
                        if let Err(e) = run.await {
                            tracing::error!("webhooks disabled: {e}");
                        }
                    }
                };
                lead(&pool, options("webhooks"), job, stop).await;
            }));
        }
    }
    tasks
}

fn options(name: &str) -> LeaderOptions {
    LeaderOptions {
        name: name.into(),
        check: STANDBY_CHECK,
    }
}
