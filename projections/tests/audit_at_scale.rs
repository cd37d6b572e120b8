//! Replay audits at scale (issue 15): a generated log of a million events (sightings, entries,
//! exits, alerts, unknown visitors, corrections, schedule changes, resets) replays to read models
//! identical to the live projector's; `verify` names an edited, a deleted and an inserted event
//! at their positions; an incremental audit after new events replays only those and matches.

use chrono::{DateTime, Utc};
use facewatch_domain::presence::{Presence, PresenceCommand};
use facewatch_projections::replay::{self, AuditMode};
use facewatch_projections::synthetic::{generate_log, SiteShape};
use facewatch_projections::{schema, Projector};
use facewatch_store::chain::{chain_head, verify_chain, ChainProblem};
use facewatch_store::{CommandMetadata, EventStore, ScratchDatabase, READ_SCHEMA};
use sqlx::{PgPool, Row};

const EVENTS: usize = 1_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_events_replay_identically_and_tampering_is_named() {
    let db = ScratchDatabase::create("audit_scale").await.unwrap();
    let pool = &db.pool;
    let appended = generate_log(pool, SiteShape::default(), EVENTS)
        .await
        .unwrap();
    assert!(appended >= EVENTS, "{appended} events generated");
    let kinds: Vec<(String, i64)> = sqlx::query_as(
        "SELECT event_type, count(*) FROM events GROUP BY event_type ORDER BY event_type",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for kind in [
        "FaceRecognized",
        "EmployeeEntered",
        "EmployeeExited",
        "AttendanceCorrected",
        "ScheduleSaved",
        "Paused",
        "LogsReset",
        "Seen",
        "Enrolled",
    ] {
        assert!(
            kinds.iter().any(|(k, n)| k == kind && *n > 0),
            "{kind} in {kinds:?}"
        );
    }

    // The live projector (the path `serve` runs) builds the live read models.
    schema::install(pool, READ_SCHEMA, false).await.unwrap();
    let live = Projector::new(pool.clone(), READ_SCHEMA);
    let head = live.catch_up(None).await.unwrap();
    let alerts: i64 = sqlx::query_scalar("SELECT count(*) FROM read.alerts")
        .fetch_one(pool)
        .await
        .unwrap();
    assert!(alerts > 0, "breaks during work hours raise alerts");

    // A full audit replays everything and matches.
    let report = replay::audit(pool, READ_SCHEMA, AuditMode::Full, &|_| {})
        .await
        .unwrap();
    assert_eq!(report.position, head);
    assert_eq!(report.events as usize, appended);
    assert!(report.all_match(), "{:#?}", report.tables);
    println!(
        "replayed {} events in {:.1} s ({:.0}/s)",
        report.events,
        report.seconds,
        report.events_per_sec()
    );

    // The chain is intact and ends at the head.
    let intact = verify_chain(pool, None, |_, _| {}).await.unwrap();
    assert_eq!(intact.problem, None);
    assert_eq!(intact.events as usize, appended);
    assert_eq!(intact.head, chain_head(pool).await.unwrap());
    println!(
        "verified {} events ({:.0}/s)",
        intact.events,
        intact.events_per_sec()
    );

    let positions: Vec<i64> =
        sqlx::query_scalar("SELECT global_seq FROM events ORDER BY global_seq")
            .fetch_all(pool)
            .await
            .unwrap();
    let edited = positions[400_000];
    let deleted = positions[600_001];
    sqlx::query("ALTER TABLE events DISABLE TRIGGER events_immutable")
        .execute(pool)
        .await
        .unwrap();

    // A hand-edited payload (a sighting moved to another camera).
    let original: String =
        sqlx::query_scalar("SELECT payload::text FROM events WHERE global_seq = $1")
            .bind(edited)
            .fetch_one(pool)
            .await
            .unwrap();
    set_payload(pool, edited, &original.replace("CAM", "CAX")).await;
    assert_eq!(
        problem(pool).await,
        Some(ChainProblem::Altered { position: edited })
    );
    set_payload(pool, edited, &original).await;

    // A deleted event; put back as it was.
    sqlx::query("CREATE TABLE removed AS SELECT * FROM events WHERE global_seq = $1")
        .bind(deleted)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM events WHERE global_seq = $1")
        .bind(deleted)
        .execute(pool)
        .await
        .unwrap();
    assert_eq!(
        problem(pool).await,
        Some(ChainProblem::Removed { position: deleted })
    );
    sqlx::query("ALTER TABLE events DISABLE TRIGGER events_global_seq")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO events SELECT * FROM removed")
        .execute(pool)
        .await
        .unwrap();

    // An inserted event, in a gap the log has (a rolled-back append), by someone who knows the
    // hash formula: it chains to its predecessor, but its successor does not chain to it.
    let gap: i64 = sqlx::query_scalar(
        "SELECT e.global_seq + 1 FROM events e WHERE e.global_seq > $1 AND NOT EXISTS \
             (SELECT 1 FROM events n WHERE n.global_seq = e.global_seq + 1) \
         ORDER BY e.global_seq LIMIT 1",
    )
    .bind(positions[700_000])
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO events SELECT aggregate_type, aggregate_id, sequence + 1000000, event_type, \
             event_version, payload, metadata, $1, recorded_at, global_seq, \
             events_chain_digest(chain_hash, global_seq, \
                 ROW(aggregate_type, aggregate_id, sequence + 1000000, event_type, event_version, \
                     payload, metadata, $1, recorded_at, NULL, NULL)::events) \
         FROM events WHERE global_seq = $1 - 1",
    )
    .bind(gap)
    .execute(pool)
    .await
    .unwrap();
    assert_eq!(
        problem(pool).await,
        Some(ChainProblem::Inserted { position: gap })
    );
    sqlx::query("DELETE FROM events WHERE global_seq = $1")
        .bind(gap)
        .execute(pool)
        .await
        .unwrap();
    for trigger in ["events_global_seq", "events_immutable"] {
        sqlx::query(&format!("ALTER TABLE events ENABLE TRIGGER {trigger}"))
            .execute(pool)
            .await
            .unwrap();
    }
    assert_eq!(problem(pool).await, None, "restored");

    // A day later: new events through the event store, then an audit from the snapshot replays
    // only them.
    let store = EventStore::new(pool.clone());
    let last_day: DateTime<Utc> = sqlx::query_scalar("SELECT max(last_seen) FROM read.presence")
        .fetch_one(pool)
        .await
        .unwrap();
    let mut added = 0;
    for (i, employee) in ["E0001", "E0002", "E0003"].iter().enumerate() {
        for minute in 0..40 {
            let at = last_day + chrono::Duration::hours(14) + chrono::Duration::minutes(minute);
            added += stored(&store, employee, sighting(at, i)).await;
        }
        let later = last_day + chrono::Duration::hours(16);
        added += stored(
            &store,
            employee,
            PresenceCommand::CheckAbsence {
                now: later,
                timeout_sec: 60,
            },
        )
        .await;
    }
    live.catch_up(None).await.unwrap();
    let incremental = replay::audit(pool, READ_SCHEMA, AuditMode::FromSnapshot, &|_| {})
        .await
        .unwrap();
    assert_eq!(incremental.from_position, report.position);
    assert_eq!(incremental.events, added);
    assert!(incremental.all_match(), "{:#?}", incremental.tables);

    // A live read model changed by hand is caught by the next incremental audit.
    sqlx::query("UPDATE read.attendance SET note = 'edited' WHERE employee_id = 'E0001'")
        .execute(pool)
        .await
        .unwrap();
    let caught = replay::audit(pool, READ_SCHEMA, AuditMode::FromSnapshot, &|_| {})
        .await
        .unwrap();
    assert_eq!(caught.events, 0);
    let differing: Vec<&str> = caught
        .tables
        .iter()
        .filter(|t| !t.matches)
        .map(|t| t.table.as_str())
        .collect();
    assert_eq!(differing, ["attendance"]);
    db.drop().await.unwrap();
}

