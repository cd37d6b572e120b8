//! The one harness of the tests that run the real `facewatch` binary (`serve` or `demo`): start it
//! on a scratch database and a free port, log in, talk to its HTTP API, read its log, seed
//! employees and a camera, send sightings and count what the event store holds.
//!
//! Shared by every test in `cli/tests/` (as `mod support`) and by the write-path benchmark
//! (`cli/src/bin/bench_writes.rs`, through `#[path]`). It talks to the server only through its
//! public HTTP API and to PostgreSQL only through the `events` table, so it works whatever the
//! server's internals look like.
#![allow(dead_code)] // each user needs a different part of it

#[cfg(test)]
pub mod faces;
#[cfg(test)]
pub mod mjpeg;
#[cfg(test)]
pub mod rtsp;
#[cfg(test)]
pub mod subscription;

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

pub const ADMIN: &str = "admin";
pub const CAMERA_ID: &str = "BENCH";

/// The `recordSighting` mutation used by the load test and the benchmark.
pub const RECORD_SIGHTING: &str = "mutation($employee: String!, $camera: String!, $at: DateTime!, $similarity: Float!) {
  recordSighting(input: {employeeId: $employee, cameraId: $camera, at: $at, similarity: $similarity}) { id }
}";

/// A free TCP port on 127.0.0.1 (the OS picks; the listener is closed again at once).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The database server of `DATABASE_URL` (default: the local PostgreSQL).
pub fn base_database_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| facewatch_store::DEFAULT_DATABASE_URL.into())
}

/// The repository root (where the README's commands run).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_path_buf()
}

/// How to start the binary: its arguments, working directory and settings.
pub struct Launch {
    args: Vec<String>,
    /// `None`: a scratch folder (no `config/facewatch.toml` of whatever directory we run in).
    current_dir: Option<PathBuf>,
    envs: Vec<(String, OsString)>,
    /// Removed when the server is dropped (e.g. a data folder inside the repository).
    cleanup: Option<PathBuf>,
}

impl Launch {
    /// `facewatch serve` with the cameras off and the data in the scratch folder.
    pub fn serve() -> Self {
        Self {
            args: vec!["serve".into()],
            current_dir: None,
            envs: vec![("FACEWATCH_CAMERAS__ENABLED".into(), "false".into())],
            cleanup: None,
        }
    }

    /// `facewatch demo --for <run_for>` from the repository root, as the README runs it, with a
    /// relative data folder of its own (removed afterwards).
    pub fn demo(run_for: Duration) -> Self {
        let data_dir = format!("data/test-demo-{}", &uuid_like());
        let mut launch = Self {
            args: vec![
                "demo".into(),
                "--for".into(),
                format!("{}s", run_for.as_secs()),
            ],
            current_dir: Some(repo_root()),
            envs: vec![("FACEWATCH_DATA_DIR".into(), data_dir.clone().into())],
            cleanup: Some(repo_root().join(data_dir)),
        };
        if let Some(models) = std::env::var_os("FACEWATCH_MODELS_DIR") {
            let file = std::env::temp_dir().join(format!("fw-demo-ai-{}.toml", uuid_like()));
            std::fs::write(&file, format!("models_dir = {models:?}\n")).expect("write AI params");
            launch = launch.env("FACEWATCH_CAMERAS__AI_PARAMS_FILE", file);
        }
        launch
    }

    /// `facewatch worker` (camera pipelines only) with this AI parameters file, its data in the
    /// scratch folder.
    pub fn worker(ai_params_file: &Path) -> Self {
        Self {
            args: vec!["worker".into()],
            current_dir: None,
            envs: vec![(
                "FACEWATCH_CAMERAS__AI_PARAMS_FILE".into(),
                ai_params_file.into(),
            )],
            cleanup: None,
        }
    }

    /// Runs the camera pipelines with this AI parameters file.
    pub fn with_cameras(self, ai_params_file: &Path) -> Self {
        self.env("FACEWATCH_CAMERAS__ENABLED", "true")
            .env("FACEWATCH_CAMERAS__AI_PARAMS_FILE", ai_params_file)
    }

    pub fn env(mut self, key: &str, value: impl Into<OsString>) -> Self {
        self.envs.retain(|(k, _)| k != key);
        self.envs.push((key.to_string(), value.into()));
        self
    }
}

/// A short random name part.
fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{}-{nanos:x}", std::process::id())
}

