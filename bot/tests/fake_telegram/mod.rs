// Shared by several test crates; each uses a different part.
#![allow(dead_code)]

//! A small stand-in for the Telegram Bot API on 127.0.0.1: it records every call the bot makes
//! (files included) and hands out the updates a test injects, with Telegram's offset semantics.
//! Like Telegram it refuses getUpdates while a webhook is set, answers "message is not modified"
//! to an edit that changes nothing, and it can hold a method's requests to simulate a slow
//! upload that a crash or a stop interrupts.

mod server;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

use server::{api, bot_user, chat_json, now, private_chat, user};

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
