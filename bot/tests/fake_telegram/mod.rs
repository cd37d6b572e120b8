// Shared by several test crates; each uses a different part.
#![allow(dead_code)]

//! A small stand-in for the Telegram Bot API on 127.0.0.1: it records every call the bot makes
//! (files included) and hands out the updates a test injects, with Telegram's offset semantics.
//! Like Telegram it refuses getUpdates while a webhook is set, answers "message is not modified"
//! to an edit that changes nothing, and it can hold a method's requests to simulate a slow
//! upload that a crash or a stop interrupts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

pub const BOT_ID: i64 = 4242;

/// One request the bot made.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub chat_id: Option<i64>,
    /// `text` or `caption` (for answerCallbackQuery: the notice shown, if any).
    pub text: String,
    pub reply_markup: Option<Value>,
    /// The message created (send*) or edited (editMessageText).
    pub message_id: Option<i64>,
    pub callback_query_id: Option<String>,
    /// The uploaded file (sendPhoto, sendDocument): name and bytes.
    pub file: Option<(String, Vec<u8>)>,
    /// All parameters as sent.
    pub params: Value,
}

impl Call {
    /// Callback data of every button of the attached keyboard, with its label.
    pub fn buttons(&self) -> Vec<(String, String)> {
        let rows = self
            .reply_markup
            .as_ref()
            .and_then(|m| m["inline_keyboard"].as_array().cloned())
            .unwrap_or_default();
        rows.iter()
            .flat_map(|row| row.as_array().cloned().unwrap_or_default())
            .map(|b| {
                (
                    b["text"].as_str().unwrap_or_default().to_string(),
                    b["callback_data"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// The callback data of the button labelled `label`.
    pub fn button(&self, label: &str) -> String {
        self.buttons()
            .into_iter()
            .find(|(text, _)| text == label)
            .unwrap_or_else(|| panic!("no button {label:?} in {:?}", self.buttons()))
            .1
    }
}

#[derive(Default)]
struct Inner {
    updates: Vec<Value>,
    next_update_id: i64,
    next_message_id: i64,
    calls: Vec<Call>,
    /// Current (text, reply_markup) of every message the bot sent or edited.
    contents: HashMap<i64, (String, Value)>,
    webhook: Option<String>,
}

struct Shared {
    token: String,
    /// While set, sends fail as during a Telegram outage (counted, not recorded).
    outage: AtomicBool,
    failed_sends: AtomicUsize,
    /// Requests of this method wait until released (see [`FakeTelegram::hold`]).
    held_method: Mutex<Option<String>>,
    held: AtomicUsize,
    /// `Some(true)`: held requests go through; `Some(false)`: they fail (never recorded).
    release: tokio::sync::watch::Sender<Option<bool>>,
    inner: Mutex<Inner>,
}

#[derive(Clone)]
pub struct FakeTelegram {
    pub url: String,
    shared: Arc<Shared>,
}

impl FakeTelegram {
    pub async fn start(token: &str) -> Self {
        let shared = Arc::new(Shared {
            token: token.to_string(),
            outage: Default::default(),
            failed_sends: Default::default(),
            held_method: Mutex::new(None),
            held: Default::default(),
            release: tokio::sync::watch::channel(None).0,
            inner: Mutex::new(Inner {
                next_update_id: 1,
                next_message_id: 1,
                ..Inner::default()
            }),
        });
        let app = Router::new()
            .route("/{token}/{method}", post(api))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, shared }
    }

    fn push_update(&self, make: impl FnOnce(i64, i64) -> Value) -> i64 {
        let mut inner = self.shared.inner.lock().unwrap();
        let (update_id, message_id) = (inner.next_update_id, inner.next_message_id);
        inner.next_update_id += 1;
        inner.next_message_id += 1;
        let update = make(update_id, message_id);
        inner.updates.push(update);
        message_id
    }

    /// A user types `text` in a private chat (chat id = user id, as in Telegram).
    pub fn say(&self, chat: i64, text: &str) {
        self.push_update(|update_id, message_id| {
            json!({
                "update_id": update_id,
                "message": {
                    "message_id": message_id,
                    "date": now(),
                    "chat": private_chat(chat),
                    "from": user(chat),
                    "text": text,
                }
            })
        });
    }

    /// `from` types `text` in the group `chat`.
    pub fn say_in_group(&self, chat: i64, from: i64, text: &str) {
        self.push_update(|update_id, message_id| {
            json!({
                "update_id": update_id,
                "message": {
                    "message_id": message_id,
                    "date": now(),
                    "chat": chat_json(chat),
                    "from": user(from),
                    "text": text,
                }
            })
        });
    }

    /// The user presses the button `data` of the bot's message `message_id`.
    pub fn press(&self, chat: i64, message_id: i64, data: &str) {
        self.press_as(chat, chat, message_id, data);
    }

    /// `from` presses the button `data` of the bot's message `message_id` in `chat`.
    pub fn press_as(&self, chat: i64, from: i64, message_id: i64, data: &str) {
        self.push_update(|update_id, _| {
            json!({
                "update_id": update_id,
                "callback_query": {
                    "id": format!("cb{update_id}"),
                    "from": user(from),
                    "chat_instance": format!("ci{chat}"),
                    "data": data,
                    "message": {
                        "message_id": message_id,
                        "date": now(),
                        "chat": chat_json(chat),
                        "from": bot_user(),
                        "text": "menu",
                    }
                }
            })
        });
    }

    /// Starts or ends a Telegram outage: every send answers HTTP 502.
    pub fn outage(&self, on: bool) {
        self.shared.outage.store(on, Ordering::SeqCst);
    }

    /// A webhook is set on the token (as another deployment might have left it).
    pub fn set_webhook(&self, url: &str) {
        self.shared.inner.lock().unwrap().webhook = Some(url.into());
    }

    pub fn webhook(&self) -> Option<String> {
        self.shared.inner.lock().unwrap().webhook.clone()
    }

    /// From now on, requests of `method` wait (unrecorded) until [`Self::release`].
    pub fn hold(&self, method: &str) {
        self.shared.release.send_replace(None);
        *self.shared.held_method.lock().unwrap() = Some(method.into());
    }

    /// How many requests are or were held.
    pub fn held(&self) -> usize {
        self.shared.held.load(Ordering::SeqCst)
    }

    /// Lets held requests go through (`succeed`) or fail with HTTP 502; new ones are not held.
    pub fn release(&self, succeed: bool) {
        *self.shared.held_method.lock().unwrap() = None;
        self.shared.release.send_replace(Some(succeed));
    }

    pub fn failed_sends(&self) -> usize {
        self.shared.failed_sends.load(Ordering::SeqCst)
    }

    pub fn calls(&self) -> Vec<Call> {
        self.shared.inner.lock().unwrap().calls.clone()
    }

    /// Calls to `chat` that change what the user sees (sends and edits).
    pub fn messages(&self, chat: i64) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.chat_id == Some(chat) && c.method != "answerCallbackQuery")
            .collect()
    }

    /// Waits until the calls so far satisfy `wanted`, and returns them.
    pub async fn wait_for(&self, what: &str, wanted: impl Fn(&[Call]) -> bool) -> Vec<Call> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let calls = self.calls();
            if wanted(&calls) {
                return calls;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; calls so far: {calls:#?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits for the `n`-th (1-based) message to `chat` and returns it.
    pub async fn nth_message(&self, chat: i64, n: usize) -> Call {
        self.wait_for(&format!("message #{n} to chat {chat}"), |_| {
            self.messages(chat).len() >= n
        })
        .await;
        self.messages(chat)[n - 1].clone()
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn private_chat(id: i64) -> Value {
    json!({ "id": id, "type": "private", "first_name": format!("User{id}") })
}

/// Negative ids are groups, as in Telegram.
fn chat_json(id: i64) -> Value {
    if id < 0 {
        json!({ "id": id, "type": "group", "title": "Office" })
    } else {
        private_chat(id)
    }
}

fn user(id: i64) -> Value {
    json!({
        "id": id, "is_bot": false, "first_name": format!("User{id}"),
        "username": format!("user{id}"),
    })
}

fn error(status: StatusCode, description: &str) -> axum::response::Response {
    let body = json!({ "ok": false, "error_code": status.as_u16(), "description": description });
    (status, Json(body)).into_response()
}

fn bot_user() -> Value {
    json!({ "id": BOT_ID, "is_bot": true, "first_name": "FaceWatch", "username": "facewatch_test_bot" })
}

async fn api(
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
