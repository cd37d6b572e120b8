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
/// A group chat (negative id, as in Telegram) with several users.
const GROUP: i64 = -5005;

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
    /// An ordinary stop (SIGTERM / Ctrl-C in `facewatch bot`).
    async fn stop(self) {
        self.stop.send(()).unwrap();
        self.task.await.unwrap().unwrap();
    }

    /// kill -9: the bot's future is dropped wherever it is.
    async fn kill(self) {
        self.task.abort();
        assert!(self.task.await.unwrap_err().is_cancelled());
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
        refusal.text.contains("this bot is private"),
        "{}",
        refusal.text
    );
    // The chat id and the config key are for the administrator's log, not for strangers.
    assert!(
        !refusal.text.contains(&STRANGER.to_string()),
        "{}",
        refusal.text
    );
    assert!(!refusal.text.contains("allowed_chats"), "{}", refusal.text);
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
        "🗓 Schedule changed by admin: monitoring paused until",
    ];
    for chat in [CHAT_A, CHAT_B] {
        w.tg.wait_for("the pushes", |_| {
            pushes(&w.tg, chat).len() >= expected.len()
        })
        .await;
    }
    settle().await;
    // Alerts are numbered per day (UTC is the schedule's zone here), not by log position.
    let (old_day, new_day) = (
        base.date_naive(),
        (base + TimeDelta::minutes(12)).date_naive(),
    );
    let old_name = format!("#1 of {}", old_day.format("%a %-d %b"));
    let new_number = if old_day == new_day { 2 } else { 1 };
    let new_name = format!("#{new_number} of {}", new_day.format("%a %-d %b"));
    for chat in [CHAT_A, CHAT_B] {
        let got = pushes(&w.tg, chat);
        assert_eq!(got.len(), expected.len(), "{got:#?}");
        for (text, prefix) in got.iter().zip(expected) {
            assert!(
                text.starts_with(prefix),
                "{text:?} should start with {prefix:?}"
            );
        }
        // Camera with its location, times with their zone.
        assert!(got[0].contains("· Front door (Lobby)"), "{}", got[0]);
        assert!(got[0].contains(" UTC"), "{}", got[0]);
        // The old alert only shows up as resolved, never as raised.
        assert!(
            got[1].starts_with(&format!("✅ Alert {old_name} resolved")),
            "{}",
            got[1]
        );
        assert!(
            got[3].starts_with(&format!("⚠️ ALERT {new_name} — Ana")),
            "{}",
            got[3]
        );
        // The schedule push says what changed and who changed it.
        assert!(
            got[4].starts_with("🗓 Schedule changed by admin: monitoring paused until"),
            "{}",
            got[4]
        );
        assert!(got[4].contains("Manual mode (tracking on)"), "{}", got[4]);
        assert!(!got[4].contains("Mon 08:00"), "no full week: {}", got[4]);
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
        ["All employees", "Ana (C-ana)", "Bob (C-bob)"]
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
        photos[0].text.ends_with(" UTC · Front door (Lobby)"),
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
    assert_eq!(rows[1][1], Data::Float(1.0), "the day's first alert");
    assert_eq!(rows[1][2], Data::String("Ana".into()));
    assert_eq!(rows[1][3], Data::String("C-ana".into()));
    assert_eq!(rows[1][7], Data::String("Open".into()));
    assert_eq!(rows[1][8], Data::String("Left during work hours".into()));

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
        &cameras.button("Front door (Lobby)"),
    );
    let preview = tg.nth_message(CHAT_A, before + 3).await;
    assert_eq!(preview.method, "sendPhoto");
    assert_eq!(preview.file.as_ref().unwrap().1, b"LIVE-JPEG");
    assert!(
        preview.text.starts_with("📷 Front door (Lobby) — "),
        "{}",
        preview.text
    );
    assert!(preview.text.ends_with(" UTC"), "{}", preview.text);

    // /export_data of one employee's attendance over a week.
    tg.say(CHAT_A, "/export_data");
    let menu = tg.nth_message(CHAT_A, before + 4).await;
    let id = menu.message_id.unwrap();
    tg.press(CHAT_A, id, &menu.button("Attendance"));
    let who = tg.nth_message(CHAT_A, before + 5).await;
    tg.press(CHAT_A, id, &who.button("Ana (C-ana)"));
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
    assert_eq!(rows[1][1], Data::String("Ana".into()));
    assert_eq!(rows[1][2], Data::String("C-ana".into()));
    assert_eq!(rows[1][5], Data::String("Front door".into()));
    assert_eq!(rows[1][8], Data::String("Camera".into()));

    // A chat outside the allow-list cannot press buttons either.
    tg.press(STRANGER, id, &menu.button("Alerts"));
    tg.wait_for("the stranger refused", |calls| {
        calls
            .iter()
            .any(|c| c.method == "answerCallbackQuery" && c.text.contains("private"))
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

/// Goes through /export_data → `report` → All employees → Today in `chat`; returns the menu.
async fn export_today(tg: &FakeTelegram, chat: i64, report: &str) -> Call {
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

fn documents(tg: &FakeTelegram, chat: i64) -> Vec<Call> {
    tg.messages(chat)
        .into_iter()
        .filter(|c| c.method == "sendDocument")
        .collect()
}

#[tokio::test]
async fn an_export_cut_off_by_a_kill_or_a_stop_arrives_once_after_the_restart() {
    let w = World::new().await;
    w.enrol("ana", "Ana").await;
    w.add_camera("door", "Front door").await;
    w.always_monitor().await;
    let at = Utc::now() - TimeDelta::minutes(3);
    w.seen("ana", at, None).await;
    w.gone("ana", Utc::now()).await;
    let tg = &w.tg;

    // kill -9 while the spreadsheet is being uploaded.
    let bot = w.start_bot();
    tg.hold("sendDocument");
    let menu = export_today(tg, CHAT_A, "Alerts").await;
    tg.wait_for("the upload under way", |_| tg.held() == 1)
        .await;
    bot.kill().await;
    tg.release(false); // the upload never completed
    assert!(documents(tg, CHAT_A).is_empty());
    // The menu was closed with the request recorded: its buttons are spent.
    let title = tg.nth_message(CHAT_A, 4).await;
    assert_eq!(title.message_id, menu.message_id);
    assert_eq!(title.text, "📁 Alerts — Today");
    assert!(title.buttons().is_empty());

    let bot = w.start_bot();
    tg.wait_for("the file after the restart", |_| {
        documents(tg, CHAT_A).len() == 1
    })
    .await;
    let document = &documents(tg, CHAT_A)[0];
    assert!(
        document.text.starts_with("Alerts report, "),
        "{}",
        document.text
    );
    assert_eq!(sheet(&document.file.as_ref().unwrap().1, "Alerts").len(), 2);

    // An ordinary stop while the next upload hangs: the bot waits its grace period, then
    // hands the request over to the next start.
    tg.hold("sendDocument");
    export_today(tg, CHAT_A, "Attendance").await;
    tg.wait_for("the second upload under way", |_| tg.held() == 2)
        .await;
    bot.stop().await;
    tg.release(false);
    assert_eq!(documents(tg, CHAT_A).len(), 1);
    let bot = w.start_bot();
    tg.wait_for("the second file after the restart", |_| {
        documents(tg, CHAT_A).len() == 2
    })
    .await;
    settle().await;
    let documents = documents(tg, CHAT_A);
    assert_eq!(documents.len(), 2, "each file exactly once");
    assert!(documents[1].text.starts_with("Attendance report, "));
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM bot.jobs WHERE status <> 'done'")
        .fetch_one(&w.test.db.pool)
        .await
        .unwrap();
    assert_eq!(pending, 0);
    bot.stop().await;
    w.test.finish().await;
}

#[tokio::test]
async fn a_menu_sent_just_before_a_crash_still_answers_its_buttons() {
    let w = World::new().await;
    w.enrol("ana", "Ana").await;
    let tg = &w.tg;
    let bot = w.start_bot();
    // Telegram takes the menu, but the bot dies before it hears back.
    tg.hold("sendMessage");
    tg.say(CHAT_A, "/export_data");
    tg.wait_for("the menu being sent", |_| tg.held() == 1).await;
    bot.kill().await;
    tg.release(true);
    let menu = tg.nth_message(CHAT_A, 1).await;
    assert_eq!(menu.text, "📁 Export — pick a report");

    let bot = w.start_bot();
    tg.press(CHAT_A, menu.message_id.unwrap(), &menu.button("Alerts"));
    let next = tg.nth_message(CHAT_A, 2).await;
    assert_eq!(next.method, "editMessageText");
    assert_eq!(next.text, "📁 Alerts — pick an employee");
    assert!(tg
        .calls()
        .iter()
        .all(|c| !c.text.contains("no longer active")));
    bot.stop().await;
    w.test.finish().await;
}

#[tokio::test]
async fn start_up_clears_a_webhook_registers_commands_and_group_menus_have_owners() {
    let w = World::new().await;
    w.enrol("ana", "Ana").await;
    let tg = &w.tg;
    // Left by another deployment: Telegram refuses getUpdates until it is gone.
    tg.set_webhook("https://old.example.com/hook");
    let bot = w.start_bot();
    let calls = tg
        .wait_for("the command list", |calls| {
            calls.iter().any(|c| c.method == "setMyCommands")
        })
        .await;
    let commands: Vec<String> = calls
        .iter()
        .find(|c| c.method == "setMyCommands")
        .unwrap()
        .params["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["command"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        commands,
        [
            "start",
            "stop",
            "status",
            "attendance",
            "capture",
            "export_data",
            "help"
        ]
    );
    assert!(calls.iter().any(|c| c.method == "deleteWebhook"));
    assert_eq!(tg.webhook(), None);

    // Polling works: a group member opens a menu, another one taps it.
    let (owner, other) = (7001, 7002);
    tg.say_in_group(GROUP, owner, "/export_data");
    let menu = tg.nth_message(GROUP, 1).await;
    let id = menu.message_id.unwrap();
    tg.press_as(GROUP, other, id, &menu.button("Alerts"));
    let calls = tg
        .wait_for("the other member told off", |calls| {
            calls.iter().any(|c| c.text.contains("belongs to"))
        })
        .await;
    let answer = calls
        .iter()
        .find(|c| c.text.contains("belongs to"))
        .unwrap();
    assert_eq!(answer.method, "answerCallbackQuery");
    assert!(answer.text.contains("@user7001"), "{}", answer.text);
    // The owner's tap still works.
    tg.press_as(GROUP, owner, id, &menu.button("Alerts"));
    let next = tg.nth_message(GROUP, 2).await;
    assert_eq!(next.text, "📁 Alerts — pick an employee");

    // /status refreshed twice within a second: Telegram's "not modified" is no failure.
    tg.say(CHAT_A, "/status");
    let status = tg.nth_message(CHAT_A, 1).await;
    let refresh = status.button("🔄 Refresh");
    tg.press(CHAT_A, status.message_id.unwrap(), &refresh);
    tg.press(CHAT_A, status.message_id.unwrap(), &refresh);
    tg.wait_for("both refreshes answered", |calls| {
        calls
            .iter()
            .filter(|c| c.method == "answerCallbackQuery" && c.chat_id.is_none())
            .count()
            >= 4
    })
    .await;
    bot.stop().await;
    w.test.finish().await;
}

fn sheet(bytes: &[u8], name: &str) -> Vec<Vec<Data>> {
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes.to_vec())).unwrap();
    let range = book.worksheet_range(name).unwrap();
    range.rows().map(<[Data]>::to_vec).collect()
}
