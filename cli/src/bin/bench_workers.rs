//! Camera-worker benchmark (README "Deployment"): how many cameras one `facewatch worker` serves
//! at the target rate on this machine, the same with two workers sharing them, and how long a
//! killed worker's cameras take to run elsewhere. Real processes, real models, one PostgreSQL:
//! a `serve` instance (models loaded for enrolment, no cameras), then one and two workers, each
//! camera playing a generated video of an enrolled person. A camera counts as served when its
//! analysed frame rate (health `fps`, reported through PostgreSQL) stays within 10% of
//! `fps_target`.
//!
//!     cargo build --release -p facewatch
//!     target/release/bench_workers --cameras 1,2,4

#[path = "../../tests/support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use facewatch_inference::synthetic::{file_uri, frames_of, head_shot, write_video};
use facewatch_inference::{FaceEngine, InferenceConfig, Provider};
use serde_json::json;
use support::{Launch, Server};

const PASSWORD: &str = "bench-admin-password";

#[derive(Parser)]
#[command(about = "Benchmark camera workers: cameras served by one vs two workers, failover time")]
struct Args {
    /// The facewatch binary (`cargo build --release -p facewatch`).
    #[arg(
        long,
        env = "FACEWATCH_BIN",
        default_value = "target/release/facewatch"
    )]
    server_bin: PathBuf,
    #[arg(long, env = "DATABASE_URL", default_value = facewatch_store::DEFAULT_DATABASE_URL)]
    database_url: String,
    /// Camera counts to try.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
    cameras: Vec<usize>,
    /// The analysed frame rate each camera aims at.
    #[arg(long, default_value_t = 8)]
    fps_target: u32,
    /// Seconds of measurement per configuration (after every camera is online).
    #[arg(long, default_value_t = 15)]
    measure_secs: u64,
    /// Lease time for the failover measurement.
    #[arg(long, default_value_t = 10)]
    lease_sec: u64,
    #[arg(long, default_value = "models")]
    models_dir: PathBuf,
}

struct Run {
    cameras: usize,
    workers: usize,
    served: usize,
    mean_fps: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let work = tempfile::tempdir()?;
    let models_dir = args.models_dir.canonicalize().context("models dir")?;
    let photo = |name: &str| std::fs::read(models_dir.join("test-images").join(name));
    let config = InferenceConfig {
        models_dir: models_dir.clone(),
        providers: vec![Provider::Cpu],
        inference_threads: 1,
        ..InferenceConfig::default()
    };
    let engine = FaceEngine::new(&config)?;
    let face = image::load_from_memory(&photo("obama2.jpg")?)?.to_rgb8();
    let mut frames = frames_of(&[head_shot(&engine, &face, 110.0)?], 8);
    frames.extend(frames_of(&[], 2));
    let video = work.path().join("door.mp4");
    write_video(&frames, &video)?;
    drop(engine);
    let ai = work.path().join("ai.toml");
    std::fs::write(
        &ai,
        format!(
            "models_dir = {models_dir:?}\nproviders = [\"cpu\"]\ninference_threads = 1\nfps_target = {}\n",
            args.fps_target
        ),
    )?;

