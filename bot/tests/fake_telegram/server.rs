//! The HTTP side of the fake Bot API: one handler for every method, Telegram's answers.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::{Call, Shared, BOT_ID};

pub(super) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub(super) fn private_chat(id: i64) -> Value {
    json!({ "id": id, "type": "private", "first_name": format!("User{id}") })
}

/// Negative ids are groups, as in Telegram.
pub(super) fn chat_json(id: i64) -> Value {
    if id < 0 {
        json!({ "id": id, "type": "group", "title": "Office" })
    } else {
        private_chat(id)
    }
}

pub(super) fn user(id: i64) -> Value {
    json!({
        "id": id, "is_bot": false, "first_name": format!("User{id}"),
        "username": format!("user{id}"),
    })
}

fn error(status: StatusCode, description: &str) -> axum::response::Response {
    let body = json!({ "ok": false, "error_code": status.as_u16(), "description": description });
    (status, Json(body)).into_response()
}

pub(super) fn bot_user() -> Value {
    json!({ "id": BOT_ID, "is_bot": true, "first_name": "FaceWatch", "username": "facewatch_test_bot" })
}

pub(super) async fn api(
    State(shared): State<Arc<Shared>>,
    Path((token, method)): Path<(String, String)>,
    request: Request,
) -> axum::response::Response {
    if token.strip_prefix("bot") != Some(shared.token.as_str()) {
        let body = json!({ "ok": false, "error_code": 401, "description": "Unauthorized" });
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/"));
    let (params, file) = if multipart {
        read_multipart(Multipart::from_request(request, &()).await.unwrap()).await
    } else {
        let body = axum::body::to_bytes(request.into_body(), usize::MAX)
            .await
            .unwrap();
        let params = if body.is_empty() {
            json!({})
        } else {
            serde_json::from_slice(&body).unwrap()
        };
        (params, None)
    };
    // Method names are case-insensitive in the Bot API; teloxide sends `SendMessage`.
    let mut chars = method.chars();
    let method: String = chars
        .next()
        .map(|c| c.to_ascii_lowercase())
        .into_iter()
        .chain(chars)
        .collect();
    let result = match method.as_str() {
        "getMe" => json!({
            "id": BOT_ID, "is_bot": true, "first_name": "FaceWatch",
            "username": "facewatch_test_bot", "can_join_groups": false,
            "can_read_all_group_messages": false, "supports_inline_queries": false,
            "can_connect_to_business": false, "has_main_web_app": false,
        }),
        "getUpdates" if shared.inner.lock().unwrap().webhook.is_some() => {
            return error(
                StatusCode::CONFLICT,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
            );
        }
        "getUpdates" => get_updates(&shared, &params).await,
        "getWebhookInfo" => {
            let url = shared
                .inner
                .lock()
                .unwrap()
                .webhook
                .clone()
                .unwrap_or_default();
            json!({ "url": url, "has_custom_certificate": false, "pending_update_count": 0 })
        }
        "deleteWebhook" => {
            shared.inner.lock().unwrap().webhook = None;
            let _ = record(&shared, &method, &params, None);
            Value::Bool(true)
        }
        _ if shared.outage.load(Ordering::SeqCst) => {
            shared.failed_sends.fetch_add(1, Ordering::SeqCst);
            let body = json!({ "ok": false, "error_code": 502, "description": "Bad Gateway" });
            return (StatusCode::BAD_GATEWAY, Json(body)).into_response();
        }
        _ => {
            let held = shared.held_method.lock().unwrap().as_deref() == Some(method.as_str());
            if held {
                // Decided apart from this connection: a request "accepted" on release is
                // recorded even if the bot was killed (hung up) meanwhile.
                shared.held.fetch_add(1, Ordering::SeqCst);
                let (done, result) = tokio::sync::oneshot::channel();
                let shared = shared.clone();
                tokio::spawn(async move {
                    let mut release = shared.release.subscribe();
                    let succeed = *release.wait_for(Option::is_some).await.unwrap();
                    let outcome = if succeed == Some(true) {
                        Some(record(&shared, &method, &params, file))
                    } else {
                        shared.failed_sends.fetch_add(1, Ordering::SeqCst);
                        None
                    };
                    let _ = done.send(outcome);
                });
                return match result.await {
                    Ok(Some(result)) => {
                        Json(json!({ "ok": true, "result": result })).into_response()
                    }
                    _ => error(StatusCode::BAD_GATEWAY, "Bad Gateway"),
                };
            }
            if method == "editMessageText" && unchanged(&shared, &params) {
                let _ = record(&shared, &method, &params, None);
                return error(
                    StatusCode::BAD_REQUEST,
                    "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
                );
            }
            record(&shared, &method, &params, file)
        }
    };
    Json(json!({ "ok": true, "result": result })).into_response()
}

/// Confirms updates below `offset`, then long-polls for newer ones up to `timeout` seconds.
async fn get_updates(shared: &Shared, params: &Value) -> Value {
    let offset = params["offset"].as_i64().unwrap_or(0);
    let timeout = Duration::from_secs(params["timeout"].as_u64().unwrap_or(0));
    let deadline = Instant::now() + timeout;
    loop {
        {
            let mut inner = shared.inner.lock().unwrap();
            inner
                .updates
                .retain(|u| u["update_id"].as_i64().unwrap() >= offset);
            if !inner.updates.is_empty() || Instant::now() >= deadline {
                return Value::Array(inner.updates.clone());
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn markup(params: &Value) -> Value {
    match &params["reply_markup"] {
        Value::String(s) => serde_json::from_str(s).unwrap(),
        other => other.clone(),
    }
}

/// An edit that would leave the message as it is.
fn unchanged(shared: &Shared, params: &Value) -> bool {
    let inner = shared.inner.lock().unwrap();
    let Some(id) = params["message_id"].as_i64() else {
        return false;
    };
    let text = params["text"].as_str().unwrap_or_default().to_string();
    inner.contents.get(&id) == Some(&(text, markup(params)))
}

fn record(shared: &Shared, method: &str, params: &Value, file: Option<(String, Vec<u8>)>) -> Value {
    let chat_id = match &params["chat_id"] {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    };
    let text = params["text"]
        .as_str()
        .or(params["caption"].as_str())
        .unwrap_or_default()
        .to_string();
    let reply_markup = match &params["reply_markup"] {
        Value::String(s) => Some(serde_json::from_str(s).unwrap()),
        Value::Null => None,
        other => Some(other.clone()),
    };
    let mut inner = shared.inner.lock().unwrap();
    let message_id = match method {
        "editMessageText" => params["message_id"].as_i64(),
        _ if method.starts_with("send") => {
            let id = inner.next_message_id;
            inner.next_message_id += 1;
            Some(id)
        }
        _ => None,
    };
    if let Some(id) = message_id {
        inner.contents.insert(id, (text.clone(), markup(params)));
    }
    inner.calls.push(Call {
        method: method.to_string(),
        chat_id,
        text: if method == "answerCallbackQuery" {
            params["text"].as_str().unwrap_or_default().to_string()
        } else {
            text.clone()
        },
        reply_markup,
        message_id,
        callback_query_id: params["callback_query_id"].as_str().map(str::to_string),
        file,
        params: params.clone(),
    });
    match message_id {
        Some(id) => json!({
            "message_id": id,
            "date": now(),
            "chat": chat_json(chat_id.unwrap_or_default()),
            "from": bot_user(),
            "text": text,
        }),
        None => Value::Bool(true),
    }
}

/// Text fields become params (numbers where they parse as such); the file part is kept whole.
async fn read_multipart(mut multipart: Multipart) -> (Value, Option<(String, Vec<u8>)>) {
    let mut params = serde_json::Map::new();
    let mut file = None;
    while let Some(field) = multipart.next_field().await.unwrap() {
        let name = field.name().unwrap_or_default().to_string();
        match field.file_name().map(str::to_string) {
            Some(file_name) => file = Some((file_name, field.bytes().await.unwrap().to_vec())),
            None => {
                let text = field.text().await.unwrap();
                params.insert(name, Value::String(text));
            }
        }
    }
    (Value::Object(params), file)
}
