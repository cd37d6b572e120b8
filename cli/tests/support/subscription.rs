//! A graphql-transport-ws client for the real server's `/graphql/ws`: connect with the session
//! token, subscribe, and read `next` payloads with the instant each arrived.

use std::time::{Duration, SystemTime};

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
    /// Opens the socket, authenticates and subscribes to `query`.
    pub async fn open(api: &Api, query: &str) -> anyhow::Result<Self> {
        let url = format!("{}/graphql/ws", api.base.replacen("http", "ws", 1));
        let mut request = url.into_client_request()?;
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse()?);
        let (mut ws, _) = tokio_tungstenite::connect_async(request).await?;
        let init = json!({"type": "connection_init", "payload": {"token": api.token}});
        ws.send(Message::text(init.to_string())).await?;
        let ack = ws.next().await.ok_or_else(|| anyhow::anyhow!("closed"))??;
        anyhow::ensure!(
            ack.to_text()?.contains("connection_ack"),
            "not acknowledged: {ack:?}"
        );
        let subscribe = json!({"id": "1", "type": "subscribe", "payload": {"query": query}});
        ws.send(Message::text(subscribe.to_string())).await?;
        Ok(Self { ws })
    }

    /// The next payload's `data`, or `None` if none came within `within`.
    pub async fn next_within(&mut self, within: Duration) -> anyhow::Result<Option<Value>> {
        match tokio::time::timeout(within, self.next(Duration::MAX)).await {
            Ok(next) => next.map(|(data, _)| Some(data)),
            Err(_) => Ok(None),
        }
    }

    /// The next payload's `data` and when it arrived; an error after `within`.
    pub async fn next(&mut self, within: Duration) -> anyhow::Result<(Value, SystemTime)> {
        let read = async {
            loop {
                let message = self
                    .ws
                    .next()
                    .await
                    .ok_or_else(|| anyhow::anyhow!("the server closed the subscription"))??;
                let Ok(text) = message.to_text() else {
                    continue;
                };
                let mut value: Value = serde_json::from_str(text)?;
                match value["type"].as_str() {
                    Some("next") => {
                        return Ok((value["payload"]["data"].take(), SystemTime::now()))
                    }
                    Some("error" | "complete") => anyhow::bail!("subscription ended: {value}"),
                    _ => {}
                }
            }
        };
        tokio::time::timeout(within, read)
            .await
            .map_err(|_| anyhow::anyhow!("nothing within {within:?}"))?
    }
}
