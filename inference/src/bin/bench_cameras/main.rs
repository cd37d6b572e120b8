//! Cameras per core, end to end: N cameras on a local RTSP server (another process, so its CPU
//! is not counted) go through the real pipeline (GStreamer decode, fps thinning, scaling, motion
//! gating, the shared inference workers, detection, tracking, recognition) with the default AI
//! parameters, and the run reports analysed fps per camera, dropped frames, detector runs, the
//! CPU cores used (process CPU time / wall time) and memory.
//!
//! ```text
//! cargo build --release -p facewatch-inference --features rtsp-server --bin bench_cameras
//! taskset -c 0 target/release/bench_cameras --cameras 6 --codec h264 --height 720 --faces 2
//! scripts/bench-cameras.sh        # the README's table
//! ```
//!
//! Under `taskset` the RTSP server runs on the other CPUs. Options: `--cameras N`, `--codec
//! h264|h265`, `--height 720|1080`, `--faces 0|1|2`, `--recognition once-per-track|every-frame`,
//! `--motion on|detector-only|off` (detector-only: every frame decoded, `idle_key_frames_only =
//! false`), `--seconds S` (measured), `--warmup S`, `--models DIR`, `--header`, `--threads` (a
//! second line: CPU of the inference workers per analysed frame and of the other threads —
//! decoding, thinning, conversion, RTSP — per camera, and how long each group waited for a CPU).

mod process;
mod scene;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use facewatch_inference::rtsp_server::{Codec, EncodedClip, Mount, RtspServer};
use facewatch_inference::{
    enrol_photo, CameraHealth, CameraPipeline, FaceEngine, Gallery, InferenceConfig, StreamState,
};

type Error = Box<dyn std::error::Error>;

struct Args {
    serve: bool,
    header: bool,
    threads: bool,
    cameras: usize,
    codec: Codec,
    height: u32,
    faces: usize,
    every_frame: bool,
    motion: bool,
    idle_key_frames: bool,
    seconds: u64,
    warmup: u64,
    models: PathBuf,
}

fn parse_args() -> Result<Args, Error> {
    let mut a = Args {
        serve: false,
        header: false,
        threads: false,
        cameras: 6,
        codec: Codec::H264,
        height: 720,
        faces: 2,
        every_frame: false,
        motion: true,
        idle_key_frames: true,
        seconds: 30,
        warmup: 8,
        models: PathBuf::from("models"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "serve" => a.serve = true,
            "--header" => a.header = true,
            "--threads" => a.threads = true,
            "--cameras" => a.cameras = value()?.parse()?,
            "--codec" => {
                a.codec = match value()?.as_str() {
                    "h264" => Codec::H264,
                    "h265" => Codec::H265,
                    other => return Err(format!("--codec {other}: h264 or h265").into()),
                }
            }
            "--height" => a.height = value()?.parse()?,
            "--faces" => a.faces = value()?.parse::<usize>()?.min(2),
            "--recognition" => {
                a.every_frame = match value()?.as_str() {
                    "once-per-track" => false,
                    "every-frame" => true,
                    other => {
                        return Err(
                            format!("--recognition {other}: once-per-track or every-frame").into(),
                        )
                    }
                }
            }
            "--motion" => {
                (a.motion, a.idle_key_frames) = match value()?.as_str() {
                    "on" => (true, true),
                    "detector-only" => (true, false),
                    "off" => (false, false),
                    other => {
                        return Err(format!("--motion {other}: on, detector-only or off").into())
                    }
                }
            }
            "--seconds" => a.seconds = value()?.parse()?,
            "--warmup" => a.warmup = value()?.parse()?,
            "--models" => a.models = PathBuf::from(value()?),
            other => {
                return Err(format!(
                    "unknown argument {other} (see the top of bench_cameras/main.rs)"
                )
                .into())
            }
        }
    }
    Ok(a)
}

