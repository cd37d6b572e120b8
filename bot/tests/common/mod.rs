//! The world the bot tests run in: a scratch database written through the application layer,
//! a fake Bot API server, and the bot started, stopped or killed in-process.
// Each test crate uses a different part of it.
#![allow(dead_code)]

use std::io::Cursor;
use std::time::Duration;

use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

use crate::fake_telegram::{Call, FakeTelegram};
use facewatch_app::testing::TestApp;
use facewatch_app::{Actor, App, CameraInput, CommandContext, EmployeeInput, SightingInput};
use facewatch_bot::BotSettings;
use facewatch_captures::SnapshotStore;
use facewatch_domain::schedule::Mode;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const TOKEN: &str = "123456:TEST-token-never-logged";
pub const CHAT_A: i64 = 1001;
pub const CHAT_B: i64 = 1002;
pub const STRANGER: i64 = 6666;
/// A group chat (negative id, as in Telegram) with several users.
pub const GROUP: i64 = -5005;

pub struct World {
    pub test: TestApp,
    pub tg: FakeTelegram,
    pub data_dir: tempfile::TempDir,
    /// The tests' short names of employees → their ids.
    pub ids: Mutex<HashMap<String, String>>,
}

pub struct RunningBot {
    pub stop: oneshot::Sender<()>,
    pub task: JoinHandle<anyhow::Result<()>>,
}

impl World {
    pub async fn new() -> Self {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("facewatch_bot=debug,warn")
            .try_init();
        Self {
            test: TestApp::spawn("fw_bot").await,
            tg: FakeTelegram::start(TOKEN).await,
            data_dir: tempfile::tempdir().unwrap(),
            ids: Mutex::new(HashMap::new()),
        }
    }

    pub fn app(&self) -> &App {
        &self.test.app
    }

    /// An admin acting at `now`.
    pub fn admin_at(&self, now: DateTime<Utc>) -> CommandContext {
        CommandContext::new(Actor::user("admin")).with_now(now)
    }

    pub fn id(&self, name: &str) -> String {
        self.ids.lock().unwrap()[name].clone()
    }

    pub fn start_bot(&self) -> RunningBot {
        let settings = BotSettings {
            allowed_chats: vec![CHAT_A, CHAT_B, GROUP],
            api_url: Some(self.tg.url.clone()),
            data_dir: self.data_dir.path().to_path_buf(),
            poll_timeout_sec: 1,
            camera_online_sec: 60,
            // A stop waits this long for an upload in progress, then hands it over.
            shutdown_grace_sec: 1,
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let pool = self.test.db.pool.clone();
        let task = tokio::spawn(facewatch_bot::run(settings, TOKEN.into(), pool, async {
            let _ = stopped.await;
        }));
        RunningBot { stop, task }
    }

    pub fn snapshots(&self) -> SnapshotStore {
        SnapshotStore::new(self.data_dir.path())
    }

    pub async fn enrol(&self, short: &str, name: &str) {
        let input = EmployeeInput {
            name: name.into(),
            code: format!("C-{short}"),
            department: "Ops".into(),
        };
        let ctx = self.admin_at(Utc::now() - TimeDelta::hours(2));
        let employee = self.app().enroll_employee(&ctx, input).await.unwrap();
        self.ids.lock().unwrap().insert(short.into(), employee.id);
    }

    pub async fn add_camera(&self, id: &str, name: &str) {
        let camera = CameraInput {
            id: Some(id.into()),
            name: name.into(),
            location: "Lobby".into(),
            stream_url: "rtsp://user:secret@10.0.0.9/stream".into(),
            enabled: true,
        };
        let ctx = self.admin_at(Utc::now() - TimeDelta::hours(2));
        self.app().add_camera(&ctx, camera).await.unwrap();
    }

    /// Manual mode with tracking on: every exit is a violation, whatever the time of day.
    pub async fn always_monitor(&self) {
        // Before every sighting of the tests: a change cannot alter verdicts on earlier events.
        let ctx = self.admin_at(Utc::now() - TimeDelta::hours(1));
        self.app()
            .set_schedule_mode(&ctx, Mode::Manual)
            .await
            .unwrap();
        self.app().set_manual_tracking(&ctx, true).await.unwrap();
    }

    pub async fn seen(&self, employee: &str, at: DateTime<Utc>, snapshot_ref: Option<String>) {
        let sighting = SightingInput {
            employee_id: self.id(employee),
            camera_id: "door".into(),
            at: Some(at),
            similarity: 0.8,
            track_id: 1,
            snapshot_ref,
        };
        let camera = CommandContext::new(Actor::camera("door"));
        let outcome = self.app().record_sighting(&camera, sighting).await.unwrap();
        self.app().settle(&[outcome]).await.unwrap();
    }

    /// Records the exit of every employee last seen more than a minute before `now`.
    pub async fn gone(&self, _employee: &str, now: DateTime<Utc>) {
        let watcher = CommandContext::new(Actor::system("absence-watcher")).with_now(now);
        self.app().check_absences(&watcher, 60).await.unwrap();
    }

    pub async fn pending_deliveries(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM bot.deliveries WHERE status <> 'sent'")
            .fetch_one(&self.test.db.pool)
            .await
            .unwrap()
    }
}

impl RunningBot {
    /// An ordinary stop (SIGTERM / Ctrl-C in `facewatch bot`).
    pub async fn stop(self) {
        self.stop.send(()).unwrap();
        self.task.await.unwrap().unwrap();
    }

    /// kill -9: the bot's future is dropped wherever it is.
    pub async fn kill(self) {
        self.task.abort();
        assert!(self.task.await.unwrap_err().is_cancelled());
    }
}

pub fn texts(calls: &[Call]) -> Vec<String> {
    calls.iter().map(|c| c.text.clone()).collect()
}

/// The messages pushed to `chat` (everything sent after its /start reply that is no reply).
pub fn pushes(tg: &FakeTelegram, chat: i64) -> Vec<String> {
    texts(&tg.messages(chat))
        .into_iter()
        .filter(|t| {
            ["🟢", "🔴", "⚠️", "✅", "🗓"]
                .iter()
                .any(|p| t.starts_with(p))
        })
        .collect()
}

pub async fn settle() {
    // Long enough for a wrong extra push to show up (the bot reacts within milliseconds).
    tokio::time::sleep(Duration::from_millis(1500)).await;
}

/// Goes through /export_data → `report` → All employees → Today in `chat`; returns the menu.
pub async fn export_today(tg: &FakeTelegram, chat: i64, report: &str) -> Call {
    let before = tg.messages(chat).len();
    tg.say(chat, "/export_data");
    let menu = tg.nth_message(chat, before + 1).await;
    let id = menu.message_id.unwrap();
    tg.press(chat, id, &menu.button(report));
    let who = tg.nth_message(chat, before + 2).await;
    tg.press(chat, id, &who.button("All employees"));
    let ranges = tg.nth_message(chat, before + 3).await;
    tg.press(chat, id, &ranges.button("Today"));
    menu
}

pub fn documents(tg: &FakeTelegram, chat: i64) -> Vec<Call> {
    tg.messages(chat)
        .into_iter()
        .filter(|c| c.method == "sendDocument")
        .collect()
}

pub fn sheet(bytes: &[u8], name: &str) -> Vec<Vec<Data>> {
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes.to_vec())).unwrap();
    let range = book.worksheet_range(name).unwrap();
    range.rows().map(<[Data]>::to_vec).collect()
}
