//! REST over a real HTTP server and a real PostgreSQL, logged in as an admin: reports (JSON and
//! xlsx read back with calamine), photo files, attendance captures written by the capture
//! writer, retention, and the seed system's endpoints.

use std::io::Cursor;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use calamine::{Data, Reader, Xlsx};
use chrono::{DateTime, Utc};
use facewatch_api::testing::TestServer;
use facewatch_api::{captures_job, AppState, SystemHooks};
use facewatch_app::{Actor, CommandContext};
use facewatch_captures::{CapturePolicy, SnapshotStore};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The shared test server, with the REST helpers these tests use.
struct Server {
    inner: TestServer,
    base: String,
    http: reqwest::Client,
    token: String,
    state: AppState,
}

impl Server {
    async fn start(prefix: &str, configure: impl FnOnce(AppState) -> AppState) -> Self {
        let inner = TestServer::spawn_with(prefix, configure).await;
        Self {
            base: inner.base.clone(),
            http: inner.http.clone(),
            token: inner.token.clone(),
            state: inner.state.clone(),
            inner,
        }
    }

    /// One absence pass, as the watcher in `serve` runs it.
    async fn check_absences(&self, timeout_sec: u32) {
        let watcher = CommandContext::new(Actor::system("absence-watcher"));
        self.state
            .app()
            .check_absences(&watcher, timeout_sec)
            .await
            .unwrap();
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    async fn json(&self, request: reqwest::RequestBuilder, status: StatusCode) -> Value {
        let response = request.send().await.unwrap();
        let got = response.status();
        let body = response.text().await.unwrap();
        assert_eq!(got, status, "{body}");
        serde_json::from_str(&body).unwrap_or(Value::Null)
    }

    /// A 4xx answer whose `error` mentions `expected`.
    async fn refused(&self, request: reqwest::RequestBuilder, status: StatusCode, expected: &str) {
        let body = self.json(request, status).await;
        let error = body["error"].as_str().unwrap_or_default();
        assert!(error.contains(expected), "{expected:?} not in {body}");
    }

    async fn gql(&self, query: &str, variables: Value) -> Value {
        let body = self
            .json(
                self.post("/graphql")
                    .json(&json!({"query": query, "variables": variables})),
                StatusCode::OK,
            )
            .await;
        assert!(body["errors"].is_null(), "{query}: {body}");
        body["data"].clone()
    }

    /// An employee, camera CAM1 and tracking switched on by hand (so sightings count now).
    async fn scene(&self) -> String {
        let employee = self
            .json(
                self.post("/api/employees")
                    .json(&json!({"name": "Ana Lopez", "code": "E-001", "department": "Ops"})),
                StatusCode::CREATED,
            )
            .await;
        self.gql(
            "mutation { addCamera(input: {id: \"CAM1\", name: \"Front door\", \
             streamUrl: \"rtsp://viewer:s3cret@10.0.0.5/live\"}) { id } }",
            json!({}),
        )
        .await;
        let state = self
            .json(
                self.post("/api/schedule/mode")
                    .json(&json!({"mode": "manual", "tracking": true})),
                StatusCode::OK,
            )
            .await;
        assert_eq!(state["monitoring_state"], "ACTIVE", "{state}");
        employee["id"].as_str().unwrap().to_owned()
    }

    async fn sighting(&self, employee: &str, snapshot: &str) {
        self.gql(
            "mutation($i: SightingInput!) { recordSighting(input: $i) { id } }",
            json!({"i": {"employeeId": employee, "cameraId": "CAM1", "similarity": 0.9,
                         "snapshotRef": snapshot}}),
        )
        .await;
    }

    async fn stop(self) {
        self.inner.finish().await;
    }
}

fn stopped(stop: &tokio::sync::watch::Sender<bool>) -> impl std::future::Future<Output = ()> {
    let mut rx = stop.subscribe();
    async move {
        let _ = rx.wait_for(|v| *v).await;
    }
}

/// A real JPEG, distinguishable by its colour.
fn jpeg(shade: u8) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(32, 24, image::Rgb([shade, 90, 200]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

async fn eventually<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    for _ in 0..200 {
        if let Some(value) = probe() {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

fn today() -> String {
    Utc::now().date_naive().to_string()
}

#[tokio::test]
async fn reports_as_json_and_xlsx() {
    let prefix = "rest_reports";
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(prefix, |s| s.with_data_dir(data.path())).await;
    let employee = server.scene().await;
    let snap = SnapshotStore::new(data.path())
        .save_snapshot("CAM1", Utc::now(), &jpeg(10))
        .unwrap();
    server.sighting(&employee, snap.as_str()).await;
    let day = today();

    let report = server
        .json(
            server.get(&format!("/api/report/attendance?date={day}&format=json")),
            StatusCode::OK,
        )
        .await;
    assert_eq!(report["timezone"], "UTC");
    let row = &report["rows"][0];
    assert_eq!(row["employee_name"], "Ana Lopez");
    assert_eq!(row["first_in_camera"], "Front door");
    assert_eq!(row["first_in_photo"], snap.as_str());
    let first_in: DateTime<Utc> = serde_json::from_value(row["first_in"].clone()).unwrap();

    // The spreadsheet: a download with a dated name, real date and time cells.
    let response = server
        .get(&format!(
            "/api/report/attendance?date={day}&format=xlsx&employee_id={employee}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-disposition"],
        format!("attachment; filename=\"attendance_{day}.xlsx\"").as_str()
    );
    let bytes = response.bytes().await.unwrap().to_vec();
    let mut book = Xlsx::new(Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range("Attendance").unwrap();
    assert_eq!(sheet.get((0, 0)), Some(&Data::String("Day".into())));
    assert_eq!(sheet.get((0, 4)), Some(&Data::String("First in".into())));
    assert_eq!(sheet.get((1, 1)), Some(&Data::String("Ana Lopez".into())));
    let Some(Data::DateTime(day_cell)) = sheet.get((1, 0)) else {
        panic!("day is not a date cell: {:?}", sheet.get((1, 0)));
    };
    assert_eq!(day_cell.as_datetime().unwrap().date().to_string(), day);
    let Some(Data::DateTime(time_cell)) = sheet.get((1, 4)) else {
        panic!("first in is not a date-time cell: {:?}", sheet.get((1, 4)));
    };
    let shown = time_cell.as_datetime().unwrap();
    assert!(
        (shown - first_in.naive_utc()).num_seconds().abs() <= 1,
        "{shown} vs {first_in}"
    );
    assert_eq!(sheet.get((1, 5)), Some(&Data::String("Front door".into())));
    assert_eq!(sheet.get((1, 8)), Some(&Data::String("Camera".into())));

    // Filtering by another employee leaves only the header.
    let other = server
        .json(
            server.get(&format!(
                "/api/report/attendance?date={day}&employee_id=nobody"
            )),
            StatusCode::OK,
        )
        .await;
    assert_eq!(other["rows"], json!([]));

    // Alerts: an exit while tracking is on raises one.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    server.check_absences(1).await;
    let alerts = server
        .json(
            server.get(&format!("/api/report/alerts?date_from={day}&date_to={day}")),
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        alerts["rows"][0]["employee_id"],
        employee.as_str(),
        "{alerts}"
    );
    let month_ago = (Utc::now().date_naive() - chrono::Days::new(30)).to_string();
    let response = server
        .get(&format!(
            "/api/report/alerts?date_from={month_ago}&date_to={day}&format=xlsx"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-disposition"],
        format!("attachment; filename=\"alerts_{month_ago}_{day}.xlsx\"").as_str()
    );
    let bytes = response.bytes().await.unwrap().to_vec();
    let mut book = Xlsx::new(Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range("Alerts").unwrap();
    assert_eq!(sheet.get((0, 5)), Some(&Data::String("Raised at".into())));
    assert_eq!(
        sheet.get((1, 1)),
        Some(&Data::Float(1.0)),
        "first alert of the day"
    );
    assert_eq!(sheet.get((1, 2)), Some(&Data::String("Ana Lopez".into())));
    assert!(matches!(sheet.get((1, 5)), Some(Data::DateTime(_))));
    assert_eq!(sheet.get((1, 7)), Some(&Data::String("Open".into())));
    assert_eq!(
        sheet.get((1, 8)),
        Some(&Data::String("Left during work hours".into()))
    );
    let Some(Data::String(context)) = sheet.get((1, 9)) else {
        panic!("no schedule context");
    };
    assert!(context.contains("UTC"), "{context}");

    // A capture writer started now backfills today's photos (no delay configured).
    let (stop_writer, _) = tokio::sync::watch::channel(false);
    tokio::spawn(captures_job::run_capture_writer(
        server.state.clone(),
        stopped(&stop_writer),
    ));
    let folder = data
        .path()
        .join("attendance_captures")
        .join(&day)
        .join(&employee);
    eventually("backfilled captures", || {
        (folder.join("first_in.jpg").is_file() && folder.join("last_out.jpg").is_file())
            .then_some(())
    })
    .await;
    assert_eq!(
        std::fs::read(folder.join("first_in.jpg")).unwrap(),
        jpeg(10)
    );
    let _ = stop_writer.send(true);

    // Bad dates and ranges are refused with the exact problem.
    let bad = [
        (
            "/api/report/attendance?date=2026-13-01",
            "date: \"2026-13-01\" is not a date",
        ),
        (
            "/api/report/attendance?date=yesterday",
            "date: \"yesterday\"",
        ),
        (
            "/api/report/alerts?date_from=2026-11-20&date_to=2026-11-10",
            "start date 2026-11-20 is after end date 2026-11-10",
        ),
        (
            "/api/report/alerts?date_from=2024-01-01&date_to=2026-01-01",
            "at most 366 days",
        ),
        (
            "/api/report/alerts?date_to=2026-02-30",
            "date_to: \"2026-02-30\"",
        ),
        (
            "/api/report/attendance?date=2026-11-20&date_from=2026-11-20",
            "either date or date_from/date_to",
        ),
        (
            "/api/report/attendance?format=csv",
            "format: \"csv\" is not one of json, xlsx",
        ),
    ];
    for (path, expected) in bad {
        server
            .refused(server.get(path), StatusCode::BAD_REQUEST, expected)
            .await;
    }
    server.stop().await;
}

#[tokio::test]
async fn capture_writer_files_and_captures_endpoint() {
    let prefix = "rest_captures";
    let data = tempfile::tempdir().unwrap();
    let delay = 3;
    let policy = CapturePolicy {
        first_in_overwrite_enabled: false,
        last_out_delay_sec: delay,
    };
    let server = Server::start(prefix, |s| {
        s.with_data_dir(data.path()).with_capture_policy(policy)
    })
    .await;
    let (stop_writer, _) = tokio::sync::watch::channel(false);
    tokio::spawn(captures_job::run_capture_writer(
        server.state.clone(),
        stopped(&stop_writer),
    ));
    let employee = server.scene().await;
    let store = SnapshotStore::new(data.path());
    let (entry, exit) = (jpeg(10), jpeg(240));
    let first = store.save_snapshot("CAM1", Utc::now(), &entry).unwrap();
    server.sighting(&employee, first.as_str()).await;
    let exit_at = Utc::now();
    let last = store.save_snapshot("CAM1", exit_at, &exit).unwrap();
    server.sighting(&employee, last.as_str()).await;

    // The snapshot itself is served, with its type; refs outside the data areas are not.
    let response = server
        .get(&format!("/api/files/{first}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    assert_eq!(response.bytes().await.unwrap().to_vec(), entry);
    server
        .refused(
            server.get("/api/files/snapshots%2F..%2F..%2Fetc%2Fpasswd"),
            StatusCode::BAD_REQUEST,
            "'..' is not allowed",
        )
        .await;
    server
        .refused(
            server.get("/api/files/config.toml"),
            StatusCode::BAD_REQUEST,
            "must point into",
        )
        .await;
    server
        .refused(
            server.get("/api/files/snapshots/CAM1/none.jpg"),
            StatusCode::NOT_FOUND,
            "no file",
        )
        .await;
    let anonymous = reqwest::get(format!("{}/api/files/{first}", server.base))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // First In is copied as soon as the row has it.
    let day = today();
    let folder = data
        .path()
        .join("attendance_captures")
        .join(&day)
        .join(&employee);
    // The photo is written first, then meta.json: wait for both.
    let recorded = |key: &'static str| {
        let meta = folder.join("meta.json");
        move || {
            let meta: Value = serde_json::from_slice(&std::fs::read(&meta).ok()?).ok()?;
            (!meta[key].is_null()).then_some(())
        }
    };
    eventually("first_in in meta.json", recorded("first_in")).await;
    assert_eq!(std::fs::read(folder.join("first_in.jpg")).unwrap(), entry);

    // Leaving: Last Out waits for the delay after the exit.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    server.check_absences(1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !folder.join("last_out.jpg").exists(),
        "last out written before the delay"
    );
    let url = format!("/api/report/attendance_captures?employee_id={employee}&date={day}");
    let early = server.json(server.get(&url), StatusCode::OK).await;
    assert_eq!(early["last_out"], Value::Null);
    let last_out_path = folder.join("last_out.jpg");
    eventually("last_out in meta.json", recorded("last_out")).await;
    assert!(
        Utc::now() >= exit_at + chrono::Duration::seconds(delay as i64),
        "last out written before the delay"
    );
    assert_eq!(std::fs::read(&last_out_path).unwrap(), exit);

    let captures = server.json(server.get(&url), StatusCode::OK).await;
    let first_url = format!("/api/files/attendance_captures/{day}/{employee}/first_in.jpg");
    assert_eq!(captures["first_in"], first_url.as_str(), "{captures}");
    assert_eq!(
        captures["last_out"],
        format!("/api/files/attendance_captures/{day}/{employee}/last_out.jpg").as_str()
    );
    assert_eq!(captures["meta"]["first_in"]["camera_id"], "CAM1");
    assert_eq!(captures["meta"]["first_in"]["camera_name"], "Front door");
    assert_eq!(captures["meta"]["first_in"]["snapshot_ref"], first.as_str());
    assert_eq!(captures["meta"]["last_out"]["snapshot_ref"], last.as_str());
    let photo = server.get(&first_url).send().await.unwrap();
    assert_eq!(photo.headers()["content-type"], "image/jpeg");
    assert_eq!(photo.bytes().await.unwrap().to_vec(), entry);

    let none = server
        .json(
            server.get(&format!(
                "/api/report/attendance_captures?employee_id={employee}&date=2026-01-01"
            )),
            StatusCode::OK,
        )
        .await;
    assert_eq!(none["first_in"], Value::Null);
    server
        .refused(
            server.get("/api/report/attendance_captures?employee_id=..&date=2026-01-01"),
            StatusCode::BAD_REQUEST,
            "invalid employee id",
        )
        .await;
    server
        .refused(
            server.get("/api/report/attendance_captures?date=2026-01-01"),
            StatusCode::BAD_REQUEST,
            "employee_id is required",
        )
        .await;
    let _ = stop_writer.send(true);
    server.stop().await;
}

#[tokio::test]
async fn retention_removes_old_day_folders() {
    let prefix = "rest_retention";
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(prefix, |s| s.with_data_dir(data.path())).await;
    let day_dir = |root: &str, day: &str| data.path().join(root).join(day);
    let old = day_dir("attendance_captures", "2020-01-01").join("e1");
    let old_snap = day_dir("snapshots/CAM1", "2020-01-01");
    let fresh = day_dir("attendance_captures", &today()).join("e1");
    for dir in [&old, &old_snap, &fresh] {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("first_in.jpg"), jpeg(1)).unwrap();
    }
    let (stop, _) = tokio::sync::watch::channel(false);
    let job = tokio::spawn(captures_job::run_retention(
        server.state.clone(),
        30,
        stopped(&stop),
    ));
    let old_parent = day_dir("attendance_captures", "2020-01-01");
    eventually("old folders removed", || {
        (!old_parent.exists() && !old_snap.exists()).then_some(())
    })
    .await;
    assert!(fresh.join("first_in.jpg").is_file(), "today is kept");
    // It then sleeps until midnight and stops promptly when asked.
    let _ = stop.send(true);
    tokio::time::timeout(Duration::from_secs(5), job)
        .await
        .unwrap()
        .unwrap();
    server.stop().await;
}

#[derive(Default)]
struct CountingHooks {
    restarts: AtomicUsize,
    shutdowns: AtomicUsize,
}

impl SystemHooks for CountingHooks {
    fn restart_cameras(&self) {
        self.restarts.fetch_add(1, Ordering::SeqCst);
    }

    fn shutdown(&self) {
        self.shutdowns.fetch_add(1, Ordering::SeqCst);
    }
}

fn copy_example_params(dir: &Path) {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/ai.example.toml");
    std::fs::copy(example, dir.join("ai.example.toml")).unwrap();
}

#[tokio::test]
async fn seed_system_endpoints() {
    let prefix = "rest_seed";
    let config = tempfile::tempdir().unwrap();
    copy_example_params(config.path());
    let params_file = config.path().join("ai.toml");
    let hooks = Arc::new(CountingHooks::default());
    let server = Server::start(prefix, |s| {
        s.with_params_file(&params_file)
            .with_hooks(hooks.clone())
            .with_params_validator(Arc::new(|params| {
                match params.get("fps_target").and_then(Value::as_u64) {
                    Some(1..=60) | None => Ok(()),
                    _ => Err("fps_target must be 1-60".into()),
                }
            }))
    })
    .await;

    // Employees and cameras.
    let employee = server.scene().await;
    let employees = server
        .json(server.get("/api/employees"), StatusCode::OK)
        .await;
    assert_eq!(employees[0]["id"], employee.as_str());
    assert_eq!(employees[0]["code"], "E-001");
    assert!(employees[0].get("present").is_some(), "with presence");
    server
        .refused(
            server
                .post("/api/employees")
                .json(&json!({"name": "Other", "code": "E-001"})),
            StatusCode::BAD_REQUEST,
            "already in use",
        )
        .await;
    let cameras = server
        .json(server.get("/api/cameras"), StatusCode::OK)
        .await;
    assert_eq!(cameras[0]["id"], "CAM1");
    let url = cameras[0]["stream_url"].as_str().unwrap();
    assert!(!url.contains("s3cret"), "credentials leaked: {url}");
    server
        .refused(
            server
                .post(&format!("/api/employees/{employee}/face_templates"))
                .multipart(reqwest::multipart::Form::new().part(
                    "front",
                    reqwest::multipart::Part::bytes(jpeg(5)).file_name("front.jpg"),
                )),
            StatusCode::SERVICE_UNAVAILABLE,
            "face models not loaded",
        )
        .await;
    let gone = server
        .http
        .delete(format!("{}/api/employees/{employee}", server.base))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    let employees = server
        .json(server.get("/api/employees"), StatusCode::OK)
        .await;
    assert_eq!(employees, json!([]));
    let again = server
        .http
        .delete(format!("{}/api/employees/nobody", server.base))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);

    // Schedule.
    let paused = server
        .json(
            server
                .post("/api/schedule/pause")
                .json(&json!({"minutes": 30})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(paused["monitoring_state"], "PAUSED");
    let resumed = server
        .json(
            server
                .post("/api/schedule/pause")
                .json(&json!({"minutes": 0})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(resumed["monitoring_state"], "ACTIVE");
    server
        .refused(
            server
                .post("/api/schedule/mode")
                .json(&json!({"mode": "sometimes"})),
            StatusCode::BAD_REQUEST,
            "not one of auto, manual",
        )
        .await;
    let saved = server
        .json(
            server.post("/api/schedule/save").json(&json!({
                "work_hours": [{"weekday": "Mon", "start": "09:00", "end": "18:00"},
                               {"weekday": "Friday", "start": "22:00", "end": "06:00"}],
                "lunch_start": "12:00", "lunch_end": "13:00",
                "timezone": "Asia/Jakarta"
            })),
            StatusCode::OK,
        )
        .await;
    assert_eq!(saved["schedule"]["timezone"], "Asia/Jakarta");
    assert_eq!(
        saved["summary"],
        "Manual mode (tracking on); Mon 09:00–18:00, Fri 22:00–06:00; lunch 12:00–13:00; Asia/Jakarta"
    );
    server
        .refused(
            server.post("/api/schedule/save").json(&json!({
                "work_hours": [{"weekday": "Mon", "start": "25:00", "end": "18:00"}]
            })),
            StatusCode::BAD_REQUEST,
            "is not a time of day",
        )
        .await;
    let state = server
        .json(server.get("/api/schedule/state"), StatusCode::OK)
        .await;
    assert_eq!(state["schedule"]["timezone"], "Asia/Jakarta");
    assert_eq!(state["schedule"]["mode"], "MANUAL");

    // System.
    let uptime = server
        .json(server.get("/api/system/uptime"), StatusCode::OK)
        .await;
    assert!(uptime["uptime_sec"].as_i64().unwrap() >= 0);
    server
        .json(server.post("/api/system/restart"), StatusCode::ACCEPTED)
        .await;
    server
        .json(server.post("/api/system/shutdown"), StatusCode::ACCEPTED)
        .await;
    assert_eq!(hooks.restarts.load(Ordering::SeqCst), 1);
    assert_eq!(hooks.shutdowns.load(Ordering::SeqCst), 1);

    // AI parameters: the documented defaults until saved; invalid ones write nothing.
    let params = server
        .json(server.get("/api/config/params"), StatusCode::OK)
        .await;
    assert_eq!(params["source"], "defaults");
    assert_eq!(params["params"]["fps_target"], 8);
    let mut changed = params["params"].clone();
    changed["fps_target"] = json!(500);
    server
        .refused(
            server.post("/api/config/params").json(&changed),
            StatusCode::BAD_REQUEST,
            "invalid parameters: fps_target must be 1-60",
        )
        .await;
    assert!(!params_file.exists(), "nothing written on bad input");
    changed["fps_target"] = json!(12);
    let saved = server
        .json(
            server.post("/api/config/params").json(&changed),
            StatusCode::OK,
        )
        .await;
    assert_eq!(saved["restart_required"], true);
    let params = server
        .json(server.get("/api/config/params"), StatusCode::OK)
        .await;
    assert_eq!(params["source"], "file");
    assert_eq!(params["params"]["fps_target"], 12);
    assert_eq!(params["params"]["providers"], changed["providers"]);
    server
        .refused(
            server.post("/api/config/params").json(&json!([1, 2])),
            StatusCode::BAD_REQUEST,
            "must be a JSON object",
        )
        .await;
    server.stop().await;
}
