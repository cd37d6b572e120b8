//! Real video to real events: a video made from face photos of different people plays on one
//! camera while another camera's RTSP URL is dead. The enrolled people must be recognised and
//! appear in PostgreSQL as sightings, entries and attendance with photos; the unknown person and
//! the dead camera must not stall or pollute anything.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chrono::Utc;
use common::{add_camera, config, decode, enrol, make_video, spawn_app};
use facewatch_cameras::{supervise, Vision};
use facewatch_captures::SnapshotStore;
use facewatch_domain::presence::PresenceEvent;
use facewatch_domain::AnyEvent;
use facewatch_inference::synthetic::{file_uri, frames_of};
use facewatch_inference::StreamState;
use facewatch_projections::queries;
use facewatch_store::EventFeed;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recognitions_from_video_become_events_in_postgres() {
    let test = spawn_app("fw_cam").await;
    let (app, admin) = (&test.app, test.admin());
    let data = tempfile::tempdir().unwrap();
    let video = data.path().join("door.mp4");

    // The footage: nobody, Obama, nobody, Biden beside an unenrolled astronaut, nobody.
    make_video(&video, |shot| {
        let mut frames = frames_of(&[], 2);
        frames.extend(frames_of(&[shot("obama2.jpg")], 4));
        frames.extend(frames_of(&[], 2));
        frames.extend(frames_of(&[shot("biden.jpg"), shot("astronaut.png")], 4));
        frames.extend(frames_of(&[], 2));
        frames
    });

    let vision = Vision::load(config(), data.path().to_path_buf()).unwrap();
    let obama = enrol(app, &admin, &vision, "Barack Obama", "obama.jpg").await;
    let biden = enrol(app, &admin, &vision, "Joe Biden", "biden.jpg").await;
    add_camera(app, &admin, "door", &file_uri(&video).unwrap()).await;
    add_camera(
        app,
        &admin,
        "dead",
        "rtsp://admin:secret@127.0.0.1:1/stream",
    )
    .await;

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(supervise(vision.clone(), app.clone(), async {
        let _ = stopped.await;
    }));

    let feed = EventFeed::new(app.pool().clone());
    let deadline = Instant::now() + Duration::from_secs(180);
    let recognised = loop {
        let events = feed.read_after(0, 10_000).await.unwrap();
        let sightings: Vec<_> = events
            .iter()
            .filter(|e| {
                matches!(
                    e.event,
                    AnyEvent::Presence(PresenceEvent::FaceRecognized { .. })
                )
            })
            .collect();
        // Every sighting is the camera's doing, and says so.
        for sighting in &sightings {
            assert_eq!(sighting.actor.as_deref(), Some("camera:door"));
        }
        let seen: BTreeSet<String> = sightings.iter().map(|e| e.aggregate_id.clone()).collect();
        if seen.len() >= 2 || Instant::now() > deadline {
            break seen;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(
        recognised,
        BTreeSet::from([biden, obama]),
        "exactly the enrolled people are recognised"
    );

    // The dead camera is offline with a redacted error, and did not stall the other one.
    let dead = vision.health("dead").expect("dead camera is supervised");
    assert_ne!(dead.state, StreamState::Online);
    let error = dead.last_error.unwrap_or_default();
    assert!(!error.is_empty() && !error.contains("secret"), "{error}");
    let door = vision.health("door").expect("door camera is supervised");
    assert!(door.last_frame_at.is_some());

    live_view_encodes_only_while_watched(&vision).await;

    let _ = stop.send(());
    running.await.unwrap();
    let head = feed.head().await.unwrap();
    let mut applied = app.projector().applied();
    applied.wait_for(|p| *p >= head).await.unwrap();

    // Entries and attendance with First In photos that really exist.
    let snapshots = SnapshotStore::new(data.path());
    let today = Utc::now().date_naive();
    let rows = queries::attendance(app.pool(), today - chrono::Duration::days(1), today, None)
        .await
        .unwrap();
    let names: BTreeSet<&str> = rows.iter().map(|r| r.employee_name.as_str()).collect();
    assert_eq!(names, BTreeSet::from(["Barack Obama", "Joe Biden"]));
    for row in &rows {
        assert_eq!(row.first_in_camera.as_deref(), Some("Camera door"));
        let photo = row.first_in_photo.as_deref().expect("first-in photo ref");
        let jpeg = std::fs::read(snapshots.resolve(photo).unwrap()).unwrap();
        assert!(decode(&jpeg).width() > 20, "a real JPEG of the face");
    }
    let (latest, _) = snapshots.latest("door").expect("latest frame published");
    assert_eq!(decode(&std::fs::read(latest).unwrap()).width(), 720);
    test.finish().await;
}

/// Waits until the camera has analysed frames for `span` more (the file loops, so frames keep
/// coming).
async fn frames_for(vision: &Vision, camera: &str, span: Duration) {
    let last = || vision.health(camera).and_then(|h| h.last_frame_at);
    let start = last().expect("the camera delivers frames");
    let deadline = Instant::now() + Duration::from_secs(60);
    while last().unwrap() < start + chrono::Duration::from_std(span).unwrap() {
        assert!(
            Instant::now() < deadline,
            "the camera stopped delivering frames"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The live view: nothing is encoded while nobody watches; a watcher gets the newest annotated
/// JPEG frames; when the last watcher leaves, encoding stops again.
async fn live_view_encodes_only_while_watched(vision: &Vision) {
    let before = vision.live_frames_encoded("door");
    frames_for(vision, "door", Duration::from_millis(600)).await;
    assert_eq!(
        vision.live_frames_encoded("door"),
        before,
        "nothing is encoded while nobody watches"
    );
    let mut watcher = vision.live("door").expect("door is running");
    let mut last_seq = 0;
    for _ in 0..3 {
        let frame = tokio::time::timeout(Duration::from_secs(30), watcher.next())
            .await
            .expect("a live frame within 30 s")
            .expect("the camera runs");
        let image = image::load_from_memory(&frame.jpeg).unwrap();
        assert_eq!(image.width(), 720);
        assert!(frame.captured_at <= frame.analysed_at);
        assert!(frame.seq > last_seq, "each frame is newer");
        last_seq = frame.seq;
    }
    assert!(vision.live_frames_encoded("door") >= before + 3);
    assert!(vision.live("nope").is_none());
    drop(watcher);
    // The encoder may finish the frame in hand, then sleeps.
    frames_for(vision, "door", Duration::from_millis(400)).await;
    let settled = vision.live_frames_encoded("door");
    frames_for(vision, "door", Duration::from_millis(600)).await;
    assert_eq!(
        vision.live_frames_encoded("door"),
        settled,
        "encoding stops when the last watcher leaves"
    );
}
