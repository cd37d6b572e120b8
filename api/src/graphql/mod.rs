//! The GraphQL schema: reads come from the read models, writes are domain commands, and live
//! updates are the projector's change feed.

mod alerts;
mod audit;
mod caller;
mod errors;
mod faces;
mod mutation;
mod query;
mod subscription;
mod types;
mod users;
mod visitors;
mod webhooks;

use async_graphql::{MergedObject, Schema};

use crate::AppState;

/// The read models plus the webhook dead letters, unknown visitors and audit status.
#[derive(MergedObject)]
pub struct Query(
    query::Query,
    webhooks::WebhookQuery,
    visitors::VisitorQuery,
    users::UserQuery,
    audit::AuditQuery,
);

/// The domain's mutations plus user management, webhook retries and unknown visitors.
#[derive(MergedObject)]
pub struct Mutation(
    mutation::Mutation,
    users::UserMutation,
    webhooks::WebhookMutation,
    visitors::VisitorMutation,
    faces::FaceMutation,
    alerts::AlertMutation,
);

pub type FacewatchSchema = Schema<Query, Mutation, subscription::Subscription>;

/// The root objects, merged from each part of the API.
fn roots() -> (Query, Mutation) {
    let query = Query(
        query::Query,
        webhooks::WebhookQuery,
        visitors::VisitorQuery,
        users::UserQuery,
        audit::AuditQuery,
    );
    let mutation = Mutation(
        mutation::Mutation,
        users::UserMutation,
        webhooks::WebhookMutation,
        visitors::VisitorMutation,
        faces::FaceMutation,
        alerts::AlertMutation,
    );
    (query, mutation)
}

/// The schema in SDL, as the dashboard's generated types are made from (`frontend/schema.graphql`).
pub fn schema_sdl() -> String {
    let (query, mutation) = roots();
    Schema::build(query, mutation, subscription::Subscription)
        .finish()
        .sdl()
}

pub fn build_schema(state: AppState) -> FacewatchSchema {
    let (query, mutation) = roots();
    Schema::build(query, mutation, subscription::Subscription)
        .data(state)
        .extension(crate::auth::AdminMutations)
        .limit_depth(12)
        .limit_complexity(5_000)
        .finish()
}
