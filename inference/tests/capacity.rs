//! Sharing the CPU between cameras, end to end on real video and models: motion gating keeps the
//! detector off a still, empty scene and still finds the face that walks in; an idle RTSP camera
//! decodes only its key frames and still recognises the face that walks in; one inference worker
//! serves several cameras evenly.

mod common;

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use common::{config, engine, init_tracing, photo, two_people_video};
use facewatch_inference::rtsp_server::{Codec, EncodedClip, Mount, RtspServer};
use facewatch_inference::synthetic::{self, frames_of};
use facewatch_inference::{
    enrol_photo, CameraHealth, CameraPipeline, FaceEngine, Gallery, InferenceConfig, StreamState,
};

fn gallery_of_obama() -> Arc<RwLock<Gallery>> {
    let mut gallery = Gallery::new();
    let bytes = common::photo_bytes("obama.jpg");
    gallery
        .insert(
            "emp-obama",
            enrol_photo(&engine(), &config(), &bytes).unwrap(),
        )
        .unwrap();
    Arc::new(RwLock::new(gallery))
}

/// Polls `camera`'s health until `pred` holds, or panics after `timeout`.
fn wait_for(
    camera: &CameraPipeline,
    timeout: Duration,
    what: &str,
    pred: impl Fn(&CameraHealth) -> bool,
) -> CameraHealth {
    let deadline = Instant::now() + timeout;
    loop {
        let h = camera.health().borrow().clone();
        if pred(&h) {
            return h;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {h:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn motion_gating_skips_a_still_empty_scene_and_detects_the_face_that_appears() {
    init_tracing();
    let obama = synthetic::head_shot(&engine(), &photo("obama2.jpg"), 120.0).unwrap();
    let mut frames = frames_of(&[], 4); // a still, empty corridor
    frames.extend(frames_of(&[obama], 3));
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("corridor.mp4");
    synthetic::write_video(&frames, &video).unwrap();

    let cfg = InferenceConfig {
        fps_target: synthetic::FPS,
        motion_refresh_ms: 60_000,
        // Every frame decoded: this test counts detector runs per analysed frame.
        idle_key_frames_only: false,
        ..config()
    };
    let mut camera = CameraPipeline::spawn(
        "corridor",
        &synthetic::file_uri(&video).unwrap(),
        cfg,
        engine(),
        gallery_of_obama(),
    )
    .unwrap();
    let mut recognitions = camera.take_recognitions().unwrap();

    // A second of the empty corridor (of four): the detector ran on the first frame only.
    let still = wait_for(
        &camera,
        Duration::from_secs(60),
        "10 analysed frames",
        |h| h.analysed_frames >= 10,
    );
    assert!(camera.latest_faces().is_empty());
    let detector_runs = still.analysed_frames - still.detector_skips;
    assert!(
        detector_runs <= 2 && still.detector_skips >= 8,
        "still scene: {still:?}"
    );

    // The face that walks in is detected and recognised.
    let deadline = Instant::now() + Duration::from_secs(60);
    let recognised = loop {
        if let Ok(r) = recognitions.try_recv() {
            break r;
        }
        assert!(
            Instant::now() < deadline,
            "face never recognised: {:?}",
            *camera.health().borrow()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(recognised.employee_id, "emp-obama");
    let h = camera.health().borrow().clone();
    assert!(
        h.analysed_frames - h.detector_skips > detector_runs,
        "{h:?}"
    );
    camera.stop();
}

#[test]
fn an_idle_rtsp_camera_decodes_only_key_frames_and_still_recognises_the_face_that_appears() {
    init_tracing();
    let obama = synthetic::head_shot(&engine(), &photo("obama2.jpg"), 120.0).unwrap();
    // Looped by the server: 4 s of an empty corridor, then 3 s with a face; a key frame a second.
    let mut frames = frames_of(&[], 4);
    frames.extend(frames_of(&[obama], 3));
    let clip = EncodedClip::encode(&frames, synthetic::FPS, Codec::H264, 1500).unwrap();
    let server = RtspServer::start(0, vec![("/door".into(), Mount::Clip(Arc::new(clip)))]).unwrap();
    let cfg = InferenceConfig {
        fps_target: synthetic::FPS,
        ..config()
    };
    assert!(cfg.idle_key_frames_only, "on by default");
    let uri = format!("rtsp://127.0.0.1:{}/door", server.port());
    let mut camera =
        CameraPipeline::spawn("door", &uri, cfg, engine(), gallery_of_obama()).unwrap();
    let mut recognitions = camera.take_recognitions().unwrap();

    // The empty corridor: after the first key frames, the 9 delta frames of each second are
    // dropped before the decoder (the counter moves with each analysed key frame), and the
    // health says idle (the dashboard shows that instead of the key-frame rate).
    let idle = wait_for(
        &camera,
        Duration::from_secs(60),
        "two idle seconds without decoding",
        |h| h.undecoded_frames >= 18 && h.idle,
    );
    // Most frames that arrived were never decoded (every frame would be analysed at 10 fps).
    assert!(idle.undecoded_frames > idle.analysed_frames, "{idle:?}");

    // The face that walks in shows on a key frame; decoding resumes in full and it is recognised.
    let deadline = Instant::now() + Duration::from_secs(60);
    let recognised = loop {
        if let Ok(r) = recognitions.try_recv() {
            break r;
        }
        assert!(
            Instant::now() < deadline,
            "face never recognised: {:?}",
            *camera.health().borrow()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(recognised.employee_id, "emp-obama");
    // A face is followed: not idle any more.
    assert!(
        !camera.health().borrow().idle,
        "{:?}",
        *camera.health().borrow()
    );
    camera.stop();
}

#[test]
fn one_inference_worker_serves_several_cameras_evenly() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let uri = two_people_video(dir.path(), 3);

    // One worker, every face embedded on every frame, no gating: as much work per frame as
    // possible, so that the worker is the bottleneck on a busy machine.
    let cfg = InferenceConfig {
        inference_workers: 1,
        fps_target: synthetic::FPS,
        reverify_interval_ms: 100,
        motion_gating: false,
        ..config()
    };
    let shared = Arc::new(FaceEngine::new(&cfg).unwrap());
    assert_eq!(shared.pool().workers(), 1);
    let cameras: Vec<CameraPipeline> = (0..3)
        .map(|i| {
            CameraPipeline::spawn(
                format!("cam{i}"),
                &uri,
                cfg.clone(),
                shared.clone(),
                gallery_of_obama(),
            )
            .unwrap()
        })
        .collect();
    for camera in &cameras {
        wait_for(camera, Duration::from_secs(60), "online", |h| {
            h.state == StreamState::Online && h.analysed_frames > 0
        });
    }
    let count = || -> Vec<u64> {
        cameras
            .iter()
            .map(|c| c.health().borrow().analysed_frames)
            .collect()
    };
    let before = count();
    std::thread::sleep(Duration::from_secs(4)); // a measuring window, not a wait for a condition
    let after = count();
    let done: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    let health: Vec<CameraHealth> = cameras
        .iter()
        .map(|c| c.health().borrow().clone())
        .collect();
    for camera in cameras {
        camera.stop();
    }
    let (min, max) = (*done.iter().min().unwrap(), *done.iter().max().unwrap());
    eprintln!("analysed per camera in 4 s: {done:?}; health: {health:?}");
    assert!(min >= 4, "every camera is analysed: {done:?}");
    assert!(min * 10 >= max * 6, "evenly: {done:?}");
}