/// A running `facewatch`; killed on drop, even when an assertion fails.
pub struct Server {
    child: Option<Child>,
    pub base: String,
    pub database_url: String,
    log: PathBuf,
    dir: tempfile::TempDir,
    cleanup: Option<PathBuf>,
}

impl Server {
    /// Starts `bin serve` on a fresh port against `database_url` (created by the server if
    /// missing), cameras off, with an admin whose password is `password`, and waits (up to
    /// `ready_within`) until that admin can log in.
    pub async fn start(
        bin: &Path,
        database_url: &str,
        password: &str,
        ready_within: Duration,
    ) -> anyhow::Result<(Server, Api)> {
        Self::launch(bin, Launch::serve(), database_url, password, ready_within).await
    }

    /// Starts `bin` as `launch` says without waiting for anything (e.g. `facewatch worker`, which
    /// has no HTTP port); `base` is then meaningless.
    pub fn spawn(bin: &Path, launch: Launch, database_url: &str) -> anyhow::Result<Server> {
        Self::start_process(bin, launch, database_url, "")
    }

    /// Starts `bin` as `launch` says, on a fresh port, and logs in as the admin.
    pub async fn launch(
        bin: &Path,
        launch: Launch,
        database_url: &str,
        password: &str,
        ready_within: Duration,
    ) -> anyhow::Result<(Server, Api)> {
        let mut server = Self::start_process(bin, launch, database_url, password)?;
        let token = server.wait_for_login(password, ready_within).await?;
        let api = Api::new(&server.base, &token, Duration::from_secs(30))?;
        Ok((server, api))
    }

    fn start_process(
        bin: &Path,
        launch: Launch,
        database_url: &str,
        password: &str,
    ) -> anyhow::Result<Server> {
        let dir = tempfile::tempdir()?;
        let log = dir.path().join("server.log");
        let log_file = std::fs::File::create(&log)?;
        let port = free_port()?;
        let mut command = Command::new(bin);
        command
            .args(&launch.args)
            .current_dir(launch.current_dir.as_deref().unwrap_or(dir.path()))
            .env("DATABASE_URL", database_url)
            .env("FACEWATCH_SERVER__LISTEN", format!("127.0.0.1:{port}"))
            .env("FACEWATCH_DATA_DIR", dir.path().join("data"))
            .env("FACEWATCH_ADMIN_PASSWORD", password)
            .env_remove("FACEWATCH_ADMIN_USER")
            .env_remove("RUST_LOG")
            .envs(launch.envs.iter().map(|(k, v)| (k, v)))
            .stdout(log_file.try_clone()?)
            .stderr(log_file);
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let server = Server {
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
            database_url: database_url.to_string(),
            log,
            dir,
            cleanup: launch.cleanup,
        };
        Ok(server)
    }

    /// The exit status, once the process has ended by itself.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    async fn wait_for_login(&mut self, password: &str, within: Duration) -> anyhow::Result<String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                bail!(
                    "facewatch exited with {status} before answering; its log:\n{}",
                    self.log_tail(40)
                );
            }
            let response = http
                .post(format!("{}/api/auth/login", self.base))
                .json(&json!({"username": ADMIN, "password": password}))
                .send()
                .await;
            let last = match response {
                Ok(r) if r.status().is_success() => {
                    let body: Value = r.json().await?;
                    return body["token"]
                        .as_str()
                        .map(str::to_string)
                        .with_context(|| format!("login answered without a token: {body}"));
                }
                Ok(r) => format!("HTTP {}", r.status()),
                Err(e) => e.to_string(),
            };
            if Instant::now() >= deadline {
                bail!(
                    "facewatch did not accept the admin login within {within:?} (last: {last}); its log:\n{}",
                    self.log_tail(40)
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The last `lines` lines the server wrote (stdout and stderr).
    pub fn log_tail(&self, lines: usize) -> String {
        let Ok(file) = std::fs::File::open(&self.log) else {
            return String::new();
        };
        let all: Vec<String> = BufReader::new(file)
            .lines()
            .map_while(Result::ok)
            .map(|l| strip_ansi(&l))
            .collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Lines of the server log containing `needle` (at most `limit`), and how many there were.
    pub fn log_lines_with(&self, needle: &str, limit: usize) -> (usize, Vec<String>) {
        let Ok(file) = std::fs::File::open(&self.log) else {
            return (0, vec![]);
        };
        let matching: Vec<String> = BufReader::new(file)
            .lines()
            .map_while(Result::ok)
            .map(|l| strip_ansi(&l))
            .filter(|l| l.contains(needle))
            .collect();
        let count = matching.len();
        (count, matching.into_iter().take(limit).collect())
    }

    /// A scratch folder that lives as long as the server (its working directory).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Kills the server and waits for it to be gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(folder) = self.cleanup.take() {
            let _ = std::fs::remove_dir_all(folder);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `line` without terminal colour sequences (`ESC [ … m`).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// What one HTTP request came back with.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// HTTP 200 without GraphQL `errors`; the body.
    Ok(Value),
    /// Any other HTTP status, with the start of the body.
    Status(u16, String),
    /// HTTP 200 with GraphQL `errors`: the first message.
    GraphQl(String),
    /// No answer within the client's timeout.
    Timeout,
    /// Connection or decoding failure.
    Transport(String),
}

impl Outcome {
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok(_))
    }

    /// A short, stable label to group errors by.
    pub fn kind(&self) -> String {
        match self {
            Outcome::Ok(_) => "ok".into(),
            Outcome::Status(code, body) => format!("HTTP {code}: {}", truncate(body, 120)),
            Outcome::GraphQl(message) => format!("GraphQL error: {}", truncate(message, 120)),
            Outcome::Timeout => "timeout".into(),
            Outcome::Transport(e) => format!("transport: {}", truncate(e, 120)),
        }
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        s.chars().take(max).chain("…".chars()).collect()
    }
}

