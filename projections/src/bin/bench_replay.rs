//! Benchmark: replay audits and chain verification on generated logs (issue 15).
//!
//! `cargo run --release -p facewatch-projections --bin bench_replay -- [events ...]`
//! (default: 100000 1000000). For each size, on a scratch database of the local PostgreSQL
//! (`DATABASE_URL`): generate the log, project it live, then measure a full replay audit (replay
//! into a scratch schema + checksums of both sides), an incremental audit with nothing new (what a
//! daily audit costs besides the day's events), and `verify` (the hash chain). Peak memory is this
//! process's peak resident set during the audit (PostgreSQL's own memory is not included).

use std::time::Instant;

/// The allocator of the `facewatch` binary (cli/src/main.rs), so that the client side of the
/// audit costs what it costs in `facewatch replay`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use facewatch_projections::replay::{self, AuditMode};
use facewatch_projections::synthetic::{generate_log, SiteShape};
use facewatch_projections::{schema, Projector};
use facewatch_store::chain::verify_chain;
use facewatch_store::{ScratchDatabase, READ_SCHEMA};

struct Row {
    events: usize,
    generate_per_sec: f64,
    live_per_sec: f64,
    replay_per_sec: f64,
    replay_secs: f64,
    peak_rss_mib: f64,
    client_cpu_secs: f64,
    rss_before_mib: f64,
    compare_only_secs: f64,
    verify_per_sec: f64,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let sizes = if sizes.is_empty() {
        vec![100_000, 1_000_000]
    } else {
        sizes
    };
    let mut rows = Vec::new();
    for size in sizes {
        rows.push(measure(size).await?);
    }
    println!();
    println!(
        "| events | generate ev/s | live projector ev/s | replay audit ev/s | replay audit s | its client CPU s | peak RSS MiB (before) | audit, nothing new, s | verify ev/s |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {:.0} | {:.0} | **{:.0}** | {:.1} | {:.1} | {:.0} ({:.0}) | {:.1} | {:.0} |",
            r.events,
            r.generate_per_sec,
            r.live_per_sec,
            r.replay_per_sec,
            r.replay_secs,
            r.client_cpu_secs,
            r.peak_rss_mib,
            r.rss_before_mib,
            r.compare_only_secs,
            r.verify_per_sec
        );
    }
    Ok(())
}

async fn measure(size: usize) -> Result<Row, Box<dyn std::error::Error>> {
    let db = ScratchDatabase::create("fw_bench_replay").await?;
    let pool = &db.pool;
    eprintln!("{size} events: generating…");
    let started = Instant::now();
    let events = generate_log(pool, SiteShape::default(), size).await?;
    let generate_per_sec = events as f64 / started.elapsed().as_secs_f64();
    eprintln!("{events} events: live projector…");
    schema::install(pool, READ_SCHEMA, false).await?;
    let started = Instant::now();
    Projector::new(pool.clone(), READ_SCHEMA)
        .catch_up(None)
        .await?;
    let live_per_sec = events as f64 / started.elapsed().as_secs_f64();
    eprintln!("{events} events: full replay audit…");
    let rss_before_mib = rss_mib("VmRSS");
    reset_peak_rss();
    let cpu_before = cpu_secs();
    let report = replay::audit(pool, READ_SCHEMA, AuditMode::Full, &|_| {}).await?;
    let peak_rss_mib = rss_mib("VmHWM");
    let client_cpu_secs = cpu_secs() - cpu_before;
    assert!(
        report.all_match(),
        "the replay differs: {:#?}",
        report.tables
    );
    eprintln!("{events} events: incremental audit, nothing new…");
    let started = Instant::now();
    let nothing_new = replay::audit(pool, READ_SCHEMA, AuditMode::FromSnapshot, &|_| {}).await?;
    assert!(nothing_new.all_match() && nothing_new.events == 0);
    let compare_only_secs = started.elapsed().as_secs_f64();
    eprintln!("{events} events: verify…");
    let chain = verify_chain(pool, None, |_, _| {}).await?;
    assert!(chain.intact());
    let row = Row {
        events,
        generate_per_sec,
        live_per_sec,
        replay_per_sec: report.events_per_sec(),
        replay_secs: report.seconds,
        peak_rss_mib,
        client_cpu_secs,
        rss_before_mib,
        compare_only_secs,
        verify_per_sec: chain.events_per_sec(),
    };
    db.drop().await?;
    Ok(row)
}

/// A line of /proc/self/status in MiB (0 where there is none).
fn rss_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// User + system CPU seconds this process has used (Linux, 100 ticks per second).
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime and stime are 14th and 15th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Starts a new peak-RSS measurement (Linux: `5` in clear_refs resets VmHWM).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
