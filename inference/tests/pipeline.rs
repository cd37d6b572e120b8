//! End to end: real GStreamer pipelines over a video file made from real face
//! photos, a local RTSP server that goes away and comes back, and broken
//! sources.

mod common;

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use common::{config, engine, init_tracing, photo};
use facewatch_inference::rtsp_server::{Mount, RtspServer};
use facewatch_inference::synthetic::{self, frames_of};
use facewatch_inference::{
    enrol_photo, CameraHealth, CameraPipeline, Gallery, InferenceConfig, Recognition, StreamState,
};
use image::imageops;
use image::RgbImage;
use tokio::sync::watch;

/// Framing for the test video (the recognition under test runs later, on the decoded video).
fn head_shot(img: &RgbImage, face_px: f32) -> RgbImage {
    synthetic::head_shot(&engine(), img, face_px).expect("a face in every source photo")
}

fn write_video(frames: &[RgbImage], path: &Path) {
    synthetic::write_video(frames, path).unwrap();
}

fn file_uri(path: &Path) -> String {
    synthetic::file_uri(path).unwrap()
}

/// Waits until `pred` holds for the camera's health, or panics after `timeout`.
async fn wait_health(
    health: &mut watch::Receiver<CameraHealth>,
    timeout: Duration,
    what: &str,
    pred: impl Fn(&CameraHealth) -> bool,
) -> CameraHealth {
    let result = tokio::time::timeout(timeout, health.wait_for(|h| pred(h)))
        .await
        .map(|r| r.map(|h| h.clone()));
    match result {
        Ok(Ok(h)) => h,
        _ => panic!(
            "timed out waiting for {what}; health: {:?}",
            *health.borrow()
        ),
    }
}

