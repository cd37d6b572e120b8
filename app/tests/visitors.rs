//! Unknown visitors through the application layer against real PostgreSQL: faces are recorded
//! under the same rules as sightings, grouped by similarity in the read model (identically after a
//! replay), and a group can be attached to an employee (templates added) or dismissed.

use facewatch_app::testing::TestApp;
use facewatch_app::{
    Actor, App, AppError, CameraInput, CommandContext, EmployeeInput, UnknownFaceInput,
};
use facewatch_projections::visitors::visitor_groups;

/// A unit vector near axis `axis` (two faces near one axis are the same person).
fn face(axis: usize, wobble: f32) -> Vec<f32> {
    let mut v = [0.0f32; 8];
    v[axis] = 1.0;
    v[(axis + 1) % 8] = wobble;
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / norm).collect()
}

fn unknown(track_id: u64, embedding: Vec<f32>) -> UnknownFaceInput {
    UnknownFaceInput {
        camera_id: "CAM1".into(),
        at: None,
        track_id,
        snapshot_ref: Some(format!("snapshots/CAM1/2026-11-25/{track_id}.jpg")),
        embedding,
        model_id: "test-model".into(),
    }
}

async fn add_camera(app: &App, ctx: &CommandContext) {
    let input = CameraInput {
        id: Some("CAM1".into()),
        name: "Hall".into(),
        location: "Hall".into(),
        stream_url: "rtsp://127.0.0.1:1/none".into(),
        enabled: true,
    };
    app.add_camera(ctx, input).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_faces_are_grouped_attached_and_dismissed() {
    let test = TestApp::spawn("fw_visitors").await;
    let (app, admin) = (&test.app, test.admin());
    add_camera(app, &admin).await;
    let camera = CommandContext::new(Actor::camera("CAM1"));
    let mut outcomes = Vec::new();
    // Two strangers: tracks 1, 2 and 4 are the first, track 3 the second.
    for (track, embedding) in [
        (1, face(0, 0.1)),
        (2, face(0, 0.2)),
        (3, face(4, 0.1)),
        (4, face(0, 0.0)),
    ] {
        outcomes.push(
            app.record_unknown_face(&camera, unknown(track, embedding))
                .await
                .unwrap(),
        );
    }
    app.settle(&outcomes).await.unwrap();
    let groups = visitor_groups(app.pool()).await.unwrap();
    let mut sizes: Vec<Vec<i64>> = groups
        .iter()
        .map(|g| {
            let mut tracks: Vec<i64> = g.faces.iter().map(|f| f.track_id).collect();
            tracks.sort();
            tracks
        })
        .collect();
    sizes.sort();
    assert_eq!(sizes, vec![vec![1, 2, 4], vec![3]]);
    let first = groups.iter().find(|g| g.faces.len() == 3).unwrap();
    let second = groups.iter().find(|g| g.faces.len() == 1).unwrap();

    // Attaching adds templates to the employee; the group leaves the list.
    let ana = app
        .enroll_employee(
            &admin,
            EmployeeInput {
                name: "Ana".into(),
                code: "E-1".into(),
                department: String::new(),
            },
        )
        .await
        .unwrap();
    let attached = app
        .attach_visitor(&admin, &first.id, &ana.id)
        .await
        .unwrap();
    assert_eq!(attached.templates, 3);
    assert_eq!(app.dismiss_visitor(&admin, &second.id).await.unwrap(), 1);
    assert!(visitor_groups(app.pool()).await.unwrap().is_empty());
    assert!(matches!(
        app.dismiss_visitor(&admin, &second.id).await,
        Err(AppError::NotFound { .. })
    ));

    // The same rules as sightings: a disabled camera's faces are refused.
    app.set_camera_enabled(&admin, "CAM1", false).await.unwrap();
    assert!(matches!(
        app.record_unknown_face(&camera, unknown(9, face(2, 0.0))).await,
        Err(AppError::Invalid(m)) if m.contains("disabled")
    ));
    // A bad embedding is refused with a clear error.
    app.set_camera_enabled(&admin, "CAM1", true).await.unwrap();
    assert!(matches!(
        app.record_unknown_face(&camera, unknown(9, vec![3.0, 4.0])).await,
        Err(AppError::Invalid(m)) if m.contains("normalised")
    ));

    let report = app.run_replay_audit().await.unwrap();
    assert!(report.all_match(), "{report:?}");
    test.finish().await;
}
