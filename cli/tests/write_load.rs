//! The write path's concurrency contract, against the real `facewatch serve` process and real
//! PostgreSQL: 64 concurrent clients mixing `recordSighting` (most requests), wrong-password logins
//! and queries must get
//!
//! * no error answers (the wrong-password logins get their 401, or 429 once throttled),
//! * no answer slower than `STALL_BOUND` (a starved connection pool stalls requests for 30 s),
//! * every acknowledged sighting stored exactly once in the event log,
//! * a log that replays into the same read models (`facewatch replay` exits 0).
//!
//! The work is bounded: `REQUESTS_PER_CLIENT` requests each, every request with a timeout, and no
//! new request after `LOAD_DEADLINE`; requests left unsent then are a failure too.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use support::{Api, Outcome, Server, SightingClock};

const PASSWORD: &str = "load-admin-password";
const CLIENTS: usize = 64;
const REQUESTS_PER_CLIENT: usize = 25;
/// Employees; each is sighted by several clients, so appends to one aggregate do race.
const EMPLOYEES: usize = 32;
/// No answer may take longer than this.
const STALL_BOUND: Duration = Duration::from_secs(10);
/// Client-side timeout of each request (longer than the stall bound, so a stall is measured).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// No request is started after this (from the start of the load).
const LOAD_DEADLINE: Duration = Duration::from_secs(35);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Sighting,
    BadLogin,
    Query,
}

/// Per client: 1 wrong-password login (Argon2 makes each cost ~0.1 s of CPU in a debug build),
/// 4 queries and 20 sightings, staggered across clients.
fn kind_of(client: usize, request: usize) -> Kind {
    match (client + request) % REQUESTS_PER_CLIENT {
        0 => Kind::BadLogin,
        5 | 10 | 15 | 20 => Kind::Query,
        _ => Kind::Sighting,
    }
}

struct Sample {
    kind: Kind,
    latency: Duration,
    outcome: Outcome,
    /// For an acknowledged sighting: what must be in the log.
    acked: Option<(String, DateTime<Utc>)>,
}

fn expected(kind: Kind, outcome: &Outcome) -> bool {
    match kind {
        // 429: the login throttle locked the name after its first failures (README, Security).
        Kind::BadLogin => matches!(outcome, Outcome::Status(401 | 429, _)),
        Kind::Sighting | Kind::Query => outcome.is_ok(),
    }
}

async fn client_run(
    api: Api,
    client: usize,
    employees: Vec<String>,
    clock: std::sync::Arc<SightingClock>,
    stop_at: Instant,
) -> (Vec<Sample>, usize) {
    let mut samples = Vec::with_capacity(REQUESTS_PER_CLIENT);
    for request in 0..REQUESTS_PER_CLIENT {
        if Instant::now() >= stop_at {
            return (samples, REQUESTS_PER_CLIENT - request);
        }
        let kind = kind_of(client, request);
        let started = Instant::now();
        let (outcome, sent) = match kind {
            Kind::Sighting => {
                let employee = &employees[request % employees.len()];
                let at = clock.next();
                let outcome = api.record_sighting(employee, at).await;
                (outcome, Some((employee.clone(), at)))
            }
            Kind::BadLogin => (api.login(support::ADMIN, "not-the-password").await, None),
            Kind::Query => (
                api.gql(
                    "{ employees { id presence { present } } }",
                    serde_json::json!({}),
                )
                .await,
                None,
            ),
        };
        let latency = started.elapsed();
        let acked = sent.filter(|_| outcome.is_ok());
        samples.push(Sample {
            kind,
            latency,
            outcome,
            acked,
        });
    }
    (samples, 0)
}

