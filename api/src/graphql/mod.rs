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
    builder(state).finish()
}

/// The same schema for documents that have passed its full validation before: of the validation
/// rules it runs only those whose verdict can change with a request's variables (complexity, depth,
/// fragment cycles). A variable of the wrong type is still refused, by the resolver that parses
/// it. Full validation was ~10 % of the server's CPU for a camera integration's `recordSighting`.
pub fn build_schema_for_validated_documents(state: AppState) -> FacewatchSchema {
    builder(state)
        .validation_mode(async_graphql::ValidationMode::Fast)
        .finish()
}

fn builder(
    state: AppState,
) -> async_graphql::SchemaBuilder<Query, Mutation, subscription::Subscription> {
    let (query, mutation) = roots();
    Schema::build(query, mutation, subscription::Subscription)
        .data(state)
        .extension(crate::auth::AdminMutations)
        .limit_depth(12)
        .limit_complexity(5_000)
}
