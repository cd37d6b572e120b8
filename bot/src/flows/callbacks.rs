//! Button presses: the menu's token decides whether (and whose) it is, then the step runs.

use facewatch_projections::queries;
use teloxide::prelude::*;
use teloxide::types::{CallbackQuery, InlineKeyboardMarkup, MessageId};

use super::buttons::{self, keyboard, menu_button, refresh_button, Button, Range};
use super::commands::{display_name, run_command};
use super::jobs::{self, Job};
use super::{camera_text, edit, status_text, today};
use crate::Ctx;

pub(super) async fn on_callback(
    ctx: &Ctx,
    query: &CallbackQuery,
    update: i64,
) -> anyhow::Result<()> {
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
        // Menus from before tokens (an older version of the bot) are closed.
        None if pressed.step().is_some() => {
            refuse("This menu is no longer active — send the command again.".into()).await?;
            return Ok(());
        }
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
                let owner = display_name(Some(&query.from));
                run_command(ctx, (chat, user, &owner, update), &command).await
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