fn main() -> Result<(), Error> {
    let args = parse_args()?;
    if args.serve {
        return serve(&args);
    }
    if args.header {
        println!("| cameras | stream | faces | recognition | motion gating | analysed fps per camera (min–max) | dropped frames/s | detector runs/s | cores used | cores per camera | RSS MiB |");
        println!("|---:|---|---:|---|---|---|---:|---:|---:|---:|---:|");
    }
    let mut server = spawn_server(&args)?;
    let result = measure(&args, server.1);
    let _ = server.0.kill();
    let _ = server.0.wait();
    result
}

/// The child process: encode the clip, serve it at `/cam`, print the port, live until stdin closes.
fn serve(args: &Args) -> Result<(), Error> {
    let cfg = config(args);
    let engine = FaceEngine::new(&cfg)?;
    let names = ["obama2.jpg", "biden.jpg"];
    let photos = names[..args.faces]
        .iter()
        .map(|n| image::open(args.models.join("test-images").join(n)).map(|i| i.to_rgb8()))
        .collect::<Result<Vec<_>, _>>()?;
    let frames = scene::frames(&engine, &photos, args.height);
    let bitrate = if args.height > 720 { 4_000 } else { 2_000 };
    let clip = EncodedClip::encode(&frames, scene::FPS, args.codec, bitrate)?;
    let server = RtspServer::start(0, vec![("/cam".into(), Mount::Clip(Arc::new(clip)))])?;
    println!("PORT {}", server.port());
    // Until the benchmark ends (it kills this process, or its end closes our stdin).
    let mut line = String::new();
    while std::io::stdin()
        .read_line(&mut line)
        .map(|n| n > 0)
        .unwrap_or(false)
    {}
    Ok(())
}

/// Starts the server child on the CPUs this process is not pinned to (all of them when it is not
/// pinned), so that `taskset -c 0 bench_cameras` measures the cameras alone on CPU 0.
fn spawn_server(args: &Args) -> Result<(Child, u16), Error> {
    let mine = process::allowed_cpus();
    let online = process::online_cpus();
    let others: Vec<u32> = online
        .iter()
        .copied()
        .filter(|c| !mine.contains(c))
        .collect();
    let cpus = if others.is_empty() { online } else { others };
    let exe = std::env::current_exe()?;
    let mut forwarded = vec![
        "serve".to_string(),
        "--codec".into(),
        match args.codec {
            Codec::H264 => "h264".into(),
            Codec::H265 => "h265".into(),
        },
        "--height".into(),
        args.height.to_string(),
        "--faces".into(),
        args.faces.to_string(),
        "--models".into(),
        args.models.display().to_string(),
    ];
    let mut command = if cpus.is_empty() {
        Command::new(&exe)
    } else {
        let mut c = Command::new("taskset");
        c.args(["-c", &process::format_list(&cpus)]).arg(&exe);
        c
    };
    let mut child = command
        .args(forwarded.drain(..))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let port = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(port) = line.strip_prefix("PORT ") {
                    break port.trim().parse::<u16>()?;
                }
            }
            _ => {
                let _ = child.kill();
                return Err("the RTSP server process ended without a port".into());
            }
        }
    };
    Ok((child, port))
}

/// The default AI parameters, as a shared server runs them (CPU only).
fn config(args: &Args) -> InferenceConfig {
    let mut cfg = InferenceConfig {
        models_dir: args.models.clone(),
        motion_gating: args.motion,
        idle_key_frames_only: args.idle_key_frames,
        ..InferenceConfig::default()
    };
    if args.every_frame {
        // Below the frame gap: every face of every frame is embedded (recognition once per
        // track off).
        cfg.reverify_interval_ms = 100;
    }
    cfg
}

