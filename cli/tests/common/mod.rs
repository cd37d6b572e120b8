//! Shared by the tests that run `facewatch demo`: start it the way the README does, log in, read
//! its MJPEG live view.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{json, Value};

pub const PASSWORD: &str = "demo-e2e-password";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A running `facewatch demo`; killed on drop even when an assertion fails, its data folder and
/// database removed.
pub struct Demo {
    pub child: Child,
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
    pub database_url: String,
    data_dir: PathBuf,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(repo_root().join(&self.data_dir));
    }
}

impl Demo {
    /// Starts `facewatch demo --for <run_for>` from the repository root on a scratch database
    /// and logs in as the admin.
    pub async fn start(run_for: Duration) -> Self {
        let base_db = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| facewatch_store::DEFAULT_DATABASE_URL.into());
        let database_url = facewatch_store::test_database_url(&base_db, "fw_demo");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // Relative, like the default `data`: resolved against the working directory.
        let data_dir = PathBuf::from(format!("data/test-demo-{port}"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_facewatch"));
        command
            .current_dir(repo_root())
            .args(["demo", "--for", &format!("{}s", run_for.as_secs())])
            .env("DATABASE_URL", &database_url)
            .env("FACEWATCH_SERVER__LISTEN", format!("127.0.0.1:{port}"))
            .env("FACEWATCH_DATA_DIR", &data_dir)
            .env("FACEWATCH_ADMIN_PASSWORD", PASSWORD)
            .env_remove("RUST_LOG")
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit());
        if let Some(models) = std::env::var_os("FACEWATCH_MODELS_DIR") {
            let file = std::env::temp_dir().join(format!("fw-demo-ai-{port}.toml"));
            std::fs::write(&file, format!("models_dir = {models:?}\n")).unwrap();
            command.env("FACEWATCH_CAMERAS__AI_PARAMS_FILE", file);
        }
        let child = command.spawn().unwrap();
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let mut demo = Demo {
            child,
            base,
            token: String::new(),
            http,
            database_url,
            data_dir,
        };
        let deadline = Instant::now() + run_for;
        demo.token = loop {
            let response = demo
                .http
                .post(format!("{}/api/auth/login", demo.base))
                .json(&json!({"username": "admin", "password": PASSWORD}))
                .send()
                .await;
            match response {
                Ok(r) if r.status().is_success() => {
                    break r.json::<Value>().await.unwrap()["token"]
                        .as_str()
                        .unwrap()
                        .to_string()
                }
                _ if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(300)).await
                }
                other => panic!("the demo never accepted the admin login: {other:?}"),
            }
        };
        demo
    }

    pub async fn gql(&self, query: &str) -> Value {
        let answer: Value = self
            .http
            .post(format!("{}/graphql", self.base))
            .bearer_auth(&self.token)
            .json(&json!({ "query": query }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(answer.get("errors").is_none(), "{answer}");
        answer["data"].clone()
    }

    /// Opens the live view of `camera` with the admin's session.
    pub async fn live(&self, camera: &str) -> reqwest::Response {
        self.http
            .get(format!("{}/api/cameras/{camera}/live.mjpeg", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }
}

/// One frame of an MJPEG stream.
pub struct Part {
    pub jpeg: Vec<u8>,
    /// The `X-Captured-At` header: when the camera delivered the frame (Unix µs).
    pub captured_at_us: i64,
    /// The `X-Analysed-At` header: when the pipeline had analysed it (Unix µs).
    pub analysed_at_us: i64,
    /// When the whole part had arrived here (Unix µs).
    pub received_at_us: i64,
}

/// Reads the parts of a `multipart/x-mixed-replace` response one by one.
pub struct MjpegReader {
    stream: futures::stream::BoxStream<'static, reqwest::Result<axum::body::Bytes>>,
    buffer: Vec<u8>,
}

impl MjpegReader {
    pub fn new(response: reqwest::Response) -> Self {
        Self {
            stream: response.bytes_stream().boxed(),
            buffer: Vec::new(),
        }
    }

    /// The next part (panics when none comes within 30 s or the stream ends).
    pub async fn next(&mut self) -> Part {
        loop {
            // A part: headers, blank line, Content-Length bytes of JPEG, then the next boundary.
            if let Some(end) = find(&self.buffer, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buffer[..end]).to_string();
                let header = |name: &str| {
                    head.lines()
                        .find_map(|l| l.strip_prefix(name))
                        .map(|v| v.trim().to_string())
                };
                if let Some(length) = header("Content-Length:") {
                    let length: usize = length.parse().unwrap();
                    if self.buffer.len() >= end + 4 + length {
                        let jpeg = self.buffer[end + 4..end + 4 + length].to_vec();
                        let captured_at_us = header("X-Captured-At:").unwrap().parse().unwrap();
                        let analysed_at_us = header("X-Analysed-At:").unwrap().parse().unwrap();
                        self.buffer.drain(..end + 4 + length);
                        return Part {
                            jpeg,
                            captured_at_us,
                            analysed_at_us,
                            received_at_us: chrono::Utc::now().timestamp_micros(),
                        };
                    }
                } else {
                    // A boundary line before the headers.
                    let line_end = find(&self.buffer, b"\r\n").unwrap();
                    self.buffer.drain(..line_end + 2);
                    continue;
                }
            }
            let chunk = tokio::time::timeout(Duration::from_secs(30), self.stream.next())
                .await
                .expect("a live frame within 30 s")
                .expect("the stream stays open")
                .unwrap();
            self.buffer.extend_from_slice(&chunk);
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
