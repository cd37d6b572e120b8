//! The broker connection: one task drives `rumqttc`'s event loop (reconnecting with backoff, a
//! last will of `offline` on `{prefix}/status`), counts what the broker has acknowledged, and
//! hands incoming command messages over. [`Link::publish_confirmed`] answers only once the broker
//! has acknowledged every message (QoS 1) in one session, so the caller can forget them; a
//! dropped connection makes it fail, and the caller sends them again. Every publish goes through
//! it, one batch at a time, so that the acknowledgement count belongs to that batch.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{
    AsyncClient, ConnectionError, Event, EventLoop, LastWill, MqttOptions, Outgoing, Packet, QoS,
    TlsConfiguration, Transport,
};
use tokio::sync::{mpsc, watch};

use crate::settings::{BrokerAddress, MqttSettings};

/// Longest pause between two connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long the broker may take to acknowledge a batch before it is sent again.
const ACK_PATIENCE: Duration = Duration::from_secs(10);
/// How long a clean stop waits for the DISCONNECT to go out.
const CLOSE_PATIENCE: Duration = Duration::from_secs(2);
/// Requests queued towards the event loop (a batch of the publisher fits).
const REQUEST_QUEUE: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("not connected to the MQTT broker")]
    NotConnected,
    #[error("the MQTT connection dropped before the broker acknowledged the messages")]
    Dropped,
    #[error("the MQTT broker did not acknowledge the messages within {0:?}")]
    Unacknowledged(Duration),
    #[error("queueing an MQTT request failed: {0}")]
    Client(#[from] rumqttc::ClientError),
}

/// What the connection task reports.
#[derive(Debug, Clone, Default)]
struct LinkState {
    /// Incremented on every successful connect.
    session: u64,
    connected: bool,
    /// Publishes written in this session, and those of them the broker has not acknowledged.
    sent: u64,
    unacked: usize,
}

/// One message to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub topic: String,
    pub payload: String,
    pub retain: bool,
}

#[derive(Clone)]
pub struct Link {
    client: AsyncClient,
    state: watch::Receiver<LinkState>,
    status_topic: String,
    /// One batch in flight at a time.
    gate: Arc<tokio::sync::Mutex<()>>,
    /// The session `online` was last published in.
    announced: Arc<std::sync::atomic::AtomicU64>,
    /// Tells the connection task to stop (also while it is waiting to reconnect).
    closing: Arc<watch::Sender<bool>>,
}

/// A command message received on a subscribed topic.
pub type Incoming = rumqttc::Publish;

impl Link {
    /// Starts the connection task. Messages on `subscriptions` arrive on the returned receiver.
    pub fn start(
        settings: &MqttSettings,
        broker: &BrokerAddress,
        subscriptions: Vec<String>,
    ) -> Result<(Self, mpsc::Receiver<Incoming>), rustls::Error> {
        let status_topic = format!("{}/status", settings.topic_prefix);
        let mut options = MqttOptions::new(&settings.client_id, &broker.host, broker.port);
        options
            .set_keep_alive(Duration::from_secs(30))
            .set_clean_session(true)
            .set_last_will(LastWill::new(
                &status_topic,
                "offline",
                QoS::AtLeastOnce,
                true,
            ));
        if let Some(username) = &settings.username {
            options.set_credentials(username, settings.password.clone().unwrap_or_default());
        }
        if broker.tls {
            options.set_transport(Transport::tls_with_config(tls_config()?));
        }
        let (client, eventloop) = AsyncClient::new(options, REQUEST_QUEUE);
        let (state_tx, state) = watch::channel(LinkState::default());
        let (incoming_tx, incoming) = mpsc::channel(64);
        let (closing, closed) = watch::channel(false);
        let driver = Driver {
            closed,
            client: client.clone(),
            state: state_tx,
            incoming: incoming_tx,
            subscriptions,
            address: format!("{}:{}", broker.host, broker.port),
        };
        tokio::spawn(driver.run(eventloop));
        let link = Self {
            client,
            state,
            status_topic,
            gate: Arc::default(),
            announced: Arc::default(),
            closing: Arc::new(closing),
        };
        Ok((link, incoming))
    }

    pub fn connected(&self) -> bool {
        self.state.borrow().connected
    }

    /// Publishes the retained `online` status once per session (a new session follows a
    /// reconnect, when the broker may have sent the last will).
    pub async fn announce(&self) -> Result<(), LinkError> {
        use std::sync::atomic::Ordering;
        let session = self.state.borrow().session;
        if self.announced.load(Ordering::SeqCst) == session {
            return Ok(());
        }
        let online = Message {
            topic: self.status_topic.clone(),
            payload: "online".into(),
            retain: true,
        };
        self.publish_confirmed(&[online]).await?;
        self.announced.store(session, Ordering::SeqCst);
        Ok(())
    }