fn gallery_of(people: &[(&str, &str)]) -> Arc<RwLock<Gallery>> {
    let cfg = config();
    let mut gallery = Gallery::new();
    for (employee, photo_name) in people {
        let bytes = common::photo_bytes(photo_name);
        gallery
            .insert(*employee, enrol_photo(&engine(), &cfg, &bytes).unwrap())
            .unwrap();
    }
    Arc::new(RwLock::new(gallery))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recognises_enrolled_people_in_a_video_and_nobody_else() {
    init_tracing();
    // Enrolment photos differ from the photos in the video, except the
    // astronaut, who appears mirrored.
    let gallery = gallery_of(&[
        ("emp-obama", "obama.jpg"),
        ("emp-biden", "biden.jpg"),
        ("emp-collins", "astronaut.png"),
    ]);
    let blank: Vec<RgbImage> = Vec::new();
    let mut frames = Vec::new();
    frames.extend(frames_of(&[head_shot(&photo("obama2.jpg"), 150.0)], 3));
    frames.extend(frames_of(&blank, 2)); // the track expires
    frames.extend(frames_of(&[head_shot(&photo("biden.jpg"), 150.0)], 3));
    frames.extend(frames_of(&blank, 2));
    frames.extend(frames_of(
        &[imageops::flip_horizontal(&head_shot(
            &photo("astronaut.png"),
            150.0,
        ))],
        3,
    ));
    frames.extend(frames_of(&blank, 2));
    // Two strangers at once.
    let debate = photo("debate.jpg");
    let (w, h) = debate.dimensions();
    let left = imageops::crop_imm(&debate, 0, 0, w / 2, h).to_image();
    let right = imageops::crop_imm(&debate, w / 2, 0, w / 2, h).to_image();
    frames.extend(frames_of(
        &[head_shot(&left, 120.0), head_shot(&right, 120.0)],
        3,
    ));
    frames.extend(frames_of(&blank, 1));
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("faces.mp4");
    write_video(&frames, &video);

    let cfg = InferenceConfig {
        reconnect_initial_ms: 60_000,
        reconnect_max_ms: 60_000,
        ..config()
    };
    let mut camera = CameraPipeline::spawn(
        "door",
        &file_uri(&video),
        cfg.clone(),
        engine(),
        gallery.clone(),
    )
    .unwrap();
    // A dead camera beside it must not hold the live one up.
    let dead =
        CameraPipeline::spawn("dead", "rtsp://127.0.0.1:1/x", cfg, engine(), gallery).unwrap();
    let mut recognitions = camera.take_recognitions().unwrap();
    let mut health = camera.health();

    wait_health(&mut health, Duration::from_secs(30), "first frame", |h| {
        h.state == StreamState::Online
    })
    .await;
    let mut preview_checked = false;
    let mut seen: Vec<Recognition> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        while let Ok(r) = recognitions.try_recv() {
            seen.push(r);
        }
        if !preview_checked && !camera.latest_faces().is_empty() {
            for annotated in [false, true] {
                let jpeg = camera.latest_frame_jpeg(annotated).unwrap();
                let frame = image::load_from_memory(&jpeg).unwrap();
                assert_eq!(
                    (frame.width(), frame.height()),
                    (720, 404),
                    "scaled to stream_max_width"
                );
            }
            preview_checked = true;
        }
        let h = health.borrow().clone();
        // A file that ends is played again without going offline (no error, no reconnect).
        if h.replays >= 1 {
            assert_eq!(h.state, StreamState::Online, "{h:?}");
            assert_eq!((h.reconnects, h.last_error.as_deref()), (0, None), "{h:?}");
            assert!(h.online_since.is_some(), "{h:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "video did not finish; health {h:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let final_health = health.borrow().clone();
    let dead_health = dead.health().borrow().clone();
    camera.stop();
    dead.stop();
    while let Ok(r) = recognitions.try_recv() {
        // Only the first playing counts (the replay starts over with Obama).
        if r.at <= final_health.last_frame_at.expect("frames arrived") {
            seen.push(r);
        }
    }

    let summary: Vec<_> = seen
        .iter()
        .map(|r| (r.employee_id.as_str(), r.track_id, r.similarity, r.at))
        .collect();
    eprintln!("recognitions: {summary:?}\nhealth: {final_health:?}");
    let ids: Vec<&str> = seen.iter().map(|r| r.employee_id.as_str()).collect();
    assert_eq!(
        ids,
        ["emp-obama", "emp-biden", "emp-collins"],
        "in order, once each"
    );
    // Each person on their own track (tracks expire during the empty seconds).
    for r in &seen {
        assert_eq!(r.camera_id, "door");
        assert!(r.similarity >= 0.4, "{r:?}");
        let jpeg = r
            .snapshot_jpeg
            .as_deref()
            .expect("a settling report has a snapshot");
        let snapshot = image::load_from_memory(jpeg).unwrap();
        assert!(snapshot.width() >= 40 && snapshot.height() >= 40);
    }
    assert!(seen
        .windows(2)
        .all(|w| w[0].at < w[1].at && w[0].track_id != w[1].track_id));
    assert!(
        final_health.unknown_faces >= 2,
        "both strangers counted: {final_health:?}"
    );
    assert_eq!(final_health.dropped_recognitions, 0);
    assert_eq!(dead_health.state, StreamState::Offline, "{dead_health:?}");
    assert!(preview_checked);
}

/// An RTSP server on 127.0.0.1 serving a test pattern at `/live`.
fn test_pattern_server(port: u16) -> RtspServer {
    RtspServer::start(port, vec![("/live".into(), Mount::test_pattern())]).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_camera_goes_offline_when_the_server_stops_and_recovers() {
    init_tracing();
    let server = test_pattern_server(0);
    let port = server.port();
    let cfg = InferenceConfig {
        fps_target: 5,
        stall_timeout_ms: 3_000,
        reconnect_initial_ms: 200,
        reconnect_max_ms: 1_000,
        ..config()
    };
    let uri = format!("rtsp://watcher:s3cret@127.0.0.1:{port}/live");
    let camera = CameraPipeline::spawn(
        "rtsp",
        &uri,
        cfg,
        engine(),
        Arc::new(RwLock::new(Gallery::new())),
    )
    .unwrap();
    let mut health = camera.health();

    let online = wait_health(&mut health, Duration::from_secs(30), "online", |h| {
        h.state == StreamState::Online
    })
    .await;
    assert!(online.last_frame_at.is_some());
    let deadline = Instant::now() + Duration::from_secs(10);
    let jpeg = loop {
        if let Some(jpeg) = camera.latest_frame_jpeg(true) {
            break jpeg;
        }
        assert!(Instant::now() < deadline, "no preview frame");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let frame = image::load_from_memory(&jpeg).unwrap();
    assert_eq!(
        (frame.width(), frame.height()),
        (320, 240),
        "small streams are not enlarged"
    );

    drop(server);
    let offline = wait_health(&mut health, Duration::from_secs(30), "offline", |h| {
        h.state == StreamState::Offline
    })
    .await;
    let error = offline.last_error.clone().unwrap();
    eprintln!("after server stop: {offline:?}");
    assert!(
        error.contains(&format!("rtsp://***@127.0.0.1:{port}/live")),
        "{error}"
    );
    assert!(
        !error.contains("s3cret") && !error.contains("watcher"),
        "{error}"
    );

    // Let a few reconnection attempts fail, then bring the server back on the same port.
    wait_health(
        &mut health,
        Duration::from_secs(30),
        "failed reconnects",
        |h| h.reconnects >= 2,
    )
    .await;
    let _server = test_pattern_server(port);
    let back = wait_health(&mut health, Duration::from_secs(60), "online again", |h| {
        h.state == StreamState::Online && h.reconnects >= 2
    })
    .await;
    eprintln!("after restart: {back:?}");
    camera.stop();
    assert_eq!(health.borrow().state, StreamState::Stopped);
}

async fn assert_goes_offline(uri: &str, expected_in_error: &[&str]) -> CameraHealth {
    let cfg = InferenceConfig {
        reconnect_initial_ms: 100,
        reconnect_max_ms: 200,
        ..config()
    };
    let camera = CameraPipeline::spawn(
        "broken",
        uri,
        cfg,
        engine(),
        Arc::new(RwLock::new(Gallery::new())),
    )
    .unwrap();
    let mut health = camera.health();
    let h = wait_health(
        &mut health,
        Duration::from_secs(30),
        "offline and retrying",
        |h| h.state == StreamState::Offline && h.reconnects >= 1,
    )
    .await;
    let started = Instant::now();
    camera.stop();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stop took {:?}",
        started.elapsed()
    );
    let error = h.last_error.clone().unwrap();
    for part in expected_in_error {
        assert!(error.contains(part), "{error:?} should mention {part:?}");
    }
    assert!(h.last_frame_at.is_none());
    h
}

#[tokio::test]
async fn dead_rtsp_url_is_offline_with_a_clear_error() {
    let h = assert_goes_offline(
        "rtsp://admin:pw@127.0.0.1:1/x",
        &["rtsp://***@127.0.0.1:1/x"],
    )
    .await;
    assert!(!h.last_error.unwrap().contains("admin:pw"));
}

#[tokio::test]
async fn corrupt_empty_and_missing_files_are_offline_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let corrupt = dir.path().join("corrupt.mp4");
    std::fs::write(
        &corrupt,
        (0..100_000u32)
            .map(|i| (i * 7919 % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    let missing = dir.path().join("missing.mp4");
    for path in [&corrupt, &empty, &missing] {
        let uri = file_uri(path);
        let h = assert_goes_offline(&uri, &[&uri]).await;
        eprintln!("{}: {:?}", path.display(), h.last_error);
    }
}

#[test]
fn a_source_that_is_not_a_uri_is_refused() {
    let err = CameraPipeline::spawn(
        "x",
        "admin:pw@camera",
        config(),
        engine(),
        Arc::new(RwLock::new(Gallery::new())),
    )
    .err()
    .unwrap();
    assert_eq!(
        err.to_string(),
        "camera source `***@camera` is not a URI (expected rtsp://, file://, http://...)"
    );
}
