//! Scale-out on one PostgreSQL, with the real binaries: two `facewatch worker`s share the cameras
//! and one takes over the cameras of the other when it is killed (`kill -9`); two `serve`
//! instances share every change (a subscription on one sees a write through the other), one
//! projector applies the log at a time, and a standby takes over when the active one is killed
//! without skipping an event (replay identical).

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use facewatch_inference::synthetic::{file_uri, frames_of, head_shot, write_video};
use facewatch_inference::{FaceEngine, InferenceConfig, Provider};
use serde_json::json;
use support::subscription::Subscription;
use support::{Launch, Server, SightingClock};

const PASSWORD: &str = "scale-out-admin-password";
/// Starting a process that loads the face models, on a busy machine.
const START: Duration = Duration::from_secs(120);
/// The lease the tests configure (seconds); heartbeats come five times per lease.
const LEASE_SEC: u64 = 2;

fn models_dir() -> PathBuf {
    std::env::var_os("FACEWATCH_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../models")))
}

fn photo(name: &str) -> Vec<u8> {
    std::fs::read(models_dir().join("test-images").join(name))
        .expect("run scripts/setup-inference.sh")
}

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_facewatch"))
}

/// Polls `check` every 200 ms until it returns `Some`, failing after `within`.
async fn poll<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Live leases: camera → worker id.
async fn leases(pool: &sqlx::PgPool) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT camera_id, worker_id FROM camera_leases WHERE expires_at > now() ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Sightings (`FaceRecognized`) recorded by `camera` after the database time `after`.
async fn sightings_of(
    pool: &sqlx::PgPool,
    camera: &str,
    after: chrono::DateTime<chrono::Utc>,
) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE event_type = 'FaceRecognized'
         AND metadata::jsonb->>'actor' = $1 AND recorded_at > $2",
    )
    .bind(format!("camera:{camera}"))
    .bind(after)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// A worker's id carries its process id (`host-pid-random`).
