//! Attacks on the HTTP surface, each sent to a real server and refused: oversized bodies,
//! expensive queries, cross-site requests and WebSockets, password guessing, weak passwords.
//! Every response carries the security headers.

use facewatch_api::testing::{TestServer, ADMIN, ADMIN_PASSWORD};
use facewatch_app::{Actor, CommandContext};
use facewatch_domain::user::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const VIEWER: &str = "val";
const VIEWER_PASSWORD: &str = "viewer-password";

/// A server with a viewer; returns the viewer's token.
async fn with_viewer(prefix: &str) -> (TestServer, String) {
    let server = TestServer::spawn(prefix).await;
    let cli = CommandContext::new(Actor::cli());
    server
        .test
        .app
        .create_user(&cli, VIEWER, VIEWER_PASSWORD, Role::Viewer)
        .await
        .unwrap();
    let login: Value = server
        .login(VIEWER, VIEWER_PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_string();
    (server, token)
}

fn session_cookie(token: &str) -> String {
    format!("facewatch_session={token}")
}

#[tokio::test]
async fn oversized_bodies_are_refused_and_photos_of_the_documented_size_are_not() {
    let (server, viewer) = with_viewer("fw_sec_body").await;
    // A viewer's 2 MiB GraphQL request (viewers run no mutations; their limit is 1 MiB).
    let padding = "x".repeat(2 * 1024 * 1024);
    let query = format!("{{ system {{ eventsStored }} }} # {padding}");
    let response = server
        .http
        .post(server.url("/graphql"))
        .bearer_auth(&viewer)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // The same request is fine for an admin (photos travel in GraphQL as base64).
    let answer = server.gql(&query, json!({})).await;
    assert!(answer.get("errors").is_none(), "{answer}");
    // Beyond the admin's limit too.
    let huge = format!("{{ system {{ eventsStored }} }} # {}", "x".repeat(17 << 20));
    let response = server
        .http
        .post(server.url("/graphql"))
        .bearer_auth(&server.token)
        .json(&json!({ "query": huge }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // REST JSON: 2 MiB to a small endpoint.
    let response = server
        .http
        .post(server.url("/api/employees"))
        .bearer_auth(&server.token)
        .json(&json!({ "name": padding, "code": "E1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // A 3 MiB photo upload passes the size limits (it fails later: it is no photo, and this
    // server has no face models).
    let id = server
        .ok(
            "mutation { enrollEmployee(input: {name: \"Ana\", code: \"E-1\"}) { id } }",
            json!({}),
        )
        .await["enrollEmployee"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let form = reqwest::multipart::Form::new().part(
        "front",
        reqwest::multipart::Part::bytes(vec![0xFF; 3 << 20]).file_name("front.jpg"),
    );
    let response = server
        .http
        .post(server.url(&format!("/api/employees/{id}/face_templates")))
        .bearer_auth(&server.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_ne!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(!body.contains("bytes"), "refused for its size: {body}");
    server.finish().await;
}

#[tokio::test]
async fn list_sizes_count_in_the_query_complexity() {
    let server = TestServer::spawn("fw_sec_cplx").await;
    let one = server
        .gql("{ events(limit: 5000) { seq } }", json!({}))
        .await;
    assert!(one.get("errors").is_none(), "{one}");
    let aliases: String = (0..300)
        .map(|n| format!("e{n}: events(limit: 5000) {{ seq payload eventType }} "))
        .collect();
    let answer = server.gql(&format!("{{ {aliases} }}"), json!({})).await;
    let message = answer["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("complex"), "{answer}");
    assert!(answer["data"].is_null(), "{answer}");
    // Three year-long attendance lists of five fields: each day of each range counts.
    let years: String = (2023..2026)
        .map(|y| {
            format!(
                "y{y}: attendance(from: \"{y}-01-01\", to: \"{y}-12-31\") \
                 {{ employeeId employeeName firstIn lastOut note }} "
            )
        })
        .collect();
    let year = server.gql(&format!("{{ {years} }}"), json!({})).await;
    assert!(
        year["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("complex"),
        "{year}"
    );
    server.finish().await;
}

/// A document that passed full validation once skips the rules that cannot change its verdict,
/// but not what depends on the next request's variables: the complexity of the ranges they give
/// and the types of their values.
#[tokio::test]
async fn a_document_validated_before_still_has_its_variables_checked() {
    let server = TestServer::spawn("fw_sec_valid").await;
    let ranges = "query($from: NaiveDate!, $to: NaiveDate) { \
        a: attendance(from: $from, to: $to) { employeeId employeeName firstIn lastOut note } \
        b: attendance(from: $from, to: $to) { employeeId employeeName firstIn lastOut note } \
        c: attendance(from: $from, to: $to) { employeeId employeeName firstIn lastOut note } }";
    let a_week = json!({"from": "2026-11-23", "to": "2026-11-29"});
    for _ in 0..2 {
        let answer = server.gql(ranges, a_week.clone()).await;
        assert!(answer.get("errors").is_none(), "{answer}");
    }
    let a_year = json!({"from": "2025-01-01", "to": "2025-12-31"});
    let answer = server.gql(ranges, a_year).await;
    let message = answer["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("complex"), "{answer}");
    assert!(answer["data"].is_null(), "{answer}");
    // Each refused with a message that names what is wrong.
    for (wrong, named) in [
        (
            json!({"from": "not a date", "to": "2026-11-29"}),
            "NaiveDate",
        ),
        (json!({"from": 20261123, "to": "2026-11-29"}), "NaiveDate"),
        (json!({"to": "2026-11-29"}), "from"),
    ] {
        let answer = server.gql(ranges, wrong.clone()).await;
        let message = answer["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(named), "{wrong}: {answer}");
        assert!(answer["data"].is_null(), "{wrong}: {answer}");
    }
    // And still answers the good ones.
    let answer = server.gql(ranges, a_week).await;
    assert!(answer.get("errors").is_none(), "{answer}");
    server.finish().await;
}

/// The status of a POST of `body` to `path` carrying the admin's session cookie, as a page at
/// `origin` sends it.
async fn cookie_post(
    server: &TestServer,
    path: &str,
    origin: Option<&str>,
    content_type: &str,
    body: String,
) -> StatusCode {
    let mut request = server
        .http
        .post(server.url(path))
        .header("cookie", session_cookie(&server.token))
        .header("content-type", content_type)
        .body(body);
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    request.send().await.unwrap().status()
}

#[tokio::test]
async fn cross_site_requests_and_websockets_are_refused() {
    let server = TestServer::spawn("fw_sec_csrf").await;
    let cookie = session_cookie(&server.token);
    let evil = Some("https://evil.example");
    let mutation =
        json!({ "query": "mutation { pauseSchedule(minutes: 30) { pausedUntil } }" }).to_string();
    // A foreign page posting text/plain (no CORS preflight) with the victim's cookie; even as
    // JSON a foreign origin is refused; a form POST to a REST action too.
    let attacks = [
        (
            "/graphql",
            evil,
            "text/plain",
            mutation.clone(),
            StatusCode::FORBIDDEN,
        ),
        (
            "/graphql",
            evil,
            "application/json",
            mutation.clone(),
            StatusCode::FORBIDDEN,
        ),
        (
            "/api/system/restart",
            evil,
            "application/x-www-form-urlencoded",
            "x=1".into(),
            StatusCode::FORBIDDEN,
        ),
        // GraphQL runs from JSON only, whatever the origin.
        (
            "/graphql",
            None,
            "text/plain",
            mutation.clone(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ];
    for (path, origin, content_type, body, expected) in attacks {
        let status = cookie_post(&server, path, origin, content_type, body).await;
        assert_eq!(status, expected, "{path} from {origin:?} as {content_type}");
    }
    let schedule = server.ok("{ schedule { pausedUntil } }", json!({})).await;
    assert!(
        schedule["schedule"]["pausedUntil"].is_null(),
        "paused by a cross-site request"
    );
    // A WebSocket from a foreign page, carrying the cookie.
    let mut request = format!("ws://{}/graphql/ws", server.addr)
        .into_client_request()
        .unwrap();
    let headers = request.headers_mut();
    headers.insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    headers.insert("cookie", cookie.parse().unwrap());
    headers.insert("origin", "https://evil.example".parse().unwrap());
    let refused = tokio_tungstenite::connect_async(request).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::FORBIDDEN)
        }
        other => panic!(
            "cross-site WebSocket was not refused: {:?}",
            other.map(|_| ())
        ),
    }
    // The server's own page may do all of it.
    let query = json!({ "query": "{ schedule { timezone } }" }).to_string();
    let own = Some(server.base.as_str());
    let status = cookie_post(&server, "/graphql", own, "application/json", query).await;
    assert_eq!(status, StatusCode::OK);
    server.finish().await;
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let server = TestServer::spawn("fw_sec_hdr").await;
    let requests = [
        server.http.get(server.url("/graphql")),
        server.http.get(server.url("/some/page")),
        server.http.get(server.url("/api/cameras")),
        server
            .http
            .post(server.url("/graphql"))
            .bearer_auth(&server.token)
            .json(&json!({ "query": "{ schedule { timezone } }" })),
    ];
    for request in requests {
        let response = request.send().await.unwrap();
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
    }
    server.finish().await;
}

async fn status_and_retry(
    server: &TestServer,
    username: &str,
    password: &str,
) -> (u16, Option<u64>) {
    let response = server.login(username, password).await;
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (response.status().as_u16(), retry)
}

#[tokio::test]
async fn password_guessing_is_throttled_per_username_and_per_address() {
    let server = TestServer::spawn("fw_sec_guess").await;
    // Five wrong passwords for the admin lock the name: even the right one waits now.
    for _ in 0..5 {
        assert_eq!(
            status_and_retry(&server, ADMIN, "guess-guess-guess")
                .await
                .0,
            401
        );
    }
    let (status, retry) = status_and_retry(&server, ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(status, 429);
    assert!(retry.is_some_and(|s| s >= 1), "Retry-After: {retry:?}");
    // Unknown usernames are throttled alike (no enumeration by status), and this address has
    // failed 20 times by then: a username never tried is refused too.
    for n in 0..15 {
        let (status, _) =
            status_and_retry(&server, &format!("nobody{n}"), "guess-guess-guess").await;
        assert_eq!(status, 401);
    }
    let (status, retry) = status_and_retry(&server, "never-tried", "guess-guess-guess").await;
    assert_eq!(status, 429);
    assert!(retry.is_some());
    server.finish().await;
}

#[tokio::test]
async fn weak_passwords_are_refused() {
    let server = TestServer::spawn("fw_sec_pw").await;
    let create = "mutation($p: String!) { createUser(username: \"vic\", password: $p, role: VIEWER) { username } }";
    for weak in ["aaaaaaaa", "        ", "short-pass1", "aaaaaaaaaaaa"] {
        let answer = server.gql(create, json!({ "p": weak })).await;
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{weak:?}: {answer}"
        );
    }
    assert_eq!(server.login("vic", "aaaaaaaaaaaa").await.status(), 401);
    server.finish().await;
}
