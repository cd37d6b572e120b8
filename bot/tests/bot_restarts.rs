//! The bot across crashes, stops and restarts, and what it does on start: requested work
//! arrives once, menus keep working, pushes are not lost, webhook and command list are handled.

mod common;
mod fake_telegram;

use chrono::{TimeDelta, Utc};
use facewatch_bot::BotSettings;

use common::*;

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

    // The interrupted command is handled again: the same menu once more, and both copies work.
    let bot = w.start_bot();
    let again = tg.nth_message(CHAT_A, 2).await;
    assert_eq!(again.buttons(), menu.buttons());
    tg.press(CHAT_A, menu.message_id.unwrap(), &menu.button("Alerts"));
    let next = tg.nth_message(CHAT_A, 3).await;
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
async fn a_command_cut_off_by_a_crash_is_answered_after_the_restart() {
    let w = World::new().await;
    let tg = &w.tg;
    let bot = w.start_bot();
    // The bot dies while its menu is on the way, and Telegram never got it.
    tg.hold("sendMessage");
    tg.say(CHAT_A, "/export_data");
    tg.wait_for("the menu being sent", |_| tg.held() == 1).await;
    bot.kill().await;
    tg.release(false);
    assert!(tg.messages(CHAT_A).is_empty());

    let bot = w.start_bot();
    let menu = tg.nth_message(CHAT_A, 1).await;
    assert_eq!(menu.text, "📁 Export — pick a report");
    settle().await;
    assert_eq!(tg.messages(CHAT_A).len(), 1, "answered once");
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