    let mut runs = Vec::new();
    let mut failovers = Vec::new();
    for &cameras in &args.cameras {
        let url = facewatch_store::test_database_url(&args.database_url, "fw_bench_workers");
        let pool = facewatch_store::connect(&url).await?;
        let lease = args.lease_sec.to_string();
        let schemes = "[\"rtsp\", \"file\"]";
        let api_launch = Launch::serve()
            .with_cameras(&ai)
            .env("FACEWATCH_CAMERAS__MAX_CAMERAS", "0")
            .env("FACEWATCH_CAMERAS__ALLOWED_URL_SCHEMES", schemes);
        let (api_server, api) = Server::launch(
            &args.server_bin,
            api_launch,
            &url,
            PASSWORD,
            Duration::from_secs(120),
        )
        .await?;
        let id = api
            .gql_data(
                "mutation { enrollEmployee(input: {name: \"Barack Obama\", code: \"BO\"}) { id } }",
                json!({}),
            )
            .await?["enrollEmployee"]["id"]
            .as_str()
            .context("employee id")?
            .to_string();
        let form = reqwest::multipart::Form::new().part(
            "front",
            reqwest::multipart::Part::bytes(photo("obama.jpg")?).file_name("front.jpg"),
        );
        let enrolled = api
            .http
            .post(format!("{}/api/employees/{id}/face_templates", api.base))
            .bearer_auth(&api.token)
            .multipart(form)
            .send()
            .await?;
        if !enrolled.status().is_success() {
            bail!("enrolment failed: {}", enrolled.text().await?);
        }
        for i in 0..cameras {
            api.gql_data(
                "mutation($id: String!, $url: String!) { addCamera(input: {id: $id, name: $id, streamUrl: $url}) { id } }",
                json!({"id": format!("CAM{i:02}"), "url": file_uri(&video)?}),
            )
            .await?;
        }
        let worker = || {
            Launch::worker(&ai)
                .env("FACEWATCH_CAMERAS__LEASE_SEC", &lease)
                .env("FACEWATCH_CAMERAS__ALLOWED_URL_SCHEMES", schemes)
        };
        let mut first = Server::spawn(&args.server_bin, worker(), &url)?;
        let (served, mean_fps) = measure(&pool, cameras, 1, &args).await?;
        runs.push(Run {
            cameras,
            workers: 1,
            served,
            mean_fps,
        });
        let second = Server::spawn(&args.server_bin, worker(), &url)?;
        let (served, mean_fps) = measure(&pool, cameras, 2.min(cameras), &args).await?;
        runs.push(Run {
            cameras,
            workers: 2,
            served,
            mean_fps,
        });

        // Failover: kill the first worker, time until the second holds every camera and runs it.
        let pid = first.pid().context("first worker")?;
        let kill = Instant::now();
        first.stop();
        let pool = &pool;
        wait_until(
            Duration::from_secs(args.lease_sec * 4 + 60),
            || async move {
                let held = leases(pool).await?;
                Ok(held.len() == cameras
                    && held.iter().all(|(_, w)| !w.contains(&format!("-{pid}-"))))
            },
        )
        .await?;
        let leased = kill.elapsed();
        wait_until(Duration::from_secs(120), || async move {
            Ok(online(pool).await?.len() == cameras)
        })
        .await?;
        failovers.push((cameras, leased, kill.elapsed()));
        drop(second);
        drop(api_server);
        pool.close().await;
        facewatch_store::drop_database(&url).await?;
    }

    println!(
        "\nfps_target {} · measured {} s per row · this machine: {} CPUs",
        args.fps_target,
        args.measure_secs,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| cameras | workers | served at target | mean fps per camera |");
    println!("|--------:|--------:|-----------------:|--------------------:|");
    for r in &runs {
        println!(
            "| {} | {} | {} | {:.1} |",
            r.cameras, r.workers, r.served, r.mean_fps
        );
    }
    println!("\nlease_sec {} · failover after kill -9", args.lease_sec);
    println!("| cameras | leases moved | all online again |");
    println!("|--------:|-------------:|-----------------:|");
    for (cameras, leased, online) in &failovers {
        println!(
            "| {cameras} | {:.1} s | {:.1} s |",
            leased.as_secs_f64(),
            online.as_secs_f64()
        );
    }
    Ok(())
}

/// Waits until `workers` workers hold all `cameras`, every camera online, then samples their fps
/// once a second: (cameras within 10% of the target, mean fps).
async fn measure(
    pool: &sqlx::PgPool,
    cameras: usize,
    workers: usize,
    args: &Args,
) -> anyhow::Result<(usize, f64)> {
    wait_until(Duration::from_secs(180), || async move {
        let held = leases(pool).await?;
        let owners: BTreeSet<&String> = held.iter().map(|(_, w)| w).collect();
        Ok(
            held.len() == cameras
                && owners.len() == workers
                && online(pool).await?.len() == cameras,
        )
    })
    .await?;
    // Let the rate settle after the pipelines start.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut sums = vec![0.0; cameras];
    for _ in 0..args.measure_secs {
        tokio::time::sleep(Duration::from_secs(1)).await;
        for (i, (_, fps)) in online(pool).await?.iter().enumerate().take(cameras) {
            sums[i] += fps;
        }
    }
    let means: Vec<f64> = sums.iter().map(|s| s / args.measure_secs as f64).collect();
    let target = f64::from(args.fps_target) * 0.9;
    let served = means.iter().filter(|&&m| m >= target).count();
    Ok((served, means.iter().sum::<f64>() / cameras.max(1) as f64))
}

async fn leases(pool: &sqlx::PgPool) -> anyhow::Result<Vec<(String, String)>> {
    Ok(
        sqlx::query_as("SELECT camera_id, worker_id FROM camera_leases WHERE expires_at > now()")
            .fetch_all(pool)
            .await?,
    )
}

/// Cameras reported ONLINE recently, with their fps, by camera id.
async fn online(pool: &sqlx::PgPool) -> anyhow::Result<Vec<(String, f64)>> {
    Ok(sqlx::query_as(
        "SELECT camera_id, (health->>'fps')::float8 FROM camera_status
         WHERE health->>'state' = 'ONLINE' AND updated_at > now() - interval '5 seconds'
         ORDER BY camera_id",
    )
    .fetch_all(pool)
    .await?)
}

async fn wait_until<F, Fut>(within: Duration, mut done: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + within;
    while !done().await? {
        if Instant::now() > deadline {
            bail!("timed out after {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}
