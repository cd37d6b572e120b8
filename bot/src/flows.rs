//! Commands and their menus. Every menu is one keyboard message that each press edits; the
//! button data carries everything the next step needs (`a:e:2026-11-25:<employee>`), and the
//! step a user is at is stored per (chat, user) with the menu's message id, so a restart
//! resumes the flow and a stale or foreign keyboard is refused instead of acted on twice.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{Days, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use facewatch_projections::queries::{self, AttendanceView};
use facewatch_reports::{
    alerts_xlsx, attendance_xlsx, AlertReportRow, AttendanceReportRow, ReportFilter,
};
use futures::future::join_all;
use serde::{Deserialize, Serialize};
use teloxide::prelude::*;
use teloxide::types::{
    CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message, MessageId,
    UpdateKind,
};

use crate::{local_time, retry_after, Ctx};

const HELP: &str = "👋 FaceWatch bot\n\n\
/start — turn on notifications for this chat (ENTER / EXIT, alerts, schedule changes; \
older events are not replayed)\n\
/stop — pause notifications\n\
/status — employees, cameras online, today's attendance, open alerts\n\
/attendance — a day → an employee → First In and Last Out photos\n\
/capture — a camera → its latest snapshot\n\
/export_data — report → employee → range → an .xlsx file\n\
/help — this guide";

