//! Unknown visitors from real video (real GStreamer, models and PostgreSQL): a stranger seen on
//! two tracks is one visitor group with snapshots; enrolling the group makes them an employee whom
//! the next video recognises.

mod common;

use std::time::{Duration, Instant};

use common::{add_camera, config, decode, make_video, presence_events, spawn_app};
use facewatch_app::{EmployeeInput, TEMPLATES_PER_VISITOR};
use facewatch_cameras::{supervise, Vision};
use facewatch_captures::SnapshotStore;
use facewatch_domain::presence::PresenceEvent;
use facewatch_inference::synthetic::{file_uri, frames_of};
use facewatch_projections::visitors::{visitor_groups, VisitorStatus};
use facewatch_store::EventFeed;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_on_two_tracks_is_one_group_and_once_enrolled_is_recognised() {
    let test = spawn_app("fw_visitors").await;
    let (app, admin) = (&test.app, test.admin());
    let data = tempfile::tempdir().unwrap();
    // The stranger walks past twice per loop (two tracks), then on another day's footage their
    // mirror image passes another camera.
    let hall = data.path().join("hall.mp4");
    make_video(&hall, |shot| {
        let mut frames = frames_of(&[shot("astronaut.png")], 3);
        frames.extend(frames_of(&[], 2));
        frames.extend(frames_of(&[shot("astronaut.png")], 3));
        frames.extend(frames_of(&[], 2));
        frames
    });
    let vision = Vision::load(config(), data.path().to_path_buf()).unwrap();
    add_camera(app, &admin, "hall", &file_uri(&hall).unwrap()).await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(supervise(vision.clone(), app.clone(), async {
        let _ = stopped.await;
    }));

    let deadline = Instant::now() + Duration::from_secs(150);
    let groups = loop {
        let groups = visitor_groups(app.pool()).await.unwrap();
        if groups.iter().map(|g| g.faces.len()).sum::<usize>() >= 2 {
            break groups;
        }
        assert!(
            Instant::now() < deadline,
            "no two unknown tracks: {groups:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(groups.len(), 1, "one stranger, one group: {groups:?}");
    let group = &groups[0];
    let tracks: std::collections::BTreeSet<i64> = group.faces.iter().map(|f| f.track_id).collect();
    assert_eq!(
        tracks.len(),
        group.faces.len(),
        "at most one face per track"
    );
    let snapshots = SnapshotStore::new(data.path());
    for face in &group.faces {
        assert_eq!(face.camera_id, "hall");
        assert_eq!(face.status, VisitorStatus::Open);
        let reference = face.snapshot_ref.as_deref().expect("a snapshot");
        let jpeg = std::fs::read(snapshots.resolve(reference).unwrap()).unwrap();
        assert!(decode(&jpeg).width() >= 40, "a real face photo");
    }

    let input = EmployeeInput {
        name: "Eileen Collins".into(),
        code: "EC-1".into(),
        department: "Flight".into(),
    };
    let employee = app.enrol_visitor(&admin, &group.id, input).await.unwrap();
    assert!(employee.templates >= 1 && employee.templates as usize <= TEMPLATES_PER_VISITOR);
    assert!(
        visitor_groups(app.pool())
            .await
            .unwrap()
            .iter()
            .all(|g| g.id != group.id),
        "an enrolled group leaves the list"
    );

    // The next video, on another camera: the mirrored stranger is recognised as the new employee.
    let lobby = data.path().join("lobby.mp4");
    make_video(&lobby, |shot| {
        let mirrored = image::imageops::flip_horizontal(&shot("astronaut.png"));
        let mut frames = frames_of(&[mirrored], 4);
        frames.extend(frames_of(&[], 2));
        frames
    });
    add_camera(app, &admin, "lobby", &file_uri(&lobby).unwrap()).await;
    let feed = EventFeed::new(app.pool().clone());
    let deadline = Instant::now() + Duration::from_secs(150);
    loop {
        let seen = presence_events(&feed).await.into_iter().any(|(rec, e)| {
            rec.aggregate_id == employee.id
                && matches!(e, PresenceEvent::FaceRecognized { ref camera_id, .. } if camera_id == "lobby")
        });
        if seen {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the enrolled visitor was not recognised"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let _ = stop.send(());
    running.await.unwrap();
    test.finish().await;
}
