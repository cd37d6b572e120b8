//! Typed commands: `/start`, `/status`, and the commands that open a menu.

use chrono::Days;
use facewatch_projections::queries;
use teloxide::types::{InlineKeyboardMarkup, Message, User};

use super::buttons::{button, keyboard, menu_button, refresh_button, Button, Report};
use super::{camera_text, send, status_text, today};
use crate::Ctx;

pub(crate) const HELP: &str = "👋 FaceWatch bot\n\n\
/start — turn on notifications for this chat (ENTER / EXIT, alerts, schedule changes; \
older events are not replayed)\n\
/stop — pause notifications\n\
/status — employees, cameras online, today's attendance, open alerts\n\
/attendance — a day → an employee → First In and Last Out photos\n\
/capture — a camera → its latest snapshot\n\
/export_data — report → employee → range → an .xlsx file\n\
/help — this guide";

/// The command list Telegram shows when a user types "/".
pub(crate) const COMMANDS: [(&str, &str); 7] = [
    ("start", "Turn on notifications for this chat"),
    ("stop", "Pause notifications"),
    ("status", "Employees, cameras, attendance and alerts now"),
    ("attendance", "First In / Last Out photos of a day"),
    ("capture", "A camera's latest frame"),
    ("export_data", "An attendance or alerts spreadsheet"),
    ("help", "What this bot does"),
];

/// How a user is named to others in a group: "@name", else the first name.
pub(super) fn display_name(user: Option<&User>) -> String {
    match user {
        Some(u) => u
            .username
            .as_ref()
            .map_or_else(|| u.first_name.clone(), |name| format!("@{name}")),
        None => "someone else".into(),
    }
}

pub(super) async fn on_message(ctx: &Ctx, message: &Message, update: i64) -> anyhow::Result<()> {
    let Some(text) = message.text() else {
        return Ok(());
    };
    let chat = message.chat.id.0;
    if !ctx.allowed(chat) {
        // The id is for the administrator (in the log), not for the stranger.
        tracing::warn!(
            chat,
            "refused a chat that is not allowed; add {chat} to bot.allowed_chats to let it in"
        );
        let text = "⛔ Sorry, this bot is private. Ask your administrator for access.";
        send(ctx, chat, text, None).await?;
        return Ok(());
    }
    let user = message.from.as_ref().map_or(chat, |u| u.id.0 as i64);
    let owner = display_name(message.from.as_ref());
    // "/attendance@facewatch_bot args" → "attendance"
    let command = text
        .split_whitespace()
        .next()
        .and_then(|word| word.strip_prefix('/'))
        .map(|word| word.split('@').next().unwrap_or(word));
    match command {
        Some(command) => run_command(ctx, (chat, user, &owner, update), command).await,
        None => Ok(send(ctx, chat, "Send a command — /help lists them.", None).await?),
    }
}

/// Runs `command` for (chat, user, owner's name, the update that asked for it).
pub(super) async fn run_command(
    ctx: &Ctx,
    (chat, user, owner, update): (i64, i64, &str, i64),
    command: &str,
) -> anyhow::Result<()> {
    let open = |text: &'static str, rows| open_menu(ctx, (chat, user, owner, update), text, rows);
    match command {
        "start" => {
            ctx.store.activate(chat, ctx.feed.head().await?).await?;
            let keyboard = keyboard([vec![
                button("📊 Status", Button::Menu("status".into())),
                button("❓ Help", Button::Menu("help".into())),
            ]]);
            let text = "🔔 Notifications are on for this chat: ENTER / EXIT, alerts and \
                        schedule changes from now on (older events are not replayed).";
            Ok(send(ctx, chat, text, Some(keyboard)).await?)
        }
        "stop" => {
            let text = if ctx.store.deactivate(chat).await? {
                "🔕 Notifications paused. /start turns them back on."
            } else {
                "Notifications were not on for this chat. /start turns them on."
            };
            let keyboard = keyboard([vec![button("🔔 Resume", Button::Menu("start".into()))]]);
            Ok(send(ctx, chat, text, Some(keyboard)).await?)
        }
        "help" => {
            let keyboard = keyboard([
                vec![
                    button("📊 Status", Button::Menu("status".into())),
                    button("📅 Attendance", Button::Menu("attendance".into())),
                ],
                vec![
                    button("📷 Capture", Button::Menu("capture".into())),
                    button("📁 Export", Button::Menu("export_data".into())),
                ],
            ]);
            Ok(send(ctx, chat, HELP, Some(keyboard)).await?)
        }
        "status" => {
            let text = status_text(ctx).await?;
            Ok(send(ctx, chat, &text, Some(keyboard([vec![refresh_button()]]))).await?)
        }
        "attendance" => {
            let today = today(ctx).await?;
            let text = "📅 Attendance — pick a day";
            open(
                text,
                Box::new(move |token| {
                    let days =
                        [("Today", 0), ("Yesterday", 1), ("2 days ago", 2)].map(|(label, back)| {
                            menu_button(token, label, Button::Day(today - Days::new(back)))
                        });
                    keyboard([days.to_vec()])
                }),
            )
            .await
        }
        "capture" => {
            let cameras = queries::cameras(&ctx.pool).await?;
            if cameras.is_empty() {
                return Ok(send(ctx, chat, "📷 No cameras are configured.", None).await?);
            }
            let text = "📷 Capture — pick a camera";
            open(
                text,
                Box::new(move |token| {
                    keyboard(cameras.into_iter().map(|c| {
                        let label = camera_text(&c.name, &c.location);
                        vec![menu_button(token, &label, Button::Camera(c.id))]
                    }))
                }),
            )
            .await
        }
        "export_data" => {
            let text = "📁 Export — pick a report";
            open(
                text,
                Box::new(|token| {
                    let kinds = [Report::Attendance, Report::Alerts]
                        .map(|r| menu_button(token, r.title(), Button::ReportType(r)));
                    keyboard([kinds.to_vec()])
                }),
            )
            .await
        }
        other => {
            let text = format!("Unknown command /{other}. /help lists the commands.");
            Ok(send(ctx, chat, &text, None).await?)
        }
    }
}

/// A keyboard built once the menu's token is known.
type Rows = Box<dyn FnOnce(i64) -> InlineKeyboardMarkup + Send>;

/// Opens a menu: recorded first, then sent, so its buttons work from the moment they appear,
/// even across a restart. The same update handled again after a crash resends the same menu.
async fn open_menu(
    ctx: &Ctx,
    (chat, user, owner, update): (i64, i64, &str, i64),
    text: &str,
    rows: Rows,
) -> anyhow::Result<()> {
    let token = ctx.store.open_menu(chat, user, owner, update).await?;
    Ok(send(ctx, chat, text, Some(rows(token))).await?)
}
