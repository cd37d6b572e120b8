//! Webhooks to a real HTTP receiver on 127.0.0.1.

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{TimeDelta, Utc};
use facewatch_mqtt::notices::NoticeType;
use facewatch_mqtt::{WebhookEndpoint, WebhookSettings};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use support::*;
use tokio::sync::oneshot;

const SECRET: &str = "webhook-test-secret";

/// What the receiver got for one delivery id.
#[derive(Debug, Default, Clone)]
struct Received {
    attempts: u32,
    accepted: u32,
    event: String,
    body: Value,
    signatures_valid: bool,
}

#[derive(Clone)]
struct Receiver {
    /// Every delivery fails this many times before it is accepted.
    failures_first: u32,
    log: Arc<Mutex<BTreeMap<String, Received>>>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    // Checked independently of the crate's own signing code.
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(&body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let mut log = r.log.lock().unwrap();
    let entry = log
        .entry(header("x-facewatch-delivery"))
        .or_insert_with(|| Received {
            signatures_valid: true,
            ..Received::default()
        });
    entry.attempts += 1;
    entry.signatures_valid &= header("x-facewatch-signature") == expected;
    entry.event = header("x-facewatch-event");
    entry.body = serde_json::from_slice(&body).unwrap();
    if entry.attempts <= r.failures_first {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    entry.accepted += 1;
    StatusCode::OK
}

/// An HTTP receiver on a free port; returns its URL, its log and a stop handle.
async fn start_receiver(failures_first: u32) -> (String, Receiver, oneshot::Sender<()>) {
    let receiver = Receiver {
        failures_first,
        log: Arc::default(),
    };
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    (url, receiver, stop)
}

fn settings(url: &str, max_attempts: u32) -> WebhookSettings {
    WebhookSettings {
        endpoints: vec![WebhookEndpoint {
            name: "ops".into(),
            url: url.into(),
            events: vec![
                NoticeType::EmployeeEntered,
                NoticeType::EmployeeExited,
                NoticeType::AlertRaised,
                NoticeType::AlertResolved,
            ],
            secret_env: "UNUSED".into(),
            secret: SECRET.into(),
        }],
        max_attempts,
        retry_initial_ms: 50,
        ..WebhookSettings::default()
    }
}

async fn start(
    world: &World,
    settings: WebhookSettings,
) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let run = facewatch_mqtt::run_webhooks(world.app().clone(), settings, async {
        let _ = stopped.await;
    });
    let running = (stop, tokio::spawn(async move { run.await.unwrap() }));
    world.until_cursor("webhooks").await;
    running
}

async fn statuses(world: &World) -> BTreeMap<String, i64> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM webhook_deliveries GROUP BY status")
            .fetch_all(&world.test.db.pool)
            .await
            .unwrap();
    rows.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_receiver_failing_twice_gets_each_notice_once_signed() {
    let world = World::new("webhooks_retry").await;
    let (url, receiver, stop_receiver) = start_receiver(2).await;
    let (stop, task) = start(&world, settings(&url, 8)).await;
    world.add_camera("door").await;
    world.enrol("ana").await;
    world.always_monitor().await;
    let t0 = Utc::now() - TimeDelta::minutes(10);
    world.seen("ana", t0).await;
    world.absence_check(t0 + TimeDelta::minutes(2)).await;
    world.seen("ana", t0 + TimeDelta::minutes(3)).await;

    // entered, exited, alert.raised, entered, alert.resolved: five notices.
    eventually("five deliveries accepted", || async {
        statuses(&world).await.get("DELIVERED") == Some(&5)
    })
    .await;
    let log = receiver.log.lock().unwrap().clone();
    assert_eq!(log.len(), 5, "{log:#?}");
    for (id, got) in &log {
        assert_eq!(got.accepted, 1, "delivery {id} accepted once");
        assert_eq!(got.attempts, 3, "delivery {id}: two failures, then success");
        assert!(got.signatures_valid, "delivery {id} signed");
        assert_eq!(got.body["id"], id.as_str());
        assert_eq!(got.body["type"], got.event.as_str());
    }
    let mut events: Vec<&str> = log.values().map(|r| r.event.as_str()).collect();
    events.sort();
    assert_eq!(
        events,
        [
            "alert.raised",
            "alert.resolved",
            "employee.entered",
            "employee.entered",
            "employee.exited"
        ]
    );
    let raised = log.values().find(|r| r.event == "alert.raised").unwrap();
    assert_eq!(raised.body["data"]["employee_id"], world.id("ana").as_str());
    assert_eq!(raised.body["data"]["camera_id"], "door");
    assert_eq!(statuses(&world).await.len(), 1, "nothing pending or dead");

    // A restart sends nothing again.
    stop.send(()).unwrap();
    task.await.unwrap();
    let (stop, task) = start(&world, settings(&url, 8)).await;
    world.enrol("bo").await;
    world.seen("bo", Utc::now() - TimeDelta::seconds(5)).await;
    eventually("Bo's entry delivered", || async {
        statuses(&world).await.get("DELIVERED") == Some(&6)
    })
    .await;
    let log = receiver.log.lock().unwrap().clone();
    assert_eq!(log.len(), 6);
    assert!(log.values().all(|r| r.accepted == 1));
    stop.send(()).unwrap();
    task.await.unwrap();
    let _ = stop_receiver.send(());
    world.test.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_delivery_out_of_attempts_is_a_dead_letter_until_retried() {
    let world = World::new("webhooks_dead").await;
    // Fails the first three attempts of every delivery: two allowed attempts are not enough.
    let (url, receiver, stop_receiver) = start_receiver(3).await;
    let mut settings = settings(&url, 2);
    settings.endpoints[0].events = vec![NoticeType::EmployeeEntered];
    let (stop, task) = start(&world, settings).await;
    world.add_camera("door").await;
    world.enrol("ana").await;
    world.seen("ana", Utc::now() - TimeDelta::minutes(1)).await;

    eventually("a dead letter", || async {
        statuses(&world).await.get("DEAD") == Some(&1)
    })
    .await;
    let dead = world.app().webhook_dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].endpoint, "ops");
    assert_eq!(dead[0].event_type, "employee.entered");
    assert_eq!(dead[0].attempts, 2);
    assert!(
        dead[0].last_error.as_deref().unwrap().contains("500"),
        "{dead:?}"
    );

    // An admin sends it again: one more failure, then accepted (the receiver's fourth answer).
    let admin = world.admin_at(Utc::now());
    world
        .app()
        .retry_webhook_delivery(&admin, dead[0].id)
        .await
        .unwrap();
    eventually("the retried delivery accepted", || async {
        statuses(&world).await.get("DELIVERED") == Some(&1)
    })
    .await;
    assert!(world
        .app()
        .webhook_dead_letters(10)
        .await
        .unwrap()
        .is_empty());
    let log = receiver.log.lock().unwrap().clone();
    assert_eq!(log.values().map(|r| r.accepted).sum::<u32>(), 1);
    assert!(world
        .app()
        .retry_webhook_delivery(&admin, dead[0].id)
        .await
        .is_err());
    stop.send(()).unwrap();
    task.await.unwrap();
    let _ = stop_receiver.send(());
    world.test.finish().await;
}