/// Long-polls updates and handles them; chats run concurrently, each chat's updates in order.
pub(crate) async fn poll(ctx: Arc<Ctx>) {
    loop {
        let offset = match ctx.store.update_offset().await {
            Ok(o) => o,
            Err(e) => {
                tracing::error!("bot cannot read its update offset: {e}");
                tokio::time::sleep(crate::RETRY).await;
                continue;
            }
        };
        let updates = match ctx
            .bot
            .get_updates()
            .offset(i32::try_from(offset).unwrap_or(i32::MAX))
            .timeout(ctx.settings.poll_timeout_sec)
            .await
        {
            Ok(u) => u,
            Err(e) => {
                tracing::warn!("getUpdates failed: {}", ctx.redact(&e));
                tokio::time::sleep(retry_after(&e)).await;
                continue;
            }
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

async fn on_message(ctx: &Ctx, message: &Message) -> anyhow::Result<()> {
    let Some(text) = message.text() else {
        return Ok(());
    };
    let chat = message.chat.id.0;
    if !ctx.allowed(chat) {
        tracing::info!(chat, "refused a chat that is not allowed");
        ctx.bot
            .send_message(
                message.chat.id,
                format!(
                    "⛔ This chat may not use this bot. An administrator can allow it by adding \
                     chat id {chat} to bot.allowed_chats."
                ),
            )
            .await?;
        return Ok(());
    }
    let user = message.from.as_ref().map_or(chat, |u| u.id.0 as i64);
    // "/attendance@facewatch_bot args" → "attendance"
    let command = text
        .split_whitespace()
        .next()
        .and_then(|word| word.strip_prefix('/'))
        .map(|word| word.split('@').next().unwrap_or(word));
    match command {
        Some(command) => run_command(ctx, chat, user, command).await,
        None => send(ctx, chat, "Send a command — /help lists them.", None).await,
    }
}

async fn run_command(ctx: &Ctx, chat: i64, user: i64, command: &str) -> anyhow::Result<()> {
    match command {
        "start" => {
            ctx.store.activate(chat, ctx.feed.head().await?).await?;
            let keyboard = keyboard([vec![
                button("📊 Status", Button::Menu("status".into())),
                button("❓ Help", Button::Menu("help".into())),
            ]]);
            let text = "🔔 Notifications are on for this chat: ENTER / EXIT, alerts and \
                        schedule changes from now on (older events are not replayed).";
            send(ctx, chat, text, Some(keyboard)).await
        }
        "stop" => {
            let text = if ctx.store.deactivate(chat).await? {
                "🔕 Notifications paused. /start turns them back on."
            } else {
                "Notifications were not on for this chat. /start turns them on."
            };
            let keyboard = keyboard([vec![button("🔔 Resume", Button::Menu("start".into()))]]);
            send(ctx, chat, text, Some(keyboard)).await
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
            send(ctx, chat, HELP, Some(keyboard)).await
        }
        "status" => {
            let text = status_text(ctx).await?;
            send(ctx, chat, &text, Some(keyboard([vec![refresh_button()]]))).await
        }
        "attendance" => {
            let today = today(ctx).await?;
            let days = [("Today", 0), ("Yesterday", 1), ("2 days ago", 2)]
                .map(|(label, back)| button(label, Button::Day(today - Days::new(back))));
            let text = "📅 Attendance — pick a day";
            start_menu(ctx, chat, user, text, keyboard([days.to_vec()]), Step::Day).await
        }
        "capture" => {
            let cameras = queries::cameras(&ctx.pool).await?;
            if cameras.is_empty() {
                return send(ctx, chat, "📷 No cameras are configured.", None).await;
            }
            let rows = cameras
                .into_iter()
                .map(|c| vec![button(&c.name, Button::Camera(c.id))]);
            let text = "📷 Capture — pick a camera";
            start_menu(ctx, chat, user, text, keyboard(rows), Step::Camera).await
        }
        "export_data" => {
            let kinds = [Report::Attendance, Report::Alerts]
                .map(|r| button(r.title(), Button::ReportType(r)));
            let text = "📁 Export — pick a report";
            start_menu(
                ctx,
                chat,
                user,
                text,
                keyboard([kinds.to_vec()]),
                Step::Report,
            )
            .await
        }
        other => {
            let text = format!("Unknown command /{other}. /help lists the commands.");
            send(ctx, chat, &text, None).await
        }
    }
}

async fn on_callback(ctx: &Ctx, query: &CallbackQuery) -> anyhow::Result<()> {
    let Some(message) = &query.message else {
        ctx.bot.answer_callback_query(query.id.clone()).await?;
        return Ok(());
    };
    let chat = message.chat().id.0;
    let user = query.from.id.0 as i64;
    let refuse = |text: &str| {
        ctx.bot
            .answer_callback_query(query.id.clone())
            .text(text)
            .show_alert(true)
    };
    if !ctx.allowed(chat) {
        refuse("⛔ This chat may not use this bot.").await?;
        return Ok(());
    }
    let Some(pressed) = query.data.as_deref().and_then(Button::parse) else {
        refuse("Unknown button.").await?;
        return Ok(());
    };
    if let Some(step) = pressed.step() {
        let at: Option<Step> = ctx.store.conversation(chat, user, message.id().0).await?;
        if at != Some(step) {
            refuse("This menu is no longer active — send the command again.").await?;
            return Ok(());
        }
    }
    // Answered before any slow work (queries, photos, spreadsheets).
    ctx.bot.answer_callback_query(query.id.clone()).await?;
    let menu = Menu {
        ctx,
        chat,
        user,
        id: message.id(),
    };
    match pressed {
        Button::Menu(command) => run_command(ctx, chat, user, &command).await,
        Button::Refresh => {
            let text = status_text(ctx).await?;
            edit(
                ctx,
                chat,
                menu.id,
                &text,
                Some(keyboard([vec![refresh_button()]])),
            )
            .await
        }
        Button::Day(day) => {
            let rows = queries::attendance(&ctx.pool, day, day, None).await?;
            if rows.is_empty() {
                let text = format!("📅 {day}: no attendance recorded.");
                menu.finish(&text).await.map(drop)
            } else {
                let buttons = rows.into_iter().map(|r| {
                    vec![button(
                        &r.employee_name,
                        Button::Employee(day, r.employee_id),
                    )]
                });
                let text = format!("📅 {day} — pick an employee");
                menu.advance(&text, keyboard(buttons), Step::Employee).await
            }
        }
        Button::Employee(day, employee) => {
            let rows = queries::attendance(&ctx.pool, day, day, Some(&employee)).await?;
            let Some(row) = rows.first() else {
                let text = format!("📅 {day}: no attendance recorded for this employee.");
                return menu.finish(&text).await.map(drop);
            };
            let title = format!("📅 {} — {day}", row.employee_name);
            if menu.finish(&title).await? {
                send_attendance(ctx, chat, row).await?;
            }
            Ok(())
        }
        Button::Camera(camera_id) => {
            let Some(camera) = queries::camera(&ctx.pool, &camera_id).await? else {
                let text = "📷 This camera no longer exists.";
                return menu.finish(text).await.map(drop);
            };
            if !menu.finish(&format!("📷 {}", camera.name)).await? {
                return Ok(());
            }
            match ctx.snapshots.latest(&camera.id) {
                Some((path, at)) => {
                    let caption =
                        format!("📷 {} — {}", camera.name, local_time(at, tz(ctx).await?));
                    ctx.bot
                        .send_photo(ChatId(chat), InputFile::file(path))
                        .caption(caption)
                        .await?;
                    Ok(())
                }
                None => {
                    let text = format!("📷 {}: no snapshot yet.", camera.name);
                    send(ctx, chat, &text, None).await
                }
            }
        }
        Button::ReportType(report) => {
            let mut rows = vec![vec![button(
                "All employees",
                Button::ReportEmployee(report, None),
            )]];
            rows.extend(
                queries::employees(&ctx.pool)
                    .await?
                    .into_iter()
                    .map(|e| vec![button(&e.name, Button::ReportEmployee(report, Some(e.id)))]),
            );
            let text = format!("📁 {} — pick an employee", report.title());
            menu.advance(&text, keyboard(rows), Step::ReportEmployee)
                .await
        }
        Button::ReportEmployee(report, employee) => {
            let ranges = [Range::Today, Range::Yesterday, Range::Week, Range::Month]
                .map(|r| button(r.label(), Button::ReportRange(report, employee.clone(), r)));
            let text = format!("📁 {} — pick a range", report.title());
            let keyboard = keyboard(ranges.chunks(2).map(<[_]>::to_vec));
            menu.advance(&text, keyboard, Step::ReportRange).await
        }
        Button::ReportRange(report, employee, range) => {
            let text = format!("📁 {} — {}", report.title(), range.label());
            if menu.finish(&text).await? {
                export(ctx, chat, report, employee, range).await?;
            }
            Ok(())
        }
    }
}

/// First In and Last Out, each as its photo with the time and camera in the caption.
async fn send_attendance(ctx: &Ctx, chat: i64, row: &AttendanceView) -> anyhow::Result<()> {
    let tz = tz(ctx).await?;
    let moments = [
        (
            "🟢 First In",
            row.first_in,
            &row.first_in_camera,
            &row.first_in_photo,
        ),
        (
            "🔴 Last Out",
            row.last_out,
            &row.last_out_camera,
            &row.last_out_photo,
        ),
    ];
    for (label, at, camera, photo) in moments {
        let Some(at) = at else {
            send(ctx, chat, &format!("{label}: not recorded."), None).await?;
            continue;
        };
        let mut caption = format!("{label}: {}", local_time(at, tz));
        if let Some(camera) = camera {
            caption += &format!(" · {camera}");
        }
        let file = photo
            .as_deref()
            .and_then(|r| ctx.snapshots.resolve(r).ok())
            .filter(|p| p.is_file());
        match file {
            Some(path) => {
                ctx.bot
                    .send_photo(ChatId(chat), InputFile::file(path))
                    .caption(caption)
                    .await?;
            }
            None => send(ctx, chat, &format!("{caption}\n(no photo)"), None).await?,
        }
    }
    Ok(())
}

async fn export(
    ctx: &Ctx,
    chat: i64,
    report: Report,
    employee_id: Option<String>,
    range: Range,
) -> anyhow::Result<()> {
    let tz = tz(ctx).await?;
    let (from, to) = range.days(Utc::now().with_timezone(&tz).date_naive());
    let employee = match &employee_id {
        Some(id) => Some(
            queries::employee(&ctx.pool, id)
                .await?
                .with_context(|| format!("employee {id} does not exist"))?,
        ),
        None => None,
    };
    let filter = ReportFilter {
        from,
        to,
        employee: employee
            .as_ref()
            .map(|e| format!("{} ({})", e.name, e.code)),
    };
    filter.validate()?;
    let (bytes, rows) = match report {
        Report::Attendance => {
            let rows: Vec<AttendanceReportRow> =
                queries::attendance(&ctx.pool, from, to, employee_id.as_deref())
                    .await?
                    .into_iter()
                    .map(|v| AttendanceReportRow::from(&v))
                    .collect();
            (attendance_xlsx(&rows, &filter, tz)?, rows.len())
        }
        Report::Alerts => {
            let start = local_midnight(from, tz);
            let end = local_midnight(to + Days::new(1), tz);
            let rows: Vec<AlertReportRow> =
                queries::alerts(&ctx.pool, start, end, employee_id.as_deref(), false)
                    .await?
                    .into_iter()
                    .map(|v| AlertReportRow::from(&v))
                    .collect();
            (alerts_xlsx(&rows, &filter, tz)?, rows.len())
        }
    };
    let name = format!("{}_{from}_{to}.xlsx", report.file_stem());
    ctx.bot
        .send_document(ChatId(chat), InputFile::memory(bytes).file_name(name))
        .caption(filter.describe(&format!("{} report", report.title()), rows))
        .await?;
    Ok(())
}

/// The first instant of a local day (the earliest one if a DST change repeats midnight).
fn local_midnight(day: NaiveDate, tz: Tz) -> chrono::DateTime<Utc> {
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

async fn tz(ctx: &Ctx) -> Result<Tz, sqlx::Error> {
    Ok(queries::current_schedule(&ctx.pool).await?.timezone)
}

async fn today(ctx: &Ctx) -> Result<NaiveDate, sqlx::Error> {
    Ok(Utc::now().with_timezone(&tz(ctx).await?).date_naive())
}

async fn send(
    ctx: &Ctx,
    chat: i64,
    text: &str,
    keyboard: Option<InlineKeyboardMarkup>,
) -> anyhow::Result<()> {
    let mut request = ctx.bot.send_message(ChatId(chat), text);
    request.reply_markup = keyboard.map(Into::into);
    request.await?;
    Ok(())
}

async fn edit(
    ctx: &Ctx,
    chat: i64,
    menu: MessageId,
    text: &str,
    keyboard: Option<InlineKeyboardMarkup>,
) -> anyhow::Result<()> {
    // No keyboard: Telegram removes the old one.
    let mut request = ctx.bot.edit_message_text(ChatId(chat), menu, text);
    request.reply_markup = keyboard;
    request.await?;
    Ok(())
}

/// Sends a menu and makes it the user's current conversation (replacing any older one).
async fn start_menu(
    ctx: &Ctx,
    chat: i64,
    user: i64,
    text: &str,
    keyboard: InlineKeyboardMarkup,
    step: Step,
) -> anyhow::Result<()> {
    let sent = ctx
        .bot
        .send_message(ChatId(chat), text)
        .reply_markup(keyboard)
        .await?;
    ctx.store
        .save_conversation(chat, user, sent.id.0, &step)
        .await?;
    Ok(())
}

/// The menu message a button was pressed in, and who pressed it.
struct Menu<'a> {
    ctx: &'a Ctx,
    chat: i64,
    user: i64,
    id: MessageId,
}

impl Menu<'_> {
    /// Moves the menu to its next step.
    async fn advance(
        &self,
        text: &str,
        keyboard: InlineKeyboardMarkup,
        step: Step,
    ) -> anyhow::Result<()> {
        let (ctx, chat) = (self.ctx, self.chat);
        ctx.store
            .save_conversation(chat, self.user, self.id.0, &step)
            .await?;
        edit(ctx, chat, self.id, text, Some(keyboard)).await
    }

    /// Ends the menu (its keyboard goes); false when another press already ended it.
    async fn finish(&self, text: &str) -> anyhow::Result<bool> {
        let store = &self.ctx.store;
        if !store
            .finish_conversation(self.chat, self.user, self.id.0)
            .await?
        {
            return Ok(false);
        }
        edit(self.ctx, self.chat, self.id, text, None).await?;
        Ok(true)
    }
}

fn keyboard(rows: impl IntoIterator<Item = Vec<InlineKeyboardButton>>) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(rows)
}

fn button(label: &str, pressed: Button) -> InlineKeyboardButton {
    InlineKeyboardButton::callback(label, pressed.data())
}

fn refresh_button() -> InlineKeyboardButton {
    button("🔄 Refresh", Button::Refresh)
}

/// Where a user is in a menu (stored in `bot.conversations`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Step {
    Day,
    Employee,
    Camera,
    Report,
    ReportEmployee,
    ReportRange,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Report {
    Attendance,
    Alerts,
}

impl Report {
    fn title(self) -> &'static str {
        match self {
            Report::Attendance => "Attendance",
            Report::Alerts => "Alerts",
        }
    }

    fn file_stem(self) -> &'static str {
        match self {
            Report::Attendance => "attendance",
            Report::Alerts => "alerts",
        }
    }

    fn code(self) -> &'static str {
        match self {
            Report::Attendance => "a",
            Report::Alerts => "l",
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        [Report::Attendance, Report::Alerts]
            .into_iter()
            .find(|r| r.code() == code)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Range {
    Today,
    Yesterday,
    Week,
    Month,
}

impl Range {
    const ALL: [Range; 4] = [Range::Today, Range::Yesterday, Range::Week, Range::Month];

    fn label(self) -> &'static str {
        match self {
            Range::Today => "Today",
            Range::Yesterday => "Yesterday",
            Range::Week => "Last 7 days",
            Range::Month => "Last 30 days",
        }
    }

    fn code(self) -> &'static str {
        match self {
            Range::Today => "td",
            Range::Yesterday => "yd",
            Range::Week => "7d",
            Range::Month => "30d",
        }
    }

    /// Inclusive local days, ending today.
    fn days(self, today: NaiveDate) -> (NaiveDate, NaiveDate) {
        match self {
            Range::Today => (today, today),
            Range::Yesterday => (today - Days::new(1), today - Days::new(1)),
            Range::Week => (today - Days::new(6), today),
            Range::Month => (today - Days::new(29), today),
        }
    }
}