fn worker_of(worker_id: &str, server: &Server) -> bool {
    worker_id.contains(&format!("-{}-", server.pid().expect("running")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_share_the_cameras_and_one_takes_over_when_the_other_is_killed() {
    let work = tempfile::tempdir().unwrap();
    let config = InferenceConfig {
        models_dir: models_dir(),
        providers: vec![Provider::Cpu],
        inference_threads: 1,
        ..InferenceConfig::default()
    };
    let engine = FaceEngine::new(&config).unwrap();
    let face = image::load_from_memory(&photo("obama2.jpg"))
        .unwrap()
        .to_rgb8();
    let mut frames = frames_of(&[head_shot(&engine, &face, 110.0).unwrap()], 4);
    frames.extend(frames_of(&[], 2));
    let video = work.path().join("door.mp4");
    write_video(&frames, &video).unwrap();
    drop(engine);
    let ai_params = work.path().join("ai.toml");
    std::fs::write(
        &ai_params,
        format!(
            "models_dir = {:?}\nproviders = [\"cpu\"]\ninference_threads = 1\nfps_target = 4\n",
            models_dir().canonicalize().unwrap()
        ),
    )
    .unwrap();
    let database_url =
        facewatch_store::test_database_url(&support::base_database_url(), "fw_workers");
    let pool = facewatch_store::connect(&database_url).await.unwrap();
    let schemes = "[\"rtsp\", \"file\"]";
    let db = &pool;
    let lease = LEASE_SEC.to_string();

    // The API instance loads the face models (photo enrolment) but runs no camera.
    let api_launch = Launch::serve()
        .with_cameras(&ai_params)
        .env("FACEWATCH_CAMERAS__MAX_CAMERAS", "0")
        .env("FACEWATCH_CAMERAS__LEASE_SEC", &lease)
        .env("FACEWATCH_CAMERAS__ALLOWED_URL_SCHEMES", schemes);
    let (_api_server, api) = Server::launch(bin(), api_launch, &database_url, PASSWORD, START)
        .await
        .unwrap();
    let enrolled = api
        .gql_data(
            "mutation { enrollEmployee(input: {name: \"Barack Obama\", code: \"BO-1\"}) { id } }",
            json!({}),
        )
        .await
        .unwrap();
    let id = enrolled["enrollEmployee"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b64 = base64::engine::general_purpose::STANDARD.encode(photo("obama.jpg"));
    api.gql_data(
        "mutation($id: String!, $photo: String!) {
            enrollFacePhoto(employeeId: $id, pose: FRONT, photoBase64: $photo) { faceTemplates } }",
        json!({"id": id, "photo": b64}),
    )
    .await
    .unwrap();
    let cameras = ["CAM1", "CAM2"];
    for camera in cameras {
        api.gql_data(
            "mutation($id: String!, $url: String!) {
                addCamera(input: {id: $id, name: $id, streamUrl: $url}) { id } }",
            json!({"id": camera, "url": file_uri(&video).unwrap()}),
        )
        .await
        .unwrap();
    }

    let worker = || {
        Launch::worker(&ai_params)
            .env("FACEWATCH_CAMERAS__LEASE_SEC", &lease)
            .env("FACEWATCH_CAMERAS__ALLOWED_URL_SCHEMES", schemes)
    };
    let mut first = Server::spawn(bin(), worker(), &database_url).unwrap();
    let second = Server::spawn(bin(), worker(), &database_url).unwrap();

    // Balanced: one camera each.
    let split = poll(
        "the cameras split between the workers",
        START,
        || async move {
            let held = leases(db).await;
            let owners: BTreeSet<&String> = held.iter().map(|(_, w)| w).collect();
            (held.len() == 2 && owners.len() == 2).then_some(held.clone())
        },
    )
    .await;
    let started = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
    let (pool, second_ref) = (db, &second);
    for camera in cameras {
        poll(&format!("a sighting from {camera}"), START, || async move {
            (sightings_of(pool, camera, started).await > 0).then_some(())
        })
        .await;
    }
    // Every API instance sees the health of cameras that run elsewhere.
    api.wait_for("{ cameras { id health { state } } }", START, |d| {
        d["cameras"]
            .as_array()
            .is_some_and(|c| c.len() == 2 && c.iter().all(|c| c["health"]["state"] == "ONLINE"))
    })
    .await
    .unwrap();
    let (victim, _) = split
        .iter()
        .find(|(_, w)| worker_of(w, &first))
        .cloned()
        .expect("the first worker holds a camera");

    let killed_at: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(pool)
        .await
        .unwrap();
    let kill = Instant::now();
    let victim = &victim;
    first.stop(); // SIGKILL: no lease given back
    let lease_time = Duration::from_secs(LEASE_SEC);
    let taken_over = poll(
        "the survivor takes the camera over",
        lease_time * 5,
        || async move {
            let held = leases(pool).await;
            held.iter()
                .any(|(c, w)| *c == *victim && worker_of(w, second_ref))
                .then(|| kill.elapsed())
        },
    )
    .await;
    // Within the lease and one heartbeat, with room for a busy machine.
    assert!(
        taken_over <= lease_time + lease_time / 5 + Duration::from_secs(2),
        "takeover took {taken_over:?}"
    );
    poll(
        &format!("sightings from {victim} continue"),
        START,
        || async move { (sightings_of(pool, victim, killed_at).await > 0).then_some(()) },
    )
    .await;
    // Nothing recorded twice: no two sightings with the same payload (camera, time, track).
    let duplicated: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT payload::text FROM events
         WHERE event_type = 'FaceRecognized' GROUP BY 1 HAVING count(*) > 1) d",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(duplicated, 0);
    // The frame of a camera run by a worker reaches the API through PostgreSQL.
    let frame = api
        .get(&format!("/api/cameras/{victim}/latest.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(frame.status(), 200);
    let jpeg = frame.bytes().await.unwrap();
    assert!(image::load_from_memory(&jpeg).is_ok());

    drop(second);
    drop(_api_server);
    db.close().await;
    facewatch_store::drop_database(&database_url).await.unwrap();
}

/// Which of `servers` has logged taking the projector's lock.
fn projector_leaders(servers: &[&Server]) -> Vec<usize> {
    servers
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            let (_, lines) = s.log_lines_with("this process runs the job now", 10);
            lines.iter().any(|l| l.contains("projector:read"))
        })
        .map(|(i, _)| i)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_instances_share_changes_and_a_standby_projector_takes_over() {
    let database_url = facewatch_store::test_database_url(&support::base_database_url(), "fw_apis");
    let pool = facewatch_store::connect(&database_url).await.unwrap();
    let within = Duration::from_secs(60);
    let (a, api_a) = Server::start(bin(), &database_url, PASSWORD, within)
        .await
        .unwrap();
    let (b, api_b) = Server::start(bin(), &database_url, PASSWORD, within)
        .await
        .unwrap();
    let employees = support::seed(&api_a, 1).await.unwrap();
    let employee = employees[0].as_str();
    let clock = SightingClock::default();

    // Exactly one projector is active.
    let servers = [&a, &b];
    let servers = &servers;
    let leader = poll("one projector is active", within, || async move {
        match projector_leaders(servers)[..] {
            [one] => Some(one),
            _ => None,
        }
    })
    .await;
    let (mut active, standby, api_active, api_standby) = if leader == 0 {
        (a, b, api_a, api_b)
    } else {
        (b, a, api_b, api_a)
    };

    // A subscription on the standby sees a sighting recorded through the active instance (whose
    // projector applied it).
    let mut presence = Subscription::open(&api_standby, "subscription { presenceChanged { id } }")
        .await
        .unwrap();
    let deadline = Instant::now() + within;
    let seen = loop {
        assert!(api_active
            .record_sighting(employee, clock.next())
            .await
            .is_ok());
        if let Some(seen) = presence
            .next_within(Duration::from_millis(500))
            .await
            .unwrap()
        {
            break seen;
        }
        assert!(
            Instant::now() < deadline,
            "the standby's subscription saw nothing"
        );
    };
    assert_eq!(seen["presenceChanged"]["id"], employee);

    active.stop(); // SIGKILL
    let survivor = &standby;
    poll(
        "the standby's projector takes over",
        within,
        || async move { projector_leaders(&[survivor]).first().copied() },
    )
    .await;
    // Writes through the survivor are readable again: its projector applies them.
    for _ in 0..10 {
        let outcome = api_standby.record_sighting(employee, clock.next()).await;
        assert!(outcome.is_ok(), "{}", outcome.kind());
    }
    // The survivor's projector reaches the head of the log by itself...
    let db = &pool;
    poll(
        "the read models reach the head of the log",
        within,
        || async move {
            let head: i64 = sqlx::query_scalar("SELECT max(global_seq) FROM events")
                .fetch_one(db)
                .await
                .unwrap();
            let checkpoint: i64 = sqlx::query_scalar("SELECT last_seq FROM read.checkpoint")
                .fetch_one(db)
                .await
                .unwrap();
            (checkpoint == head).then_some(())
        },
    )
    .await;
    // ...and skipped no event: the live read models equal a replay of the log.
    let replay = std::process::Command::new(bin())
        .args(["replay", "--json"])
        .env("DATABASE_URL", &database_url)
        .env_remove("RUST_LOG")
        .current_dir(standby.dir())
        .output()
        .unwrap();
    assert!(
        replay.status.success(),
        "replay differs: {}\n{}",
        String::from_utf8_lossy(&replay.stdout),
        String::from_utf8_lossy(&replay.stderr)
    );

    drop(standby);
    pool.close().await;
    facewatch_store::drop_database(&database_url).await.unwrap();
}
