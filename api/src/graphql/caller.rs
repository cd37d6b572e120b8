//! Who is calling a mutation: the command context built from the session and the HTTP request.

use async_graphql::{Context, Result};
use facewatch_app::{Actor, App, CommandContext};

use crate::auth::Session;
use crate::{AppState, RequestMeta};

/// The application and the context for one mutation field. The `Idempotency-Key` header is
/// scoped by the field's response key, so one request may carry several mutations.
pub fn caller<'a>(ctx: &Context<'a>) -> Result<(&'a App, CommandContext)> {
    let state = ctx.data::<AppState>()?;
    let session = ctx.data::<Session>()?;
    let mut command = CommandContext::new(Actor::user(&session.username));
    if let Some(meta) = ctx.data_opt::<RequestMeta>() {
        let field = ctx.item.node.response_key().node.as_str();
        let key = meta
            .idempotency_key
            .as_ref()
            .map(|key| format!("{key}#{field}"));
        command = command
            .with_correlation_id(meta.correlation_id.clone())
            .with_idempotency_key(key.as_deref());
    }
    Ok((state.app(), command))
}
