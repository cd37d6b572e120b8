//! The GraphQL schema: reads come from the read models, writes are domain commands, and live
//! updates are the projector's change feed.

mod errors;
mod mutation;
mod query;
mod subscription;
mod types;

use async_graphql::Schema;

use crate::AppState;

pub type FacewatchSchema = Schema<query::Query, mutation::Mutation, subscription::Subscription>;

pub fn build_schema(state: AppState) -> FacewatchSchema {
    Schema::build(query::Query, mutation::Mutation, subscription::Subscription)
        .data(state)
        .limit_depth(12)
        .limit_complexity(5_000)
        .finish()
}
