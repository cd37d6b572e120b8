//! The application layer against real PostgreSQL with its projector running: cross-aggregate
//! rules under concurrency, idempotent retries, actors on events, and "stored" answers when the
//! read models lag.

use std::time::Duration;

use facewatch_app::testing::TestApp;
use facewatch_app::{
    Actor, App, AppError, CameraInput, CommandContext, EmployeeInput, SightingInput,
};
use facewatch_domain::user::Role;
use facewatch_projections::{schema, Projector};
use facewatch_store::{EventStore, ScratchDatabase, READ_SCHEMA};

fn employee(name: &str, code: &str) -> EmployeeInput {
    EmployeeInput {
        name: name.into(),
        code: code.into(),
        department: "Ops".into(),
    }
}

async fn camera(app: &App, ctx: &CommandContext, id: &str) {
    let input = CameraInput {
        id: Some(id.into()),
        name: format!("Camera {id}"),
        location: "Door".into(),
        stream_url: "rtsp://127.0.0.1:1/none".into(),
        enabled: true,
    };
    app.add_camera(ctx, input).await.unwrap();
}

async fn count(app: &App, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(app.pool()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_enrolments_with_one_code_exactly_one_wins() {
    let test = TestApp::spawn("fw_app").await;
    let enrolments = (0..8).map(|i| {
        let app = test.app.clone();
        let ctx = CommandContext::new(Actor::user("admin"));
        tokio::spawn(async move {
            app.enroll_employee(&ctx, employee(&format!("Person {i}"), "E-7"))
                .await
        })
    });
    let results: Vec<_> = futures::future::join_all(enrolments)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 1, "{results:?}");
    for lost in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(lost, AppError::Invalid(m) if m.contains("already in use")),
            "{lost:?}"
        );
    }
    assert_eq!(count(&test.app, "SELECT count(*) FROM employees").await, 1);

    // Changing another employee's code to a taken one (any case, any spaces) is refused too;
    // after a delete, the code is free again.
    let admin = test.admin();
    let other = test
        .app
        .enroll_employee(&admin, employee("Bo", "E-8"))
        .await
        .unwrap();
    let taken = test
        .app
        .update_employee(&admin, &other.id, employee("Bo", " e-7 "))
        .await;
    assert!(matches!(taken, Err(AppError::Invalid(_))), "{taken:?}");
    let winner = results.into_iter().find_map(Result::ok).unwrap();
    test.app.delete_employee(&admin, &winner.id).await.unwrap();
    let moved = test
        .app
        .update_employee(&admin, &other.id, employee("Bo", "E-7"))
        .await
        .unwrap();
    assert_eq!(moved.code, "E-7");
    // E-8 was released by the move.
    test.app
        .enroll_employee(&admin, employee("Cy", "E-8"))
        .await
        .unwrap();
    test.finish().await;
}

#[tokio::test]
async fn a_retried_idempotency_key_appends_once_and_answers_the_same() {
    let test = TestApp::spawn("fw_app").await;
    let app = &test.app;
    let keyed = || test.admin().with_idempotency_key(Some("enrol-ana-1"));
    let first = app
        .enroll_employee(&keyed(), employee("Ana", "E-1"))
        .await
        .unwrap();
    let events = count(app, "SELECT count(*) FROM public.events").await;
    let retry = app
        .enroll_employee(&keyed(), employee("Ana", "E-1"))
        .await
        .unwrap();
    assert_eq!(
        retry.id, first.id,
        "the retry answers with the first enrolment"
    );
    assert_eq!(
        count(app, "SELECT count(*) FROM public.events").await,
        events
    );

    camera(app, &test.admin(), "CAM1").await;
    let sighting = || SightingInput {
        employee_id: first.id.clone(),
        camera_id: "CAM1".into(),
        at: None,
        similarity: 0.9,
        track_id: 3,
        snapshot_ref: None,
    };
    let key = || CommandContext::new(Actor::user("client")).with_idempotency_key(Some("s-1"));
    let stored = app.record_sighting(&key(), sighting()).await.unwrap();
    let again = app.record_sighting(&key(), sighting()).await.unwrap();
    assert_eq!(stored.position(), again.position());
    // The same key from another user is another request.
    let other = CommandContext::new(Actor::user("other")).with_idempotency_key(Some("s-1"));
    app.record_sighting(&other, sighting()).await.unwrap();
    let recognised = "SELECT count(*) FROM public.events WHERE event_type = 'FaceRecognized'";
    assert_eq!(count(app, recognised).await, 2);

    // Keys expire: recent ones stay, and once forgotten a retry is a new request.
    let an_hour_ago = chrono::Utc::now() - chrono::Duration::hours(1);
    assert_eq!(app.forget_idempotency_keys(an_hour_ago).await.unwrap(), 0);
    let keys = "SELECT count(*) FROM public.idempotency_keys";
    let held = count(app, keys).await;
    assert!(
        held >= 3,
        "the enrolment's and both sightings' keys: {held}"
    );
    let later = chrono::Utc::now() + chrono::Duration::seconds(1);
    assert_eq!(
        app.forget_idempotency_keys(later).await.unwrap() as i64,
        held
    );
    assert_eq!(count(app, keys).await, 0);
    let after_expiry = app.record_sighting(&key(), sighting()).await.unwrap();
    assert!(after_expiry.position() > stored.position());
    assert_eq!(count(app, recognised).await, 3);
    test.finish().await;
}