/// A button press, encoded in the callback data (Telegram allows 64 bytes; employee and
/// camera ids are UUIDs, so every form fits).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Button {
    /// Runs a command, as if typed.
    Menu(String),
    /// Re-renders the status message in place.
    Refresh,
    Day(NaiveDate),
    Employee(NaiveDate, String),
    Camera(String),
    ReportType(Report),
    ReportEmployee(Report, Option<String>),
    ReportRange(Report, Option<String>, Range),
}

impl Button {
    fn data(&self) -> String {
        let who = |e: &Option<String>| e.clone().unwrap_or_else(|| "*".into());
        match self {
            Button::Menu(command) => format!("m:{command}"),
            Button::Refresh => "s".into(),
            Button::Day(day) => format!("a:d:{day}"),
            Button::Employee(day, id) => format!("a:e:{day}:{id}"),
            Button::Camera(id) => format!("c:{id}"),
            Button::ReportType(r) => format!("x:t:{}", r.code()),
            Button::ReportEmployee(r, e) => format!("x:e:{}:{}", r.code(), who(e)),
            Button::ReportRange(r, e, range) => {
                format!("x:r:{}:{}:{}", r.code(), who(e), range.code())
            }
        }
    }

    fn parse(data: &str) -> Option<Self> {
        let who = |e: &str| (e != "*").then(|| e.to_string());
        let parts: Vec<&str> = data.splitn(5, ':').collect();
        Some(match parts.as_slice() {
            ["m", command] => Button::Menu(command.to_string()),
            ["s"] => Button::Refresh,
            ["a", "d", day] => Button::Day(day.parse().ok()?),
            ["a", "e", day, id] => Button::Employee(day.parse().ok()?, id.to_string()),
            ["c", id] => Button::Camera(id.to_string()),
            ["x", "t", r] => Button::ReportType(Report::from_code(r)?),
            ["x", "e", r, e] => Button::ReportEmployee(Report::from_code(r)?, who(e)),
            ["x", "r", r, e, range] => Button::ReportRange(
                Report::from_code(r)?,
                who(e),
                Range::ALL.into_iter().find(|x| x.code() == *range)?,
            ),
            _ => return None,
        })
    }

