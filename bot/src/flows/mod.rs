//! Commands and their menus. Every menu is one keyboard message that each press edits; the
//! button data carries everything the next step needs plus the menu's token
//! (`17|a:e:2026-11-25:<employee>`). The menu is recorded (`bot.menus`) before it is sent, the
//! final tap closes it and records the requested work in one transaction (`jobs`), so neither a
//! restart right after a menu is sent nor one during the upload loses anything.

mod buttons;
mod jobs;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Days, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use facewatch_projections::queries;
use futures::future::join_all;
use teloxide::prelude::*;
use teloxide::types::{CallbackQuery, InlineKeyboardMarkup, Message, MessageId, UpdateKind, User};
use teloxide::RequestError;
use tokio::sync::watch;

use crate::{benign, local_time, retry_after, Ctx};
use buttons::{button, keyboard, menu_button, refresh_button, Button, Range, Report};
use jobs::Job;

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

/// Long-polls updates and handles them until `stop` is set; chats run concurrently, each
/// chat's updates in order. A batch being handled is finished before returning.
pub(crate) async fn poll(ctx: Arc<Ctx>, mut stop: watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            return;
        }
        // Work recorded by an earlier run (or not taken by Telegram before) goes first.
        jobs::resume(&ctx).await;
        let offset = match ctx.store.update_offset().await {
            Ok(o) => o,
            Err(e) => {
                tracing::error!("bot cannot read its update offset: {e}");
                tokio::time::sleep(crate::RETRY).await;
                continue;
            }
        };
        let request = ctx
            .bot
            .get_updates()
            .offset(i32::try_from(offset).unwrap_or(i32::MAX))
            .timeout(ctx.settings.poll_timeout_sec);
        let updates = tokio::select! {
            () = crate::stopped(&mut stop) => return,
            result = request.send() => match result {
                Ok(u) => u,
                Err(e) => {
                    tracing::warn!("getUpdates failed: {}", ctx.redact(&e));
                    tokio::time::sleep(retry_after(&e)).await;
                    continue;
                }
            },
        };
        let Some(next) = updates.last().map(|u| i64::from(u.id.0) + 1) else {
            continue;
        };
        let mut by_chat: BTreeMap<Option<i64>, Vec<Update>> = BTreeMap::new();
        for update in updates {
            by_chat
                .entry(update.chat().map(|c| c.id.0))
                .or_default()
                .push(update);
        }
        join_all(by_chat.into_values().map(|updates| {
            let ctx = ctx.clone();
            async move {
                for update in updates {
                    if let Err(e) = handle(&ctx, update).await {
                        tracing::error!(
                            "handling an update failed: {}",
                            ctx.redact(&format!("{e:#}"))
                        );
                    }
                }
            }
        }))
        .await;
        if let Err(e) = ctx.store.set_update_offset(next).await {
            // The claims in bot.handled_updates keep the batch from being handled twice.
            tracing::error!("bot cannot save its update offset: {e}");
        }
    }
}

async fn handle(ctx: &Ctx, update: Update) -> anyhow::Result<()> {
    if !ctx.store.claim_update(i64::from(update.id.0)).await? {
        return Ok(());
    }
    match update.kind {
        UpdateKind::Message(message) => on_message(ctx, &message).await,
        UpdateKind::CallbackQuery(query) => on_callback(ctx, &query).await,
        _ => Ok(()),
    }
}

/// How a user is named to others in a group: "@name", else the first name.
fn display_name(user: Option<&User>) -> String {
    match user {
        Some(u) => u
            .username
            .as_ref()
            .map_or_else(|| u.first_name.clone(), |name| format!("@{name}")),
        None => "someone else".into(),
    }
}

async fn on_message(ctx: &Ctx, message: &Message) -> anyhow::Result<()> {
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
        Some(command) => run_command(ctx, chat, user, &owner, command).await,
        None => Ok(send(ctx, chat, "Send a command — /help lists them.", None).await?),
    }
}

