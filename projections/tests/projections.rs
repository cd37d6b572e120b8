//! Projections against a real PostgreSQL: verdicts use the schedule in force at the event, and a
//! replay from zero reproduces every read model exactly.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use facewatch_domain::camera::{Camera, CameraCommand};
use facewatch_domain::employee::{Employee, EmployeeCommand, Profile};
use facewatch_domain::maintenance::{LogScope, Maintenance, MaintenanceCommand, TimeWindow};
use facewatch_domain::presence::{EntryType, Presence, PresenceCommand};
use facewatch_domain::schedule::{Schedule, ScheduleCommand, TimeRange, WeeklyHours};
use facewatch_domain::{MAINTENANCE_ID, SCHEDULE_ID};
use facewatch_projections::{queries, replay, schema, Projector};
use facewatch_store::{EventStore, LogFollower, ScratchDatabase, READ_SCHEMA};

/// Monday 2026-11-23, UTC (the default schedule: Mon–Fri 08–17, lunch 12–13, UTC).
fn t(hms: &str) -> DateTime<Utc> {
    format!("2026-11-23T{hms}Z").parse().unwrap()
}

async fn enrol(store: &EventStore, id: &str, name: &str) {
    let profile = Profile {
        name: name.into(),
        code: format!("C-{id}"),
        department: "Ops".into(),
    };
    let command = EmployeeCommand::Enroll {
        profile,
        now: t("07:00:00"),
    };
    store
        .execute::<Employee>(id, command, &test_metadata())
        .await
        .unwrap();
}

async fn add_camera(store: &EventStore, id: &str) {
    let command = CameraCommand::Add {
        name: format!("Camera {id}"),
        location: "Door".into(),
        stream_url: "rtsp://user:secret@10.0.0.9/stream".into(),
        enabled: true,
        now: t("07:00:00"),
    };
    store
        .execute::<Camera>(id, command, &test_metadata())
        .await
        .unwrap();
}

async fn seen(store: &EventStore, employee: &str, at: DateTime<Utc>) {
    let command = PresenceCommand::RecordSighting {
        camera_id: "door".into(),
        at,
        similarity: 0.71,
        track_id: 7,
        snapshot_ref: Some(format!("snapshots/door/{}.jpg", at.timestamp())),
    };
    store
        .execute::<Presence>(employee, command, &test_metadata())
        .await
        .unwrap();
}

async fn absence_check(store: &EventStore, employee: &str, now: DateTime<Utc>) {
    let command = PresenceCommand::CheckAbsence {
        now,
        timeout_sec: 60,
    };
    store
        .execute::<Presence>(employee, command, &test_metadata())
        .await
        .unwrap();
}

async fn live_projector(db: &ScratchDatabase) -> Projector {
    schema::install(&db.pool, READ_SCHEMA, false).await.unwrap();
    Projector::new(db.pool.clone(), READ_SCHEMA)
}

/// The log follower skips a notification of events up to what the projector says it handled;
/// that must be what its checkpoint reached, never more (events would go unapplied until the
/// idle wake-up) and, after a batch, not less (each batch would be followed by an empty step).
#[tokio::test]
async fn the_projector_reports_what_its_checkpoint_reached_as_handled() {
    let db = ScratchDatabase::create("fw_proj").await.unwrap();
    let store = EventStore::new(db.pool.clone());
    let projector = live_projector(&db).await;
    assert_eq!(projector.handled(), Some(0));
    enrol(&store, "ana", "Ana").await;
    add_camera(&store, "door").await;
    let reached = projector.catch_up(None).await.unwrap();
    assert!(reached > 0);
    assert_eq!(projector.handled(), Some(reached));
    assert_eq!(projector.checkpoint().await.unwrap(), reached);
    // Appended but not yet applied: not handled.
    seen(&store, "ana", t("10:00:00")).await;
    assert_eq!(projector.handled(), Some(reached));
    let newer = projector.catch_up(None).await.unwrap();
    assert!(newer > reached);
    assert_eq!(projector.handled(), Some(newer));
    db.drop().await.unwrap();
}

