//! Outbound integrations of `facewatch serve`, each a follower of the event log with its own
//! cursor (the shared driver is `facewatch_store::follow_log`):
//! - **MQTT** ([`run_mqtt`]): retained presence, attendance, camera and monitoring state, alerts,
//!   Home Assistant discovery, and opt-in schedule commands; see README "MQTT, Home Assistant and
//!   webhooks" for the topics and payloads.
//! - **Webhooks** ([`run_webhooks`]): signed JSON POSTs per notice type, retried with backoff,
//!   with a dead-letter list.
//! - **Chain head export** ([`chain_head::run_head_export`]): the event log's hash-chain head,
//!   signed with Ed25519, to the log and (through the MQTT outbox) as a retained message.
//!
//! Both keep their delivery state in PostgreSQL (migrations/0005_integrations.sql), so a broker
//! or receiver that is down, a dropped connection or a restart loses nothing; facewatch itself
//! keeps working while they are unreachable.

pub mod chain_head;
mod commands;
mod link;
pub mod notices;
mod outbox;
mod publisher;
pub mod settings;
pub mod topics;
pub mod webhooks;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use facewatch_app::App;
use facewatch_store::{follow_log, FollowOptions};

pub use settings::{MqttSettings, SettingsError, WebhookEndpoint, WebhookSettings};
pub use topics::{CameraLiveness, NoCameras};

use crate::link::Link;
use crate::outbox::Outbox;
use crate::publisher::{PublishError, Publisher};
use crate::topics::Topics;
use crate::webhooks::{Deliveries, WebhookError, WebhookPublisher};

/// Pause after a failed step of a publisher.
const RETRY: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("cannot set up TLS for the MQTT broker: {0}")]
    Tls(#[from] rustls::Error),
    #[error("cannot start the MQTT publisher: {0}")]
    Mqtt(#[from] PublishError),
    #[error("cannot start the webhook publisher: {0}")]
    Webhooks(#[from] WebhookError),
}

/// Publishes to the MQTT broker (and takes schedule commands, if enabled) until `stop`
/// resolves. An unreachable broker is retried with backoff; what happens meanwhile is kept and
/// published once it is reachable.
pub async fn run_mqtt(
    app: App,
    settings: MqttSettings,
    cameras: Arc<dyn CameraLiveness>,
    stop: impl Future<Output = ()> + Send,
) -> Result<(), StartError> {
    let broker = settings.validate()?;
    let topics = Topics::new(&settings);
    let subscriptions = if settings.commands {
        vec![topics.schedule_set()]
    } else {
        Vec::new()
    };
    let (link, incoming) = Link::start(&settings, &broker, subscriptions)?;
    let pool = app.pool().clone();
    let mut publisher = Publisher::load(
        Outbox::new(pool.clone()),
        app.projector().clone(),
        link.clone(),
        topics.clone(),
        cameras,
        Duration::from_secs(settings.refresh_sec),
    )
    .await?;
    tracing::info!(
        broker = format!("{}:{}", broker.host, broker.port),
        prefix = settings.topic_prefix,
        commands = settings.commands,
        "MQTT publisher started"
    );
    let commands = tokio::spawn(commands::serve(app, link.clone(), topics, incoming));
    let options = FollowOptions {
        name: "mqtt",
        idle: Duration::from_secs(60),
        retry: RETRY,
    };
    follow_log(&pool, options, &mut publisher, stop).await;
    commands.abort();
    link.close().await;
    tracing::info!("MQTT publisher stopped");
    Ok(())
}

/// Delivers webhooks until `stop` resolves.
pub async fn run_webhooks(
    app: App,
    settings: WebhookSettings,
    stop: impl Future<Output = ()> + Send,
) -> Result<(), StartError> {
    let pool = app.pool().clone();
    let endpoints = settings.endpoints.len();
    let mut publisher = WebhookPublisher::load(
        Deliveries::new(pool.clone()),
        app.projector().clone(),
        settings,
    )
    .await?;
    tracing::info!(endpoints, "webhook publisher started");
    let options = FollowOptions {
        name: "webhooks",
        idle: Duration::from_secs(60),
        retry: RETRY,
    };
    follow_log(&pool, options, &mut publisher, stop).await;
    Ok(())
}
