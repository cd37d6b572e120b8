//! The webhook dead-letter list: deliveries that used up their attempts, and re-queueing one
//! (admin only, like every mutation).

use async_graphql::{Context, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use facewatch_app::webhooks::DeadLetter;

use super::caller::caller;
use super::errors::app_error;
use crate::AppState;

#[derive(SimpleObject)]
pub struct WebhookDeadLetter {
    pub id: i64,
    /// The endpoint's name in `[webhooks]`.
    pub endpoint: String,
    /// `employee.entered`, `alert.raised`, …
    pub event_type: String,
    /// Position of the event in the log.
    pub seq: i64,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub failed_at: Option<DateTime<Utc>>,
    /// The JSON body that was POSTed.
    pub body: async_graphql::Json<serde_json::Value>,
}

impl From<DeadLetter> for WebhookDeadLetter {
    fn from(d: DeadLetter) -> Self {
        Self {
            id: d.id,
            endpoint: d.endpoint,
            event_type: d.event_type,
            seq: d.seq,
            attempts: d.attempts,
            last_error: d.last_error,
            created_at: d.created_at,
            failed_at: d.failed_at,
            body: async_graphql::Json(d.body),
        }
    }
}

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// Webhook deliveries that gave up, newest first.
    async fn webhook_dead_letters(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 100)] limit: i64,
    ) -> Result<Vec<WebhookDeadLetter>> {
        let state = ctx.data::<AppState>()?;
        let letters = state.app().webhook_dead_letters(limit).await;
        Ok(letters
            .map_err(app_error)?
            .into_iter()
            .map(Into::into)
            .collect())
    }
}

pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Sends a dead letter again (with a fresh set of attempts).
    async fn retry_webhook_delivery(&self, ctx: &Context<'_>, id: i64) -> Result<bool> {
        let (app, caller) = caller(ctx)?;
        app.retry_webhook_delivery(&caller, id)
            .await
            .map_err(app_error)?;
        Ok(true)
    }
}
