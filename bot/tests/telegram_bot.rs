//! The bot end to end: real PostgreSQL (events appended through the application layer, a live
//! `Projector`), the real bot loop, and a fake Bot API server on 127.0.0.1 that feeds it
//! updates and records every message, photo and document it sends.

mod common;
mod fake_telegram;

use calamine::Data;
use chrono::{TimeDelta, Utc};

use common::*;
use fake_telegram::Call;

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