#[tokio::test]
async fn every_event_names_its_actor() {
    let test = TestApp::spawn("fw_app").await;
    let app = &test.app;
    let alice = CommandContext::new(Actor::user("alice"));
    let ana = app
        .enroll_employee(&alice, employee("Ana", "E-1"))
        .await
        .unwrap();
    camera(app, &CommandContext::new(Actor::cli()), "CAM1").await;
    let long_ago = chrono::Utc::now() - chrono::Duration::minutes(10);
    let sighting = SightingInput {
        employee_id: ana.id.clone(),
        camera_id: "CAM1".into(),
        at: Some(long_ago),
        similarity: 0.9,
        track_id: 1,
        snapshot_ref: None,
    };
    let seen = app
        .record_sighting(&CommandContext::new(Actor::camera("CAM1")), sighting)
        .await
        .unwrap();
    app.settle(&[seen]).await.unwrap();
    let watcher = CommandContext::new(Actor::system("absence-watcher"));
    assert_eq!(app.check_absences(&watcher, 60).await.unwrap(), 1);
    let actors: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT event_type, actor FROM event_log ORDER BY seq")
            .fetch_all(app.pool())
            .await
            .unwrap();
    let actor_of = |event_type: &str| {
        actors
            .iter()
            .find(|(t, _)| t == event_type)
            .and_then(|(_, a)| a.clone())
    };
    assert_eq!(actor_of("Enrolled").as_deref(), Some("user:alice"));
    assert_eq!(actor_of("CodeClaimed").as_deref(), Some("user:alice"));
    assert_eq!(actor_of("Added").as_deref(), Some("cli"));
    assert_eq!(actor_of("FaceRecognized").as_deref(), Some("camera:CAM1"));
    assert_eq!(actor_of("EmployeeEntered").as_deref(), Some("camera:CAM1"));
    assert_eq!(
        actor_of("EmployeeExited").as_deref(),
        Some("system:absence-watcher")
    );
    test.finish().await;
}

