//! Benchmark, not a timed test (ignored by default): how long after a face enters a camera's
//! picture a dashboard learns that the person came in — an ENTER on the `presenceChanged`
//! GraphQL subscription of a real `facewatch serve`.
//!
//! The camera is a local RTSP server (H.264, 960×540 at 10 fps) whose picture the benchmark
//! switches between an empty wall and an enrolled person at a known instant. Each trial: show the
//! face, time the first `present: true`, then show the wall again and wait for the exit
//! (`present_timeout_sec` 3 here) before the next trial. The stamp on the entry (`since`: when the
//! camera saw the face) splits the time into the camera's part (RTSP, decode, detection,
//! recognition until the track settles) and the server's (command, projection, WebSocket).
//!
//! ```sh
//! cargo test --release -p facewatch --test enter_latency_bench -- --ignored --nocapture
//! ENTER_BENCH_TRIALS=40 cargo test --release -p facewatch --test enter_latency_bench -- --ignored --nocapture
//! ```

mod support;

use std::path::Path;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use facewatch_inference::synthetic::{frames_of, head_shot};
use facewatch_inference::{FaceEngine, InferenceConfig, Provider};
use serde_json::{json, Value};
use support::rtsp::ControlledCamera;
use support::subscription::Subscription;
use support::{Launch, Server};

const PASSWORD: &str = "bench-password";
const PRESENT_TIMEOUT_SEC: u64 = 3;

fn models_dir() -> std::path::PathBuf {
    std::env::var_os("FACEWATCH_MODELS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| support::repo_root().join("models"))
}

fn photo(name: &str) -> Vec<u8> {
    std::fs::read(models_dir().join("test-images").join(name))
        .expect("run scripts/setup-inference.sh")
}

/// The empty wall and the same wall with an enrolled person (face about 110 px wide).
fn scenes() -> (image::RgbImage, image::RgbImage) {
    let engine = FaceEngine::new(&InferenceConfig {
        models_dir: models_dir(),
        providers: vec![Provider::Cpu],
        inference_threads: 1,
        ..InferenceConfig::default()
    })
    .unwrap();
    let face = image::load_from_memory(&photo("obama2.jpg"))
        .unwrap()
        .to_rgb8();
    let person = head_shot(&engine, &face, 110.0).unwrap();
    let wall = frames_of(&[], 1).swap_remove(0);
    let with_person = frames_of(&[person], 1).swap_remove(0);
    (wall, with_person)
}

/// Milliseconds from `from` to `to` (negative if `to` is earlier).
fn ms(from: SystemTime, to: SystemTime) -> f64 {
    match to.duration_since(from) {
        Ok(d) => d.as_secs_f64() * 1e3,
        Err(e) => -e.duration().as_secs_f64() * 1e3,
    }
}

fn stamp(value: &Value) -> Option<SystemTime> {
    let at: chrono::DateTime<chrono::Utc> = value.as_str()?.parse().ok()?;
    Some(SystemTime::from(at))
}

/// "p50 X ms, p95 Y ms, max Z ms" of `values`.
fn summary(mut values: Vec<f64>) -> String {
    values.sort_by(f64::total_cmp);
    let at = |p: f64| values[((values.len() - 1) as f64 * p).round() as usize];
    format!(
        "p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms",
        at(0.5),
        at(0.95),
        at(1.0)
    )
}

/// Reads presence changes of `employee` until one says `present == wanted`; its data and arrival.
async fn until_present(
    changes: &mut Subscription,
    employee: &str,
    wanted: bool,
    within: Duration,
) -> (Value, SystemTime) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let (data, arrived) = changes.next(left).await.unwrap_or_else(|e| {
            panic!("no presence change to present={wanted} within {within:?}: {e}")
        });
        let row = &data["presenceChanged"];
        if row["id"] == employee && row["presence"]["present"] == wanted {
            return (data, arrived);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --ignored --nocapture"]
async fn face_in_frame_to_enter_on_the_subscription() {
    let trials: usize = std::env::var("ENTER_BENCH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let (wall, with_person) = scenes();
    let camera = ControlledCamera::start(wall.clone());

    let work = tempfile::tempdir().unwrap();
    let ai_params = work.path().join("ai.toml");
    std::fs::write(
        &ai_params,
        format!(
            "models_dir = {:?}\nproviders = [\"cpu\"]\ninference_threads = 1\nsighting_interval_sec = 1\n",
            models_dir().canonicalize().unwrap()
        ),
    )
    .unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_facewatch"));
    let database_url =
        facewatch_store::test_database_url(&support::base_database_url(), "fw_enter");
    let launch = Launch::serve()
        .with_cameras(&ai_params)
        .env(
            "FACEWATCH_PRESENCE__PRESENT_TIMEOUT_SEC",
            PRESENT_TIMEOUT_SEC.to_string(),
        )
        .env("FACEWATCH_PRESENCE__ABSENCE_CHECK_INTERVAL_SEC", "1");
    let within = Duration::from_secs(60);
    let (server, api) = Server::launch(bin, launch, &database_url, PASSWORD, within)
        .await
        .unwrap();

    let enrolled = api
        .gql_data(
            "mutation { enrollEmployee(input: {name: \"Barack Obama\", code: \"BO-1\"}) { id } }",
            json!({}),
        )
        .await
        .unwrap();
    let employee = enrolled["enrollEmployee"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b64 = base64::engine::general_purpose::STANDARD.encode(photo("obama.jpg"));
    api.gql_data(
        "mutation($id: String!, $photo: String!) {
           enrollFacePhoto(employeeId: $id, pose: FRONT, photoBase64: $photo) { faceTemplates } }",
        json!({"id": employee, "photo": b64}),
    )
    .await
    .unwrap();
    api.gql_data(
        "mutation($url: String!) { addCamera(input: {id: \"DOOR\", name: \"Door\", streamUrl: $url}) { id } }",
        json!({"url": camera.url}),
    )
    .await
    .unwrap();
    api.wait_for("{ cameras { health { state } } }", within, |d| {
        d["cameras"][0]["health"]["state"] == "ONLINE"
    })
    .await
    .unwrap();

    let mut changes = Subscription::open(
        &api,
        "subscription { presenceChanged { id presence { present since } } }",
    )
    .await
    .unwrap();
    let exit_within = Duration::from_secs(PRESENT_TIMEOUT_SEC + 15);
    let (mut total, mut on_camera, mut on_server) = (vec![], vec![], vec![]);
    // Trial 0 warms up (first ONNX runs, first connection): not counted.
    for trial in 0..=trials {
        camera.show(with_person.clone());
        let shown_at = camera.shown_at().await;
        let (entered, arrived) = until_present(&mut changes, &employee, true, within).await;
        let seen_at = stamp(&entered["presenceChanged"]["presence"]["since"]).unwrap();
        if trial > 0 {
            total.push(ms(shown_at, arrived));
            on_camera.push(ms(shown_at, seen_at));
            on_server.push(ms(seen_at, arrived));
        }
        camera.show(wall.clone());
        until_present(&mut changes, &employee, false, exit_within).await;
    }

    println!(
        "face enters the frame → ENTER on the presenceChanged subscription, {trials} trials \
         (RTSP H.264 960×540 @ 10 fps, fps_target 8):\n  total              {}\n  \
         camera (RTSP, decode, detect, recognise until the track settles) {}\n  \
         server (command, projection, WebSocket) {}",
        summary(total),
        summary(on_camera),
        summary(on_server),
    );
    drop(changes);
    drop(server);
    drop(camera);
    facewatch_store::drop_database(&database_url).await.unwrap();
}