#[tokio::test]
async fn verdicts_keep_the_schedule_in_force_at_the_event() {
    let db = ScratchDatabase::create("fw_proj").await.unwrap();
    let store = EventStore::new(db.pool.clone());
    let projector = live_projector(&db).await;
    enrol(&store, "ana", "Ana").await;
    add_camera(&store, "door").await;

    // 10:00 seen, gone for a minute: an exit in work hours → alert.
    seen(&store, "ana", t("10:00:00")).await;
    absence_check(&store, "ana", t("10:01:30")).await;
    // Back at 10:20 (resolves the alert), leaves at lunch (no alert).
    seen(&store, "ana", t("10:20:00")).await;
    seen(&store, "ana", t("12:10:00")).await;
    absence_check(&store, "ana", t("12:15:00")).await;
    projector.catch_up(None).await.unwrap();

    let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let alerts = queries::alerts(&db.pool, t("00:00:00"), t("23:59:59"), None, false)
        .await
        .unwrap();
    assert_eq!(alerts.len(), 1, "one exit in work hours, one at lunch");
    assert_eq!(alerts[0].raised_at, t("10:00:00"));
    assert_eq!(alerts[0].resolved_at, Some(t("10:20:00")));
    assert_eq!(alerts[0].camera_name.as_deref(), Some("Camera door"));

    // The office now decides Monday is a day off, from 13:00 on.
    let mut hours = WeeklyHours { days: [None; 7] };
    hours.days[2] =
        Some(TimeRange::new(NaiveTime::MIN, NaiveTime::from_hms_opt(23, 0, 0).unwrap()).unwrap());
    let save = ScheduleCommand::Save {
        work_hours: hours,
        lunch: None,
        timezone: "UTC".into(),
        alert_min_interval_sec: 60,
        now: t("13:00:00"),
    };
    store
        .execute::<Schedule>(SCHEDULE_ID, save, &test_metadata())
        .await
        .unwrap();
    // A later exit is judged by the new schedule (off hours): no alert.
    seen(&store, "ana", t("14:00:00")).await;
    absence_check(&store, "ana", t("14:05:00")).await;
    projector.catch_up(None).await.unwrap();

    let report = replay::verify(&db.pool, READ_SCHEMA, "replay_audit")
        .await
        .unwrap();
    assert!(report.all_match(), "{report:#?}");
    let alerts = queries::alerts(&db.pool, t("00:00:00"), t("23:59:59"), None, false)
        .await
        .unwrap();
    assert_eq!(
        alerts.len(),
        1,
        "the old verdict stands after the change and the replay"
    );
    assert!(
        alerts[0].schedule.work_hours.days[0].is_some(),
        "stored with the old schedule"
    );

    let attendance = queries::attendance(&db.pool, day, day, None).await.unwrap();
    assert_eq!(attendance.len(), 1);
    assert_eq!(attendance[0].first_in, Some(t("10:00:00")));
    assert_eq!(attendance[0].last_out, Some(t("14:00:00")));
    assert_eq!(
        attendance[0].first_in_camera.as_deref(),
        Some("Camera door")
    );
    assert_eq!(attendance[0].entry_type, "AUTO");
    db.drop().await.unwrap();
}

