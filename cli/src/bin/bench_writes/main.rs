//! Write-path benchmark: drives `recordSighting` against a real `facewatch serve` process at
//! several concurrency levels and compares the event append rate with what PostgreSQL does for
//! plain single-row inserts on the same machine.
//!
//! ```sh
//! cargo build --release -p facewatch --bins
//! cargo run --release -p facewatch --bin bench_writes -- --help
//! cargo run --release -p facewatch --bin bench_writes            # 1,8,32,64 clients, 10 s each
//! ```
//!
//! It creates a scratch database on the server of `DATABASE_URL` (default: the local PostgreSQL),
//! starts `target/release/facewatch serve` on a free 127.0.0.1 port (cameras off), seeds employees
//! and a camera over GraphQL, measures raw inserts, runs the levels, measures raw inserts again,
//! prints a Markdown report and drops the database. Only HTTP and the `events` table are used, so
//! it measures any version of the server. The simulated clients send with a lean client of their
//! own (`sightings.rs`); seeding uses the tests' `Api`.

mod sightings;
#[path = "../../../tests/support/mod.rs"]
mod support;

/// mimalloc, as in the server (see cli/Cargo.toml): the client's CPU is taken from the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use serde_json::Value;
use sightings::SightingClient;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection};
use support::{Api, Server, SightingClock};

const PASSWORD: &str = "bench-admin-password";

#[derive(Parser)]
#[command(about = "Benchmark facewatch's write path over HTTP (recordSighting)")]
struct Args {
    /// The facewatch binary to start (`serve`); build it with `cargo build --release -p facewatch`.
    #[arg(
        long,
        env = "FACEWATCH_BIN",
        default_value = "target/release/facewatch"
    )]
    server_bin: PathBuf,
    /// PostgreSQL server to use; a scratch database is created next to this one and dropped.
    #[arg(long, env = "DATABASE_URL", default_value = facewatch_store::DEFAULT_DATABASE_URL)]
    database_url: String,
    /// Concurrent clients per level.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32,64")]
    clients: Vec<usize>,
    /// How long each level (and the raw insert measurement) sends requests, in seconds.
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
    /// Employees to seed; each client cycles over its own share of them.
    #[arg(long, default_value_t = 128)]
    employees: usize,
    /// Per-request timeout in seconds (a timeout counts as an error). A level takes at most its
    /// duration plus this.
    #[arg(long, default_value_t = 35)]
    request_timeout_secs: u64,
    /// Connections for the raw PostgreSQL insert measurement.
    #[arg(long, default_value_t = 8)]
    raw_connections: usize,
    /// Keep the scratch database (its URL is printed) instead of dropping it.
    #[arg(long)]
    keep_database: bool,
}

struct Level {
    clients: usize,
    elapsed: Duration,
    ok: usize,
    latencies: Vec<Duration>,
    errors: BTreeMap<String, usize>,
    events: i64,
}

impl Level {
    fn requests(&self) -> usize {
        self.latencies.len()
    }
    fn error_count(&self) -> usize {
        self.errors.values().sum()
    }
    fn per_sec(&self, n: f64) -> f64 {
        n / self.elapsed.as_secs_f64().max(1e-9)
    }
    fn ok_per_sec(&self) -> f64 {
        self.per_sec(self.ok as f64)
    }
    fn events_per_sec(&self) -> f64 {
        self.per_sec(self.events as f64)
    }
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

async fn run_level(
    api: &Api,
    timeout: Duration,
    pool: &sqlx::PgPool,
    employees: &[String],
    clients: usize,
    duration: Duration,
    clock: &Arc<SightingClock>,
) -> anyhow::Result<Level> {
    let before = support::count_events(pool).await?;
    let started = Instant::now();
    let stop_at = started + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..clients {
        // Client c takes employees c, c+clients, c+2·clients, …: no two clients share one.
        let mine: Vec<String> = employees
            .iter()
            .skip(client % employees.len())
            .step_by(clients)
            .cloned()
            .collect();
        let mine = if mine.is_empty() {
            vec![employees[client % employees.len()].clone()]
        } else {
            mine
        };
        let mut client = SightingClient::new(&api.base, &api.token, timeout)?;
        let clock = clock.clone();
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut errors: BTreeMap<String, usize> = BTreeMap::new();
            let mut ok = 0;
            let mut i = 0usize;
            while Instant::now() < stop_at {
                let employee = &mine[i % mine.len()];
                i += 1;
                let sent = Instant::now();
                let outcome = client.record_sighting(employee, clock.next()).await;
                latencies.push(sent.elapsed());
                if outcome.is_ok() {
                    ok += 1;
                } else {
                    *errors.entry(outcome.kind()).or_default() += 1;
                }
            }
            (ok, latencies, errors)
        });
    }
    let mut level = Level {
        clients,
        elapsed: Duration::ZERO,
        ok: 0,
        latencies: Vec::new(),
        errors: BTreeMap::new(),
        events: 0,
    };
    while let Some(joined) = tasks.join_next().await {
        let (ok, mut latencies, errors) = joined?;
        level.ok += ok;
        level.latencies.append(&mut latencies);
        for (kind, n) in errors {
            *level.errors.entry(kind).or_default() += n;
        }
    }
    level.elapsed = started.elapsed();
    level.events = support::count_events(pool).await? - before;
    level.latencies.sort();
    Ok(level)
}

