//! The HTTP face of facewatch: GraphQL at `/graphql` (GraphiQL in a browser, subscriptions over
//! WebSocket at `/graphql/ws`) and REST for files and spreadsheet downloads.

pub mod absence;
pub mod auth;
pub mod captures_job;
mod graphql;
mod rest;
pub mod service;
mod state;

pub use graphql::{build_schema, FacewatchSchema};
pub use state::{
    AppState, CameraMonitor, CameraStatus, FacePhotoEmbedder, LiveFrame, LiveFrames,
    ParamsValidator, SystemHooks,
};

use std::path::Path;

use async_graphql::http::{GraphiQLSource, ALL_WEBSOCKET_PROTOCOLS};
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::extract::{State, WebSocketUpgrade};
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

async fn graphql(
    State(schema): State<FacewatchSchema>,
    Extension(session): Extension<auth::Session>,
    request: GraphQLRequest,
) -> GraphQLResponse {
    schema
        .execute(request.into_inner().data(session))
        .await
        .into()
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
