//! The benchmark's client: one HTTP/1.1 keep-alive connection per simulated client (hyper's
//! connection API), the request's body serialised straight from a struct, the answer checked for
//! GraphQL `errors` without building a JSON tree. The client shares the machine's two cores with
//! the server and PostgreSQL, so what it spends is taken from what it measures; the raw insert
//! yardstick beside it is a prepared statement on a kept connection, and this is its match. (The
//! tests' `Api`, on `reqwest`, cost ~40 µs of CPU per request here: its pool, URL parsing and
//! header map per request, and the answer parsed into a `serde_json::Value`.)

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};

use crate::support::{Outcome, SightingVariables, RECORD_SIGHTING};

#[derive(Serialize)]
struct Body<'a> {
    query: &'static str,
    variables: SightingVariables<'a>,
}

/// What the client needs to know of an answer: were there errors, and the first one's message.
#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    errors: Option<Vec<ErrorMessage>>,
}

#[derive(Deserialize)]
struct ErrorMessage {
    message: String,
}

/// Sends `recordSighting` on a connection of its own, reconnecting after a broken or timed-out one.
pub struct SightingClient {
    address: SocketAddr,
    host: HeaderValue,
    authorization: HeaderValue,
    timeout: Duration,
    connection: Option<SendRequest<Full<Bytes>>>,
}

impl SightingClient {
    /// A client of the server at `base` (`http://127.0.0.1:PORT`) with the session `token`.
    pub fn new(base: &str, token: &str, timeout: Duration) -> anyhow::Result<Self> {
        let authority = base
            .strip_prefix("http://")
            .ok_or_else(|| anyhow::anyhow!("{base} is not an http:// address"))?;
        Ok(Self {
            address: authority.parse()?,
            host: HeaderValue::from_str(authority)?,
            authorization: HeaderValue::from_str(&format!("Bearer {token}"))?,
            timeout,
            connection: None,
        })
    }

    pub async fn record_sighting(&mut self, employee: &str, at: DateTime<Utc>) -> Outcome {
        let body = Body {
            query: RECORD_SIGHTING,
            variables: SightingVariables::new(employee, at),
        };
        let body = match serde_json::to_vec(&body) {
            Ok(body) => body,
            Err(e) => return Outcome::Transport(format!("request body: {e}")),
        };
        match tokio::time::timeout(self.timeout, self.send(body)).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(e)) => {
                self.connection = None;
                Outcome::Transport(format!("{e:#}"))
            }
            Err(_) => {
                // The answer may still come on this connection: start afresh.
                self.connection = None;
                Outcome::Timeout
            }
        }
    }

    async fn send(&mut self, body: Vec<u8>) -> anyhow::Result<Outcome> {
        let request = Request::builder()
            .method(Method::POST)
            .uri("/graphql")
            .header(HOST, self.host.clone())
            .header(AUTHORIZATION, self.authorization.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))?;
        let sender = match &mut self.connection {
            Some(sender) if !sender.is_closed() => sender,
            _ => self.connection.insert(self.connect().await?),
        };
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        if status != 200 {
            return Ok(Outcome::Status(
                status,
                String::from_utf8_lossy(&body).into_owned(),
            ));
        }
        let answer: Answer = serde_json::from_slice(&body)
            .map_err(|e| anyhow::anyhow!("bad JSON ({e}): {}", String::from_utf8_lossy(&body)))?;
        Ok(match answer.errors {
            Some(errors) if !errors.is_empty() => Outcome::GraphQl(errors[0].message.clone()),
            // Only success is counted: the answer's data are not needed.
            _ => Outcome::Ok(serde_json::Value::Null),
        })
    }

    async fn connect(&self) -> anyhow::Result<SendRequest<Full<Bytes>>> {
        let stream = tokio::net::TcpStream::connect(self.address).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // Ends when the sender is dropped or the server closes the connection; a broken
            // connection surfaces as the next request's error.
            let _ = connection.await;
        });
        Ok(sender)
    }
}