#[tokio::test]
async fn sightings_obey_the_same_rules_from_every_source() {
    let test = TestApp::spawn("fw_app").await;
    let app = &test.app;
    let admin = test.admin();
    let ana = app
        .enroll_employee(&admin, employee("Ana", "E-1"))
        .await
        .unwrap();
    camera(app, &admin, "CAM1").await;
    let camera_ctx = CommandContext::new(Actor::camera("CAM1"));
    let sighting = |at| SightingInput {
        employee_id: ana.id.clone(),
        camera_id: "CAM1".into(),
        at,
        similarity: 0.9,
        track_id: 1,
        snapshot_ref: None,
    };
    let future = Some(chrono::Utc::now() + chrono::Duration::hours(1));
    assert!(matches!(
        app.record_sighting(&camera_ctx, sighting(future)).await,
        Err(AppError::Invalid(_))
    ));
    app.set_camera_enabled(&admin, "CAM1", false).await.unwrap();
    assert!(matches!(
        app.record_sighting(&camera_ctx, sighting(None)).await,
        Err(AppError::Invalid(m)) if m.contains("disabled")
    ));
    app.set_camera_enabled(&admin, "CAM1", true).await.unwrap();
    app.set_employee_active(&admin, &ana.id, false)
        .await
        .unwrap();
    assert!(matches!(
        app.record_sighting(&camera_ctx, sighting(None)).await,
        Err(AppError::NotFound { .. })
    ));
    test.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_active_admin_can_be_neither_disabled_nor_demoted() {
    let test = TestApp::spawn("fw_app").await;
    let app = &test.app;
    let cli = CommandContext::new(Actor::cli());
    app.create_user(&cli, "ana", "ana-password", Role::Admin)
        .await
        .unwrap();
    let refused = app.disable_user(&cli, "ana").await;
    assert!(
        matches!(&refused, Err(AppError::Invalid(m)) if m.contains("last active admin")),
        "{refused:?}"
    );
    let refused = app.set_user_role(&cli, "ana", Role::Viewer).await;
    assert!(matches!(refused, Err(AppError::Invalid(_))));

    // Two admins disabling each other at once: one of them stays.
    app.create_user(&cli, "bo", "bo-long-password", Role::Admin)
        .await
        .unwrap();
    let (as_bo, as_ana) = (
        CommandContext::new(Actor::user("bo")),
        CommandContext::new(Actor::user("ana")),
    );
    let (a, b) = tokio::join!(
        app.disable_user(&as_bo, "ana"),
        app.disable_user(&as_ana, "bo"),
    );
    assert_eq!(a.is_ok() as u8 + b.is_ok() as u8, 1, "{a:?} {b:?}");
    let admins = count(
        app,
        "SELECT count(*) FROM users WHERE role = 'ADMIN' AND NOT disabled",
    )
    .await;
    assert_eq!(admins, 1);
    // A viewer can always be disabled.
    app.create_user(&cli, "val", "val-password", Role::Viewer)
        .await
        .unwrap();
    app.disable_user(&cli, "val").await.unwrap();
    test.finish().await;
}

#[tokio::test]
async fn a_write_the_read_models_have_not_reached_is_answered_as_stored() {
    let db = ScratchDatabase::create("fw_app").await.unwrap();
    schema::install(&db.pool, READ_SCHEMA, false).await.unwrap();
    // No projector runs in this process: nothing will catch up.
    let idle = Projector::new(db.pool.clone(), READ_SCHEMA);
    let app =
        App::new(EventStore::new(db.pool.clone()), idle).with_read_wait(Duration::from_millis(200));
    let ctx = CommandContext::new(Actor::cli());
    let answer = app.enroll_employee(&ctx, employee("Ana", "E-1")).await;
    let Err(AppError::Stored { position }) = answer else {
        panic!("expected a stored answer, got {answer:?}");
    };
    // It is stored: the log has it at that position.
    let head: i64 = sqlx::query_scalar("SELECT max(global_seq) FROM events")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(position, head);
    db.drop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_audit_is_shown_while_it_runs_refuses_a_second_and_is_recorded() {
    use facewatch_app::audits::replay_audit;
    use facewatch_projections::rebuild::{Phase, DEFAULT_BATCH};
    use facewatch_projections::replay::{last_audit, AuditMode};
    use std::sync::Mutex;

    let test = TestApp::spawn("fw_app").await;
    let app = &test.app;
    let cli = CommandContext::new(Actor::cli());
    camera(app, &cli, "CAM1").await;
    app.enroll_employee(&cli, employee("Ana", "E-1"))
        .await
        .unwrap();

    // What the Audit page reads, and what a second audit gets, while the first is replaying.
    // (the kinds of runs in progress, the second audit's answer)
    type WhileRunning = (Vec<String>, Result<(), AppError>);
    let seen_while_running: Mutex<Option<WhileRunning>> = Mutex::new(None);
    let on_progress = |step: facewatch_projections::rebuild::Progress| {
        if step.phase != Phase::Replaying || seen_while_running.lock().unwrap().is_some() {
            return;
        }
        let observed = tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(async {
                let kinds: Vec<String> =
                    sqlx::query_scalar("SELECT kind FROM audit_runs_in_progress")
                        .fetch_all(app.pool())
                        .await
                        .unwrap();
                (kinds, app.run_replay_audit().await.map(|_| ()))
            })
        });
        *seen_while_running.lock().unwrap() = Some(observed);
    };
    let report = replay_audit(app.pool(), AuditMode::Full, DEFAULT_BATCH, &on_progress)
        .await
        .unwrap();
    assert!(report.all_match(), "{report:?}");

    let (kinds, second) = seen_while_running
        .into_inner()
        .unwrap()
        .expect("progress was reported");
    assert_eq!(kinds, vec!["REPLAY".to_string()], "one run in progress");
    assert!(
        matches!(second, Err(AppError::Conflict(ref m)) if m.contains("another replay audit")),
        "{second:?}"
    );
    // Done: no run in progress; the audit is recorded for the Audit page.
    assert_eq!(
        count(app, "SELECT count(*) FROM audit_runs_in_progress").await,
        0
    );
    let recorded = last_audit(app.pool()).await.unwrap().expect("recorded");
    assert!(recorded.matches && !recorded.incremental);
    assert_eq!(recorded.position, report.position);

    // The Audit page's button does the same, recorded too.
    let button = app.run_replay_audit().await.unwrap();
    assert!(button.all_match());
    assert_eq!(count(app, "SELECT count(*) FROM replay_audits").await, 2);
    test.finish().await;
}