    /// Publishes `messages` (QoS 1) and waits until the broker has acknowledged all of them.
    pub async fn publish_confirmed(&self, messages: &[Message]) -> Result<(), LinkError> {
        let _one_batch_at_a_time = self.gate.lock().await;
        let start = self.state.borrow().clone();
        if !start.connected {
            return Err(LinkError::NotConnected);
        }
        for m in messages {
            self.client
                .publish(&m.topic, QoS::AtLeastOnce, m.retain, m.payload.as_bytes())
                .await?;
        }
        let goal = start.sent + messages.len() as u64;
        let mut state = self.state.clone();
        let confirmed = async {
            let done = state.wait_for(|s| {
                s.session != start.session || !s.connected || (s.sent >= goal && s.unacked == 0)
            });
            done.await
                .map(|s| s.session == start.session && s.connected)
        };
        match tokio::time::timeout(ACK_PATIENCE, confirmed).await {
            Ok(Ok(true)) => Ok(()),
            Ok(_) => Err(LinkError::Dropped),
            Err(_) => Err(LinkError::Unacknowledged(ACK_PATIENCE)),
        }
    }

    /// Says goodbye: `offline` on the status topic (what the last will would say), then a clean
    /// disconnect.
    pub async fn close(&self) {
        if self.connected() {
            let offline = Message {
                topic: self.status_topic.clone(),
                payload: "offline".into(),
                retain: true,
            };
            if let Err(e) = self.publish_confirmed(&[offline]).await {
                tracing::warn!("could not publish the MQTT offline status: {e}");
            }
        }
        let _ = self.client.disconnect().await;
        // The DISCONNECT goes out (bounded wait), then the connection task stops.
        let mut state = self.state.clone();
        let _ = tokio::time::timeout(CLOSE_PATIENCE, state.wait_for(|s| !s.connected)).await;
        self.closing.send_replace(true);
    }
}

/// TLS for `mqtts://`: the Mozilla root certificates, with the ring provider.
fn tls_config() -> Result<TlsConfiguration, rustls::Error> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConfiguration::Rustls(Arc::new(config)))
}

struct Driver {
    closed: watch::Receiver<bool>,
    client: AsyncClient,
    state: watch::Sender<LinkState>,
    incoming: mpsc::Sender<Incoming>,
    subscriptions: Vec<String>,
    address: String,
}

impl Driver {
    /// Polls the event loop until the client is dropped or disconnects.
    async fn run(mut self, mut eventloop: EventLoop) {
        let mut failures: u32 = 0;
        let mut unacked: HashSet<u16> = HashSet::new();
        loop {
            let event = tokio::select! {
                _ = self.closed.wait_for(|closed| *closed) => return,
                event = eventloop.poll() => event,
            };
            match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    if failures > 0 {
                        tracing::info!(broker = self.address, "MQTT broker reachable again");
                    } else {
                        tracing::info!(broker = self.address, "connected to the MQTT broker");
                    }
                    failures = 0;
                    unacked.clear();
                    self.state.send_modify(|s| {
                        s.session += 1;
                        s.connected = true;
                        s.sent = 0;
                        s.unacked = 0;
                    });
                    // A new session (clean start): subscriptions are made again. `try_`: this
                    // task is the one that empties the request queue.
                    for topic in &self.subscriptions {
                        if let Err(e) = self.client.try_subscribe(topic, QoS::AtLeastOnce) {
                            tracing::error!("cannot subscribe to {topic}: {e}");
                        }
                    }
                }
                Ok(Event::Outgoing(Outgoing::Publish(pkid))) => {
                    unacked.insert(pkid);
                    self.state.send_modify(|s| {
                        s.sent += 1;
                        s.unacked = unacked.len();
                    });
                }
                Ok(Event::Incoming(Packet::PubAck(ack))) => {
                    unacked.remove(&ack.pkid);
                    self.state.send_modify(|s| s.unacked = unacked.len());
                }
                Ok(Event::Incoming(Packet::Publish(publish))) => {
                    if self.incoming.try_send(publish).is_err() {
                        tracing::warn!("MQTT command queue full: a command was dropped");
                    }
                }
                Ok(Event::Outgoing(Outgoing::Disconnect)) => {
                    self.state.send_modify(|s| s.connected = false);
                    return;
                }
                Ok(_) => {}
                Err(e) => {
                    self.state.send_modify(|s| s.connected = false);
                    if matches!(e, ConnectionError::RequestsDone) {
                        return;
                    }
                    let pause = backoff(failures);
                    // Every attempt while it is new, then one line a few minutes.
                    if failures < 3 || failures % 10 == 0 {
                        tracing::warn!(
                            broker = self.address,
                            retry_in = ?pause,
                            "MQTT broker unreachable, facewatch goes on without it: {e}"
                        );
                    }
                    failures = failures.saturating_add(1);
                    tokio::select! {
                        _ = self.closed.wait_for(|closed| *closed) => return,
                        () = tokio::time::sleep(pause) => {}
                    }
                }
            }
        }
    }
}

/// 0.5 s, 1 s, 2 s, … up to [`MAX_BACKOFF`].
fn backoff(failures: u32) -> Duration {
    (Duration::from_millis(500) * 2u32.saturating_pow(failures.min(16))).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnects_back_off_up_to_a_limit() {
        assert_eq!(backoff(0), Duration::from_millis(500));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(40), MAX_BACKOFF);
    }
}
