//! Commands and their menus. Every menu is one keyboard message that each press edits; the
//! button data carries everything the next step needs plus the menu's token
//! (`17|a:e:2026-11-25:<employee>`). The menu is recorded (`bot.menus`) before it is sent, the
//! final tap closes it and records the requested work in one transaction (`jobs`), so neither a
//! restart right after a menu is sent nor one during the upload loses anything.

mod buttons;
mod callbacks;
mod commands;
mod jobs;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use facewatch_projections::queries;
use futures::future::join_all;
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardMarkup, MessageId, UpdateKind};
use teloxide::RequestError;
use tokio::sync::watch;

use crate::{benign, local_time, retry_after, Ctx};
pub(crate) use commands::COMMANDS;

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
    let id = i64::from(update.id.0);
    if !ctx.store.claim_update(id).await? {
        return Ok(());
    }
    let handled = match update.kind {
        UpdateKind::Message(message) => commands::on_message(ctx, &message, id).await,
        UpdateKind::CallbackQuery(query) => callbacks::on_callback(ctx, &query, id).await,
        _ => Ok(()),
    };
    // Also after a failure: Telegram's offset moves past it anyway; only a crash before this
    // line makes the next start handle it again.
    ctx.store.update_handled(id).await?;
    handled
}

/// "Front door (Lobby)": a camera as the reference system names it.
pub(super) fn camera_text(name: &str, location: &str) -> String {
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

pub(super) async fn status_text(ctx: &Ctx) -> anyhow::Result<String> {
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

pub(super) async fn today(ctx: &Ctx) -> Result<NaiveDate, sqlx::Error> {
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
