//! MQTT against the real Mosquitto on 127.0.0.1:1883, each test under a topic prefix of its own.

mod support;

use chrono::{TimeDelta, Utc};
use facewatch_app::{Actor, CommandContext, UnknownFaceInput};
use facewatch_projections::queries;
use serde_json::{json, Value};
use support::*;

/// Ana comes in, leaves (an alert) and comes back (resolved); Bo comes in and leaves (an alert).
async fn scenario(world: &World) {
    let t0 = Utc::now() - TimeDelta::minutes(10);
    world.seen("ana", t0).await;
    world.seen("bo", t0).await;
    world.absence_check(t0 + TimeDelta::minutes(2)).await;
    world.seen("ana", t0 + TimeDelta::minutes(3)).await;
}

async fn setup(world: &World) {
    world.add_camera("door").await;
    world.enrol("ana").await;
    world.enrol("bo").await;
    world.always_monitor().await;
}

fn alerts(seen: &[Received], topic: &str) -> Vec<Value> {
    seen.iter()
        .filter(|r| r.topic == topic)
        .map(|r| serde_json::from_str(&r.payload).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_scenario_leaves_presence_attendance_alerts_and_discovery_on_the_broker() {
    let world = World::new("mqtt_scenario").await;
    let watcher = Watcher::start(&[
        format!("{}/#", world.prefix),
        format!("{}/#", world.discovery),
    ])
    .await;
    let publisher = world
        .start_mqtt(world.mqtt_settings(1883), cameras_online(&["door"]))
        .await;
    setup(&world).await;
    scenario(&world).await;
    let (ana, bo) = (world.id("ana"), world.id("bo"));
    let status = world.topic("status");
    let alerts_topic = world.topic("alerts");
    let seen = watcher
        .until("presence, attendance and three alerts", |seen| {
            payload_matches(seen, &world.topic(&format!("presence/{ana}")), |p| {
                p["state"] == "home"
            }) && payload_matches(seen, &world.topic(&format!("presence/{bo}")), |p| {
                p["state"] == "not_home"
            }) && alerts(seen, &alerts_topic).len() == 3
        })
        .await;

    // Alerts, in order, with employee, camera, reason and schedule version.
    let alerts = alerts(&seen, &alerts_topic);
    let states: Vec<(&str, &str)> = alerts
        .iter()
        .map(|a| {
            (
                a["state"].as_str().unwrap(),
                a["employee_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(states.contains(&("raised", ana.as_str())));
    assert!(states.contains(&("raised", bo.as_str())));
    assert_eq!(states[2], ("resolved", ana.as_str()));
    for alert in &alerts {
        assert_eq!(alert["camera_id"], "door");
        assert!(alert["reason"].as_str().is_some_and(|r| !r.is_empty()));
        assert!(alert["schedule_version"].is_string(), "{alert}");
    }
    assert!(seen.iter().all(|r| r.topic != alerts_topic || !r.retain));

    // A client that connects now gets the retained state from the broker itself.
    let late = Watcher::start(&[
        format!("{}/#", world.prefix),
        format!("{}/#", world.discovery),
    ])
    .await;
    let door = world.topic("cameras/door/status");
    let ana_presence = world.topic(&format!("presence/{ana}"));
    let ana_attendance = world.topic(&format!("attendance/{ana}"));
    let bo_attendance = world.topic(&format!("attendance/{bo}"));
    let node = world.prefix.replace('/', "_");
    let discovery = |component: &str, object: &str| {
        format!("{}/{component}/{node}/{object}/config", world.discovery)
    };
    let configs = [
        discovery("binary_sensor", &format!("{ana}_presence")),
        discovery("sensor", &format!("{ana}_last_camera")),
        discovery("binary_sensor", &format!("{bo}_presence")),
        discovery("binary_sensor", "camera_door_connectivity"),
        discovery("binary_sensor", "monitoring"),
    ];
    let retained = late
        .until("every retained topic", |seen| {
            let state = last_payloads(seen);
            [
                &status,
                &door,
                &ana_presence,
                &ana_attendance,
                &bo_attendance,
            ]
            .into_iter()
            .chain(&configs)
            .all(|t| state.contains_key(t))
        })
        .await;
    // The broker itself holds the state: the first message of every state topic published before
    // the late client subscribed is its retained copy (an update published after it subscribed
    // arrives without the flag, and so does a topic the publisher was still getting to).
    let published_before: std::collections::HashSet<&String> =
        seen.iter().map(|m| &m.topic).collect();
    let mut first_of_topic = std::collections::BTreeMap::new();
    for message in &retained {
        first_of_topic.entry(&message.topic).or_insert(message);
    }
    let state_topics: Vec<_> = first_of_topic
        .values()
        .filter(|m| m.topic != alerts_topic && published_before.contains(&m.topic))
        .collect();
    assert!(state_topics.len() >= 5, "{retained:#?}");
    assert!(state_topics.iter().all(|m| m.retain), "{retained:#?}");
    let state = last_payloads(&retained);
    assert_eq!(state[&status], "online");
    assert_eq!(state[&door], "online");
    let presence: Value = serde_json::from_str(&state[&ana_presence]).unwrap();
    assert_eq!(presence["state"], "home");
    assert_eq!(presence["camera"], "door");
    assert!(presence["since"].is_string() && presence["last_seen"].is_string());
    let today = Utc::now().date_naive();
    let row = world
        .app()
        .attendance_row(&ana, today)
        .await
        .unwrap()
        .unwrap();
    let attendance: Value = serde_json::from_str(&state[&ana_attendance]).unwrap();
    assert_eq!(attendance["day"], json!(today));
    assert_eq!(attendance["first_in"], json!(row.first_in));
    assert_eq!(attendance["last_out"], json!(row.last_out));
    assert!(attendance["last_out"].is_string());
    assert_eq!(attendance["entry_type"], "AUTO");
    let presence_config: Value = serde_json::from_str(&state[&configs[0]]).unwrap();
    assert_eq!(presence_config["device_class"], "presence");
    assert_eq!(presence_config["state_topic"], ana_presence);
    assert_eq!(presence_config["availability_topic"], status);
    assert_eq!(presence_config["device"]["name"], "Employee ana");
    let camera_config: Value = serde_json::from_str(&state[&configs[3]]).unwrap();
    assert_eq!(camera_config["device_class"], "connectivity");
    let monitoring: Value = serde_json::from_str(&state[&world.topic("monitoring")]).unwrap();
    assert_eq!(monitoring["active"], true);

    // Removing an employee removes its entities (and its state topics).
    world.delete("bo").await;
    let bo_topics = [
        discovery("binary_sensor", &format!("{bo}_presence")),
        discovery("sensor", &format!("{bo}_last_camera")),
        world.topic(&format!("presence/{bo}")),
        bo_attendance.clone(),
    ];
    let expected: Vec<(String, Option<Value>)> =
        bo_topics.iter().map(|t| (t.clone(), None)).collect();
    late.until_state(&expected).await;

    publisher.stop().await;
    watcher
        .until("the offline status after a stop", |seen| {
            last_payloads(seen).get(&status).map(String::as_str) == Some("offline")
        })
        .await;
    watcher.stop();
    late.stop();
    world.test.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unknown_face_is_announced_on_the_unknown_topic() {
    let world = World::new("mqtt_unknown").await;
    let watcher = Watcher::start(&[format!("{}/#", world.prefix)]).await;
    let publisher = world
        .start_mqtt(world.mqtt_settings(1883), cameras_online(&["door"]))
        .await;
    world.add_camera("door").await;
    let at = Utc::now() - TimeDelta::seconds(5);
    let mut embedding = vec![0.0f32; 8];
    embedding[0] = 1.0;
    let face = UnknownFaceInput {
        camera_id: "door".into(),
        at: Some(at),
        track_id: 7,
        snapshot_ref: Some("snapshots/door/2026-11-25/7.jpg".into()),
        embedding,
        model_id: "test-model".into(),
    };
    let camera = CommandContext::new(Actor::camera("door")).with_now(Utc::now());
    world
        .app()
        .record_unknown_face(&camera, face)
        .await
        .unwrap();
    let unknown_topic = world.topic("unknown");
    let seen = watcher
        .until("an unknown face", |seen| {
            seen.iter().any(|r| r.topic == unknown_topic)
        })
        .await;
    let message = seen.iter().find(|r| r.topic == unknown_topic).unwrap();
    assert!(!message.retain);
    let face: Value = serde_json::from_str(&message.payload).unwrap();
    assert_eq!(face["camera_id"], "door");
    assert_eq!(face["camera_name"], "Camera door");
    assert_eq!(face["track_id"], 7);
    assert_eq!(face["at"], json!(at));
    assert_eq!(
        face["snapshot_url"],
        "/api/files/snapshots/door/2026-11-25/7.jpg"
    );
    assert!(face["face_id"].is_string());
    publisher.stop().await;
    watcher.stop();
    world.test.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unreachable_broker_and_dropped_connections_lose_nothing() {
    let world = World::new("mqtt_drops").await;
    let watcher = Watcher::start(&[format!("{}/#", world.prefix)]).await;
    let mut proxy = Proxy::closed();
    let publisher = world
        .start_mqtt(world.mqtt_settings(proxy.port), cameras_online(&[]))
        .await;
    let ids: Vec<String> = (0..6).map(|i| format!("e{i}")).collect();
    world.add_camera("door").await;
    for id in &ids {
        world.enrol(id).await;
    }
    world.always_monitor().await;

    // The broker is unreachable: facewatch goes on recording.
    let t0 = Utc::now() - TimeDelta::minutes(20);
    for id in &ids[..2] {
        world.seen(id, t0).await;
    }
    world.absence_check(t0 + TimeDelta::minutes(2)).await;
    assert!(watcher.all().is_empty(), "nothing can arrive yet");

    // Reachable: the backlog arrives.
    proxy.open().await;
    let alerts_topic = world.topic("alerts");
    watcher
        .until(
            "the alerts raised while the broker was unreachable",
            |seen| alerts(seen, &alerts_topic).len() == 2,
        )
        .await;

    // Mid-stream, the connection drops twice. (Ten minutes on: past the alert rate limit.)
    let t1 = t0 + TimeDelta::minutes(10);
    for (n, id) in ids.iter().enumerate() {
        world.seen(id, t1 + TimeDelta::seconds(n as i64)).await;
        if n == 1 || n == 4 {
            proxy.cut();
        }
    }
    world.absence_check(t1 + TimeDelta::minutes(2)).await;
    proxy.cut();
    let t2 = t1 + TimeDelta::minutes(3);
    for id in &ids[..3] {
        world.seen(id, t2).await;
    }

    // Every alert of the read model arrived, and the retained state is the read model's.
    let alerts_now = queries::alerts(
        &world.test.db.pool,
        t0 - TimeDelta::days(1),
        Utc::now() + TimeDelta::days(1),
        None,
        false,
    )
    .await
    .unwrap();
    let expected_messages: usize = alerts_now
        .iter()
        .map(|a| if a.resolved_at.is_some() { 2 } else { 1 })
        .sum();
    assert_eq!(alerts_now.len(), 2 + 6);
    let expected_presence: Vec<(String, Option<Value>)> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| {
            let state = if n < 3 { "home" } else { "not_home" };
            let topic = world.topic(&format!("presence/{}", world.id(id)));
            (topic, Some(json!(state)))
        })
        .collect();
    let seen = watcher
        .until("every alert and the final presence", |seen| {
            let state = last_payloads(seen);
            let alert_messages = alerts(seen, &alerts_topic);
            let distinct: std::collections::HashSet<String> = alert_messages
                .iter()
                .map(|a| format!("{}{}", a["alert_id"], a["state"]))
                .collect();
            distinct.len() == expected_messages
                && expected_presence.iter().all(|(topic, want)| {
                    json_state(state.get(topic)).map(|p| p["state"].clone()) == *want
                })
        })
        .await;
    for alert in &alerts_now {
        let raised = alerts(&seen, &alerts_topic)
            .into_iter()
            .any(|a| a["alert_id"] == alert.id && a["state"] == "raised");
        assert!(raised, "alert {} was published", alert.id);
    }
    // What a dropped connection left unacknowledged is sent again until the broker confirms it.
    eventually("the outbox drained", || async {
        let backlog: i64 = sqlx::query_scalar("SELECT count(*) FROM mqtt_outbox")
            .fetch_one(&world.test.db.pool)
            .await
            .unwrap();
        backlog == 0
    })
    .await;
    publisher.stop().await;
    watcher.stop();
    drop(proxy);
    world.test.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restart_republishes_nothing_that_changes_the_retained_state() {
    let world = World::new("mqtt_restart").await;
    let watcher = Watcher::start(&[
        format!("{}/#", world.prefix),
        format!("{}/#", world.discovery),
    ])
    .await;
    let cameras = cameras_online(&["door"]);
    let publisher = world
        .start_mqtt(world.mqtt_settings(1883), cameras.clone())
        .await;
    setup(&world).await;
    scenario(&world).await;
    let (ana, bo) = (world.id("ana"), world.id("bo"));
    let alerts_topic = world.topic("alerts");
    let status = world.topic("status");
    watcher
        .until("the scenario on the broker", |seen| {
            payload_matches(seen, &world.topic(&format!("presence/{ana}")), |p| {
                p["state"] == "home"
            }) && alerts(seen, &alerts_topic).len() == 3
        })
        .await;
    publisher.stop().await;
    watcher
        .until("the offline status", |seen| {
            last_payloads(seen).get(&status).map(String::as_str) == Some("offline")
        })
        .await;
    let before_restart = watcher.all().len();

    let settings = world.mqtt_settings(1883);
    let publisher = world.start_mqtt(settings, cameras).await;
    watcher
        .until("online again", |seen| {
            seen[before_restart..]
                .iter()
                .any(|r| r.topic == status && r.payload == "online")
        })
        .await;
    // Something that does change the state after the restart: Bo comes back.
    world.seen("bo", Utc::now() - TimeDelta::seconds(5)).await;
    let bo_presence = world.topic(&format!("presence/{bo}"));
    let seen = watcher
        .until("Bo home", |seen| {
            payload_matches(seen, &bo_presence, |p| p["state"] == "home")
        })
        .await;
    let bo_attendance = world.topic(&format!("attendance/{bo}"));
    for message in &seen[before_restart..] {
        let bo_alert_resolved = message.topic == alerts_topic && {
            let alert: Value = serde_json::from_str(&message.payload).unwrap();
            alert["state"] == "resolved" && alert["employee_id"] == bo.as_str()
        };
        assert!(
            [&status, &bo_presence, &bo_attendance].contains(&&message.topic) || bo_alert_resolved,
            "republished after the restart: {message:?}"
        );
    }
    publisher.stop().await;
    watcher.stop();
    world.test.finish().await;
}
