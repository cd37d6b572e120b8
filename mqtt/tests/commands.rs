//! Schedule commands over MQTT (`{prefix}/schedule/set`) against the real Mosquitto.

mod support;

use std::sync::Arc;

use chrono::Utc;
use facewatch_projections::queries::{self, EventFilter};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_command_message_pauses_monitoring_as_the_mqtt_actor() {
    let world = World::new("mqtt_commands").await;
    let watcher = Watcher::start(&[format!("{}/#", world.prefix)]).await;
    let mut settings = world.mqtt_settings(1883);
    settings.commands = true;
    let publisher = world.start_mqtt(settings, cameras_online(&[])).await;
    world.always_monitor().await;
    let monitoring = world.topic("monitoring");
    let result = world.topic("schedule/result");
    watcher
        .until("monitoring active", |seen| {
            payload_matches(seen, &monitoring, |m| m["active"] == true)
        })
        .await;
    // The subscription is made once connected; `online` comes after it in the same session.
    watcher
        .until("online", |seen| {
            last_payloads(seen)
                .get(&world.topic("status"))
                .map(String::as_str)
                == Some("online")
        })
        .await;

    watcher
        .publish(&world.topic("schedule/set"), r#"{"pause": 15}"#)
        .await;
    let seen = watcher
        .until("paused", |seen| {
            payload_matches(seen, &monitoring, |m| m["state"] == "PAUSED")
                && payload_matches(seen, &result, |r| r["ok"] == true)
        })
        .await;
    let answer = json_state(last_payloads(&seen).get(&result)).unwrap();
    assert!(answer["schedule"]["paused_until"].is_string(), "{answer}");
    let schedule = world.app().current_schedule().await.unwrap();
    let until = schedule.paused_until.expect("paused");
    let minutes = (until - Utc::now()).num_minutes();
    assert!((14..=15).contains(&minutes), "paused for {minutes} min");
    let audit = queries::events(
        &world.test.db.pool,
        &EventFilter {
            event_type: Some("Paused".into()),
            limit: 10,
            ..EventFilter::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].actor.as_deref(), Some("mqtt"));

    // A malformed command changes nothing and says why.
    let results_before = watcher.all().iter().filter(|r| r.topic == result).count();
    watcher
        .publish(
            &world.topic("schedule/set"),
            r#"{"pause": 5, "resume": true}"#,
        )
        .await;
    let seen = watcher
        .until("the refusal", |seen| {
            seen.iter().filter(|r| r.topic == result).count() == results_before + 1
        })
        .await;
    let refusal = json_state(last_payloads(&seen).get(&result)).unwrap();
    assert_eq!(refusal["ok"], false);
    assert!(refusal["error"].as_str().unwrap().contains("exactly one"));
    assert_eq!(
        world.app().current_schedule().await.unwrap().paused_until,
        Some(until)
    );

    watcher
        .publish(&world.topic("schedule/set"), r#"{"resume": true}"#)
        .await;
    watcher
        .until("active again", |seen| {
            payload_matches(seen, &monitoring, |m| m["active"] == true)
        })
        .await;
    publisher.stop().await;
    watcher.stop();
    world.test.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_ignored_unless_enabled() {
    let world = World::new("mqtt_no_commands").await;
    let watcher = Watcher::start(&[format!("{}/#", world.prefix)]).await;
    let publisher = world
        .start_mqtt(
            world.mqtt_settings(1883),
            Arc::new(facewatch_mqtt::NoCameras),
        )
        .await;
    watcher
        .until("online", |seen| {
            last_payloads(seen)
                .get(&world.topic("status"))
                .map(String::as_str)
                == Some("online")
        })
        .await;
    watcher
        .publish(&world.topic("schedule/set"), r#"{"pause": 15}"#)
        .await;
    // The command is on the broker (the watcher sees its own message) yet nobody answers it.
    let set = world.topic("schedule/set");
    watcher
        .until("the command on the broker", |seen| {
            seen.iter().any(|r| r.topic == set)
        })
        .await;
    world.always_monitor().await;
    watcher
        .until("the schedule change published", |seen| {
            payload_matches(seen, &world.topic("monitoring"), |m| m["active"] == true)
        })
        .await;
    assert_eq!(
        world.app().current_schedule().await.unwrap().paused_until,
        None
    );
    assert!(watcher
        .all()
        .iter()
        .all(|r| r.topic != world.topic("schedule/result")));
    publisher.stop().await;
    watcher.stop();
    world.test.finish().await;
}
