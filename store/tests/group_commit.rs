//! The group-commit appender against real PostgreSQL: global order without gaps under concurrent
//! writers, idempotency keys recorded with the events, actor metadata, snapshots that stay true
//! when one command's events cross a snapshot boundary, and cached aggregate state that another
//! process's writes cannot fool.

use chrono::{DateTime, Duration, Utc};
use facewatch_domain::presence::{Presence, PresenceCommand};
use facewatch_store::{CommandMetadata, EventFeed, EventStore, Outcome, ScratchDatabase};

fn t0() -> DateTime<Utc> {
    "2026-11-23T09:00:00Z".parse().unwrap()
}

fn sighting(at: DateTime<Utc>) -> PresenceCommand {
    PresenceCommand::RecordSighting {
        camera_id: "door".into(),
        at,
        similarity: 0.8,
        track_id: 1,
        snapshot_ref: None,
    }
}

fn by(actor: &str, key: Option<&str>) -> CommandMetadata {
    CommandMetadata {
        actor: actor.into(),
        correlation_id: "corr-1".into(),
        idempotency_key: key.map(str::to_string),
    }
}

/// Two processes' stores on one database: `first` records a sighting of emp-1, then `second`
/// records the exit; `first` still caches "present".
async fn exit_recorded_by_another_process() -> (ScratchDatabase, EventStore, EventStore) {
    let db = ScratchDatabase::create("fw_group").await.unwrap();
    let (first, second) = (
        EventStore::new(db.pool.clone()),
        EventStore::new(db.pool.clone()),
    );
    let meta = by("cli", None);
    first
        .execute::<Presence>("emp-1", sighting(t0()), &meta)
        .await
        .unwrap();
    let check = PresenceCommand::CheckAbsence {
        now: t0() + Duration::seconds(120),
        timeout_sec: 60,
    };
    second
        .execute::<Presence>("emp-1", check, &meta)
        .await
        .unwrap();
    (db, first, second)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_get_gapless_positions_in_stream_order() {
    let db = ScratchDatabase::create("fw_group").await.unwrap();
    let store = EventStore::new(db.pool.clone());
    // 64 writers × 5 sightings each, on 16 employees: batches form, aggregates contend.
    let writers = (0..64).map(|w| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut positions = Vec::new();
            for i in 0..5 {
                let at = t0() + Duration::seconds(w * 10 + i);
                let outcome = store
                    .execute::<Presence>(&format!("emp-{}", w % 16), sighting(at), &by("cli", None))
                    .await
                    .unwrap();
                positions.push(outcome.position().expect("stored"));
            }
            positions
        })
    });
    let mut acknowledged = 0;
    for writer in futures::future::join_all(writers).await {
        acknowledged += writer.unwrap().len();
    }
    assert_eq!(acknowledged, 320);
    let events = EventFeed::new(db.pool.clone())
        .read_after(0, 10_000)
        .await
        .unwrap();
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "no gaps");
    // 320 recognitions plus one entry per employee.
    assert_eq!(events.len(), 320 + 16);
    // Within each stream, sequence numbers follow the global order.
    let sequences: Vec<(String, i64)> =
        sqlx::query_as("SELECT aggregate_id, sequence FROM events ORDER BY global_seq")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    let mut last = std::collections::HashMap::new();
    for (id, sequence) in sequences {
        let previous = last.insert(id.clone(), sequence).unwrap_or(0);
        assert_eq!(sequence, previous + 1, "{id}");
    }
    assert!(events.iter().all(|e| e.actor.as_deref() == Some("cli")));
    assert!(events
        .iter()
        .all(|e| e.correlation_id.as_deref() == Some("corr-1")));
    // The `json` columns keep the text the application serialised, byte for byte.
    let (payload, metadata): (String, String) = sqlx::query_as(
        "SELECT payload::text, metadata::text FROM events ORDER BY global_seq LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    for text in [payload, metadata] {
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(text, value.to_string());
    }
    db.drop().await.unwrap();
}

#[tokio::test]
async fn a_retried_idempotency_key_appends_nothing() {
    let db = ScratchDatabase::create("fw_group").await.unwrap();
    let store = EventStore::new(db.pool.clone());
    let first = store
        .execute::<Presence>("emp-1", sighting(t0()), &by("user:ana", Some("k-1")))
        .await
        .unwrap();
    let Outcome::Stored { position } = first else {
        panic!("first attempt stores: {first:?}");
    };
    // The same key again (a client retry), even with a later sighting: nothing new.
    let again = store
        .execute::<Presence>(
            "emp-1",
            sighting(t0() + Duration::seconds(5)),
            &by("user:ana", Some("k-1")),
        )
        .await
        .unwrap();
    assert_eq!(again, Outcome::Duplicate { position });
    // Concurrent retries of one new key: exactly one stores.
    let racers = (0..8).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            let at = t0() + Duration::seconds(60 + i);
            store
                .execute::<Presence>("emp-1", sighting(at), &by("user:ana", Some("k-2")))
                .await
                .unwrap()
        })
    });
    let outcomes: Vec<Outcome> = futures::future::join_all(racers)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let stored = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Stored { .. }))
        .count();
    assert_eq!(stored, 1, "{outcomes:?}");
    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'FaceRecognized'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(count, 2);
    db.drop().await.unwrap();
}