/// Single-row autocommit INSERTs of an event-like row from `connections` connections for
/// `duration`: the rate PostgreSQL itself sustains on this machine. The table has the events
/// table's columns, primary key and unique global number (from a plain sequence), without its
/// triggers (advisory lock, NOTIFY).
async fn raw_insert_rate(
    url: &str,
    connections: usize,
    duration: Duration,
    payload: &Value,
    metadata: &Value,
) -> anyhow::Result<(u64, Duration)> {
    let mut setup = PgConnection::connect(url).await?;
    sqlx::raw_sql(
        "DROP TABLE IF EXISTS bench_raw_inserts;
         DROP SEQUENCE IF EXISTS bench_raw_inserts_seq;
         CREATE SEQUENCE bench_raw_inserts_seq;
         CREATE TABLE bench_raw_inserts (
             aggregate_type text NOT NULL,
             aggregate_id text NOT NULL,
             sequence bigint NOT NULL,
             event_type text NOT NULL,
             event_version text NOT NULL,
             payload json NOT NULL,
             metadata json NOT NULL,
             global_seq bigint NOT NULL UNIQUE DEFAULT nextval('bench_raw_inserts_seq'),
             recorded_at timestamptz NOT NULL DEFAULT now(),
             PRIMARY KEY (aggregate_type, aggregate_id, sequence));",
    )
    .execute(&mut setup)
    .await?;
    let mut conns = Vec::with_capacity(connections);
    for _ in 0..connections {
        // Connected like the server's pool (no TLS on loopback), so the yardstick is PostgreSQL's best.
        let options = facewatch_store::connect_options(url)?;
        conns.push(PgConnection::connect_with(&options).await?);
    }
    let started = Instant::now();
    let stop_at = started + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for (c, mut conn) in conns.into_iter().enumerate() {
        let payload = payload.clone();
        let metadata = metadata.clone();
        tasks.spawn(async move {
            let id = format!("raw-{c}");
            let mut n: i64 = 0;
            while Instant::now() < stop_at {
                sqlx::query(
                    "INSERT INTO bench_raw_inserts
                     (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                     VALUES ('presence', $1, $2, 'FaceRecognized', '1.0', $3, $4)",
                )
                .bind(&id)
                .bind(n + 1)
                .bind(&payload)
                .bind(&metadata)
                .execute(&mut conn)
                .await?;
                n += 1;
            }
            conn.close().await?;
            anyhow::Ok(n as u64)
        });
    }
    let mut total = 0;
    while let Some(joined) = tasks.join_next().await {
        total += joined??;
    }
    let elapsed = started.elapsed();
    sqlx::raw_sql("DROP TABLE bench_raw_inserts; DROP SEQUENCE bench_raw_inserts_seq;")
        .execute(&mut setup)
        .await?;
    setup.close().await?;
    Ok((total, elapsed))
}

async fn measure_raw(
    args: &Args,
    url: &str,
    duration: Duration,
    payload: &Value,
    metadata: &Value,
) -> anyhow::Result<(u64, Duration)> {
    eprintln!(
        "raw inserts: {} connections for {} s",
        args.raw_connections, args.duration_secs
    );
    let raw = raw_insert_rate(url, args.raw_connections, duration, payload, metadata).await?;
    eprintln!("  {:.0} inserts/s", RawInserts::rate(raw));
    Ok(raw)
}

struct Setup {
    postgres: String,
    cpus: usize,
    server_bin: String,
    /// `/proc/loadavg` before and after: the machine may be shared.
    load: (String, String),
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// The raw insert rate, measured before the levels and again after them: this machine's speed
/// drifts over a run (a shared VM, the disk's flush time), and a yardstick taken only at one end
/// made the ratio swing with that drift.
struct RawInserts {
    before: (u64, Duration),
    after: (u64, Duration),
}

impl RawInserts {
    fn rate((rows, elapsed): (u64, Duration)) -> f64 {
        rows as f64 / elapsed.as_secs_f64().max(1e-9)
    }

    /// Both measurements together.
    fn pooled(&self) -> f64 {
        Self::rate((self.before.0 + self.after.0, self.before.1 + self.after.1))
    }
}

fn report(args: &Args, ctx: &Setup, levels: &[Level], raw: &RawInserts) -> String {
    let raw_rate = raw.pooled();
    let mut out = String::new();
    out += "| clients | requests | ok req/s | p50 ms | p99 ms | max ms | errors | events appended/s | ÷ raw inserts/s |\n";
    out += "|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for l in levels {
        out += &format!(
            "| {} | {} | {:.0} | {} | {} | {} | {} | {:.0} | {:.2} |\n",
            l.clients,
            l.requests(),
            l.ok_per_sec(),
            ms(support::percentile(&l.latencies, 50.0)),
            ms(support::percentile(&l.latencies, 99.0)),
            ms(l.latencies.last().copied().unwrap_or_default()),
            l.error_count(),
            l.events_per_sec(),
            l.events_per_sec() / raw_rate.max(1e-9),
        );
    }
    out += &format!(
        "\nRaw PostgreSQL single-row INSERT, {} connections, autocommit, {} s before the levels and {} s after: **{raw_rate:.0} inserts/s** ({:.0} before, {:.0} after; {} rows).\n",
        args.raw_connections,
        args.duration_secs,
        args.duration_secs,
        RawInserts::rate(raw.before),
        RawInserts::rate(raw.after),
        raw.before.0 + raw.after.0
    );
    if let Some(best) = levels
        .iter()
        .max_by(|a, b| a.events_per_sec().total_cmp(&b.events_per_sec()))
    {
        out += &format!(
            "Appended events/s ÷ raw inserts/s: **{:.2}** at the best level ({} clients, {:.0} events/s)",
            best.events_per_sec() / raw_rate.max(1e-9),
            best.clients,
            best.events_per_sec()
        );
        if let Some(eight) = levels.iter().find(|l| l.clients == 8) {
            out += &format!(
                "; **{:.2}** at 8 clients ({:.0} events/s)",
                eight.events_per_sec() / raw_rate.max(1e-9),
                eight.events_per_sec()
            );
        }
        out += ".\n";
    }
    out += "\nGoals (issue 9):";
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    if let Some(l) = levels.iter().find(|l| l.clients == 64) {
        out += &format!(
            " zero errors at 64 clients — {} ({} errors);",
            verdict(l.error_count() == 0),
            l.error_count()
        );
    }
    if let Some(l) = levels.iter().find(|l| l.clients == 32) {
        let p99 = support::percentile(&l.latencies, 99.0);
        out += &format!(
            " p99 < 50 ms at 32 clients — {} ({} ms);",
            verdict(p99 < Duration::from_millis(50)),
            ms(p99)
        );
    }
    if let Some(best) = levels
        .iter()
        .map(Level::events_per_sec)
        .max_by(f64::total_cmp)
    {
        out += &format!(
            " appends ≥ 0.5 × raw inserts — {} ({:.2}).",
            verdict(best >= 0.5 * raw_rate),
            best / raw_rate.max(1e-9)
        );
    }
    out += "\n";
    let failing: Vec<&Level> = levels.iter().filter(|l| l.error_count() > 0).collect();
    if !failing.is_empty() {
        out += "\nErrors:\n";
        for l in failing {
            for (kind, n) in &l.errors {
                out += &format!("- {} clients: {n} × {kind}\n", l.clients);
            }
        }
    }
    out += &format!(
        "\nSetup: `{}` (cameras off), {} CPUs (load average {} before, {} after), {}; {} employees, each level {} s (ok req/s and events/s over the level's wall time including the drain of in-flight requests), request timeout {} s; latency over every request sent, errors included. One event per sighting (`FaceRecognized`), plus `EmployeeEntered` on an employee's first one.\n",
        ctx.server_bin,
        ctx.cpus,
        ctx.load.0,
        ctx.load.1,
        ctx.postgres,
        args.employees,
        args.duration_secs,
        args.request_timeout_secs
    );
    out
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.clients.iter().all(|c| *c > 0),
        "--clients must be positive"
    );
    anyhow::ensure!(args.employees > 0, "--employees must be positive");
    let server_bin = args.server_bin.canonicalize().with_context(|| {
        format!(
            "no facewatch binary at {} (cargo build --release -p facewatch)",
            args.server_bin.display()
        )
    })?;
    let duration = Duration::from_secs(args.duration_secs);
    let url = facewatch_store::test_database_url(&args.database_url, "fw_bench");
    eprintln!("scratch database {url}");
    let result = bench(&args, &server_bin, &url, duration).await;
    if args.keep_database {
        eprintln!("kept {url}");
    } else if let Err(e) = facewatch_store::drop_database(&url).await {
        eprintln!("could not drop {url}: {e}");
    }
    let markdown = result?;
    println!("{markdown}");
    Ok(())
}

