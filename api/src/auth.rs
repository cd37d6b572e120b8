//! Login for the dashboard and the API. Users are event-sourced (`domain::user`), passwords are
//! argon2 hashes, sessions are random tokens stored as SHA-256 in `public.sessions`. A token is
//! accepted from the `facewatch_session` cookie (browsers) or `Authorization: Bearer` (scripts), and
//! on `/graphql/ws` also from the `connection_init` payload (`{"token": "..."}`).

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{ServerError, ServerResult, Variables};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{Duration, Utc};
use facewatch_domain::user::Role;
use facewatch_store::PgPool;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::Arc;

use crate::throttle::ClientAddress;
use crate::AppState;

pub const SESSION_COOKIE: &str = "facewatch_session";
const SESSION_TTL_HOURS: i64 = 12;
pub const FORBIDDEN: &str = "forbidden: admin role required";

/// Who is calling; present in request extensions and GraphQL context data once authenticated.
pub use facewatch_app::sessions::Session;

fn token_hash(token: &str) -> String {
    format!("{:x}", Sha256::digest(token.as_bytes()))
}

/// The session a token belongs to, if it is valid, unexpired and its user is still enabled.
pub async fn session_for_token(pool: &PgPool, token: &str) -> Result<Option<Session>, sqlx::Error> {
    session_for_hash(pool, &token_hash(token)).await
}

async fn session_for_hash(pool: &PgPool, hash: &str) -> Result<Option<Session>, sqlx::Error> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT u.username, u.role FROM public.sessions s JOIN users u ON u.username = s.username \
         WHERE s.token_hash = $1 AND s.expires_at > now() AND NOT u.disabled",
    )
    .bind(hash)
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|(username, role)| Role::parse(&role).map(|role| Session { username, role })))
}

/// [`session_for_token`] for a request: a session checked within the last second is answered
/// from the app's memory (see `facewatch_app::sessions`), so a busy client costs no lookup per
/// request.
async fn remembered_session(state: &AppState, token: &str) -> Result<Option<Session>, sqlx::Error> {
    let hash = token_hash(token);
    let memory = state.app().sessions();
    if let Some(session) = memory.get(&hash) {
        return Ok(Some(session));
    }
    let session = session_for_hash(state.pool(), &hash).await?;
    if let Some(session) = &session {
        memory.put(hash, session.clone());
    }
    Ok(session)
}

/// The token a request carries: the bearer header wins over the cookie.
pub(crate) fn request_token(headers: &HeaderMap) -> Option<String> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let cookie = || {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|pair| pair.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('='))
    };
    bearer.or_else(cookie).map(str::to_string)
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// Every `/graphql*` and `/api/*` request needs a session, except logging in. The WebSocket may
/// instead authenticate in `connection_init` (browsers cannot set headers on a WebSocket), so it is
/// let through without one and checked in `connection_init` (see `crate::ws`). Non-GET `/api/*` calls need the admin role.
pub async fn require_session(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let protected =
        path == "/graphql" || path.starts_with("/graphql/") || path.starts_with("/api/");
    if !protected || path == "/api/auth/login" {
        return next.run(request).await;
    }
    let session = match request_token(request.headers()) {
        Some(token) => match remembered_session(&state, &token).await {
            Ok(session) => session,
            Err(e) => {
                tracing::error!("session lookup failed: {e}");
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error, see server log",
                );
            }
        },
        None => None,
    };
    let Some(session) = session else {
        if path == "/graphql/ws" {
            return next.run(request).await;
        }
        return error(StatusCode::UNAUTHORIZED, "login required");
    };
    let reads = matches!(*request.method(), Method::GET | Method::HEAD);
    if path.starts_with("/api/")
        && !path.starts_with("/api/auth/")
        && !reads
        && session.role != Role::Admin
    {
        return error(StatusCode::FORBIDDEN, FORBIDDEN);
    }
    request.extensions_mut().insert(session);
    next.run(request).await
}

/// The token of a `connection_init` payload: `{"token": …}` or `{"Authorization": "Bearer …"}`.
pub(crate) fn init_token(payload: &serde_json::Value) -> async_graphql::Result<String> {
    payload
        .get("token")
        .and_then(|t| t.as_str())
        .or_else(|| {
            payload
                .get("Authorization")
                .and_then(|t| t.as_str())
                .and_then(|t| t.strip_prefix("Bearer "))
        })
        .map(str::to_string)
        .ok_or_else(|| async_graphql::Error::new("login required"))
}

