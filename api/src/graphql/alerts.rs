//! Acting on alerts: acknowledging one with a note (an event whose actor says who did it).

use async_graphql::{Context, Object, Result};

use super::caller::caller;
use super::errors::app_error;
use super::types::Alert;

pub struct AlertMutation;

#[Object]
impl AlertMutation {
    /// Acknowledges an alert once, with an optional note; the answer says who and when.
    async fn acknowledge_alert(
        &self,
        ctx: &Context<'_>,
        id: i64,
        #[graphql(default)] note: String,
    ) -> Result<Alert> {
        let (app, caller) = caller(ctx)?;
        let acknowledged = app.acknowledge_alert(&caller, id, &note).await;
        acknowledged.map(Into::into).map_err(app_error)
    }
}