async fn bench(
    args: &Args,
    server_bin: &std::path::Path,
    url: &str,
    duration: Duration,
) -> anyhow::Result<String> {
    let load_before = load_average();
    let (mut server, admin) =
        Server::start(server_bin, url, PASSWORD, Duration::from_secs(120)).await?;
    let timeout = Duration::from_secs(args.request_timeout_secs);
    let api = admin.with_timeout(timeout)?;
    eprintln!(
        "server up at {}; seeding {} employees",
        server.base, args.employees
    );
    let employees = support::seed(&admin, args.employees).await?;
    let pool = PgPoolOptions::new().max_connections(2).connect(url).await?;
    let postgres: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&pool)
        .await?;

    // One sighting, to copy a real event row into the raw insert measurement.
    let clock = Arc::new(SightingClock::default());
    let warm = api.record_sighting(&employees[0], clock.next()).await;
    anyhow::ensure!(warm.is_ok(), "first sighting failed: {}", warm.kind());
    let sample: Option<(Value, Value)> = sqlx::query_as(
        "SELECT payload::jsonb, metadata::jsonb FROM events WHERE event_type = 'FaceRecognized' LIMIT 1",
    )
    .fetch_optional(&pool)
    .await?;
    let (payload, metadata) = sample.context("the first sighting left no FaceRecognized event")?;

    let before = measure_raw(args, url, duration, &payload, &metadata).await?;
    let mut levels = Vec::new();
    for &clients in &args.clients {
        eprintln!("level: {clients} clients for {} s", args.duration_secs);
        let level = run_level(&api, timeout, &pool, &employees, clients, duration, &clock).await?;
        eprintln!(
            "  {} requests, {:.0} ok/s, p50 {} ms, p99 {} ms, max {} ms, {} errors, {:.0} events/s",
            level.requests(),
            level.ok_per_sec(),
            ms(support::percentile(&level.latencies, 50.0)),
            ms(support::percentile(&level.latencies, 99.0)),
            ms(level.latencies.last().copied().unwrap_or_default()),
            level.error_count(),
            level.events_per_sec()
        );
        levels.push(level);
    }
    let after = measure_raw(args, url, duration, &payload, &metadata).await?;
    let (error_lines, examples) = server.log_lines_with("ERROR", 5);
    if error_lines > 0 {
        eprintln!("server logged {error_lines} ERROR lines, e.g.:");
        for line in examples {
            eprintln!("  {line}");
        }
    }
    pool.close().await;
    server.stop();
    let ctx = Setup {
        postgres: format!("PostgreSQL {postgres}"),
        cpus: std::thread::available_parallelism().map_or(0, usize::from),
        server_bin: server_bin.display().to_string(),
        load: (load_before, load_average()),
    };
    Ok(report(args, &ctx, &levels, &RawInserts { before, after }))
}