#[tokio::test]
async fn manual_corrections_win_over_automatic_data_and_resets_hide_logs() {
    let db = ScratchDatabase::create("fw_proj").await.unwrap();
    let store = EventStore::new(db.pool.clone());
    let projector = live_projector(&db).await;
    enrol(&store, "bo", "Bo").await;
    add_camera(&store, "door").await;
    let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let correct = PresenceCommand::CorrectAttendance {
        day,
        first_in: Some(t("08:00:00")),
        last_out: None,
        entry_type: EntryType::Manual,
        note: "badge forgotten".into(),
        now: t("08:30:00"),
    };
    store
        .execute::<Presence>("bo", correct, &test_metadata())
        .await
        .unwrap();
    seen(&store, "bo", t("09:00:00")).await;
    absence_check(&store, "bo", t("09:05:00")).await;
    projector.catch_up(None).await.unwrap();
    let rows = queries::attendance(&db.pool, day, day, Some("bo"))
        .await
        .unwrap();
    assert_eq!(rows[0].entry_type, "MANUAL");
    assert_eq!(
        rows[0].first_in,
        Some(t("08:00:00")),
        "AUTO never overwrites MANUAL"
    );
    assert_eq!(rows[0].last_out, None);
    assert_eq!(rows[0].note, "badge forgotten");

    let (events_before, alerts_before) = queries::count_logs(&db.pool, None, None).await.unwrap();
    assert_eq!(alerts_before, 1);
    let reset = MaintenanceCommand::ResetLogs {
        scope: LogScope::Alerts,
        window: TimeWindow {
            from: Some(t("00:00:00")),
            to: Some(t("23:59:59")),
        },
        now: t("18:00:00"),
    };
    store
        .execute::<Maintenance>(MAINTENANCE_ID, reset, &test_metadata())
        .await
        .unwrap();
    projector.catch_up(None).await.unwrap();
    let (events_after, alerts_after) = queries::count_logs(&db.pool, None, None).await.unwrap();
    assert_eq!(alerts_after, 0);
    assert_eq!(
        events_after,
        events_before + 1,
        "alerts-only reset keeps the event log"
    );
    let raw: i64 = sqlx::query_scalar("SELECT count(*) FROM public.events")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(raw, events_after, "the event store itself is never trimmed");
    // The audit copy never shows stream credentials.
    let logged = queries::events(
        &db.pool,
        &queries::EventFilter {
            event_type: Some("Added".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(!logged[0].payload.to_string().contains("secret"));
    assert!(replay::verify(&db.pool, READ_SCHEMA, "replay_audit")
        .await
        .unwrap()
        .all_match());
    // A read model edited behind the log's back is caught by the audit, table by table.
    sqlx::query("UPDATE attendance SET note = 'edited by hand'")
        .execute(&db.pool)
        .await
        .unwrap();
    let report = replay::verify(&db.pool, READ_SCHEMA, "replay_audit")
        .await
        .unwrap();
    let mismatched: Vec<&str> = report
        .tables
        .iter()
        .filter(|t| !t.matches)
        .map(|t| t.table.as_str())
        .collect();
    assert_eq!(mismatched, vec!["attendance"]);
    db.drop().await.unwrap();
}

#[tokio::test]
async fn thousands_of_events_replay_to_identical_read_models() {
    let db = ScratchDatabase::create("fw_proj").await.unwrap();
    let store = EventStore::new(db.pool.clone());
    let projector = live_projector(&db).await;
    // The live projector follows the log while it is being written, as in production.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let follower = tokio::spawn(projector.clone().run(async {
        let _ = stopped.await;
    }));
    add_camera(&store, "door").await;
    let employees: Vec<String> = (0..12).map(|i| format!("emp{i:02}")).collect();
    for id in &employees {
        enrol(&store, id, &format!("Employee {id}")).await;
    }
    let writers = employees.iter().enumerate().map(|(n, id)| {
        let store = store.clone();
        let id = id.clone();
        async move {
            let mut clock = t("07:30:00") + Duration::seconds(n as i64 * 13);
            for visit in 0..40 {
                for _ in 0..5 {
                    seen(&store, &id, clock).await;
                    clock += Duration::seconds(20);
                }
                clock += Duration::seconds(90 + (visit * 37) % 600);
                absence_check(&store, &id, clock).await;
            }
        }
    });
    let schedule_changes = async {
        for (i, minutes) in [30u32, 45, 20].into_iter().enumerate() {
            let now = t("09:00:00") + Duration::hours(i as i64 * 3);
            let pause = ScheduleCommand::PauseFor { minutes, now };
            store
                .execute::<Schedule>(SCHEDULE_ID, pause, &test_metadata())
                .await
                .unwrap();
        }
    };
    tokio::join!(futures::future::join_all(writers), schedule_changes);

    let head = facewatch_store::EventFeed::new(db.pool.clone())
        .head()
        .await
        .unwrap();
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM public.events")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(total > 2500, "wrote {total} events");
    while projector.checkpoint().await.unwrap() < head {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _ = stop.send(());
    follower.await.unwrap();

    let report = replay::verify(&db.pool, READ_SCHEMA, "replay_audit")
        .await
        .unwrap();
    assert!(report.all_match(), "{report:#?}");
    assert_eq!(report.position, head);
    let rows = |table: &str| {
        report
            .tables
            .iter()
            .find(|t| t.table == table)
            .map(|t| t.live_rows)
            .unwrap()
    };
    assert_eq!(rows("event_log"), total);
    assert_eq!(rows("employees"), 12);
    assert!(rows("alerts") > 0 && rows("attendance") > 0);
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
