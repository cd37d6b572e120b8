//! The GraphQL schema: reads come from the read models, writes are domain commands, and live
//! updates are the projector's change feed.

mod caller;
mod errors;
mod mutation;
mod query;
mod subscription;
mod types;
mod users;

use async_graphql::{MergedObject, Schema};

use crate::AppState;

/// The domain's mutations plus user management.
#[derive(MergedObject)]
pub struct Mutation(mutation::Mutation, users::UserMutation);

pub type FacewatchSchema = Schema<query::Query, Mutation, subscription::Subscription>;

pub fn build_schema(state: AppState) -> FacewatchSchema {
    let mutation = Mutation(mutation::Mutation, users::UserMutation);
    Schema::build(query::Query, mutation, subscription::Subscription)
        .data(state)
        .extension(crate::auth::AdminMutations)
        .limit_depth(12)
        .limit_complexity(5_000)
        .finish()
}