/// [`session_for_token`] as a WebSocket's `connection_init` answers it.
pub(crate) async fn session_for(pool: &PgPool, token: &str) -> async_graphql::Result<Session> {
    session_for_token(pool, token)
        .await
        .map_err(|e| {
            tracing::error!("session lookup failed: {e}");
            async_graphql::Error::new("internal error, see server log")
        })?
        .ok_or_else(|| async_graphql::Error::new("login required"))
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

/// `429 Too Many Requests` with the whole seconds to wait in `Retry-After`.
fn too_many_attempts(wait: std::time::Duration) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let message = format!("too many failed logins, try again in {seconds} s");
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, seconds.to_string())],
        Json(json!({ "error": message })),
    )
        .into_response()
}

fn cookie(token: &str, max_age: i64) -> String {
    format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}")
}

/// Checks a password against the `users` read model. It never projects: a user created a moment
/// ago is visible as soon as the projector (woken by the append) has applied it. Throttled per
/// username and client address (`crate::throttle`) before any hashing.
async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    Json(creds): Json<Credentials>,
) -> Response {
    let throttle = state.login_throttle();
    if let Err(wait) = throttle.check(&creds.username, address) {
        return too_many_attempts(wait);
    }
    let user: Result<Option<(String, String)>, _> = sqlx::query_as(
        "SELECT password_hash, role FROM users WHERE username = $1 AND NOT disabled",
    )
    .bind(&creds.username)
    .fetch_optional(state.pool())
    .await;
    let (hash, role) = match user {
        Ok(Some((hash, role))) => (Some(hash), role),
        // Unknown users cost the same password check as known ones (no enumeration by timing).
        Ok(None) => (None, String::new()),
        Err(e) => {
            tracing::error!("login lookup failed: {e}");
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error, see server log",
            );
        }
    };
    let ok = state
        .app()
        .passwords()
        .verify(&creds.password, hash.as_deref())
        .await;
    if !ok {
        if let Some(locked) = throttle.failed(&creds.username, address) {
            tracing::warn!(
                username = %creds.username,
                address = ?address,
                "failed logins: locked for {}s",
                locked.as_secs()
            );
        }
        return error(StatusCode::UNAUTHORIZED, "invalid username or password");
    }
    throttle.succeeded(&creds.username);
    let token = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let expires_at = Utc::now() + Duration::hours(SESSION_TTL_HOURS);
    let stored = async {
        let mut tx = state.pool().begin().await?;
        sqlx::query("DELETE FROM public.sessions WHERE expires_at <= now()")
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO public.sessions (token_hash, username, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(token_hash(&token))
        .bind(&creds.username)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    };
    if let Err(e) = stored.await {
        tracing::error!("storing session failed: {e}");
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error, see server log",
        );
    }
    let body = json!({
        "token": token,
        "username": creds.username,
        "role": role,
        "expiresAt": expires_at,
    });
    (
        [(header::SET_COOKIE, cookie(&token, SESSION_TTL_HOURS * 3600))],
        Json(body),
    )
        .into_response()
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = request_token(&headers) {
        let hash = token_hash(&token);
        let deleted = sqlx::query("DELETE FROM public.sessions WHERE token_hash = $1")
            .bind(&hash)
            .execute(state.pool())
            .await;
        state.app().sessions().forget(&hash);
        if let Err(e) = deleted {
            tracing::error!("logout failed: {e}");
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error, see server log",
            );
        }
    }
    (
        [(header::SET_COOKIE, cookie("", 0))],
        StatusCode::NO_CONTENT,
    )
        .into_response()
}

async fn me(axum::Extension(session): axum::Extension<Session>) -> Json<serde_json::Value> {
    Json(json!({ "username": session.username, "role": session.role.as_str() }))
}

/// `POST /api/auth/login`, `POST /api/auth/logout`, `GET /api/auth/me`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/login", post(login))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/me", get(me))
}

/// Rejects any document containing a mutation unless the caller is an admin; applies to every
/// mutation, present and future, over HTTP and WebSocket alike.
pub struct AdminMutations;

impl ExtensionFactory for AdminMutations {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AdminMutations)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for AdminMutations {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let mutates = document
            .operations
            .iter()
            .any(|(_, op)| op.node.ty == OperationType::Mutation);
        let admin = ctx
            .data_opt::<Session>()
            .is_some_and(|s| s.role == Role::Admin);
        if mutates && !admin {
            let mut error = ServerError::new(FORBIDDEN, None);
            error.extensions = Some({
                let mut ext = async_graphql::ErrorExtensionValues::default();
                ext.set("code", "FORBIDDEN");
                ext
            });
            return Err(error);
        }
        Ok(document)
    }
}
