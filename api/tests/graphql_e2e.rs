//! The whole backbone over the wire: a real HTTP server on 127.0.0.1, a real PostgreSQL, a real
//! graphql-transport-ws subscription. Enrol, add a camera, post sightings, watch presence and alerts
//! change live, query attendance, and prove the read models replay exactly.

use std::time::Duration;

use facewatch_api::testing::{TestServer, ADMIN, ADMIN_PASSWORD as PASSWORD};
use facewatch_app::absence::{self, AbsencePolicy};
use facewatch_app::{Actor, CommandContext};
use facewatch_store::ScratchDatabase;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// The shared test server plus what these tests add: the absence watcher and subscriptions.
struct Server {
    inner: TestServer,
    base: String,
    token: String,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Server {
    async fn start(prefix: &str) -> Self {
        let inner = TestServer::spawn(prefix).await;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let policy = AbsencePolicy {
            present_timeout_sec: 1,
            check_every: Duration::from_millis(200),
        };
        tokio::spawn(absence::watch(inner.test.app.clone(), policy, async move {
            let mut stopped = stopped;
            let _ = stopped.wait_for(|v| *v).await;
        }));
        Self {
            base: inner.addr.clone(),
            token: inner.token.clone(),
            inner,
            stop,
        }
    }

    fn db(&self) -> &ScratchDatabase {
        &self.inner.test.db
    }

    async fn finish(self) {
        let _ = self.stop.send(true);
        self.inner.finish().await;
    }

    async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.inner.login(username, password).await
    }

    async fn gql(&self, query: &str, variables: Value) -> Value {
        self.inner.gql(query, variables).await
    }

    async fn gql_as(&self, token: &str, query: &str, variables: Value) -> Value {
        self.inner.gql_as(token, query, variables).await
    }

    async fn ok(&self, query: &str, variables: Value) -> Value {
        self.inner.ok(query, variables).await
    }

    /// Opens a graphql-transport-ws subscription and returns a function that awaits its next payload.
    async fn subscribe(&self, query: &str) -> Subscription {
        let mut request = format!("ws://{}/graphql/ws", self.base)
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        ws.send(Message::text(
            json!({"type": "connection_init", "payload": {"token": self.token}}).to_string(),
        ))
        .await
        .unwrap();
        let ack = ws.next().await.unwrap().unwrap();
        assert!(ack.to_text().unwrap().contains("connection_ack"));
        let subscribe = json!({"id": "1", "type": "subscribe", "payload": {"query": query}});
        ws.send(Message::text(subscribe.to_string())).await.unwrap();
        // The protocol has no "subscribed" acknowledgement: give the server a moment to attach
        // the stream before the test makes changes.
        tokio::time::sleep(Duration::from_millis(300)).await;
        Subscription { ws }
    }
}