#[tokio::test]
async fn a_command_crossing_a_snapshot_boundary_keeps_all_its_events() {
    let db = ScratchDatabase::create("fw_group").await.unwrap();
    let store = EventStore::new(db.pool.clone());
    let meta = by("cli", None);
    // Events 1-2: recognised + entered; 3-98: recognised; 99: exited.
    let mut at = t0();
    for _ in 0..97 {
        store
            .execute::<Presence>("emp-1", sighting(at), &meta)
            .await
            .unwrap();
        at += Duration::seconds(1);
    }
    let check = PresenceCommand::CheckAbsence {
        now: at + Duration::seconds(120),
        timeout_sec: 60,
    };
    store
        .execute::<Presence>("emp-1", check, &meta)
        .await
        .unwrap();
    assert!(!store.load::<Presence>("emp-1").await.unwrap().present);
    // Events 100-101 in one command: recognised + entered, across the snapshot at 100.
    let back = at + Duration::seconds(180);
    let outcome = store
        .execute::<Presence>("emp-1", sighting(back), &meta)
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Stored { position: 101 });
    let (last_sequence,): (i64,) =
        sqlx::query_as("SELECT last_sequence FROM snapshots WHERE aggregate_id = 'emp-1'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(
        last_sequence, 101,
        "the snapshot holds the state after the whole command"
    );
    // A process that starts now (no cached state) loads the snapshot: the entry is in it.
    let fresh = EventStore::new(db.pool.clone());
    assert!(
        fresh.load::<Presence>("emp-1").await.unwrap().present,
        "the entry after the boundary is not lost"
    );
    assert!(store.load::<Presence>("emp-1").await.unwrap().present);
    db.drop().await.unwrap();
}

#[tokio::test]
async fn a_stale_cached_aggregate_is_corrected_by_the_append_check() {
    let (db, first, second) = exit_recorded_by_another_process().await;
    let meta = by("cli", None);
    // A sighting through `first` must see the exit and record a new entry.
    first
        .execute::<Presence>("emp-1", sighting(t0() + Duration::seconds(180)), &meta)
        .await
        .unwrap();
    let types: Vec<String> =
        sqlx::query_scalar("SELECT event_type FROM events ORDER BY global_seq")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(
        types,
        [
            "FaceRecognized",
            "EmployeeEntered",
            "EmployeeExited",
            "FaceRecognized",
            "EmployeeEntered"
        ]
    );
    // And a read-only load sees other processes' events too.
    assert!(second.load::<Presence>("emp-1").await.unwrap().present);

    // A command that would be a no-op on a stale cached state is decided again on the real one.
    let later = t0() + Duration::seconds(600);
    let check = |now| PresenceCommand::CheckAbsence {
        now,
        timeout_sec: 60,
    };
    first
        .execute::<Presence>("emp-1", check(later), &meta)
        .await
        .unwrap();
    // `second` still caches "present": its check conflicts, is re-decided, and finds the exit.
    let outcome = second
        .execute::<Presence>("emp-1", check(later), &meta)
        .await
        .unwrap();
    assert_eq!(
        outcome,
        facewatch_store::Outcome::Unchanged,
        "already recorded by `first`"
    );
    first
        .execute::<Presence>("emp-1", sighting(later + Duration::seconds(10)), &meta)
        .await
        .unwrap();
    // `second` now caches "absent"; on that state the check is a no-op, but `first` has recorded
    // a new entry since: the exit must be recorded, not skipped.
    let outcome = second
        .execute::<Presence>("emp-1", check(later + Duration::seconds(600)), &meta)
        .await
        .unwrap();
    assert!(
        matches!(outcome, facewatch_store::Outcome::Stored { .. }),
        "{outcome:?}"
    );
    db.drop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_within_trusts_memory_only_for_the_age_it_is_given() {
    let (db, first, _other) = exit_recorded_by_another_process().await;
    let meta = by("cli", None);
    let long = std::time::Duration::from_secs(3600);
    // Within the age given, `first` answers from its memory: the other process's exit is not seen.
    assert!(
        first
            .load_within::<Presence>("emp-1", long)
            .await
            .unwrap()
            .present
    );
    // With no age to spare it asks PostgreSQL, and its memory is current again.
    let zero = std::time::Duration::ZERO;
    assert!(
        !first
            .load_within::<Presence>("emp-1", zero)
            .await
            .unwrap()
            .present
    );
    assert!(
        !first
            .load_within::<Presence>("emp-1", long)
            .await
            .unwrap()
            .present
    );
    // This process's own commands keep its memory current.
    first
        .execute::<Presence>("emp-1", sighting(t0() + Duration::seconds(180)), &meta)
        .await
        .unwrap();
    assert!(
        first
            .load_within::<Presence>("emp-1", long)
            .await
            .unwrap()
            .present
    );
    db.drop().await.unwrap();
}
