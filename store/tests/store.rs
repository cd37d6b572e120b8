//! The event store against a real PostgreSQL (each test in its own database).

use chrono::{DateTime, Utc};
use facewatch_domain::camera::{Camera, CameraCommand, CameraError};
use facewatch_domain::presence::{Presence, PresenceCommand, PresenceEvent};
use facewatch_domain::AnyEvent;
use facewatch_store::{
    read_range_after_query, CommandError, EventFeed, EventStore, ScratchDatabase, EVENTS_CHANNEL,
};

fn now() -> DateTime<Utc> {
    "2026-11-23T09:00:00Z".parse().unwrap()
}

fn add_camera() -> CameraCommand {
    CameraCommand::Add {
        name: "Door".into(),
        location: "Lobby".into(),
        stream_url: "rtsp://cam/1".into(),
        enabled: true,
        now: now(),
    }
}

#[tokio::test]
async fn commands_append_events_in_global_order_and_rejections_write_nothing() {
    let db = ScratchDatabase::create("fw_store").await.unwrap();
    let pool = db.pool.clone();
    let store = EventStore::new(pool.clone());
    store
        .execute::<Camera>("cam-1", add_camera(), &test_metadata())
        .await
        .unwrap();
    let err = store
        .execute::<Camera>("cam-1", add_camera(), &test_metadata())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        CommandError::Rejected(CameraError::AlreadyExists)
    ));
    store
        .execute::<Camera>(
            "cam-1",
            CameraCommand::SetEnabled {
                enabled: false,
                now: now(),
            },
            &test_metadata(),
        )
        .await
        .unwrap();
    let feed = EventFeed::new(pool.clone());
    let events = feed.read_after(0, 100).await.unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
    assert!(matches!(events[1].event, AnyEvent::Camera(_)));
    assert_eq!(events[1].event_type, "Disabled");
    assert_eq!(feed.head().await.unwrap(), 2);
    assert!(!store.load::<Camera>("cam-1").await.unwrap().enabled);

    // The log is append-only at the database level too.
    let update = sqlx::query("UPDATE events SET payload = '{}'")
        .execute(&pool)
        .await;
    assert!(update.unwrap_err().to_string().contains("immutable"));
    db.drop().await.unwrap();
}

#[tokio::test]
async fn concurrent_writers_on_one_aggregate_lose_nothing() {
    let db = ScratchDatabase::create("fw_store").await.unwrap();
    let pool = db.pool.clone();
    let store = EventStore::new(pool.clone());
    let writers = (0..40).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            let command = PresenceCommand::RecordSighting {
                camera_id: "door".into(),
                at: now() + chrono::Duration::seconds(i),
                similarity: 0.8,
                track_id: i as u64,
                snapshot_ref: None,
            };
            store
                .execute::<Presence>("emp-1", command, &test_metadata())
                .await
        })
    });
    for result in futures::future::join_all(writers).await {
        result.unwrap().unwrap();
    }
    let events = EventFeed::new(pool.clone())
        .read_after(0, 1000)
        .await
        .unwrap();
    // 40 recognitions plus exactly one entry.
    assert_eq!(events.len(), 41);
    let mut tracks: Vec<u64> = events
        .iter()
        .filter_map(|e| match &e.event {
            AnyEvent::Presence(PresenceEvent::FaceRecognized { track_id, .. }) => Some(*track_id),
            _ => None,
        })
        .collect();
    tracks.sort();
    assert_eq!(
        tracks,
        (0..40).collect::<Vec<_>>(),
        "every sighting was kept"
    );
    let entries = events
        .iter()
        .filter(|e| {
            matches!(
                e.event,
                AnyEvent::Presence(PresenceEvent::EmployeeEntered { .. })
            )
        })
        .count();
    assert_eq!(
        entries, 1,
        "conflicts were re-decided, not blindly re-appended"
    );
    db.drop().await.unwrap();
}

/// Commands of these tests are the command line's doing.
fn test_metadata() -> facewatch_store::CommandMetadata {
    facewatch_store::CommandMetadata {
        actor: "cli".into(),
        correlation_id: "test".into(),
        idempotency_key: None,
    }
}

/// The server's store: the appender on a thread of its own, with its own connections. Then the
/// projector's read: the events after a position that a query gives, in one round trip.
#[tokio::test]
async fn an_appender_on_its_own_thread_appends_and_events_read_after_a_queried_position() {
    let db = ScratchDatabase::create("fw_store").await.unwrap();
    let store = EventStore::with_appender_on_own_thread(db.pool.clone()).unwrap();
    for (id, command) in [
        ("cam-1", add_camera()),
        ("cam-2", add_camera()),
        (
            "cam-1",
            CameraCommand::SetEnabled {
                enabled: false,
                now: now(),
            },
        ),
    ] {
        store
            .execute::<Camera>(id, command, &test_metadata())
            .await
            .unwrap();
    }
    let mut conn = db.pool.acquire().await.unwrap();
    let after_one = "SELECT 1::bigint AS position";
    let (position, events) = read_range_after_query(&mut conn, after_one, i64::MAX, 100)
        .await
        .unwrap();
    assert_eq!(position, 1);
    let read: Vec<(i64, &str, &str)> = events
        .iter()
        .map(|e| (e.seq, e.aggregate_id.as_str(), e.event_type.as_str()))
        .collect();
    assert_eq!(read, [(2, "cam-2", "Added"), (3, "cam-1", "Disabled")]);
    let (_, limited) = read_range_after_query(&mut conn, after_one, 2, 100)
        .await
        .unwrap();
    assert_eq!(limited.len(), 1, "up to the given position");
    let (position, none) =
        read_range_after_query(&mut conn, "SELECT 3::bigint AS position", i64::MAX, 100)
            .await
            .unwrap();
    assert_eq!(
        (position, none.len()),
        (3, 0),
        "the position comes back without events"
    );
    drop(conn);
    drop(store);
    db.drop().await.unwrap();
}

#[tokio::test]
async fn an_append_notifies_listeners_of_the_newest_position() {
    let db = ScratchDatabase::create("fw_store").await.unwrap();
    let mut listener = sqlx::postgres::PgListener::connect_with(&db.pool)
        .await
        .unwrap();
    listener.listen(EVENTS_CHANNEL).await.unwrap();
    let store = EventStore::new(db.pool.clone());
    for id in ["cam-1", "cam-2"] {
        let outcome = store
            .execute::<Camera>(id, add_camera(), &test_metadata())
            .await
            .unwrap();
        let position = outcome.position().expect("stored");
        let notification = listener.recv().await.unwrap();
        assert_eq!(notification.payload(), position.to_string());
    }
    drop(listener);
    db.drop().await.unwrap();
}