fn measure(args: &Args, port: u16) -> Result<(), Error> {
    let cfg = config(args);
    cfg.validate()?;
    let engine = Arc::new(FaceEngine::new(&cfg)?);
    let mut gallery = Gallery::new();
    for (id, photo) in [("obama", "obama.jpg"), ("biden", "biden.jpg")] {
        let bytes = std::fs::read(args.models.join("test-images").join(photo))?;
        gallery.insert(id, enrol_photo(&engine, &cfg, &bytes)?)?;
    }
    let gallery = Arc::new(RwLock::new(gallery));
    let uri = format!("rtsp://127.0.0.1:{port}/cam");
    let mut cameras = Vec::new();
    for i in 0..args.cameras {
        let mut camera = CameraPipeline::spawn(
            format!("cam{i}"),
            &uri,
            cfg.clone(),
            engine.clone(),
            gallery.clone(),
        )?;
        // Nobody forwards them here: dropping the receivers makes the pipelines skip sending.
        drop(camera.take_recognitions());
        drop(camera.take_unknown_faces());
        cameras.push(camera);
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while !cameras
        .iter()
        .all(|c| c.health().borrow().state == StreamState::Online)
    {
        if Instant::now() > deadline {
            let states: Vec<_> = cameras
                .iter()
                .map(|c| c.health().borrow().clone())
                .collect();
            return Err(format!("cameras not online after 120 s: {states:?}").into());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(args.warmup));

    let snapshot = |cameras: &[CameraPipeline]| -> Vec<CameraHealth> {
        cameras
            .iter()
            .map(|c| c.health().borrow().clone())
            .collect()
    };
    let (before, cpu_before, threads_before, started) = (
        snapshot(&cameras),
        process::cpu_time(),
        process::thread_times(),
        Instant::now(),
    );
    std::thread::sleep(Duration::from_secs(args.seconds));
    let (after, cpu_after, threads_after, wall) = (
        snapshot(&cameras),
        process::cpu_time(),
        process::thread_times(),
        started.elapsed(),
    );
    let rss = process::memory_mib("VmRSS");
    for camera in cameras {
        camera.stop();
    }

    let secs = wall.as_secs_f64();
    let rate = |f: fn(&CameraHealth) -> u64| -> Vec<f64> {
        before
            .iter()
            .zip(&after)
            .map(|(b, a)| (f(a) - f(b)) as f64 / secs)
            .collect()
    };
    let fps = rate(|h| h.analysed_frames);
    let dropped: f64 = rate(|h| h.dropped_frames).iter().sum();
    let skips = rate(|h| h.detector_skips);
    let detector_runs: f64 = fps.iter().zip(&skips).map(|(f, s)| f - s).sum();
    let (min, max) = fps
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), &f| (lo.min(f), hi.max(f)));
    let cores = (cpu_after - cpu_before).as_secs_f64() / secs;
    let stream = format!(
        "{}p25 {}",
        args.height,
        match args.codec {
            Codec::H264 => "H.264",
            Codec::H265 => "H.265",
        }
    );
    println!(
        "| {} | {stream} | {} | {} | {} | {:.1}–{:.1} | {:.1} | {:.1} | {:.2} | {:.3} | {:.0} |",
        args.cameras,
        args.faces,
        if args.every_frame {
            "every frame"
        } else {
            "once per track"
        },
        match (args.motion, args.idle_key_frames) {
            (false, _) => "off",
            (true, false) => "detector only",
            (true, true) => "on (key frames when idle)",
        },
        min,
        max,
        dropped,
        detector_runs,
        cores,
        cores / args.cameras.max(1) as f64,
        rss
    );
    if args.threads {
        let analysed: f64 = fps.iter().sum::<f64>() * secs;
        let share = |a: Duration, b: Duration| (a.saturating_sub(b)).as_secs_f64() / secs;
        let (workers, streams) = (
            share(threads_after.0.running, threads_before.0.running),
            share(threads_after.1.running, threads_before.1.running),
        );
        println!(
            "threads: inference workers {workers:.3} core ({:.1} ms per analysed frame, waiting \
             for a CPU {:.3}); streams and the rest {streams:.3} core ({:.3} per camera, waiting \
             {:.3})",
            workers * secs * 1000.0 / analysed.max(1.0),
            share(threads_after.0.waiting, threads_before.0.waiting),
            streams / args.cameras.max(1) as f64,
            share(threads_after.1.waiting, threads_before.1.waiting),
        );
    }
    Ok(())
}
