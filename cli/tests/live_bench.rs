//! Benchmark, not a timed test (ignored by default): the live view's latency — from the moment the
//! camera delivered a frame (`X-Captured-At`) to the moment a client reading the MJPEG stream has
//! the whole annotated JPEG — and the CPU the `facewatch` process uses with nobody watching, one
//! and two watchers of the demo camera (fps_target 8).
//!
//! ```sh
//! cargo test -p facewatch --test live_bench -- --ignored --nocapture            # debug build
//! cargo test --release -p facewatch --test live_bench -- --ignored --nocapture  # release build
//! ```

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::mjpeg::MjpegReader;
use support::{Api, Launch, Server};

const WINDOW: Duration = Duration::from_secs(20);

/// User + system CPU seconds used so far by process `pid`.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses): state is field 3, utime 14, stime 15.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    let hz: f64 = String::from_utf8(
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .parse()
    .unwrap();
    ticks / hz
}

/// CPU used by `pid` while `during` runs, in % of one core.
async fn cpu_percent_during<F: std::future::Future>(pid: u32, during: F) -> (f64, F::Output) {
    let (cpu0, t0) = (cpu_seconds(pid), Instant::now());
    let output = during.await;
    let used = cpu_seconds(pid) - cpu0;
    (100.0 * used / t0.elapsed().as_secs_f64(), output)
}

/// Latencies of one frame in ms: capture → client, capture → analysed, analysed → client.
type Latency = (f64, f64, f64);

/// Reads the stream for `WINDOW`; returns each frame's latencies and the frames per second.
async fn watch(api: &Api) -> (Vec<Latency>, f64) {
    let mut reader = MjpegReader::new(api.live("DEMO").await);
    let _ = reader.next().await; // the frame encoded on connection (may be older)
    let start = Instant::now();
    let mut latencies = Vec::new();
    while start.elapsed() < WINDOW {
        let p = reader.next().await;
        let ms = |from: i64, to: i64| (to - from) as f64 / 1000.0;
        latencies.push((
            ms(p.captured_at_us, p.received_at_us),
            ms(p.captured_at_us, p.analysed_at_us),
            ms(p.analysed_at_us, p.received_at_us),
        ));
    }
    let fps = latencies.len() as f64 / start.elapsed().as_secs_f64();
    (latencies, fps)
}

/// "p50 X ms, p95 Y ms" of one component.
fn summary(latencies: &[Latency], pick: impl Fn(&Latency) -> f64) -> String {
    let mut values: Vec<f64> = latencies.iter().map(pick).collect();
    values.sort_by(f64::total_cmp);
    format!(
        "p50 {:.0} ms, p95 {:.0} ms",
        percentile(&values, 0.5),
        percentile(&values, 0.95)
    )
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --ignored --nocapture"]
async fn live_view_latency_and_cpu() {
    let bin = Path::new(env!("CARGO_BIN_EXE_facewatch"));
    let database_url = facewatch_store::test_database_url(&support::base_database_url(), "fw_live");
    let run_for = Duration::from_secs(180);
    let (demo, api) = Server::launch(
        bin,
        Launch::demo(run_for),
        &database_url,
        "bench-password",
        run_for,
    )
    .await
    .unwrap();
    let pid = demo.pid().unwrap();
    // Wait until the camera is online and has been analysing for a while.
    api.wait_for(
        "{ cameras { health { state } } }",
        Duration::from_secs(60),
        |data| data["cameras"][0]["health"]["state"] == "ONLINE",
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;

    let (idle, ()) = cpu_percent_during(pid, tokio::time::sleep(WINDOW)).await;
    let (one, (latencies, fps)) = cpu_percent_during(pid, watch(&api)).await;
    let (two, ((_, fps_a), (_, fps_b))) =
        cpu_percent_during(pid, async { tokio::join!(watch(&api), watch(&api)) }).await;

    println!(
        "live view, 1 watcher: {} frames at {fps:.1} fps; capture→client {}; of which \
         capture→analysed (face analysis) {}, analysed→client (overlay, JPEG, HTTP) {}",
        latencies.len(),
        summary(&latencies, |l| l.0),
        summary(&latencies, |l| l.1),
        summary(&latencies, |l| l.2),
    );
    println!(
        "facewatch CPU (% of one core): nobody watching {idle:.1}; 1 watcher {one:.1} \
         (+{:.1}); 2 watchers {two:.1} (+{:.1}, {fps_a:.1} and {fps_b:.1} fps)",
        one - idle,
        two - idle
    );
    assert!(!latencies.is_empty());
    drop(demo);
    facewatch_store::drop_database(&database_url).await.unwrap();
}
