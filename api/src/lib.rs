//! The HTTP face of facewatch: GraphQL at `/graphql` (GraphiQL in a browser, subscriptions over
//! WebSocket at `/graphql/ws`) and REST for files and spreadsheet downloads.

pub mod absence;
mod graphql;
mod state;

pub use graphql::{build_schema, FacewatchSchema};
pub use state::AppState;

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQL, GraphQLSubscription};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;

/// The complete HTTP application.
pub fn router(state: AppState) -> Router {
    let schema = build_schema(state);
    Router::new()
        .route(
            "/graphql",
            get(graphiql).post_service(GraphQL::new(schema.clone())),
        )
        .route_service("/graphql/ws", GraphQLSubscription::new(schema))
}

async fn graphiql() -> impl IntoResponse {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .finish(),
    )
}
