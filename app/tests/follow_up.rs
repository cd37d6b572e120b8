//! Follow-up use cases of the dashboard, against real PostgreSQL with the projector running:
//! acknowledging an alert records who (once), nobody disables or demotes themself, correction
//! times must fall on the corrected day of the schedule's zone, face templates can be removed.

use chrono::{Duration, NaiveTime, Utc, Weekday};
use facewatch_app::testing::TestApp;
use facewatch_app::{
    Actor, AppError, AttendanceCorrection, CameraInput, CommandContext, DayHoursInput,
    EmployeeInput, ScheduleInput, SightingInput,
};
use facewatch_domain::employee::Pose;
use facewatch_domain::presence::EntryType;
use facewatch_domain::user::Role;
use facewatch_projections::queries;

fn ana() -> EmployeeInput {
    EmployeeInput {
        name: "Ana".into(),
        code: "E-1".into(),
        department: "Ops".into(),
    }
}

fn schedule_all_day(timezone: &str) -> ScheduleInput {
    let days = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];
    ScheduleInput {
        work_hours: days
            .into_iter()
            .map(|weekday| DayHoursInput {
                weekday,
                start: "00:00".into(),
                end: "23:59".into(),
            })
            .collect(),
        lunch_start: None,
        lunch_end: None,
        timezone: timezone.into(),
        alert_min_interval_sec: 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_is_acknowledged_once_and_the_actor_is_who_did_it() {
    let test = TestApp::spawn("fw_follow").await;
    let (app, admin) = (&test.app, test.admin());
    app.save_schedule(&admin, schedule_all_day("UTC"))
        .await
        .unwrap();
    let ana = app.enroll_employee(&admin, ana()).await.unwrap();
    let camera = CameraInput {
        id: Some("CAM1".into()),
        name: "Front door".into(),
        location: String::new(),
        stream_url: "rtsp://127.0.0.1:1/none".into(),
        enabled: true,
    };
    app.add_camera(&admin, camera).await.unwrap();
    let sighting = SightingInput {
        employee_id: ana.id.clone(),
        camera_id: "CAM1".into(),
        at: None,
        similarity: 0.9,
        track_id: 1,
        snapshot_ref: Some("snapshots/CAM1/2026-01-01/1-a.jpg".into()),
    };
    let seen = app
        .record_sighting(&CommandContext::new(Actor::camera("CAM1")), sighting)
        .await
        .unwrap();
    app.settle(&[seen]).await.unwrap();
    let later = Utc::now() + Duration::seconds(120);
    let watcher = CommandContext::new(Actor::system("absence-watcher")).with_now(later);
    app.check_absences(&watcher, 60).await.unwrap();
    let alert = queries::open_alerts(app.pool()).await.unwrap().remove(0);
    assert_eq!(
        alert.snapshot_ref.as_deref(),
        Some("snapshots/CAM1/2026-01-01/1-a.jpg"),
        "the exit's photo comes with the alert"
    );
    assert!(alert.acknowledged_at.is_none());

    let guard = CommandContext::new(Actor::user("guard"));
    let acknowledged = app
        .acknowledge_alert(&guard, alert.id, "  called her, at the bank ")
        .await
        .unwrap();
    assert_eq!(acknowledged.acknowledged_by.as_deref(), Some("user:guard"));
    assert_eq!(
        acknowledged.ack_note.as_deref(),
        Some("called her, at the bank")
    );
    let again = app.acknowledge_alert(&admin, alert.id, "me too").await;
    assert!(
        matches!(&again, Err(AppError::Invalid(m)) if m.contains("already acknowledged")),
        "{again:?}"
    );
    let unknown = app.acknowledge_alert(&admin, 999_999, "").await;
    assert!(
        matches!(unknown, Err(AppError::NotFound { .. })),
        "{unknown:?}"
    );
    // The audit log files it under the employee, with the actor.
    let filter = queries::EventFilter {
        event_type: Some("Acknowledged".into()),
        employee_id: Some(ana.id.clone()),
        limit: 10,
        ..Default::default()
    };
    let logged = queries::events(app.pool(), &filter).await.unwrap();
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].actor.as_deref(), Some("user:guard"));
    test.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_disables_or_demotes_themself() {
    let test = TestApp::spawn("fw_follow").await;
    let app = &test.app;
    let cli = CommandContext::new(Actor::cli());
    for name in ["ana", "bo"] {
        app.create_user(&cli, name, &format!("{name}-long-password"), Role::Admin)
            .await
            .unwrap();
    }
    let as_ana = CommandContext::new(Actor::user("ana"));
    let refused = app.disable_user(&as_ana, "ana").await;
    assert!(
        matches!(&refused, Err(AppError::Invalid(m)) if m.contains("your own account")),
        "{refused:?}"
    );
    let refused = app.set_user_role(&as_ana, "ana", Role::Viewer).await;
    assert!(matches!(refused, Err(AppError::Invalid(_))), "{refused:?}");
    // Another admin may; the users list shows it.
    app.set_user_role(&as_ana, "bo", Role::Viewer)
        .await
        .unwrap();
    let users = app.users().await.unwrap();
    let bo = users.iter().find(|u| u.username == "bo").unwrap();
    assert_eq!((bo.role.as_str(), bo.disabled), ("VIEWER", false));
    test.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correction_times_must_fall_on_the_corrected_day_of_the_schedules_zone() {
    let test = TestApp::spawn("fw_follow").await;
    let (app, admin) = (&test.app, test.admin());
    app.save_schedule(&admin, schedule_all_day("Pacific/Auckland"))
        .await
        .unwrap();
    let ana = app.enroll_employee(&admin, ana()).await.unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    // 08:55 in Auckland (UTC+13 in November) is 19:55 UTC the day before.
    let at = |h, m| {
        day.and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap())
            .and_utc()
            - Duration::hours(13)
    };
    let correction = |first_in, last_out| AttendanceCorrection {
        employee_id: ana.id.clone(),
        day,
        first_in,
        last_out,
        note: "badge".into(),
        entry_type: EntryType::Manual,
    };
    let row = app
        .correct_attendance(&admin, correction(Some(at(8, 55)), Some(at(17, 5))))
        .await
        .unwrap();
    assert_eq!(row.first_in, Some(at(8, 55)));
    let next_day = app
        .correct_attendance(
            &admin,
            correction(Some(at(8, 55) + Duration::days(1)), None),
        )
        .await;
    assert!(
        matches!(&next_day, Err(AppError::Invalid(m)) if m.contains("not on 2026-11-23")),
        "{next_day:?}"
    );
    let reversed = app
        .correct_attendance(&admin, correction(Some(at(17, 5)), Some(at(8, 55))))
        .await;
    assert!(
        matches!(reversed, Err(AppError::Invalid(_))),
        "{reversed:?}"
    );
    test.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_face_template_is_removed_from_the_library_and_the_gallery() {
    let test = TestApp::spawn("fw_follow").await;
    let (app, admin) = (&test.app, test.admin());
    let ana = app.enroll_employee(&admin, ana()).await.unwrap();
    for embedding in [vec![1.0, 0.0], vec![0.0, 1.0]] {
        app.add_face_template(&admin, &ana.id, Pose::Front, embedding, "m".into())
            .await
            .unwrap();
    }
    let library = app.face_library(&ana.id).await.unwrap();
    assert_eq!(library.len(), 2);
    assert_eq!(library[0].source.as_deref(), Some("EMBEDDING"));
    let view = app
        .remove_face_template(&admin, &ana.id, &library[0].template_id)
        .await
        .unwrap();
    assert_eq!(view.templates, 1);
    let gallery = queries::face_templates(app.pool()).await.unwrap();
    assert_eq!(gallery.len(), 1);
    assert_eq!(gallery[0].template_id, library[1].template_id);
    let again = app
        .remove_face_template(&admin, &ana.id, &library[0].template_id)
        .await;
    assert!(matches!(again, Err(AppError::Invalid(_))), "{again:?}");
    test.finish().await;
}
