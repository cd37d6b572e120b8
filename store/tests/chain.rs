//! The event log's hash chain against real PostgreSQL: events appended by concurrent commands
//! (group commit, several per statement) chain correctly, and so do rows inserted otherwise (the
//! row trigger) between them; events stored before migration 0006 are chained by it; a head held
//! outside catches a log cut short.

use chrono::{DateTime, Duration, Utc};
use facewatch_domain::presence::{Presence, PresenceCommand};
use facewatch_store::chain::{chain_head, last_verification, record_verification, verify_chain};
use facewatch_store::{ChainProblem, CommandMetadata, EventStore, Link, ScratchDatabase};
use sqlx::migrate::{MigrateDatabase, Migrator};
use sqlx::{Connection, PgConnection};

fn sighting(at: DateTime<Utc>) -> PresenceCommand {
    PresenceCommand::RecordSighting {
        camera_id: "door".into(),
        at,
        similarity: 0.8,
        track_id: 1,
        snapshot_ref: Some("snap \"quoted\" é.jpg".into()),
    }
}

fn meta() -> CommandMetadata {
    CommandMetadata {
        actor: "camera:door".into(),
        correlation_id: "corr".into(),
        idempotency_key: None,
    }
}

#[tokio::test]
async fn concurrent_appends_chain_and_an_outside_head_catches_a_cut() {
    let db = ScratchDatabase::create("fw_chain").await.unwrap();
    let store = EventStore::new(db.pool.clone());
    let t0: DateTime<Utc> = "2026-11-23T09:00:00.123456789Z".parse().unwrap();
    let writers: Vec<_> = (0..16)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..20 {
                    let at = t0 + Duration::seconds(i);
                    store
                        .execute::<Presence>(&format!("emp-{w}"), sighting(at), &meta())
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let report = verify_chain(&db.pool, None, |_, _| {}).await.unwrap();
    assert_eq!(report.problem, None);
    assert!(report.events >= 16 * 20, "{} events", report.events);
    let head = chain_head(&db.pool).await.unwrap().unwrap();
    assert_eq!(report.head, Some(head));
    assert_eq!(Link::parse(&head.to_string()).unwrap(), head);
    record_verification(&db.pool, &report).await.unwrap();
    let recorded = last_verification(&db.pool).await.unwrap().unwrap();
    assert!(recorded.intact);
    assert_eq!(recorded.head, Some(head.to_string()));

    // The newest event removed: the chain alone still holds, the head held outside does not.
    let pool = &db.pool;
    sqlx::query("ALTER TABLE events DISABLE TRIGGER events_immutable")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM events WHERE global_seq = $1")
        .bind(head.position)
        .execute(pool)
        .await
        .unwrap();
    let cut = verify_chain(pool, None, |_, _| {}).await.unwrap();
    assert_eq!(cut.problem, None);
    let checked = verify_chain(pool, Some(head), |_, _| {}).await.unwrap();
    assert_eq!(
        checked.problem,
        Some(ChainProblem::Rewritten {
            position: head.position
        })
    );
    let wrong = Link {
        hash: [7; 32],
        ..cut.head.unwrap()
    };
    let checked = verify_chain(pool, Some(wrong), |_, _| {}).await.unwrap();
    assert!(matches!(
        checked.problem,
        Some(ChainProblem::Rewritten { .. })
    ));
    db.drop().await.unwrap();
}

/// `facewatch_append` chains a whole group at once (migration 0012) and the row trigger chains
/// any other insert: the two interleave into one chain. A row that brings a chain hash of its own
/// is stored as given, and verification names it if the hash is wrong.
#[tokio::test]
async fn appends_and_other_inserts_share_one_chain() {
    let db = ScratchDatabase::create("fw_chain").await.unwrap();
    let store = EventStore::new(db.pool.clone());
    let pool = &db.pool;
    let t0: DateTime<Utc> = "2026-11-23T09:00:00Z".parse().unwrap();
    let insert = "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
                  VALUES ('presence', $1, 1, 'FaceRecognized', '1.0', '{\"FaceRecognized\": {}}', '{\"actor\": \"cli\"}')";
    for i in 0..3 {
        store
            .execute::<Presence>("emp-1", sighting(t0 + Duration::seconds(i)), &meta())
            .await
            .unwrap();
        sqlx::query(insert)
            .bind(format!("direct-{i}"))
            .execute(pool)
            .await
            .unwrap();
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(stored, 4 + 3, "two events on the first sighting, one after");
    let report = verify_chain(pool, None, |_, _| {}).await.unwrap();
    assert_eq!(report.problem, None);
    assert_eq!(report.events, stored);

    // A forged link right after the head: stored, and reported as altered.
    let head = chain_head(pool).await.unwrap().unwrap();
    let forged: i64 = sqlx::query_scalar(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata, \
                             global_seq, chain_prev, chain_hash) \
         VALUES ('presence', 'forged', 1, 'FaceRecognized', '1.0', '{}', '{}', nextval('events_global_seq'), $1, $2) \
         RETURNING global_seq",
    )
    .bind(head.position)
    .bind(vec![7u8; 32])
    .fetch_one(pool)
    .await
    .unwrap();
    let report = verify_chain(pool, None, |_, _| {}).await.unwrap();
    assert_eq!(
        report.problem,
        Some(ChainProblem::Altered { position: forged })
    );
    db.drop().await.unwrap();
}

#[tokio::test]
async fn events_stored_before_the_chain_are_chained_by_its_migration() {
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| facewatch_store::DEFAULT_DATABASE_URL.into());
    let url = facewatch_store::test_database_url(&base, "fw_chain_backfill");
    sqlx::Postgres::create_database(&url).await.unwrap();
    // The store as it was before migration 0006, with a few events.
    let all = sqlx::migrate!("../migrations");
    let before = Migrator {
        migrations: all
            .migrations
            .iter()
            .filter(|m| m.version < 6)
            .cloned()
            .collect::<Vec<_>>()
            .into(),
        ..Migrator::DEFAULT
    };
    let mut conn = PgConnection::connect(&url).await.unwrap();
    before.run(&mut conn).await.unwrap();
    for i in 1..=5 {
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
             VALUES ('presence', 'emp-1', $1, 'FaceRecognized', '1.0', $2::json, '{\"actor\": \"cli\"}')",
        )
        .bind(i as i64)
        .bind(format!(
            "{{\"FaceRecognized\": {{\"camera_id\": \"door\", \"at\": \"2026-11-23T09:00:0{i}Z\", \
             \"similarity\": 0.8, \"track_id\": 1, \"snapshot_ref\": null}}}}"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    }
    conn.close().await.unwrap();
    // Opening the store applies 0006; later appends continue the chain.
    let pool = facewatch_store::connect(&url).await.unwrap();
    let store = EventStore::new(pool.clone());
    let later: DateTime<Utc> = "2026-11-23T10:00:00Z".parse().unwrap();
    store
        .execute::<Presence>("emp-1", sighting(later), &meta())
        .await
        .unwrap();
    let report = verify_chain(&pool, None, |_, _| {}).await.unwrap();
    assert_eq!(report.problem, None);
    assert!(
        report.events > 5,
        "the old events and the new ones: {}",
        report.events
    );
    pool.close().await;
    facewatch_store::drop_database(&url).await.unwrap();
}
