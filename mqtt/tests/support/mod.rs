//! The world the MQTT and webhook tests run in: a scratch database written through the
//! application layer, the real Mosquitto on 127.0.0.1:1883 under a topic prefix of its own, a
//! watching MQTT client, a TCP proxy that can drop the publisher's connection, and the
//! publishers started and stopped in-process.
#![allow(dead_code)] // each test uses a different part of it

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use facewatch_app::testing::TestApp;
use facewatch_app::{Actor, App, CameraInput, CommandContext, EmployeeInput, SightingInput};
use facewatch_domain::schedule::Mode;
use facewatch_mqtt::{CameraLiveness, MqttSettings};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

pub const BROKER: (&str, u16) = ("127.0.0.1", 1883);
/// How long any expected outcome may take to show up.
pub const PATIENCE: Duration = Duration::from_secs(20);

pub struct World {
    pub test: TestApp,
    /// Unique per test: `fwtest_{random}`.
    pub prefix: String,
    pub discovery: String,
    ids: Mutex<BTreeMap<String, String>>,
}

impl World {
    pub async fn new(name: &str) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("facewatch_mqtt=debug,facewatch_store=info,warn")
            .try_init();
        let unique = &uuid::Uuid::new_v4().simple().to_string()[..10];
        Self {
            test: TestApp::spawn(&format!("fw_{name}")).await,
            prefix: format!("fwtest_{unique}/facewatch"),
            discovery: format!("fwtest_{unique}/homeassistant"),
            ids: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn app(&self) -> &App {
        &self.test.app
    }

    pub fn mqtt_settings(&self, port: u16) -> MqttSettings {
        MqttSettings {
            url: format!("mqtt://127.0.0.1:{port}"),
            topic_prefix: self.prefix.clone(),
            discovery_prefix: self.discovery.clone(),
            client_id: format!("facewatch-{}", uuid::Uuid::new_v4().simple()),
            ..MqttSettings::default()
        }
    }

    /// Starts the publisher and returns once it has its cursor (see [`World::until_cursor`]).
    pub async fn start_mqtt(
        &self,
        settings: MqttSettings,
        cameras: Arc<dyn CameraLiveness>,
    ) -> Running {
        let (stop, stopped) = oneshot::channel::<()>();
        let run = facewatch_mqtt::run_mqtt(self.app().clone(), settings, cameras, async {
            let _ = stopped.await;
        });
        let running = Running {
            stop,
            task: tokio::spawn(async move { run.await.unwrap() }),
        };
        self.until_cursor("mqtt").await;
        running
    }

    /// Waits until publisher `name` has its cursor: on its very first start it begins at the head
    /// of the log, so what a test writes before that would not be published.
    pub async fn until_cursor(&self, name: &str) {
        let pool = self.app().pool().clone();
        eventually("the publisher's cursor", || async {
            sqlx::query("SELECT 1 FROM integration_cursors WHERE name = $1")
                .bind(name)
                .fetch_optional(&pool)
                .await
                .unwrap()
                .is_some()
        })
        .await;
    }

    pub fn topic(&self, rest: &str) -> String {
        format!("{}/{rest}", self.prefix)
    }

    pub fn id(&self, short: &str) -> String {
        self.ids.lock().unwrap()[short].clone()
    }

    /// An admin acting at `now`.
    pub fn admin_at(&self, now: DateTime<Utc>) -> CommandContext {
        CommandContext::new(Actor::user("admin")).with_now(now)
    }

    pub async fn enrol(&self, short: &str) {
        let input = EmployeeInput {
            name: format!("Employee {short}"),
            code: format!("C-{short}"),
            department: "Ops".into(),
        };
        let ctx = self.admin_at(Utc::now() - TimeDelta::hours(2));
        let employee = self.app().enroll_employee(&ctx, input).await.unwrap();
        self.ids.lock().unwrap().insert(short.into(), employee.id);
    }

    pub async fn add_camera(&self, id: &str) {
        let camera = CameraInput {
            id: Some(id.into()),
            name: format!("Camera {id}"),
            location: "Lobby".into(),
            stream_url: "rtsp://10.0.0.9/stream".into(),
            enabled: true,
        };
        let ctx = self.admin_at(Utc::now() - TimeDelta::hours(2));
        self.app().add_camera(&ctx, camera).await.unwrap();
    }

    /// Manual mode with tracking on: every exit is an alert, whatever the time of day.
    pub async fn always_monitor(&self) {
        let ctx = self.admin_at(Utc::now() - TimeDelta::minutes(90));
        self.app()
            .set_schedule_mode(&ctx, Mode::Manual)
            .await
            .unwrap();
        self.app().set_manual_tracking(&ctx, true).await.unwrap();
    }

    pub async fn seen(&self, short: &str, at: DateTime<Utc>) {
        let sighting = SightingInput {
            employee_id: self.id(short),
            camera_id: "door".into(),
            at: Some(at),
            similarity: 0.8,
            track_id: 1,
            snapshot_ref: None,
        };
        let camera = CommandContext::new(Actor::camera("door")).with_now(at);
        let outcome = self.app().record_sighting(&camera, sighting).await.unwrap();
        self.app().settle(&[outcome]).await.unwrap();
    }

    /// Records the exit of everybody unseen for a minute before `now`.
    pub async fn absence_check(&self, now: DateTime<Utc>) {
        let watcher = CommandContext::new(Actor::system("absence-watcher")).with_now(now);
        self.app().check_absences(&watcher, 60).await.unwrap();
    }

    pub async fn delete(&self, short: &str) {
        let ctx = self.admin_at(Utc::now());
        self.app()
            .delete_employee(&ctx, &self.id(short))
            .await
            .unwrap();
    }
}

/// A publisher running in-process.
pub struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Running {
    /// An ordinary stop (Ctrl-C of `facewatch serve`).
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap();
    }
}

