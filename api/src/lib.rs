//! The HTTP face of facewatch: GraphQL at `/graphql` (GraphiQL in a browser, subscriptions over
//! WebSocket at `/graphql/ws`) and REST for files and spreadsheet downloads.

pub mod auth;
pub mod captures_job;
mod graphql;
mod guard;
mod params;
mod parsed_queries;
mod policy;
mod rest;
mod state;
#[cfg(feature = "testing")]
pub mod testing;
mod throttle;
mod ws;

pub use graphql::{build_schema, schema_sdl, FacewatchSchema};
pub use policy::{HttpPolicy, LoginPolicy, MAX_PHOTO_BYTES};
pub use state::{
    AppState, CameraMonitor, CameraStatus, LiveFrame, LiveFrames, ParamsValidator, SystemHooks,
};

use std::path::Path;
use std::sync::Arc;

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::{DefaultBodyLimit, FromRef, FromRequest, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use facewatch_domain::user::Role;
use parsed_queries::Validation;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::{ServeDir, ServeFile};

/// Where `router` finds the built dashboard (`npm --prefix frontend run build`), relative to the
/// working directory.
pub const DEFAULT_FRONTEND_DIR: &str = "frontend/dist";

/// The complete HTTP application, serving the dashboard from [`DEFAULT_FRONTEND_DIR`].
pub fn router(state: AppState) -> Router {
    router_with_frontend(state, Path::new(DEFAULT_FRONTEND_DIR))
}

/// The complete HTTP application; unknown paths get the dashboard's files from `frontend_dir`,
/// falling back to its `index.html` so that client-side routes survive a reload.
///
/// Every request body is bounded ([`HttpPolicy`]): the photo upload by `max_upload_bytes`,
/// GraphQL by the caller's role (in [`graphql`]), everything else by `max_body_bytes`. Serve it
/// with `into_make_service_with_connect_info::<SocketAddr>()` so that logins are throttled per
/// client address.
pub fn router_with_frontend(state: AppState, frontend_dir: &Path) -> Router {
    let schema = build_schema(state.clone());
    let policy = state.policy().clone();
    let spa = ServeDir::new(frontend_dir).fallback(ServeFile::new(frontend_dir.join("index.html")));
    let graphql = Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/graphql/ws", get(ws::graphql_ws))
        .with_state(GraphqlState {
            schema,
            validated: graphql::build_schema_for_validated_documents(state.clone()),
            parsed: Arc::default(),
        });
    let uploads = rest::upload_routes()
        .with_state(state.clone())
        .layer(RequestBodyLimitLayer::new(policy.max_upload_bytes));
    let small = auth::routes()
        .merge(rest::routes())
        .with_state(state.clone())
        .layer(RequestBodyLimitLayer::new(policy.max_body_bytes));
    let [csp, frames, sniff, referrer] = guard::security_headers();
    Router::new()
        .merge(graphql)
        .merge(uploads)
        .merge(small)
        .fallback_service(spa)
        // One limit per route, set above; axum's own 2 MiB default would cut photos short.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_session,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state,
            guard::refuse_cross_site,
        ))
        .layer(csp)
        .layer(frames)
        .layer(sniff)
        .layer(referrer)
}

/// What the GraphQL routes share: the schema (also in the mode for documents that passed its
/// full validation before) and the documents parsed so far.
#[derive(Clone)]
struct GraphqlState {
    schema: FacewatchSchema,
    validated: FacewatchSchema,
    parsed: Arc<parsed_queries::ParsedQueries>,
}

impl FromRef<GraphqlState> for FacewatchSchema {
    fn from_ref(state: &GraphqlState) -> Self {
        state.schema.clone()
    }
}

/// What a mutation needs from the HTTP request besides the session: the correlation id of the
/// request (`X-Correlation-Id`, or a new one) and the client's `Idempotency-Key`.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub correlation_id: String,
    pub idempotency_key: Option<String>,
}

impl RequestMeta {
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, String> {
        let header = |name: &str| {
            headers
                .get(name)
                .map(|v| v.to_str().map(|v| v.trim().to_string()))
                .transpose()
                .map_err(|_| format!("{name} must be visible ASCII"))
        };
        let idempotency_key = header("idempotency-key")?;
        if idempotency_key
            .as_ref()
            .is_some_and(|k| k.len() > facewatch_app::MAX_IDEMPOTENCY_KEY_LEN)
        {
            return Err(format!(
                "Idempotency-Key is longer than {} characters",
                facewatch_app::MAX_IDEMPOTENCY_KEY_LEN
            ));
        }
        let correlation_id = header("x-correlation-id")?
            .filter(|id| !id.is_empty() && id.len() <= 100)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        Ok(Self {
            correlation_id,
            idempotency_key,
        })
    }
}

/// A VIEWER's request is bounded by `max_body_bytes`, an ADMIN's by `max_graphql_bytes` (a
/// photo in base64): only admins run mutations.
async fn graphql(
    State(GraphqlState {
        schema,
        validated,
        parsed,
    }): State<GraphqlState>,
    Extension(session): Extension<auth::Session>,
    request: Request,
) -> Response {
    let meta = match RequestMeta::from_headers(request.headers()) {
        Ok(meta) => meta,
        Err(message) => {
            let body = serde_json::json!({ "error": message });
            return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
        }
    };
    let policy = schema
        .data::<AppState>()
        .expect("build_schema always adds the AppState")
        .policy();
    let limit = match session.role {
        Role::Admin => policy.max_graphql_bytes,
        Role::Viewer => policy.max_body_bytes,
    };
    if declared_length(request.headers()).is_some_and(|length| length > limit) {
        let body =
            serde_json::json!({ "error": format!("request body is larger than {limit} bytes") });
        return (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(body)).into_response();
    }
    let request =
        request.map(|body| axum::body::Body::new(http_body_util::Limited::new(body, limit)));
    let request = match <GraphQLRequest>::from_request(request, &()).await {
        Ok(request) => request,
        Err(rejection) => return rejection.into_response(),
    };
    let mut request = request.into_inner().data(session).data(meta);
    let response = match parsed.prepare(&mut request) {
        Validation::Passed => validated.execute(request).await,
        Validation::Required(query) => {
            let response = schema.execute(request).await;
            // An answer without errors passed validation; one with errors may not have.
            if let (Some(query), true) = (query, response.is_ok()) {
                parsed.passed_validation(&query);
            }
            response
        }
    };
    GraphQLResponse::from(response).into_response()
}

fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// GraphiQL loads its scripts and styles from a CDN: its page relaxes the dashboard's policy.
const GRAPHIQL_CSP: &str =
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://unpkg.com; \
     style-src 'self' 'unsafe-inline' https://unpkg.com; img-src 'self' data: https:; \
     font-src 'self' data: https://unpkg.com; connect-src 'self'; frame-ancestors 'none'";

async fn graphiql() -> impl IntoResponse {
    (
        [(header::CONTENT_SECURITY_POLICY, GRAPHIQL_CSP)],
        Html(
            GraphiQLSource::build()
                .endpoint("/graphql")
                .subscription_endpoint("/graphql/ws")
                .finish(),
        ),
    )
}
