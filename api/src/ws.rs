//! `/graphql/ws`: GraphQL over WebSocket with a watched session. A socket must send
//! `connection_init` within [`HttpPolicy::ws_init_timeout`] (else it is closed with 4408), and its
//! session is checked again every [`HttpPolicy::ws_session_check`]: logout, a disabled user, a
//! changed role or expiry close it with 4401, so it stops receiving events and answering queries.
//!
//! [`HttpPolicy::ws_init_timeout`]: crate::HttpPolicy::ws_init_timeout
//! [`HttpPolicy::ws_session_check`]: crate::HttpPolicy::ws_session_check

use std::sync::{Arc, OnceLock};

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::extract::{State, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use futures::{SinkExt, StreamExt};

use crate::auth::{self, Session};
use crate::{AppState, FacewatchSchema};

/// Why the server closed a socket (graphql-transport-ws close codes).
enum Closed {
    InitTimeout,
    SessionEnded,
}

/// The session of a socket: from the upgrade request (cookie or bearer) or from
/// `connection_init`, with the token to check it again.
#[derive(Clone)]
struct Login {
    token: String,
    session: Session,
}

pub async fn graphql_ws(
    State(schema): State<FacewatchSchema>,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let state = schema
        .data::<AppState>()
        .expect("build_schema always adds the AppState")
        .clone();
    // The router's middleware has already checked the token (when there is one).
    let header_token = auth::request_token(&headers);
    // Photos go over HTTP; a socket's messages are queries and subscriptions.
    upgrade
        .max_message_size(state.policy().max_body_bytes)
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| serve(socket, schema, protocol, state, header_token))
}

async fn serve(
    socket: WebSocket,
    schema: FacewatchSchema,
    protocol: GraphQLProtocol,
    state: AppState,
    header_token: Option<String>,
) {
    let login: Arc<OnceLock<Login>> = Arc::default();
    let (mut sink, stream) = socket.split();
    let closed = {
        let (pool, logged_in) = (state.pool().clone(), login.clone());
        let connection = GraphQLWebSocket::new_with_pair(&mut sink, stream, schema, protocol)
            .on_connection_init(move |payload| async move {
                let token = match header_token {
                    Some(token) => token,
                    None => auth::init_token(&payload)?,
                };
                let session = auth::session_for(&pool, &token).await?;
                let mut data = async_graphql::Data::default();
                data.insert(session.clone());
                let _ = logged_in.set(Login { token, session });
                Ok(data)
            });
        tokio::select! {
            _ = connection.serve() => None,
            closed = watch_session(&state, &login) => Some(closed),
        }
    };
    if let Some(closed) = closed {
        let (code, reason) = match closed {
            Closed::InitTimeout => (4408, "Connection initialisation timeout"),
            Closed::SessionEnded => (4401, "Unauthorized: the session has ended"),
        };
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = sink.send(Message::Close(Some(frame))).await;
        let _ = sink.close().await;
    }
}

/// Resolves when the socket must be closed.
async fn watch_session(state: &AppState, login: &OnceLock<Login>) -> Closed {
    let policy = state.policy();
    let started = tokio::time::Instant::now();
    let mut ticks = tokio::time::interval(policy.ws_session_check.min(policy.ws_init_timeout));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(login) = login.get() else {
            if started.elapsed() >= policy.ws_init_timeout {
                return Closed::InitTimeout;
            }
            continue;
        };
        match auth::session_for_token(state.pool(), &login.token).await {
            Ok(Some(session)) if session == login.session => {}
            Ok(_) => return Closed::SessionEnded,
            // A database hiccup does not end sessions; the next check decides.
            Err(e) => tracing::warn!("session check failed: {e}"),
        }
    }
}