/// The cameras' health as the tests set it.
#[derive(Default)]
pub struct Cameras(pub Mutex<HashSet<String>>);

impl CameraLiveness for Cameras {
    fn online(&self, camera_id: &str) -> bool {
        self.0.lock().unwrap().contains(camera_id)
    }
}

pub fn cameras_online(ids: &[&str]) -> Arc<Cameras> {
    Arc::new(Cameras(Mutex::new(
        ids.iter().map(|s| s.to_string()).collect(),
    )))
}

/// One message as a subscriber got it.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub topic: String,
    pub payload: String,
    /// Set only on retained messages the broker replays at subscription.
    pub retain: bool,
}

/// An MQTT client that records everything under some topic filters.
pub struct Watcher {
    pub client: AsyncClient,
    seen: watch::Receiver<Vec<Received>>,
    task: JoinHandle<()>,
}

impl Watcher {
    /// Connects and subscribes; returns once the broker confirmed every subscription.
    pub async fn start(filters: &[String]) -> Self {
        let id = format!("watcher-{}", uuid::Uuid::new_v4().simple());
        let mut options = MqttOptions::new(id, BROKER.0, BROKER.1);
        options.set_keep_alive(Duration::from_secs(30));
        let (client, mut eventloop) = AsyncClient::new(options, 64);
        for filter in filters {
            client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
        }
        let (tx, seen) = watch::channel(Vec::new());
        let (subscribed_tx, subscribed) = oneshot::channel();
        let expected = filters.len();
        let task = tokio::spawn(async move {
            let mut subacks = 0;
            let mut subscribed_tx = Some(subscribed_tx);
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        subacks += 1;
                        if subacks == expected {
                            if let Some(done) = subscribed_tx.take() {
                                let _ = done.send(());
                            }
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => tx.send_modify(|seen| {
                        seen.push(Received {
                            topic: p.topic.clone(),
                            payload: String::from_utf8_lossy(&p.payload).into_owned(),
                            retain: p.retain,
                        })
                    }),
                    Ok(_) => {}
                    Err(e) => panic!("the test's MQTT client lost the broker: {e}"),
                }
            }
        });
        tokio::time::timeout(PATIENCE, subscribed)
            .await
            .expect("the broker confirms the subscriptions")
            .unwrap();
        Self { client, seen, task }
    }

    pub fn all(&self) -> Vec<Received> {
        self.seen.borrow().clone()
    }

    /// Waits until `done` holds for what has been received; panics with `what` after [`PATIENCE`].
    pub async fn until(&self, what: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let mut seen = self.seen.clone();
        let reached = tokio::time::timeout(PATIENCE, seen.wait_for(|s| done(s))).await;
        match reached {
            Ok(Ok(s)) => s.clone(),
            _ => panic!("timed out waiting for {what}; received: {:#?}", self.all()),
        }
    }

    /// Waits until the last payload of every topic in `expected` is the one given.
    pub async fn until_state(
        &self,
        expected: &[(String, Option<serde_json::Value>)],
    ) -> Vec<Received> {
        self.until("the expected retained state", |seen| {
            let state = last_payloads(seen);
            expected
                .iter()
                .all(|(topic, want)| json_state(state.get(topic)) == *want)
        })
        .await
    }

    pub async fn publish(&self, topic: &str, payload: &str) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload.as_bytes())
            .await
            .unwrap();
    }

    pub fn stop(self) {
        self.task.abort();
    }
}

/// The last payload per topic (`""` = cleared).
pub fn last_payloads(seen: &[Received]) -> BTreeMap<String, String> {
    seen.iter()
        .map(|r| (r.topic.clone(), r.payload.clone()))
        .collect()
}

/// A payload as JSON (a bare word as a JSON string); `None` for a missing or cleared topic.
pub fn json_state(payload: Option<&String>) -> Option<serde_json::Value> {
    let payload = payload.filter(|p| !p.is_empty())?;
    Some(
        serde_json::from_str(payload)
            .unwrap_or_else(|_| serde_json::Value::String(payload.clone())),
    )
}

/// Checks a JSON payload against a predicate, for `until` conditions.
pub fn payload_matches(
    seen: &[Received],
    topic: &str,
    check: impl Fn(&serde_json::Value) -> bool,
) -> bool {
    json_state(last_payloads(seen).get(topic)).is_some_and(|v| check(&v))
}

/// A TCP proxy in front of the broker that can drop every connection through it, to cut the
/// publisher off mid-stream without touching the broker the other tests use.
pub struct Proxy {
    pub port: u16,
    cuts: watch::Sender<u64>,
    task: Option<JoinHandle<()>>,
}

impl Proxy {
    /// A port nothing listens on yet: the broker looks unreachable until [`Proxy::open`].
    pub fn closed() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self {
            port,
            cuts: watch::channel(0).0,
            task: None,
        }
    }

    /// Starts forwarding connections on the port to the broker.
    pub async fn open(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        let cuts = self.cuts.subscribe();
        self.task = Some(tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let mut cuts = cuts.clone();
                cuts.mark_unchanged();
                tokio::spawn(async move {
                    let Ok(broker) = TcpStream::connect(BROKER).await else {
                        return;
                    };
                    let (mut client, mut broker) = (client, broker);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut broker) => {}
                        _ = cuts.changed() => {}
                    }
                    // Dropping both ends resets the connection.
                });
            }
        }));
    }

    /// Drops every open connection (new ones are accepted again).
    pub fn cut(&self) {
        self.cuts.send_modify(|n| *n += 1);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
        self.cut();
    }
}

/// Waits for an async condition, checking every 50 ms; panics with `what` after [`PATIENCE`].
pub async fn eventually<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