async fn replay(bin: &Path, database_url: &str, dir: &Path) -> Result<(), String> {
    let run = tokio::process::Command::new(bin)
        .arg("replay")
        .current_dir(dir)
        .env("DATABASE_URL", database_url)
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(Duration::from_secs(60), run).await {
        Err(_) => Err("facewatch replay did not finish within 60 s".into()),
        Ok(Err(e)) => Err(format!("facewatch replay could not run: {e}")),
        Ok(Ok(out)) if out.status.success() => Ok(()),
        Ok(Ok(out)) => Err(format!(
            "facewatch replay exited with {}:\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_clients_get_answers_without_stalls_and_every_sighting_is_stored_once() {
    let bin = Path::new(env!("CARGO_BIN_EXE_facewatch"));
    let database_url = facewatch_store::test_database_url(&support::base_database_url(), "fw_load");
    let (mut server, admin) = Server::start(bin, &database_url, PASSWORD, Duration::from_secs(60))
        .await
        .unwrap();
    let employees = support::seed(&admin, EMPLOYEES).await.unwrap();
    let api = admin.with_timeout(REQUEST_TIMEOUT).unwrap();

    let clock = std::sync::Arc::new(SightingClock::default());
    let started = Instant::now();
    let stop_at = started + LOAD_DEADLINE;
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..CLIENTS {
        let mine = vec![
            employees[client % EMPLOYEES].clone(),
            employees[(client + 1) % EMPLOYEES].clone(),
        ];
        clients.spawn(client_run(
            api.clone(),
            client,
            mine,
            clock.clone(),
            stop_at,
        ));
    }
    let mut samples = Vec::new();
    let mut unsent = 0;
    while let Some(joined) = clients.join_next().await {
        let (mut mine, skipped) = joined.unwrap();
        samples.append(&mut mine);
        unsent += skipped;
    }
    let elapsed = started.elapsed();

    // Stop the server so that nothing is appended any more, then read the log.
    let (stall_lines, stall_examples) = server.log_lines_with("ERROR", 3);
    server.stop();
    let pool = sqlx::PgPool::connect(&database_url).await.unwrap();
    let stored = support::stored_sightings(&pool).await.unwrap();
    pool.close().await;
    let replayed = replay(bin, &database_url, server.dir()).await;

    // What was measured.
    let mut latencies: Vec<Duration> = samples.iter().map(|s| s.latency).collect();
    latencies.sort();
    let slow = latencies.iter().filter(|l| **l > STALL_BOUND).count();
    let mut by_kind: BTreeMap<Kind, (usize, usize)> = BTreeMap::new();
    let mut unexpected: BTreeMap<String, usize> = BTreeMap::new();
    for s in &samples {
        let entry = by_kind.entry(s.kind).or_default();
        entry.0 += 1;
        if expected(s.kind, &s.outcome) {
            entry.1 += 1;
        } else {
            *unexpected
                .entry(format!("{:?}: {}", s.kind, s.outcome.kind()))
                .or_default() += 1;
        }
    }
    let acked: Vec<&(String, DateTime<Utc>)> =
        samples.iter().filter_map(|s| s.acked.as_ref()).collect();
    let mut in_log: HashMap<(String, DateTime<Utc>), usize> = HashMap::new();
    for sighting in &stored {
        *in_log.entry(sighting.clone()).or_default() += 1;
    }
    let missing = acked.iter().filter(|a| !in_log.contains_key(**a)).count();
    let duplicated = in_log.values().filter(|n| **n > 1).count();
    let unacknowledged_stored = stored.len() as i64 - acked.len() as i64;

    let mut report = format!(
        "{CLIENTS} clients x {REQUESTS_PER_CLIENT} requests in {:.1} s: {} answered, {unsent} never sent (deadline {LOAD_DEADLINE:?})\n",
        elapsed.as_secs_f64(),
        samples.len()
    );
    for (kind, (total, fine)) in &by_kind {
        report += &format!("  {kind:?}: {total} sent, {fine} answered as expected\n");
    }
    report += &format!(
        "  latency p50 {:?}, p99 {:?}, max {:?}; {slow} slower than {STALL_BOUND:?}\n",
        support::percentile(&latencies, 50.0),
        support::percentile(&latencies, 99.0),
        latencies.last().copied().unwrap_or_default()
    );
    for (what, n) in &unexpected {
        report += &format!("  unexpected x{n}: {what}\n");
    }
    report += &format!(
        "  sightings: {} acknowledged, {} FaceRecognized in the log, {missing} acknowledged but missing, {duplicated} stored more than once\n",
        acked.len(),
        stored.len()
    );
    report += &format!(
        "  server log: {stall_lines} ERROR lines{}\n",
        stall_examples
            .iter()
            .map(|l| format!("\n    {l}"))
            .collect::<String>()
    );
    report += &format!(
        "  replay: {}\n",
        replayed
            .as_ref()
            .map_or_else(|e| e.as_str(), |_| "identical")
    );
    eprintln!("{report}");

    let mut problems = vec![];
    if unsent > 0 {
        problems.push(format!(
            "{unsent} requests were never sent before the deadline"
        ));
    }
    if !unexpected.is_empty() {
        problems.push(format!(
            "{} unexpected answers",
            unexpected.values().sum::<usize>()
        ));
    }
    if slow > 0 {
        problems.push(format!("{slow} answers slower than {STALL_BOUND:?}"));
    }
    if missing > 0 || duplicated > 0 {
        problems.push(format!(
            "{missing} acknowledged sightings missing, {duplicated} stored more than once"
        ));
    }
    if unacknowledged_stored != 0 && unexpected.is_empty() {
        problems.push(format!(
            "{} FaceRecognized events stored for {} acknowledged sightings",
            stored.len(),
            acked.len()
        ));
    }
    if let Err(e) = &replayed {
        problems.push(format!("replay: {e}"));
    }

    drop(server);
    facewatch_store::drop_database(&database_url).await.unwrap();
    assert!(
        problems.is_empty(),
        "write path under load: {}\n{report}",
        problems.join("; ")
    );
}
