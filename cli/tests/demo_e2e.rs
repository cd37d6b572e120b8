//! `facewatch demo` the way the README runs it (from the repository root, relative paths in the
//! default settings, the bundled video synthesised on first start), in smoke mode
//! (`demo --for`): both cast members are recognised and shown present, an exit raises an alert
//! that the next entry resolves, attendance has First In photos, the unknown visitor is counted,
//! the camera is labelled as a file, the live MJPEG stream needs a session and delivers annotated
//! JPEG frames, and the process exits 0 when its time is up.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;
use support::mjpeg::MjpegReader;
use support::{Launch, Server};

const PASSWORD: &str = "demo-e2e-password";

const RUN_FOR: Duration = Duration::from_secs(50);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_smoke_run_recognises_the_cast_and_exits_cleanly() {
    let started = Instant::now();
    let bin = Path::new(env!("CARGO_BIN_EXE_facewatch"));
    let database_url = facewatch_store::test_database_url(&support::base_database_url(), "fw_demo");
    let launch = Launch::demo(RUN_FOR);
    let (mut demo, api) = Server::launch(bin, launch, &database_url, PASSWORD, RUN_FOR)
        .await
        .unwrap();

    // The live view needs a session, then delivers annotated JPEG frames, each one newer.
    let anonymous = reqwest::Client::new()
        .get(format!("{}/api/cameras/DEMO/live.mjpeg", demo.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let stream = api.live("DEMO").await;
    assert_eq!(stream.status(), 200);
    let content_type = stream.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("multipart/x-mixed-replace; boundary="),
        "{content_type}"
    );
    let mut reader = MjpegReader::new(stream);
    let mut last = 0;
    for _ in 0..3 {
        let part = reader.next().await;
        assert_eq!(image::load_from_memory(&part.jpeg).unwrap().width(), 720);
        assert!(part.captured_at_us > last, "each frame is newer");
        last = part.captured_at_us;
    }
    drop(reader);
    assert_eq!(api.live("NOPE").await.status(), 404);

    // Both cast members are recognised and shown present at some point, leaving raises an alert
    // and coming back resolves it, attendance gets First In photos, the stranger is counted; the
    // camera says it plays a file and shows no stale error while online.
    let today = chrono::Utc::now().date_naive();
    let query = format!(
        "{{ employees {{ code presence {{ present }} }} \
         cameras {{ id source health {{ state lastError uptimeSec unknownFaces }} }} \
         alerts(from: \"2000-01-01T00:00:00Z\", to: \"2100-01-01T00:00:00Z\") {{ employeeId resolvedAt }} \
         attendance(from: \"{}\", to: \"{}\") {{ employeeId firstInPhoto }} }}",
        today.pred_opt().unwrap(),
        today
    );
    let mut present = BTreeSet::new();
    let mut alerted = BTreeSet::new();
    let mut resolved = BTreeSet::new();
    let mut photographed = BTreeSet::new();
    let mut strangers = 0;
    loop {
        let data = api.gql_data(&query, json!({})).await.unwrap();
        for e in data["employees"].as_array().unwrap() {
            if e["presence"]["present"] == true {
                present.insert(e["code"].as_str().unwrap().to_string());
            }
        }
        for a in data["alerts"].as_array().unwrap() {
            let id = a["employeeId"].as_str().unwrap().to_string();
            if a["resolvedAt"].is_string() {
                resolved.insert(id.clone());
            }
            alerted.insert(id);
        }
        for row in data["attendance"].as_array().unwrap() {
            if row["firstInPhoto"].is_string() {
                photographed.insert(row["employeeId"].as_str().unwrap().to_string());
            }
        }
        let camera = &data["cameras"][0];
        strangers = camera["health"]["unknownFaces"]
            .as_u64()
            .unwrap_or(strangers);
        assert_eq!(camera["source"], "FILE", "{camera}");
        if camera["health"]["state"] == "ONLINE" {
            assert!(camera["health"]["lastError"].is_null(), "{camera}");
            assert!(camera["health"]["uptimeSec"].is_number(), "{camera}");
        }
        if present.len() == 2 && !resolved.is_empty() && photographed.len() == 2 && strangers > 0 {
            break;
        }
        assert!(
            started.elapsed() < RUN_FOR,
            "present so far: {present:?}, alerts for {alerted:?}, resolved for {resolved:?}, \
             First In photos of {photographed:?}, unknown faces {strangers}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(
        present,
        BTreeSet::from(["DEMO-BIDEN".to_string(), "DEMO-OBAMA".to_string()])
    );

    // Smoke mode: the process stops by itself and reports success.
    let exit_deadline = started + RUN_FOR + Duration::from_secs(45);
    let status = loop {
        if let Some(status) = demo.try_wait() {
            break status;
        }
        assert!(Instant::now() < exit_deadline, "demo --for did not stop");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert!(status.success(), "demo --for failed: {status}");
    let database_url = demo.database_url.clone();
    drop(demo);
    facewatch_store::drop_database(&database_url).await.unwrap();
}
