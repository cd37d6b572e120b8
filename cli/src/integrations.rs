//! The optional outbound integrations of `serve`: MQTT (`[mqtt]`) and webhooks (`[webhooks]`).
//! Each runs as its own task; a failure there is logged and never stops the rest of facewatch.

use std::future::Future;
use std::sync::Arc;

use facewatch_app::App;
use facewatch_cameras::Vision;
use facewatch_inference::StreamState;
use facewatch_mqtt::{CameraLiveness, NoCameras};
use tokio::task::JoinHandle;

use crate::config::Settings;

/// Whether a camera pipeline of this process delivers frames.
struct Liveness(Arc<Vision>);

impl CameraLiveness for Liveness {
    fn online(&self, camera_id: &str) -> bool {
        self.0
            .health(camera_id)
            .is_some_and(|h| h.state == StreamState::Online)
    }
}

/// Starts the configured integrations; each ends when `until_stopped()` resolves.
pub fn spawn<F>(
    settings: &Settings,
    app: &App,
    vision: Option<&Arc<Vision>>,
    until_stopped: impl Fn() -> F,
) -> Vec<JoinHandle<()>>
where
    F: Future<Output = ()> + Send + 'static,
{
    let mut tasks = Vec::new();
    if let Some(mqtt) = settings.mqtt.clone() {
        let cameras: Arc<dyn CameraLiveness> = match vision {
            Some(vision) => Arc::new(Liveness(vision.clone())),
            None => Arc::new(NoCameras),
        };
        let run = facewatch_mqtt::run_mqtt(app.clone(), mqtt, cameras, until_stopped());
        tasks.push(tokio::spawn(async move {
            if let Err(e) = run.await {
                tracing::error!("MQTT disabled: {e}");
            }
        }));
    }
    if let Some(webhooks) = settings.webhooks.clone() {
        if !webhooks.endpoints.is_empty() {
            let run = facewatch_mqtt::run_webhooks(app.clone(), webhooks, until_stopped());
            tasks.push(tokio::spawn(async move {
                if let Err(e) = run.await {
                    tracing::error!("webhooks disabled: {e}");
                }
            }));
        }
    }
    tasks
}
