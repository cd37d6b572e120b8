//! The real `facewatch serve` process with real face models: an admin from the environment logs
//! in, enrols an employee from photos (GraphQL base64 and REST multipart), adds a camera playing a
//! video of that person, and sees the camera's health, its latest annotated frame and the
//! employee's presence change — all through the public API.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use facewatch_inference::synthetic::{file_uri, frames_of, head_shot, write_video};
use facewatch_inference::{FaceEngine, InferenceConfig, Provider};
use serde_json::{json, Value};

const PASSWORD: &str = "e2e-admin-password";

fn models_dir() -> PathBuf {
    std::env::var_os("FACEWATCH_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../models")))
}

fn photo(name: &str) -> Vec<u8> {
    std::fs::read(models_dir().join("test-images").join(name))
        .expect("run scripts/setup-inference.sh")
}

/// Kills the server even when an assertion fails.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    async fn gql(&self, query: &str, variables: Value) -> Value {
        self.http
            .post(format!("{}/graphql", self.base))
            .bearer_auth(&self.token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Polls a query until `done` accepts its data.
    async fn wait_for(&self, query: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let data = self.gql(query, json!({})).await["data"].clone();
            if done(&data) {
                return data;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting: last answer {data}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_enrols_from_photos_and_watches_a_camera() {
    let work = tempfile::tempdir().unwrap();
    let config = InferenceConfig {
        models_dir: models_dir(),
        providers: vec![Provider::Cpu],
        inference_threads: 1,
        ..InferenceConfig::default()
    };
    // Footage: Obama (enrolled below from other photos of him) walking past the door.
    let engine = FaceEngine::new(&config).unwrap();
    let face = image::load_from_memory(&photo("obama2.jpg"))
        .unwrap()
        .to_rgb8();
    let mut frames = frames_of(&[head_shot(&engine, &face, 110.0).unwrap()], 6);
    frames.extend(frames_of(&[], 2));
    let video = work.path().join("door.mp4");
    write_video(&frames, &video).unwrap();
    drop(engine);
    let ai_params = work.path().join("ai.toml");
    std::fs::write(
        &ai_params,
        format!(
            "models_dir = {:?}\nproviders = [\"cpu\"]\ninference_threads = 1\n",
            models_dir().canonicalize().unwrap()
        ),
    )
    .unwrap();

    let base_db = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| facewatch_store::DEFAULT_DATABASE_URL.into());
    let database_url = facewatch_store::test_database_url(&base_db, "fw_serve");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_facewatch"))
            .arg("serve")
            .env("DATABASE_URL", &database_url)
            .env("FACEWATCH_SERVER__LISTEN", format!("127.0.0.1:{port}"))
            .env("FACEWATCH_DATA_DIR", work.path().join("data"))
            .env("FACEWATCH_CAMERAS__AI_PARAMS_FILE", &ai_params)
            .env("FACEWATCH_ADMIN_PASSWORD", PASSWORD)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let login = loop {
        let response = http
            .post(format!("{base}/api/auth/login"))
            .json(&json!({"username": "admin", "password": PASSWORD}))
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() => break r.json::<Value>().await.unwrap(),
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(300)).await,
            other => panic!("server never accepted the admin login: {other:?}"),
        }
    };
    let client = Client {
        token: login["token"].as_str().unwrap().to_string(),
        http,
        base,
    };

    let enrolled = client
        .gql(
            "mutation { enrollEmployee(input: {name: \"Barack Obama\", code: \"BO-1\"}) { id } }",
            json!({}),
        )
        .await;
    let id = enrolled["data"]["enrollEmployee"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let enrol_photo = "mutation($id: String!, $pose: Pose!, $photo: String!) {
        enrollFacePhoto(employeeId: $id, pose: $pose, photoBase64: $photo) { faceTemplates } }";
    let b64 = |bytes: Vec<u8>| base64::engine::general_purpose::STANDARD.encode(bytes);
    let front = client
        .gql(enrol_photo, json!({"id": id, "pose": "FRONT", "photo": format!("data:image/jpeg;base64,{}", b64(photo("obama.jpg")))}))
        .await;
    assert_eq!(
        front["data"]["enrollFacePhoto"]["faceTemplates"], 1,
        "{front}"
    );
    let no_face = client
        .gql(
            enrol_photo,
            json!({"id": id, "pose": "LEFT", "photo": b64(photo("coffee.png"))}),
        )
        .await;
    let message = no_face["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase();
    assert!(message.contains("face"), "{no_face}");
    // The seed system's multipart endpoint adds another pose through the same service.
    let form = reqwest::multipart::Form::new().part(
        "left",
        reqwest::multipart::Part::bytes(photo("obama3.jpg")).file_name("left.jpg"),
    );
    let multipart: Value = client
        .http
        .post(format!("{}/api/employees/{id}/face_templates", client.base))
        .bearer_auth(&client.token)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(multipart["templates"], 2, "{multipart}");

    let add = format!(
        "mutation {{ addCamera(input: {{id: \"DOOR\", name: \"Door\", streamUrl: \"{}\"}}) {{ id }} }}",
        file_uri(&video).unwrap()
    );
    assert!(client.gql(&add, json!({})).await.get("errors").is_none());
    let health = client
        .wait_for("{ cameras { id health { state fps lastFrameAt } } }", |d| {
            d["cameras"][0]["health"]["lastFrameAt"].is_string()
        })
        .await;
    assert_eq!(health["cameras"][0]["id"], "DOOR");
    let present = client
        .wait_for(
            "{ employees { name presence { present cameraName } } }",
            |d| d["employees"][0]["presence"]["present"] == true,
        )
        .await;
    assert_eq!(present["employees"][0]["presence"]["cameraName"], "Door");

    // The supervisor publishes the annotated frame about once a second.
    let deadline = Instant::now() + Duration::from_secs(30);
    let frame = loop {
        let frame = client
            .http
            .get(format!("{}/api/cameras/DOOR/latest.jpg", client.base))
            .bearer_auth(&client.token)
            .send()
            .await
            .unwrap();
        if frame.status() == 200 || Instant::now() > deadline {
            break frame;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(frame.status(), 200);
    assert_eq!(frame.headers()["content-type"], "image/jpeg");
    let jpeg = frame.bytes().await.unwrap();
    assert_eq!(image::load_from_memory(&jpeg).unwrap().width(), 720);
    let missing = client
        .http
        .get(format!("{}/api/cameras/NOPE/latest.jpg", client.base))
        .bearer_auth(&client.token)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let tested = client
        .gql(
            "mutation { testCameraConnection(id: \"DOOR\") { health { state } } }",
            json!({}),
        )
        .await;
    assert!(
        tested["data"]["testCameraConnection"]["health"]["state"].is_string(),
        "{tested}"
    );
    let params = client.gql("{ aiParameters }", json!({})).await;
    assert_eq!(
        params["data"]["aiParameters"]["params"]["inference_threads"], 1,
        "{params}"
    );

    drop(_server);
    facewatch_store::drop_database(&database_url).await.unwrap();
}
