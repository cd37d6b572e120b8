//! The HTTP face of facewatch: GraphQL at `/graphql` (GraphiQL in a browser, subscriptions over
//! WebSocket at `/graphql/ws`) and REST for files and spreadsheet downloads.

pub mod auth;
pub mod captures_job;
mod graphql;
mod params;
mod rest;
mod state;
#[cfg(feature = "testing")]
pub mod testing;

pub use graphql::{build_schema, FacewatchSchema};
pub use state::{
    AppState, CameraMonitor, CameraStatus, LiveFrame, LiveFrames, ParamsValidator, SystemHooks,
};

use std::path::Path;

use async_graphql::http::{GraphiQLSource, ALL_WEBSOCKET_PROTOCOLS};
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::extract::{State, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
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
pub fn router_with_frontend(state: AppState, frontend_dir: &Path) -> Router {
    let schema = build_schema(state.clone());
    let spa = ServeDir::new(frontend_dir).fallback(ServeFile::new(frontend_dir.join("index.html")));
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/graphql/ws", get(graphql_ws))
        .with_state(schema)
        .merge(auth::routes().with_state(state.clone()))
        .merge(rest::routes().with_state(state.clone()))
        .fallback_service(spa)
        .layer(axum::middleware::from_fn_with_state(
            state,
            auth::require_session,
        ))
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

async fn graphql(
    State(schema): State<FacewatchSchema>,
    Extension(session): Extension<auth::Session>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> Response {
    let meta = match RequestMeta::from_headers(&headers) {
        Ok(meta) => meta,
        Err(message) => {
            let body = serde_json::json!({ "error": message });
            return (axum::http::StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
        }
    };
    let request = request.into_inner().data(session).data(meta);
    GraphQLResponse::from(schema.execute(request).await).into_response()
}

/// The upgrade request's session (cookie or bearer) if it had one, else `connection_init`'s token.
async fn graphql_ws(
    State(schema): State<FacewatchSchema>,
    session: Option<Extension<auth::Session>>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let pool = schema
        .data::<AppState>()
        .expect("build_schema always adds the AppState")
        .pool()
        .clone();
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| async move {
            let connection = GraphQLWebSocket::new(socket, schema, protocol);
            match session {
                Some(Extension(session)) => {
                    let mut data = async_graphql::Data::default();
                    data.insert(session);
                    connection.with_data(data).serve().await
                }
                None => {
                    connection
                        .on_connection_init(move |payload| async move {
                            let mut data = async_graphql::Data::default();
                            data.insert(auth::ws_init(pool, payload).await?);
                            Ok(data)
                        })
                        .serve()
                        .await
                }
            }
        })
}

async fn graphiql() -> impl IntoResponse {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .finish(),
    )
}