    /// The menu step this button belongs to; `None` for buttons valid at any time.
    fn step(&self) -> Option<Step> {
        match self {
            Button::Menu(_) | Button::Refresh => None,
            Button::Day(_) => Some(Step::Day),
            Button::Employee(..) => Some(Step::Employee),
            Button::Camera(_) => Some(Step::Camera),
            Button::ReportType(_) => Some(Step::Report),
            Button::ReportEmployee(..) => Some(Step::ReportEmployee),
            Button::ReportRange(..) => Some(Step::ReportRange),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn button_data_round_trips_and_fits_telegram() {
        let id = "0b6f3a52-9c1e-4d7e-8f7a-2a4b5c6d7e8f".to_string();
        let day = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let buttons = [
            Button::Menu("export_data".into()),
            Button::Refresh,
            Button::Day(day),
            Button::Employee(day, id.clone()),
            Button::Camera(id.clone()),
            Button::ReportType(Report::Alerts),
            Button::ReportEmployee(Report::Attendance, None),
            Button::ReportEmployee(Report::Alerts, Some(id.clone())),
            Button::ReportRange(Report::Alerts, Some(id.clone()), Range::Month),
            Button::ReportRange(Report::Attendance, None, Range::Yesterday),
        ];
        for b in buttons {
            let data = b.data();
            assert!(data.len() <= 64, "{data} is too long for Telegram");
            assert_eq!(Button::parse(&data), Some(b));
        }
        for bad in ["", "a:d:yesterday", "x:t:q", "x:r:a:*:1y", "zzz"] {
            assert_eq!(Button::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn ranges_end_today() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        assert_eq!(Range::Today.days(today), (today, today));
        assert_eq!(Range::Yesterday.days(today), (day(24), day(24)));
        assert_eq!(Range::Week.days(today), (day(19), today));
        assert_eq!(
            Range::Month.days(today).0,
            NaiveDate::from_ymd_opt(2026, 10, 27).unwrap()
        );
    }
}