struct Subscription {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Subscription {
    async fn next(&mut self) -> Value {
        let wait = async {
            loop {
                let message = self.ws.next().await.unwrap().unwrap();
                let Ok(text) = message.to_text() else {
                    continue;
                };
                let value: Value = serde_json::from_str(text).unwrap();
                if value["type"] == "next" {
                    return value["payload"]["data"].clone();
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(15), wait)
            .await
            .expect("subscription delivered nothing within 15 s")
    }
}

async fn event_count(db: &ScratchDatabase) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM public.events")
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn enrol_sight_watch_alerts_live_and_replay() {
    let server = Server::start("fw_api").await;

    let data = server
        .ok(
            "mutation($i: EmployeeInput!) { enrollEmployee(input: $i) { id name code presence { present } } }",
            json!({"i": {"name": "Ana Lopez", "code": "E-001", "department": "Ops"}}),
        )
        .await;
    let ana = data["enrollEmployee"]["id"].as_str().unwrap().to_string();
    assert_eq!(data["enrollEmployee"]["presence"]["present"], false);
    let data = server
        .ok(
            "mutation { addCamera(input: {id: \"CAM1\", name: \"Main door\", location: \"Lobby\", streamUrl: \"rtsp://admin:hunter2@10.0.0.7:554/live\"}) { id streamUrlRedacted enabled } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["addCamera"]["streamUrlRedacted"],
        "rtsp://***@10.0.0.7:554/live"
    );
    // Make monitoring active whatever time the test runs: manual mode, tracking on.
    server
        .ok(
            "mutation { setScheduleMode(mode: MANUAL) { mode } }",
            json!({}),
        )
        .await;
    let data = server
        .ok(
            "mutation { setManualTracking(on: true) { monitoringState } }",
            json!({}),
        )
        .await;
    assert_eq!(data["setManualTracking"]["monitoringState"], "ACTIVE");

    let mut presence = server
        .subscribe("subscription { presenceChanged { id presence { present cameraName } } }")
        .await;
    let mut raised = server
        .subscribe(
            "subscription { alertRaised { id employeeName cameraName open schedule { mode } } }",
        )
        .await;
    let mut resolved = server
        .subscribe("subscription { alertResolved { id open resolvedAt } }")
        .await;

    let sighting =
        "mutation($i: SightingInput!) { recordSighting(input: $i) { presence { present } } }";
    let input =
        json!({"i": {"employeeId": ana, "cameraId": "CAM1", "similarity": 0.82, "trackId": 3}});
    let data = server.ok(sighting, input.clone()).await;
    assert_eq!(data["recordSighting"]["presence"]["present"], true);
    let live = presence.next().await;
    assert_eq!(live["presenceChanged"]["id"], ana.as_str());
    assert_eq!(live["presenceChanged"]["presence"]["present"], true);
    assert_eq!(
        live["presenceChanged"]["presence"]["cameraName"],
        "Main door"
    );

    // Unseen for longer than the 1 s timeout: exit during active monitoring → alert, live.
    let alert = raised.next().await;
    assert_eq!(alert["alertRaised"]["employeeName"], "Ana Lopez");
    assert_eq!(alert["alertRaised"]["open"], true);
    assert_eq!(alert["alertRaised"]["schedule"]["mode"], "MANUAL");
    let gone = presence.next().await;
    assert_eq!(gone["presenceChanged"]["presence"]["present"], false);

    // Coming back resolves it.
    server.ok(sighting, input.clone()).await;
    let back = resolved.next().await;
    assert_eq!(back["alertResolved"]["id"], alert["alertRaised"]["id"]);
    assert_eq!(back["alertResolved"]["open"], false);

    let data = server
        .ok(
            "query($d: NaiveDate!) { attendance(from: $d) { employeeName firstIn firstInCamera lastOut entryType } openAlerts { id } }",
            json!({"d": chrono::Utc::now().date_naive()}),
        )
        .await;
    let row = &data["attendance"][0];
    assert_eq!(row["employeeName"], "Ana Lopez");
    assert_eq!(row["firstInCamera"], "Main door");
    assert_eq!(row["entryType"], "AUTO");
    assert!(row["firstIn"].is_string() && row["lastOut"].is_string());
    assert_eq!(data["openAlerts"].as_array().unwrap().len(), 0);

    let audit = server
        .ok(
            "mutation { runReplayAudit { allMatch position tables { table matches } } }",
            json!({}),
        )
        .await;
    assert_eq!(audit["runReplayAudit"]["allMatch"], true, "{audit}");
    assert!(audit["runReplayAudit"]["position"].as_i64().unwrap() >= 8);

    // The Audit page's tamper evidence: the chain head and the last `facewatch verify`.
    let pool = &server.db().pool;
    let walked = facewatch_store::chain::verify_chain(pool, None, |_, _| {})
        .await
        .unwrap();
    facewatch_store::chain::record_verification(pool, &walked)
        .await
        .unwrap();
    let status = server
        .ok(
            "{ auditStatus { chainHead lastVerification { intact events head problem } } }",
            json!({}),
        )
        .await;
    let head = walked.head.unwrap().to_string();
    assert_eq!(
        status["auditStatus"]["chainHead"],
        head.as_str(),
        "{status}"
    );
    let verification = &status["auditStatus"]["lastVerification"];
    assert_eq!(verification["intact"], true);
    assert_eq!(verification["head"], head.as_str());
    assert_eq!(verification["events"], walked.events);
    assert!(verification["problem"].is_null());

    // A selection of `id` alone is answered without reading the employee back; any other field,
    // even inside a fragment, is read from the read model after the write.
    let only_id = server
        .ok(
            "mutation($i: SightingInput!) { recordSighting(input: $i) { id __typename } }",
            input.clone(),
        )
        .await;
    assert_eq!(
        only_id["recordSighting"],
        json!({"id": ana, "__typename": "Employee"})
    );
    let with_fragment = server
        .ok(
            "mutation($i: SightingInput!) { recordSighting(input: $i) { id ...Who } }
             fragment Who on Employee { name presence { present cameraName } }",
            input,
        )
        .await;
    assert_eq!(with_fragment["recordSighting"]["name"], "Ana Lopez");
    assert_eq!(
        with_fragment["recordSighting"]["presence"]["cameraName"],
        "Main door"
    );
    server.finish().await;
}

#[tokio::test]
async fn bad_input_is_a_clear_error_and_writes_nothing() {
    let server = Server::start("fw_api").await;
    let db = server.db();
    server
        .ok(
            "mutation { addCamera(input: {id: \"CAM1\", name: \"Door\", streamUrl: \"rtsp://cam/1\"}) { id } }",
            json!({}),
        )
        .await;
    let before = event_count(db).await;

    let cases: [(&str, Value, &str); 9] = [
        (
            "mutation { recordSighting(input: {employeeId: \"ghost\", cameraId: \"CAM1\", similarity: 0.9}) { id } }",
            json!({}),
            "unknown active employee \"ghost\"",
        ),
        ("{ attendance(from: \"2026-02-30\") { day } }", json!({}), "NaiveDate"),
        (
            "{ attendance(from: \"2026-03-01\", to: \"2026-02-01\") { day } }",
            json!({}),
            "date range is inverted",
        ),
        ("{ employees { id ", json!({}), "expected"),
        ("{ camera(id: \"nope\") { id } }", json!({}), "unknown camera \"nope\""),
        (
            "mutation { addCamera(input: {id: \"CAM2\", name: \"X\", streamUrl: \"ftp://cam\"}) { id } }",
            json!({}),
            "stream URL must start with",
        ),
        (
            "mutation { saveSchedule(input: {workHours: [{weekday: MONDAY, start: \"25:00\", end: \"17:00\"}]}) { mode } }",
            json!({}),
            "is not a time of day",
        ),
        (
            "mutation { saveSchedule(input: {workHours: [], timezone: \"Mars/Base\"}) { mode } }",
            json!({}),
            "unknown time zone",
        ),
        ("mutation { resumeSchedule { mode } }", json!({}), "not paused"),
    ];
    for (query, variables, expected) in cases {
        let response = server.gql(query, variables).await;
        let message = response["errors"][0]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains(expected), "{query}\n→ {response}");
    }
    assert_eq!(
        event_count(db).await,
        before,
        "rejected input appended nothing"
    );

    // A duplicate employee code is refused too.
    let enrol = "mutation { enrollEmployee(input: {name: \"A\", code: \"X1\"}) { id } }";
    server.ok(enrol, json!({})).await;
    let again = server.gql(enrol, json!({})).await;
    assert!(again["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("already in use"));
    assert_eq!(again["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    server.finish().await;
}

/// Opens `/graphql/ws` with optional extra headers and init payload; returns the server's first
/// answer to `connection_init` (None when it closed the socket instead).
async fn ws_handshake(server: &Server, cookie: Option<&str>, payload: Value) -> Option<String> {
    let mut request = format!("ws://{}/graphql/ws", server.base)
        .into_client_request()
        .unwrap();
    let headers = request.headers_mut();
    headers.insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    if let Some(cookie) = cookie {
        headers.insert("Cookie", cookie.parse().unwrap());
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let init = json!({"type": "connection_init", "payload": payload});
    ws.send(Message::text(init.to_string())).await.unwrap();
    match tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap()
    {
        Some(Ok(Message::Text(text))) => Some(text.to_string()),
        _ => None,
    }
}

#[tokio::test]
async fn login_roles_and_logout() {
    let server = Server::start("fw_auth").await;
    let db = server.db();
    let base = format!("http://{}", server.base);
    let enrol = "mutation { enrollEmployee(input: {name: \"Bo\", code: \"E-9\"}) { id } }";

    // No session: GraphQL and REST refuse, login itself is open.
    let anonymous = server
        .inner
        .http
        .post(format!("{base}/graphql"))
        .json(&json!({"query": "{ employees { id } }"}));
    assert_eq!(anonymous.send().await.unwrap().status(), 401);
    let me = server
        .inner
        .http
        .get(format!("{base}/api/auth/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
    let bad_token = server
        .gql_as("not-a-token", "{ employees { id } }", json!({}))
        .await;
    assert_eq!(bad_token["error"], "login required");
    let no_ws = ws_handshake(&server, None, json!({})).await;
    assert!(!no_ws.unwrap_or_default().contains("connection_ack"));

    // Wrong or unknown credentials are rejected alike.
    assert_eq!(server.login(ADMIN, "wrong-password").await.status(), 401);
    assert_eq!(server.login("nobody", PASSWORD).await.status(), 401);

    // Passwords are stored as argon2 hashes, and the audit copy of the event hides even that.
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE username = $1")
        .bind(ADMIN)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(PASSWORD));
    let audit = server
        .ok(
            "{ events(eventType: \"UserCreated\") { payload } }",
            json!({}),
        )
        .await;
    assert_eq!(
        audit["events"][0]["payload"]["User"]["UserCreated"]["password_hash"],
        "<redacted>"
    );
    assert!(!server
        .inner
        .test
        .app
        .ensure_admin(
            &CommandContext::new(Actor::cli()),
            ADMIN,
            "another-password"
        )
        .await
        .unwrap());

    // A viewer reads but cannot mutate; nothing is written.
    let viewer_role = facewatch_domain::user::Role::Viewer;
    let cli = CommandContext::new(Actor::cli());
    server
        .inner
        .test
        .app
        .create_user(&cli, "val", "viewer-password", viewer_role)
        .await
        .unwrap();
    let login = server.login("val", "viewer-password").await;
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let session_cookie = cookie.split(';').next().unwrap().to_string();
    let viewer: Value = login.json().await.unwrap();
    assert_eq!(viewer["role"], "VIEWER");
    let token = viewer["token"].as_str().unwrap();
    let read = server
        .gql_as(token, "{ employees { id } }", json!({}))
        .await;
    assert!(read.get("errors").is_none(), "{read}");
    let before = event_count(db).await;
    let refused = server.gql_as(token, enrol, json!({})).await;
    assert_eq!(
        refused["errors"][0]["message"],
        "forbidden: admin role required"
    );
    assert_eq!(event_count(db).await, before);
    let rest = server
        .inner
        .http
        .post(format!("{base}/api/schedule/pause"))
        .bearer_auth(token)
        .json(&json!({"minutes": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), 403);

    // The browser's way: the cookie authenticates HTTP and the WebSocket upgrade.
    let me: Value = server
        .inner
        .http
        .get(format!("{base}/api/auth/me"))
        .header("Cookie", &session_cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me, json!({"username": "val", "role": "VIEWER"}));
    let ack = ws_handshake(&server, Some(&session_cookie), json!({})).await;
    assert!(ack.unwrap().contains("connection_ack"));

    // Logging out ends the session for cookie and token alike.
    let out = server
        .inner
        .http
        .post(format!("{base}/api/auth/logout"))
        .header("Cookie", &session_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let after = server
        .inner
        .http
        .get(format!("{base}/api/auth/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401);
    // The admin's session is unaffected.
    server.ok(enrol, json!({})).await;

    // User management over GraphQL: admins create and disable users; weak passwords are refused.
    let create = "mutation($u: String!, $p: String!) { createUser(username: $u, password: $p, role: VIEWER) { username role } }";
    let weak = server.gql(create, json!({"u": "vic", "p": "short"})).await;
    assert_eq!(
        weak["errors"][0]["message"],
        "password must be at least 12 characters"
    );
    let created = server
        .ok(create, json!({"u": "vic", "p": "vic-password"}))
        .await;
    assert_eq!(
        created["createUser"],
        json!({"username": "vic", "role": "VIEWER"})
    );
    let vic: Value = server
        .login("vic", "vic-password")
        .await
        .json()
        .await
        .unwrap();
    let vic_token = vic["token"].as_str().unwrap();
    let me = |token: &str| {
        server
            .inner
            .http
            .get(format!("{base}/api/auth/me"))
            .bearer_auth(token.to_string())
            .send()
    };
    assert_eq!(me(vic_token).await.unwrap().status(), 200);
    let disable = "mutation { disableUser(username: \"vic\") }";
    assert_eq!(server.ok(disable, json!({})).await["disableUser"], true);
    assert_eq!(me(vic_token).await.unwrap().status(), 401);
    assert_eq!(server.login("vic", "vic-password").await.status(), 401);
    server.finish().await;
}

#[tokio::test]
async fn webhook_dead_letters_are_listed_and_sent_again() {
    let server = Server::start("fw_hooks").await;
    let db = server.db();
    // A delivery the webhook publisher gave up on (its retries are tested in mqtt/tests).
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO webhook_deliveries (endpoint, seq, notice_key, event_type, body, status,
           attempts, last_error, finished_at)
         VALUES ('ops', 7, 'alert.raised', 'alert.raised', '{\"type\": \"alert.raised\"}', 'DEAD',
           8, 'answered HTTP 500 Internal Server Error', now()) RETURNING id",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let data = server
        .ok(
            "{ webhookDeadLetters { id endpoint eventType seq attempts lastError failedAt body } }",
            json!({}),
        )
        .await;
    let letters = data["webhookDeadLetters"].as_array().unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0]["id"], id);
    assert_eq!(letters[0]["endpoint"], "ops");
    assert_eq!(letters[0]["eventType"], "alert.raised");
    assert_eq!(letters[0]["attempts"], 8);
    assert_eq!(letters[0]["body"]["type"], "alert.raised");

    let retried = server
        .ok(
            "mutation($id: Int!) { retryWebhookDelivery(id: $id) }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(retried["retryWebhookDelivery"], true);
    let data = server.ok("{ webhookDeadLetters { id } }", json!({})).await;
    assert_eq!(data["webhookDeadLetters"], json!([]));
    let status: String = sqlx::query_scalar("SELECT status FROM webhook_deliveries WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(status, "PENDING");
    // A second retry of the same id finds no dead letter.
    let again = server
        .inner
        .gql(
            "mutation($id: Int!) { retryWebhookDelivery(id: $id) }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(again["errors"][0]["extensions"]["code"], "NOT_FOUND");
    server.finish().await;
}
