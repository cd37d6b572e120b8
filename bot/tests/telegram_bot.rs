//! The bot end to end: real PostgreSQL (events appended through the application layer, a live
//! `Projector`), the real bot loop, and a fake Bot API server on 127.0.0.1 that feeds it
//! updates and records every message, photo and document it sends.

mod fake_telegram;

use std::io::Cursor;
use std::time::Duration;

use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

use facewatch_app::testing::TestApp;
use facewatch_app::{Actor, App, CameraInput, CommandContext, EmployeeInput, SightingInput};
use facewatch_bot::BotSettings;
use facewatch_captures::SnapshotStore;
use facewatch_domain::schedule::Mode;
use fake_telegram::{Call, FakeTelegram};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const TOKEN: &str = "123456:TEST-token-never-logged";
const CHAT_A: i64 = 1001;
const CHAT_B: i64 = 1002;
const STRANGER: i64 = 6666;

struct World {
    test: TestApp,
    tg: FakeTelegram,
    data_dir: tempfile::TempDir,
    /// The tests' short names of employees → their ids.
    ids: Mutex<HashMap<String, String>>,
}

struct RunningBot {
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl World {
    async fn new() -> Self {
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

    fn app(&self) -> &App {
        &self.test.app
    }

    /// An admin acting at `now`.
    fn admin_at(&self, now: DateTime<Utc>) -> CommandContext {
        CommandContext::new(Actor::user("admin")).with_now(now)
    }

    fn id(&self, name: &str) -> String {
        self.ids.lock().unwrap()[name].clone()
    }

    fn start_bot(&self) -> RunningBot {
        let settings = BotSettings {
            allowed_chats: vec![CHAT_A, CHAT_B],
            api_url: Some(self.tg.url.clone()),
            data_dir: self.data_dir.path().to_path_buf(),
            poll_timeout_sec: 1,
            camera_online_sec: 60,
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let pool = self.test.db.pool.clone();
        let task = tokio::spawn(facewatch_bot::run(settings, TOKEN.into(), pool, async {
            let _ = stopped.await;
        }));
        RunningBot { stop, task }
    }

    fn snapshots(&self) -> SnapshotStore {
        SnapshotStore::new(self.data_dir.path())
    }

    async fn enrol(&self, short: &str, name: &str) {
        let input = EmployeeInput {
            name: name.into(),
            code: format!("C-{short}"),
            department: "Ops".into(),
        };
        let ctx = self.admin_at(Utc::now() - TimeDelta::hours(2));
        let employee = self.app().enroll_employee(&ctx, input).await.unwrap();
        self.ids.lock().unwrap().insert(short.into(), employee.id);
    }

    async fn add_camera(&self, id: &str, name: &str) {
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
    async fn always_monitor(&self) {
        // Before every sighting of the tests: a change cannot alter verdicts on earlier events.
        let ctx = self.admin_at(Utc::now() - TimeDelta::hours(1));
        self.app()
            .set_schedule_mode(&ctx, Mode::Manual)
            .await
            .unwrap();
        self.app().set_manual_tracking(&ctx, true).await.unwrap();
    }

    async fn seen(&self, employee: &str, at: DateTime<Utc>, snapshot_ref: Option<String>) {
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
    async fn gone(&self, _employee: &str, now: DateTime<Utc>) {
        let watcher = CommandContext::new(Actor::system("absence-watcher")).with_now(now);
        self.app().check_absences(&watcher, 60).await.unwrap();
    }

    async fn pending_deliveries(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM bot.deliveries WHERE status <> 'sent'")
            .fetch_one(&self.test.db.pool)
            .await
            .unwrap()
    }
}

impl RunningBot {
    async fn stop(self) {
        self.stop.send(()).unwrap();
        self.task.await.unwrap().unwrap();
    }
}

fn texts(calls: &[Call]) -> Vec<String> {
    calls.iter().map(|c| c.text.clone()).collect()
}

/// The messages pushed to `chat` (everything sent after its /start reply that is no reply).
fn pushes(tg: &FakeTelegram, chat: i64) -> Vec<String> {
    texts(&tg.messages(chat))
        .into_iter()
        .filter(|t| {
            ["🟢", "🔴", "⚠️", "✅", "🗓"]
                .iter()
                .any(|p| t.starts_with(p))
        })
        .collect()
}

async fn settle() {
    // Long enough for a wrong extra push to show up (the bot reacts within milliseconds).
    tokio::time::sleep(Duration::from_millis(1500)).await;
}

#[tokio::test]
async fn pushes_follow_the_log_once_per_chat_across_stop_and_restart() {
    let w = World::new().await;
    w.enrol("ana", "Ana").await;
    w.add_camera("door", "Front door").await;
    w.always_monitor().await;
    // History before anybody subscribed: an alert that must not be flooded into new chats.
    let base = Utc::now() - TimeDelta::minutes(50);
    w.seen("ana", base, None).await;
    w.gone("ana", base + TimeDelta::minutes(2)).await;

    let bot = w.start_bot();
    w.tg.say(CHAT_A, "/start");
    w.tg.say(CHAT_B, "/start");
    w.tg.say(STRANGER, "/start");
    let refusal = w.tg.nth_message(STRANGER, 1).await;
    assert!(
        refusal.text.contains("may not use this bot"),
        "{}",
        refusal.text
    );
    assert!(refusal.text.contains(&STRANGER.to_string()));
    for chat in [CHAT_A, CHAT_B] {
        let reply = w.tg.nth_message(chat, 1).await;
        assert!(
            reply.text.starts_with("🔔 Notifications are on"),
            "{}",
            reply.text
        );
        assert_eq!(reply.button("📊 Status"), "m:status");
    }

    // Back (resolves the old alert), gone again (a new alert), then monitoring is paused.
    w.seen("ana", base + TimeDelta::minutes(10), None).await;
    w.gone("ana", base + TimeDelta::minutes(12)).await;
    w.app()
        .pause_schedule(&w.admin_at(Utc::now()), 30)
        .await
        .unwrap();
    let expected = [
        "🟢 ENTER — Ana",
        "✅ Alert #",
        "🔴 EXIT — Ana",
        "⚠️ ALERT #",
        "🗓 Schedule changed: monitoring paused until",
    ];
    for chat in [CHAT_A, CHAT_B] {
        w.tg.wait_for("the pushes", |_| {
            pushes(&w.tg, chat).len() >= expected.len()
        })
        .await;
    }
    settle().await;
    let old_alert_id: i64 = sqlx::query_scalar("SELECT min(id) FROM read.alerts")
        .fetch_one(&w.test.db.pool)
        .await
        .unwrap();
    for chat in [CHAT_A, CHAT_B] {
        let got = pushes(&w.tg, chat);
        assert_eq!(got.len(), expected.len(), "{got:#?}");
        for (text, prefix) in got.iter().zip(expected) {
            assert!(
                text.starts_with(prefix),
                "{text:?} should start with {prefix:?}"
            );
        }
        assert!(got[0].contains("Front door"), "{}", got[0]);
        // The old alert only shows up as resolved, never as raised.
        assert!(got[1].starts_with(&format!("✅ Alert #{old_alert_id} resolved")));
        assert!(!got[3].contains(&format!("#{old_alert_id} ")));
        assert!(got[4].contains("Manual mode (tracking on)"), "{}", got[4]);
    }
    assert_eq!(
        w.tg.messages(STRANGER).len(),
        1,
        "a refused chat gets no pushes"
    );

    // B pauses; only A hears of the next entry.
    w.tg.say(CHAT_B, "/stop");
    let stopped = w.tg.nth_message(CHAT_B, 7).await;
    assert!(
        stopped.text.starts_with("🔕 Notifications paused"),
        "{}",
        stopped.text
    );
    w.seen("ana", base + TimeDelta::minutes(20), None).await;
    w.tg.wait_for("A's push", |_| pushes(&w.tg, CHAT_A).len() == 7)
        .await;

    // A restart resends nothing and announces what happened while it was down.
    bot.stop().await;
    w.gone("ana", base + TimeDelta::minutes(22)).await; // while the bot is down
    let bot = w.start_bot();
    w.tg.wait_for("A's pushes after the restart", |_| {
        pushes(&w.tg, CHAT_A).len() == 9
    })
    .await;
    settle().await;
    let got = pushes(&w.tg, CHAT_A);
    assert_eq!(got.len(), 9, "{got:#?}");
    assert!(got[5].starts_with("🟢 ENTER — Ana") && got[6].starts_with("✅ Alert #"));
    // The exit happened before the pause took effect: judged as an alert again.
    assert!(got[7].starts_with("🔴 EXIT — Ana"), "{}", got[7]);
    assert!(got[8].starts_with("⚠️ ALERT #"), "{}", got[8]);
    let mut unique = got.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), got.len(), "duplicate push: {got:#?}");
    assert_eq!(pushes(&w.tg, CHAT_B).len(), 5, "B is paused");
    assert_eq!(w.pending_deliveries().await, 0);
    bot.stop().await;
    w.test.finish().await;
}

#[tokio::test]
async fn menus_work_in_two_chats_at_once_and_survive_a_restart() {
    let w = World::new().await;
    w.enrol("ana", "Ana").await;
    w.enrol("bob", "Bob").await;
    w.add_camera("door", "Front door").await;
    w.always_monitor().await;
    let snapshots = w.snapshots();
    let first = Utc::now() - TimeDelta::minutes(3);
    let last = Utc::now() - TimeDelta::minutes(2);
    let in_ref = snapshots.save_snapshot("door", first, b"IN-JPEG").unwrap();
    let out_ref = snapshots.save_snapshot("door", last, b"OUT-JPEG").unwrap();
    snapshots.save_latest("door", b"LIVE-JPEG").unwrap();
    w.seen("ana", first, Some(in_ref.to_string())).await;
    w.seen("ana", last, Some(out_ref.to_string())).await;
    w.gone("ana", Utc::now()).await; // exit at `last`: Last Out, and an open alert

    let bot = w.start_bot();
    let tg = &w.tg;

    // /help lists the commands and offers them as buttons.
    tg.say(CHAT_A, "/help");
    let help = tg.nth_message(CHAT_A, 1).await;
    assert!(help.text.contains("/export_data") && help.text.contains("/capture"));
    assert_eq!(help.button("📅 Attendance"), "m:attendance");

    // /status, then its refresh button edits the same message.
    tg.say(CHAT_A, "/status");
    let status = tg.nth_message(CHAT_A, 2).await;
    for line in [
        "Employees: 2 (0 present)",
        "Cameras online: 1 of 1",
        "Attendance today: 1",
        "Open alerts: 1",
    ] {
        assert!(
            status.text.contains(line),
            "{line:?} missing in {}",
            status.text
        );
    }
    let status_id = status.message_id.unwrap();
    tg.press(CHAT_A, status_id, &status.button("🔄 Refresh"));
    let refreshed = tg.nth_message(CHAT_A, 3).await;
    assert_eq!(refreshed.method, "editMessageText");
    assert_eq!(refreshed.message_id, Some(status_id));

    // Two chats start flows at the same time.
    tg.say(CHAT_A, "/attendance");
    tg.say(CHAT_B, "/export_data");
    let days = tg.nth_message(CHAT_A, 4).await;
    let reports = tg.nth_message(CHAT_B, 1).await;
    assert_eq!(
        days.buttons()
            .iter()
            .map(|b| b.0.as_str())
            .collect::<Vec<_>>(),
        ["Today", "Yesterday", "2 days ago"]
    );
    tg.press(CHAT_A, days.message_id.unwrap(), &days.button("Today"));
    tg.press(
        CHAT_B,
        reports.message_id.unwrap(),
        &reports.button("Alerts"),
    );
    let employees = tg.nth_message(CHAT_A, 5).await;
    let who = tg.nth_message(CHAT_B, 2).await;
    assert_eq!(employees.method, "editMessageText");
    assert_eq!(employees.buttons().len(), 1, "only Ana came in today");
    assert_eq!(
        who.buttons()
            .iter()
            .map(|b| b.0.as_str())
            .collect::<Vec<_>>(),
        ["All employees", "Ana", "Bob"]
    );

    // The bot restarts in the middle of both flows; the next presses carry on.
    bot.stop().await;
    let bot = w.start_bot();
    let ana = employees.button("Ana");
    tg.press(CHAT_A, employees.message_id.unwrap(), &ana);
    tg.press(
        CHAT_B,
        who.message_id.unwrap(),
        &who.button("All employees"),
    );
    let photos = tg
        .wait_for("First In and Last Out photos", |_| {
            tg.messages(CHAT_A)
                .iter()
                .filter(|c| c.method == "sendPhoto")
                .count()
                == 2
        })
        .await;
    let photos: Vec<&Call> = photos
        .iter()
        .filter(|c| c.chat_id == Some(CHAT_A) && c.method == "sendPhoto")
        .collect();
    assert_eq!(photos[0].file.as_ref().unwrap().1, b"IN-JPEG");
    assert!(
        photos[0].text.starts_with("🟢 First In: "),
        "{}",
        photos[0].text
    );
    assert!(
        photos[0].text.ends_with("· Front door"),
        "{}",
        photos[0].text
    );
    assert_eq!(photos[1].file.as_ref().unwrap().1, b"OUT-JPEG");
    assert!(
        photos[1].text.starts_with("🔴 Last Out: "),
        "{}",
        photos[1].text
    );
    let ranges = tg.nth_message(CHAT_B, 3).await;
    tg.press(CHAT_B, ranges.message_id.unwrap(), &ranges.button("Today"));
    let document = tg.nth_message(CHAT_B, 5).await; // after the menu's final edit
    assert_eq!(document.method, "sendDocument");
    let today = Utc::now().date_naive();
    assert_eq!(
        document.text,
        format!("Alerts report, {today}, all employees, 1 row")
    );
    let (name, bytes) = document.file.clone().unwrap();
    assert_eq!(name, format!("alerts_{today}_{today}.xlsx"));
    let rows = sheet(&bytes, "Alerts");
    assert_eq!(rows.len(), 2, "header and one alert: {rows:?}");
    assert_eq!(rows[1][2], Data::String("Ana".into()));
    assert_eq!(rows[1][6], Data::String("OPEN".into()));

    // The finished menu's button again: refused at once, nothing sent twice.
    let before = tg.messages(CHAT_A).len();
    tg.press(CHAT_A, employees.message_id.unwrap(), &ana);
    let calls = tg
        .wait_for("the stale press answered", |calls| {
            calls.iter().any(|c| c.text.contains("no longer active"))
        })
        .await;
    let answer = calls
        .iter()
        .find(|c| c.text.contains("no longer active"))
        .unwrap();
    assert_eq!(answer.method, "answerCallbackQuery");

    // /capture sends the camera's live preview.
    tg.say(CHAT_A, "/capture");
    let cameras = tg.nth_message(CHAT_A, before + 1).await;
    tg.press(
        CHAT_A,
        cameras.message_id.unwrap(),
        &cameras.button("Front door"),
    );
    let preview = tg.nth_message(CHAT_A, before + 3).await;
    assert_eq!(preview.method, "sendPhoto");
    assert_eq!(preview.file.as_ref().unwrap().1, b"LIVE-JPEG");
    assert!(
        preview.text.starts_with("📷 Front door — "),
        "{}",
        preview.text
    );

    // /export_data of one employee's attendance over a week.
    tg.say(CHAT_A, "/export_data");
    let menu = tg.nth_message(CHAT_A, before + 4).await;
    let id = menu.message_id.unwrap();
    tg.press(CHAT_A, id, &menu.button("Attendance"));
    let who = tg.nth_message(CHAT_A, before + 5).await;
    tg.press(CHAT_A, id, &who.button("Ana"));
    let ranges = tg.nth_message(CHAT_A, before + 6).await;
    tg.press(CHAT_A, id, &ranges.button("Last 7 days"));
    let document = tg.nth_message(CHAT_A, before + 8).await;
    let week_ago = today - chrono::Days::new(6);
    assert_eq!(
        document.text,
        format!("Attendance report, {week_ago} – {today}, employee Ana (C-ana), 1 row")
    );
    let rows = sheet(&document.file.as_ref().unwrap().1, "Attendance");
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1][3], Data::String("Ana".into()));
    assert_eq!(rows[1][6], Data::String("Front door".into()));

    // A chat outside the allow-list cannot press buttons either.
    tg.press(STRANGER, id, &menu.button("Alerts"));
    tg.wait_for("the stranger refused", |calls| {
        calls
            .iter()
            .any(|c| c.method == "answerCallbackQuery" && c.text.contains("may not use"))
    })
    .await;

    // Every button press was answered, exactly once.
    settle().await;
    let calls = tg.calls();
    let answered: Vec<&String> = calls
        .iter()
        .filter_map(|c| c.callback_query_id.as_ref())
        .collect();
    let mut unique = answered.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(answered.len(), unique.len(), "a query answered twice");
    assert_eq!(answered.len(), 12, "{answered:?}");
    bot.stop().await;
    w.test.finish().await;
}

#[tokio::test]
async fn a_push_that_telegram_did_not_take_is_sent_after_a_restart_once() {
    let w = World::new().await;
    w.enrol("ana", "Ana").await;
    w.add_camera("door", "Front door").await;
    let bot = w.start_bot();
    w.tg.say(CHAT_A, "/start");
    w.tg.nth_message(CHAT_A, 1).await;

    w.tg.outage(true);
    w.seen("ana", Utc::now(), None).await;
    w.tg.wait_for("a failed push attempt", |_| w.tg.failed_sends() > 0)
        .await;
    assert_eq!(w.pending_deliveries().await, 1, "recorded before sending");
    bot.stop().await;
    w.tg.outage(false);

    let bot = w.start_bot();
    w.tg.wait_for("the push", |_| pushes(&w.tg, CHAT_A).len() == 1)
        .await;
    settle().await;
    assert_eq!(pushes(&w.tg, CHAT_A).len(), 1);
    assert_eq!(w.pending_deliveries().await, 0);
    bot.stop().await;
    w.test.finish().await;
}

#[tokio::test]
async fn a_refused_token_stops_the_bot_without_leaking_it() {
    let w = World::new().await;
    let settings = BotSettings {
        allowed_chats: vec![CHAT_A],
        api_url: Some(w.tg.url.clone()),
        ..BotSettings::default()
    };
    let wrong = "999:wrong-secret-token";
    let error = facewatch_bot::run(
        settings,
        wrong.into(),
        w.test.db.pool.clone(),
        std::future::pending(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(error.contains("refused the bot token"), "{error}");
    assert!(!error.contains("wrong-secret-token"), "{error}");
    w.test.finish().await;
}

fn sheet(bytes: &[u8], name: &str) -> Vec<Vec<Data>> {
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes.to_vec())).unwrap();
    let range = book.worksheet_range(name).unwrap();
    range.rows().map(<[Data]>::to_vec).collect()
}