async fn run_command(
    ctx: &Ctx,
    chat: i64,
    user: i64,
    owner: &str,
    command: &str,
) -> anyhow::Result<()> {
    let open = |text: &'static str, rows| open_menu(ctx, (chat, user, owner), text, rows);
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

/// Opens a menu for (chat, user, owner's name): recorded first, then sent, so its buttons work
/// from the moment they appear, even across a restart.
async fn open_menu(
    ctx: &Ctx,
    (chat, user, owner): (i64, i64, &str),
    text: &str,
    rows: Rows,
) -> anyhow::Result<()> {
    let token = ctx.store.open_menu(chat, user, owner, "start").await?;
    Ok(send(ctx, chat, text, Some(rows(token))).await?)
}

async fn on_callback(ctx: &Ctx, query: &CallbackQuery) -> anyhow::Result<()> {
    let Some(message) = &query.message else {
        ctx.bot.answer_callback_query(query.id.clone()).await?;
        return Ok(());
    };
    let chat = message.chat().id.0;
    let user = query.from.id.0 as i64;
    let refuse = |text: String| {
        ctx.bot
            .answer_callback_query(query.id.clone())
            .text(text)
            .show_alert(true)
    };
    if !ctx.allowed(chat) {
        tracing::warn!(
            chat,
            "refused a button press from a chat that is not allowed"
        );
        refuse("⛔ Sorry, this bot is private.".into()).await?;
        return Ok(());
    }
    let Some((token, pressed)) = query.data.as_deref().and_then(buttons::decode) else {
        refuse("Unknown button.".into()).await?;
        return Ok(());
    };
    let menu = match token {
        None => None,
        Some(token) => match ctx.store.menu(chat, token).await? {
            None => {
                refuse("This menu is no longer active — send the command again.".into()).await?;
                return Ok(());
            }
            Some(open) if open.user_id != user => {
                let text = format!(
                    "This menu belongs to {}. Send the command yourself to get your own.",
                    open.owner
                );
                refuse(text).await?;
                return Ok(());
            }
            Some(_) => Some(Menu {
                ctx,
                chat,
                token,
                id: message.id(),
            }),
        },
    };
    // Answered before any slow work (queries, photos, spreadsheets).
    ctx.bot.answer_callback_query(query.id.clone()).await?;
    let Some(menu) = menu else {
        return match pressed {
            Button::Refresh => {
                let text = status_text(ctx).await?;
                let keyboard = Some(keyboard([vec![refresh_button()]]));
                Ok(edit(ctx, chat, message.id(), &text, keyboard).await?)
            }
            Button::Menu(command) => {
                run_command(ctx, chat, user, &display_name(Some(&query.from)), &command).await
            }
            _ => Ok(()),
        };
    };
    let token = menu.token;
    let step = pressed.step().unwrap_or("done");
    match pressed {
        Button::Menu(_) | Button::Refresh => Ok(()),
        Button::Day(day) => {
            let rows = queries::attendance(&ctx.pool, day, day, None).await?;
            if rows.is_empty() {
                return menu
                    .finish(&format!("📅 {day}: no attendance recorded."))
                    .await;
            }
            let buttons = rows.into_iter().map(|r| {
                vec![menu_button(
                    token,
                    &r.employee_name,
                    Button::Employee(day, r.employee_id),
                )]
            });
            let text = format!("📅 {day} — pick an employee");
            menu.advance(&text, keyboard(buttons), step).await
        }
        Button::Employee(day, employee) => {
            let rows = queries::attendance(&ctx.pool, day, day, Some(&employee)).await?;
            let Some(row) = rows.first() else {
                let text = format!("📅 {day}: no attendance recorded for this employee.");
                return menu.finish(&text).await;
            };
            let title = format!("📅 {} — {day}", row.employee_name);
            menu.deliver(&title, Job::Attendance { day, employee })
                .await
        }
        Button::Camera(camera) => {
            let Some(found) = queries::camera(&ctx.pool, &camera).await? else {
                return menu.finish("📷 This camera no longer exists.").await;
            };
            let title = format!("📷 {}", camera_text(&found.name, &found.location));
            menu.deliver(&title, Job::Capture { camera }).await
        }
        Button::ReportType(report) => {
            let mut rows = vec![vec![menu_button(
                token,
                "All employees",
                Button::ReportEmployee(report, None),
            )]];
            rows.extend(queries::employees(&ctx.pool).await?.into_iter().map(|e| {
                let label = format!("{} ({})", e.name, e.code);
                vec![menu_button(
                    token,
                    &label,
                    Button::ReportEmployee(report, Some(e.id)),
                )]
            }));
            let text = format!("📁 {} — pick an employee", report.title());
            menu.advance(&text, keyboard(rows), step).await
        }
        Button::ReportEmployee(report, employee) => {
            let ranges = Range::ALL.map(|r| {
                menu_button(
                    token,
                    r.label(),
                    Button::ReportRange(report, employee.clone(), r),
                )
            });
            let text = format!("📁 {} — pick a range", report.title());
            let keyboard = keyboard(ranges.chunks(2).map(<[_]>::to_vec));
            menu.advance(&text, keyboard, step).await
        }
        Button::ReportRange(report, employee, range) => {
            let (from, to) = range.days(today(ctx).await?);
            let title = format!("📁 {} — {}", report.title(), range.label());
            let job = Job::Export {
                report,
                employee,
                from,
                to,
            };
            menu.deliver(&title, job).await
        }
    }
}

/// "Front door (Lobby)": a camera as the reference system names it.
fn camera_text(name: &str, location: &str) -> String {
    if location.trim().is_empty() {
        name.to_owned()
    } else {
        format!("{name} ({location})")
    }
}

/// A camera's name and location by id (its id if it is gone).
pub(crate) async fn camera_label(ctx: &Ctx, id: &str) -> Result<String, sqlx::Error> {
    Ok(queries::camera(&ctx.pool, id).await?.map_or_else(
        || format!("camera {id}"),
        |c| camera_text(&c.name, &c.location),
    ))
}

/// The first instant of a local day (the earliest one if a DST change repeats midnight).
pub(crate) fn local_midnight(day: NaiveDate, tz: Tz) -> chrono::DateTime<Utc> {
    let midnight = day.and_time(NaiveTime::MIN);
    tz.from_local_datetime(&midnight)
        .earliest()
        // Midnight skipped by a DST jump: the day starts an hour later.
        .unwrap_or_else(|| tz.from_utc_datetime(&midnight))
        .with_timezone(&Utc)
}

async fn status_text(ctx: &Ctx) -> anyhow::Result<String> {
    let pool = &ctx.pool;
    let tz = tz(ctx).await?;
    let now = Utc::now();
    let today = now.with_timezone(&tz).date_naive();
    let employees = queries::employees(pool).await?;
    let active = employees.iter().filter(|e| e.status == "ACTIVE").count();
    let present = employees.iter().filter(|e| e.present == Some(true)).count();
    let cameras = queries::cameras(pool).await?;
    let fresh = chrono::Duration::seconds(ctx.settings.camera_online_sec as i64);
    let online = cameras
        .iter()
        .filter(|c| c.enabled)
        .filter(|c| {
            ctx.snapshots
                .latest(&c.id)
                .is_some_and(|(_, at)| now - at <= fresh)
        })
        .count();
    let attendance = queries::attendance(pool, today, today, None).await?.len();
    let open_alerts = queries::open_alerts(pool).await?.len();
    Ok(format!(
        "📊 Status — {}\n👥 Employees: {active} ({present} present)\n📷 Cameras online: {online} of {}\n\
         📅 Attendance today: {attendance}\n⚠️ Open alerts: {open_alerts}",
        local_time(now, tz),
        cameras.len()
    ))
}

pub(crate) async fn tz(ctx: &Ctx) -> Result<Tz, sqlx::Error> {
    Ok(queries::current_schedule(&ctx.pool).await?.timezone)
}

async fn today(ctx: &Ctx) -> Result<NaiveDate, sqlx::Error> {
    Ok(Utc::now().with_timezone(&tz(ctx).await?).date_naive())
}

pub(crate) async fn send(
    ctx: &Ctx,
    chat: i64,
    text: &str,
    keyboard: Option<InlineKeyboardMarkup>,
) -> Result<(), RequestError> {
    let mut request = ctx.bot.send_message(ChatId(chat), text);
    request.reply_markup = keyboard.map(Into::into);
    request.await?;
    Ok(())
}

/// Edits a message; Telegram's benign refusals (nothing changed, message gone) are no errors.
pub(crate) async fn edit(
    ctx: &Ctx,
    chat: i64,
    menu: MessageId,
    text: &str,
    keyboard: Option<InlineKeyboardMarkup>,
) -> Result<(), RequestError> {
    // No keyboard: Telegram removes the old one.
    let mut request = ctx.bot.edit_message_text(ChatId(chat), menu, text);
    request.reply_markup = keyboard;
    match request.await {
        Ok(_) => Ok(()),
        Err(e) if benign(&e) => {
            tracing::debug!(chat, "edit not needed: {e}");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// An open menu a button was pressed in (its owner pressed it).
struct Menu<'a> {
    ctx: &'a Ctx,
    chat: i64,
    token: i64,
    id: MessageId,
}

impl Menu<'_> {
    /// Moves the menu to its next step.
    async fn advance(
        &self,
        text: &str,
        keyboard: InlineKeyboardMarkup,
        step: &str,
    ) -> anyhow::Result<()> {
        self.ctx
            .store
            .menu_step(self.chat, self.token, step)
            .await?;
        Ok(edit(self.ctx, self.chat, self.id, text, Some(keyboard)).await?)
    }

    /// Ends the menu with nothing to deliver (its keyboard goes).
    async fn finish(&self, text: &str) -> anyhow::Result<()> {
        if self.ctx.store.drop_menu(self.chat, self.token).await? {
            edit(self.ctx, self.chat, self.id, text, None).await?;
        }
        Ok(())
    }

    /// Ends the menu and records `job` in one step (once, however often the button is
    /// pressed), then delivers it; what is not delivered now is after a restart.
    async fn deliver(&self, title: &str, job: Job) -> anyhow::Result<()> {
        let store = &self.ctx.store;
        if let Some(id) = store
            .close_menu(self.chat, self.token, self.id.0, title, &job)
            .await?
        {
            jobs::run(self.ctx, id).await;
        }
        Ok(())
    }
}
