//! Test support for every crate that talks to the API (feature `testing`): `spawn_app()`-style, a
//! real HTTP server on 127.0.0.1 over an [`facewatch_app::testing::TestApp`], with an admin logged
//! in.

use facewatch_app::testing::TestApp;
use facewatch_app::{Actor, CommandContext};
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::AppState;

pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "correct horse battery";

pub struct TestServer {
    /// `127.0.0.1:PORT`, for `ws://` URLs.
    pub addr: String,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    pub http: reqwest::Client,
    /// The admin's session token.
    pub token: String,
    pub state: AppState,
    pub test: TestApp,
    stop: watch::Sender<bool>,
}

impl TestServer {
    pub async fn spawn(prefix: &str) -> Self {
        Self::spawn_with(prefix, |state| state).await
    }

    /// `configure` adds what the test needs to the state (hooks, data dir, …) before it serves.
    pub async fn spawn_with(prefix: &str, configure: impl FnOnce(AppState) -> AppState) -> Self {
        let test = TestApp::spawn(prefix).await;
        let bootstrap = CommandContext::new(Actor::system("bootstrap"));
        test.app
            .ensure_admin(&bootstrap, ADMIN, ADMIN_PASSWORD)
            .await
            .expect("create the admin");
        let state = configure(AppState::new(test.app.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = format!("127.0.0.1:{}", listener.local_addr().expect("bound").port());
        let (stop, mut stopped) = watch::channel(false);
        let router = crate::router(state.clone())
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await
                .expect("serve")
        });
        let mut server = Self {
            base: format!("http://{addr}"),
            addr,
            http: reqwest::Client::new(),
            token: String::new(),
            state,
            test,
            stop,
        };
        let login = server.login(ADMIN, ADMIN_PASSWORD).await;
        assert_eq!(login.status(), 200, "admin login");
        let body: Value = login.json().await.expect("login answer");
        server.token = body["token"].as_str().expect("login token").to_string();
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.http
            .post(self.url("/api/auth/login"))
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await
            .expect("login request")
    }

    /// The whole GraphQL answer (`data` and `errors`) for a request as the admin.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.gql_as(&self.token, query, variables).await
    }

    pub async fn gql_as(&self, token: &str, query: &str, variables: Value) -> Value {
        self.http
            .post(self.url("/graphql"))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("graphql request")
            .json()
            .await
            .expect("graphql answer")
    }

    /// `data` of a request that must succeed.
    pub async fn ok(&self, query: &str, variables: Value) -> Value {
        let response = self.gql(query, variables).await;
        assert!(response.get("errors").is_none(), "{query}: {response}");
        response["data"].clone()
    }

    /// Stops the server and the projector, drops the database.
    pub async fn finish(self) {
        let _ = self.stop.send(true);
        self.test.finish().await;
    }
}