async fn set_payload(pool: &PgPool, position: i64, payload: &str) {
    sqlx::query("UPDATE events SET payload = $2::json WHERE global_seq = $1")
        .bind(position)
        .bind(payload)
        .execute(pool)
        .await
        .unwrap();
}

async fn problem(pool: &PgPool) -> Option<ChainProblem> {
    verify_chain(pool, None, |_, _| {}).await.unwrap().problem
}

fn sighting(at: DateTime<Utc>, camera: usize) -> PresenceCommand {
    PresenceCommand::RecordSighting {
        camera_id: format!("CAM{}", camera + 1),
        at,
        similarity: 0.8,
        track_id: 42,
        snapshot_ref: None,
    }
}

/// Runs a command; returns how many events it stored.
async fn stored(store: &EventStore, employee: &str, command: PresenceCommand) -> i64 {
    let before: i64 = count(store.pool()).await;
    store
        .execute::<Presence>(employee, command, &metadata())
        .await
        .unwrap();
    count(store.pool()).await - before
}

async fn count(pool: &PgPool) -> i64 {
    sqlx::query("SELECT count(*) AS n FROM events")
        .fetch_one(pool)
        .await
        .unwrap()
        .get("n")
}

fn metadata() -> CommandMetadata {
    CommandMetadata {
        actor: "cli".into(),
        correlation_id: "test".into(),
        idempotency_key: None,
    }
}
