//! The GraphQL schema: reads come from the read models, writes are domain commands, and live
//! updates are the projector's change feed.

mod caller;
mod errors;
mod mutation;
mod query;
mod subscription;
mod types;
mod users;
mod visitors;

use async_graphql::{MergedObject, Schema};

use crate::AppState;

/// The domain's reads plus unknown visitors.
#[derive(MergedObject)]
pub struct Query(query::Query, visitors::VisitorQuery);

/// The domain's mutations plus user management and unknown visitors.
#[derive(MergedObject)]
pub struct Mutation(
    mutation::Mutation,
    users::UserMutation,
    visitors::VisitorMutation,
);

pub type FacewatchSchema = Schema<Query, Mutation, subscription::Subscription>;

pub fn build_schema(state: AppState) -> FacewatchSchema {
    let query = Query(query::Query, visitors::VisitorQuery);
    let mutation = Mutation(
        mutation::Mutation,
        users::UserMutation,
        visitors::VisitorMutation,
    );
    Schema::build(query, mutation, subscription::Subscription)
        .data(state)
        .extension(crate::auth::AdminMutations)
        .limit_depth(12)
        .limit_complexity(5_000)
        .finish()
}
