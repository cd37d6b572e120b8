//! A GraphQL subscription over WebSocket (graphql-transport-ws), as the dashboard opens one.

use std::time::Duration;

use anyhow::{bail, Context};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use super::Api;

pub struct Subscription {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Subscription {
    /// Opens `query` on `api`'s server with its session.
    pub async fn open(api: &Api, query: &str) -> anyhow::Result<Subscription> {
        let host = api.base.trim_start_matches("http://");
        let mut request = format!("ws://{host}/graphql/ws").into_client_request()?;
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse()?);
        let (mut ws, _) = tokio_tungstenite::connect_async(request).await?;
        let init = json!({"type": "connection_init", "payload": {"token": api.token}});
        ws.send(Message::text(init.to_string())).await?;
        let ack = ws.next().await.context("no connection_ack")??;
        if !ack.to_text()?.contains("connection_ack") {
            bail!("expected connection_ack, got {ack:?}");
        }
        let subscribe = json!({"id": "1", "type": "subscribe", "payload": {"query": query}});
        ws.send(Message::text(subscribe.to_string())).await?;
        Ok(Subscription { ws })
    }

    /// The next payload's `data`, or `None` if none came within `within`.
    pub async fn next_within(&mut self, within: Duration) -> anyhow::Result<Option<Value>> {
        let wait = async {
            loop {
                let message = self.ws.next().await.context("subscription closed")??;
                let Ok(text) = message.to_text() else {
                    continue;
                };
                let value: Value = serde_json::from_str(text)?;
                match value["type"].as_str() {
                    Some("next") => return Ok(value["payload"]["data"].clone()),
                    Some("error") => bail!("subscription error: {value}"),
                    _ => {}
                }
            }
        };
        match tokio::time::timeout(within, wait).await {
            Ok(data) => data.map(Some),
            Err(_) => Ok(None),
        }
    }
}