/// An authenticated API client.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Api {
    /// `timeout` bounds every request, so a stalled server cannot hang the caller.
    pub fn new(base: &str, token: &str, timeout: Duration) -> anyhow::Result<Api> {
        Ok(Api {
            http: reqwest::Client::builder()
                .timeout(timeout)
                .pool_max_idle_per_host(256)
                .build()?,
            base: base.to_string(),
            token: token.to_string(),
        })
    }

    /// The same server and token with another per-request timeout.
    pub fn with_timeout(&self, timeout: Duration) -> anyhow::Result<Api> {
        Api::new(&self.base, &self.token, timeout)
    }

    pub async fn gql(&self, query: &str, variables: Value) -> Outcome {
        let sent = self
            .http
            .post(format!("{}/graphql", self.base))
            .bearer_auth(&self.token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return transport(e),
        };
        let status = response.status().as_u16();
        let body = match response.text().await {
            Ok(body) => body,
            Err(e) => return transport(e),
        };
        if status != 200 {
            return Outcome::Status(status, body);
        }
        match serde_json::from_str::<Value>(&body) {
            Ok(value) => match value.get("errors") {
                Some(errors) if !errors.is_null() => Outcome::GraphQl(
                    errors[0]["message"]
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| errors.to_string()),
                ),
                _ => Outcome::Ok(value),
            },
            Err(e) => Outcome::Transport(format!("bad JSON ({e}): {}", truncate(&body, 200))),
        }
    }

    /// A GET on the API with the session (e.g. `/api/cameras/DEMO/live.mjpeg`).
    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    /// Opens `camera`'s MJPEG live view with the session (no timeout: it is a stream).
    pub async fn live(&self, camera: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(format!("{}/api/cameras/{camera}/live.mjpeg", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("live view request")
    }

    /// Polls a query until `done` accepts its `data` (failing after `within`).
    pub async fn wait_for(
        &self,
        query: &str,
        within: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        let deadline = Instant::now() + within;
        loop {
            let data = self.gql_data(query, json!({})).await?;
            if done(&data) {
                return Ok(data);
            }
            if Instant::now() >= deadline {
                bail!("timed out after {within:?} waiting on {query}: last answer {data}");
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// A GraphQL request that must succeed: its `data`.
    pub async fn gql_data(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        match self.gql(query, variables).await {
            Outcome::Ok(mut body) => Ok(body["data"].take()),
            other => bail!("{query} failed: {}", other.kind()),
        }
    }

    /// `POST /api/auth/login` (no bearer token); the HTTP status as `Status`, or `Ok` on 200.
    pub async fn login(&self, username: &str, password: &str) -> Outcome {
        let sent = self
            .http
            .post(format!("{}/api/auth/login", self.base))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await;
        match sent {
            Ok(r) if r.status().as_u16() == 200 => Outcome::Ok(r.json().await.unwrap_or_default()),
            Ok(r) => Outcome::Status(r.status().as_u16(), r.text().await.unwrap_or_default()),
            Err(e) => transport(e),
        }
    }

    /// `recordSighting` of `employee` on the bench camera at `at`.
    pub async fn record_sighting(&self, employee: &str, at: DateTime<Utc>) -> Outcome {
        match serde_json::to_value(SightingVariables::new(employee, at)) {
            Ok(variables) => self.gql(RECORD_SIGHTING, variables).await,
            Err(e) => Outcome::Transport(format!("request variables: {e}")),
        }
    }
}

/// The variables of [`RECORD_SIGHTING`]: `employee` seen on the bench camera at `at`. One
/// definition for the tests' `Api` and the write benchmark's own client.
#[derive(serde::Serialize)]
pub struct SightingVariables<'a> {
    employee: &'a str,
    camera: &'static str,
    at: String,
    similarity: f64,
}

impl<'a> SightingVariables<'a> {
    pub fn new(employee: &'a str, at: DateTime<Utc>) -> Self {
        Self {
            employee,
            camera: CAMERA_ID,
            at: at.to_rfc3339_opts(SecondsFormat::Micros, true),
            similarity: 0.9,
        }
    }
}

fn transport(e: reqwest::Error) -> Outcome {
    if e.is_timeout() {
        Outcome::Timeout
    } else {
        Outcome::Transport(format!("{e:#}"))
    }
}

/// Enrols `employees` employees (codes `LOAD-0001`…) and adds the enabled camera `CAMERA_ID`;
/// the employee ids in enrolment order.
pub async fn seed(api: &Api, employees: usize) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::with_capacity(employees);
    for i in 0..employees {
        let data = api
            .gql_data(
                "mutation($name: String!, $code: String!) { enrollEmployee(input: {name: $name, code: $code}) { id } }",
                json!({"name": format!("Load Tester {i}"), "code": format!("LOAD-{i:04}")}),
            )
            .await?;
        let id = data["enrollEmployee"]["id"]
            .as_str()
            .with_context(|| format!("enrollEmployee answered {data}"))?;
        ids.push(id.to_string());
    }
    api.gql_data(
        "mutation($id: String!) { addCamera(input: {id: $id, name: \"Bench\", streamUrl: \"rtsp://127.0.0.1:1/none\", enabled: true}) { id } }",
        json!({"id": CAMERA_ID}),
    )
    .await?;
    Ok(ids)
}

/// Hands out sighting times that are unique across all clients and never in the future by more
/// than a few microseconds: `max(now, previous + 1 µs)`. Distinct times let a test find every
/// acknowledged sighting in the log, and keep any de-duplication by time from hiding a loss.
#[derive(Default)]
pub struct SightingClock(AtomicI64);

impl SightingClock {
    pub fn next(&self) -> DateTime<Utc> {
        let now = Utc::now().timestamp_micros();
        let previous = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
                Some(now.max(last + 1))
            })
            .unwrap_or_default();
        let micros = now.max(previous + 1);
        DateTime::from_timestamp_micros(micros).unwrap_or_else(Utc::now)
    }
}

/// Rows in the `events` table.
pub async fn count_events(pool: &sqlx::PgPool) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await?)
}

/// Every stored `FaceRecognized` event as (employee id, sighting time).
pub async fn stored_sightings(pool: &sqlx::PgPool) -> anyhow::Result<Vec<(String, DateTime<Utc>)>> {
    let rows: Vec<(String, Value)> = sqlx::query_as(
        "SELECT aggregate_id, payload::jsonb FROM events
         WHERE aggregate_type = 'presence' AND event_type = 'FaceRecognized'",
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(employee, payload)| {
            let at = find_at(&payload)
                .with_context(|| format!("FaceRecognized payload without `at`: {payload}"))?;
            Ok((employee, at))
        })
        .collect()
}

/// The `at` of an event payload, whether it is stored flat or tagged (`{"FaceRecognized": {…}}`).
fn find_at(payload: &Value) -> Option<DateTime<Utc>> {
    if let Some(at) = payload.get("at").and_then(Value::as_str) {
        return at.parse().ok();
    }
    payload
        .as_object()?
        .values()
        .find_map(|inner| inner.get("at")?.as_str()?.parse().ok())
}

/// The `p`th percentile (nearest rank) of ascending `sorted`; zero if empty.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
