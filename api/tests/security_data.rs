//! Attacks on sessions and data, each sent to a real server and refused: WebSockets outliving
//! their session, secrets in camera URLs, symlinks out of the data dir, local camera sources,
//! library paths through the API, unstorable input. And `eventsStored` counts events.

use std::time::Duration;

use facewatch_api::testing::TestServer;
use facewatch_api::{AppState, HttpPolicy};
use facewatch_app::{Actor, CommandContext};
use facewatch_domain::user::Role;
use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Sessions checked every second, `connection_init` due within one.
fn quick_sockets(state: AppState) -> AppState {
    state.with_policy(HttpPolicy {
        ws_init_timeout: Duration::from_secs(1),
        ws_session_check: Duration::from_secs(1),
        ..HttpPolicy::default()
    })
}

async fn open_socket(server: &TestServer) -> Socket {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{}/graphql/ws", server.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

async fn init(ws: &mut Socket, token: &str) {
    let init = json!({"type": "connection_init", "payload": {"token": token}});
    ws.send(Message::text(init.to_string())).await.unwrap();
    let ack = ws.next().await.unwrap().unwrap();
    assert!(ack.to_text().unwrap().contains("connection_ack"), "{ack}");
}

/// The close code the server ends the socket with (within 10 s), skipping other messages.
async fn closed_with(ws: &mut Socket) -> u16 {
    let wait = async {
        while let Some(message) = ws.next().await {
            if let Ok(Message::Close(frame)) = message {
                return frame.map_or(0, |f| u16::from(f.code));
            }
        }
        0
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .expect("the server kept the socket open")
}

/// A second session for `username`, for the test to end.
async fn viewer_token(server: &TestServer, username: &str) -> String {
    let cli = CommandContext::new(Actor::cli());
    let app = &server.test.app;
    app.create_user(&cli, username, "viewer-password", Role::Viewer)
        .await
        .unwrap();
    let login: Value = server
        .login(username, "viewer-password")
        .await
        .json()
        .await
        .unwrap();
    login["token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn websockets_close_on_logout_disable_and_without_init() {
    let server = TestServer::spawn_with("fw_sec_ws", quick_sockets).await;
    // Logout.
    let token = viewer_token(&server, "val").await;
    let mut ws = open_socket(&server).await;
    init(&mut ws, &token).await;
    let logout = server
        .http
        .post(server.url("/api/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    assert_eq!(closed_with(&mut ws).await, 4401);
    // Disabled by an admin while subscribed.
    let token = viewer_token(&server, "vic").await;
    let mut ws = open_socket(&server).await;
    init(&mut ws, &token).await;
    let subscribe = json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { directoryChanged }"}});
    ws.send(Message::text(subscribe.to_string())).await.unwrap();
    server
        .ok("mutation { disableUser(username: \"vic\") }", json!({}))
        .await;
    assert_eq!(closed_with(&mut ws).await, 4401);
    // Never sends connection_init.
    let mut idle = open_socket(&server).await;
    assert_eq!(closed_with(&mut idle).await, 4408);
    // A live session keeps its socket.
    let mut ws = open_socket(&server).await;
    init(&mut ws, &server.token).await;
    let ping =
        json!({"id": "2", "type": "subscribe", "payload": {"query": "{ schedule { timezone } }"}});
    tokio::time::sleep(Duration::from_secs(2)).await; // two session checks pass
    ws.send(Message::text(ping.to_string())).await.unwrap();
    let answer = ws.next().await.unwrap().unwrap();
    assert!(answer.to_text().unwrap().contains("timezone"), "{answer}");
    let _ = ws.close(None).await;
    server.finish().await;
}

#[tokio::test]
async fn camera_secrets_never_reach_clients() {
    let server = TestServer::spawn("fw_sec_redact").await;
    let urls = [
        "rtsp://10.0.0.7/live?user=admin&password=hunter2",
        "rtsp://10.0.0.8/cam?pwd=hunter2",
        "rtsp://admin:hun/ter2@10.0.0.9/live",
        "rtsp://10.0.0.10:554/user=admin_password=hunter2_channel=1_stream=0.sdp",
    ];
    for (n, url) in urls.iter().enumerate() {
        let answer = server
            .ok(
                "mutation($i: CameraInput!) { addCamera(input: $i) { streamUrlRedacted } }",
                json!({"i": {"id": format!("CAM{n}"), "name": "Door", "streamUrl": url}}),
            )
            .await;
        let shown = answer["addCamera"]["streamUrlRedacted"].as_str().unwrap();
        assert!(
            !shown.contains("hunter2") && !shown.contains("ter2"),
            "{shown}"
        );
    }
    let rest = server
        .http
        .get(server.url("/api/cameras"))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !rest.contains("hunter2") && !rest.contains("ter2"),
        "{rest}"
    );
    let audit = server
        .ok("{ events(limit: 50) { payload } }", json!({}))
        .await
        .to_string();
    assert!(
        !audit.contains("hunter2") && !audit.contains("ter2"),
        "{audit}"
    );
    server.finish().await;
}

#[tokio::test]
async fn local_camera_sources_and_library_paths_are_refused() {
    let config = tempfile::tempdir().unwrap();
    let params_file = config.path().join("ai.toml");
    std::fs::write(&params_file, "models_dir = \"models\"\nfps_target = 8\n").unwrap();
    let server = TestServer::spawn_with("fw_sec_src", |state| {
        state
            .with_params_file(params_file)
            .with_params_validator(std::sync::Arc::new(|_| Ok(())))
    })
    .await;
    for url in [
        "file:///etc/shadow",
        "http://127.0.0.1:5432/",
        "https://10.0.0.1/x",
    ] {
        let answer = server
            .gql(
                "mutation($u: String!) { addCamera(input: {name: \"X\", streamUrl: $u}) { id } }",
                json!({ "u": url }),
            )
            .await;
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{url}: {answer}"
        );
        assert!(answer["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("rtsp, rtsps"));
    }
    let cameras = server.ok("{ cameras { id } }", json!({})).await;
    assert_eq!(cameras["cameras"], json!([]));
    // Re-pointing an existing camera is checked alike.
    server
        .ok("mutation { addCamera(input: {id: \"C1\", name: \"X\", streamUrl: \"rtsp://cam/1\"}) { id } }", json!({}))
        .await;
    let moved = server
        .gql("mutation { updateCamera(id: \"C1\", name: \"X\", streamUrl: \"file:///etc/passwd\") { id } }", json!({}))
        .await;
    assert_eq!(
        moved["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{moved}"
    );
    // The ONNX Runtime library (code the server loads) and the models stay the server's files.
    for (key, value) in [
        ("onnxruntime_library", "/tmp/evil.so"),
        ("models_dir", "/etc"),
    ] {
        let response = server
            .http
            .post(server.url("/api/config/params"))
            .bearer_auth(&server.token)
            .json(&json!({ key: value, "fps_target": 8 }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains(key), "{body}");
    }
    server.finish().await;
}

#[cfg(unix)]
#[tokio::test]
async fn files_are_served_only_from_inside_the_data_dir() {
    let data = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.jpg"), b"not yours").unwrap();
    let snapshots = data.path().join("snapshots");
    std::fs::create_dir_all(&snapshots).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.jpg"),
        snapshots.join("link.jpg"),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path(), snapshots.join("dir")).unwrap();
    std::fs::write(snapshots.join("own.jpg"), b"ours").unwrap();
    let dir = data.path().to_path_buf();
    let server = TestServer::spawn_with("fw_sec_files", |s| s.with_data_dir(dir)).await;
    for reference in ["snapshots/link.jpg", "snapshots/dir/secret.jpg"] {
        let response = server
            .http
            .get(server.url(&format!("/api/files/{reference}")))
            .bearer_auth(&server.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{reference}");
        assert!(!response.text().await.unwrap().contains("not yours"));
    }
    let own = server
        .http
        .get(server.url("/api/files/snapshots/own.jpg"))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    assert_eq!(own.bytes().await.unwrap().as_ref(), b"ours");
    server.finish().await;
}

#[tokio::test]
async fn unstorable_input_is_bad_user_input_and_stores_nothing() {
    let server = TestServer::spawn("fw_sec_input").await;
    let ana = server
        .ok(
            "mutation { enrollEmployee(input: {name: \"Ana\", code: \"E-1\"}) { id } }",
            json!({}),
        )
        .await["enrollEmployee"]["id"]
        .clone();
    server
        .ok(
            "mutation { addCamera(input: {id: \"C1\", name: \"Door\", streamUrl: \"rtsp://cam/1\"}) { id } }",
            json!({}),
        )
        .await;
    let before = server.ok("{ system { eventsStored } }", json!({})).await;
    let attacks = [
        // NUL characters: in a name, in an id.
        ("mutation($i: EmployeeInput!) { enrollEmployee(input: $i) { id } }",
         json!({"i": {"name": "Bo\u{0}Lopez", "code": "E-2"}})),
        ("mutation($u: String!) { createUser(username: $u, password: \"correct horse battery\", role: VIEWER) { username } }",
         json!({"u": "a\u{0}b"})),
        ("query($id: String!) { employee(id: $id) { id } }", json!({"id": "a\u{0}b"})),
        // Times PostgreSQL cannot store, in writes and in queries.
        ("mutation($e: String!) { recordSighting(input: {employeeId: $e, cameraId: \"C1\", at: \"-200000-01-01T00:00:00Z\", similarity: 0.9}) { id } }",
         json!({"e": ana})),
        ("mutation($e: String!) { correctAttendance(input: {employeeId: $e, day: \"+200000-01-01\", firstIn: \"+200000-01-01T08:00:00Z\"}) { day } }",
         json!({"e": ana})),
        ("mutation { resetLogs(scope: BOTH, from: \"+200000-01-01\", to: \"+200000-01-02\") { eventRows } }", json!({})),
        ("{ alerts(from: \"-200000-01-01T00:00:00Z\", to: \"-199999-01-01T00:00:00Z\") { id } }", json!({})),
    ];
    for (query, variables) in attacks {
        let answer = server.gql(query, variables).await;
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{query}: {answer}"
        );
    }
    let after = server.ok("{ system { eventsStored } }", json!({})).await;
    assert_eq!(before, after, "nothing stored");
    server.finish().await;
}

#[tokio::test]
async fn events_stored_counts_events_not_positions() {
    let server = TestServer::spawn("fw_sec_count").await;
    let pool = &server.test.db.pool;
    // Positions have gaps (a rolled-back append uses one up): make one.
    sqlx::query("SELECT nextval('events_global_seq')")
        .execute(pool)
        .await
        .unwrap();
    server
        .ok(
            "mutation { enrollEmployee(input: {name: \"Ana\", code: \"E-1\"}) { id } }",
            json!({}),
        )
        .await;
    let counted: i64 = sqlx::query_scalar("SELECT count(*) FROM public.events")
        .fetch_one(pool)
        .await
        .unwrap();
    let head: i64 = sqlx::query_scalar("SELECT max(global_seq) FROM public.events")
        .fetch_one(pool)
        .await
        .unwrap();
    assert!(head > counted, "the gap exists");
    let system = server.ok("{ system { eventsStored } }", json!({})).await;
    assert_eq!(system["system"]["eventsStored"], counted);
    server.finish().await;
}
