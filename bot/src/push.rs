//! Push notices: follow the event log (woken by `LISTEN facewatch_events`), turn each relevant
//! event into messages once the read models have caught up with it, record them durably per
//! chat, then send whatever is recorded and unsent.
//!
//! Delivery is at least once and, short of one narrow window, never twice:
//! 1. `BotStore::plan` inserts one `pending` row per (chat, event, kind) and advances the event
//!    cursor in the same transaction; the primary key makes a second planning a no-op.
//! 2. Each pending row is sent, then marked `sent`. A restart resends only `pending` rows.
//!
//! The window: a crash after Telegram accepted a message but before the `sent` update commits
//! (one local UPDATE, milliseconds) makes that one message go out again after the restart. The
//! Bot API has no idempotency key, so closing it would mean risking a lost message instead.

use std::sync::Arc;
use std::time::Duration;

use chrono_tz::Tz;
use facewatch_domain::presence::PresenceEvent;
use facewatch_domain::schedule::{Mode, ScheduleEvent, ScheduleSnapshot, TimeRange};
use facewatch_domain::AnyEvent;
use facewatch_projections::queries::{self, AlertView};
use facewatch_projections::Projector;
use facewatch_store::{follow_log, FollowOptions, LogFollower, RecordedEvent, READ_SCHEMA};
use teloxide::prelude::*;
use teloxide::{ApiError, RequestError};
use tokio::sync::watch;

use crate::flows::camera_label;
use crate::{describe_actor, local_time, retry_after, Ctx, RETRY};

const BATCH: i64 = 200;
/// Safety net for a missed notification (the listener reconnects silently).
const IDLE_WAKE: Duration = Duration::from_secs(60);

/// Plans and sends pushes until `stop` is set (a push being sent is finished first).
pub(crate) async fn follow(ctx: Arc<Ctx>, mut stop: watch::Receiver<bool>) {
    let projector = Projector::new(ctx.pool.clone(), READ_SCHEMA);
    let pool = ctx.pool.clone();
    let options = FollowOptions {
        name: "bot",
        idle: IDLE_WAKE,
        retry: RETRY,
    };
    let mut pushes = Pushes { ctx, projector };
    follow_log(&pool, options, &mut pushes, crate::stopped(&mut stop)).await;
}

struct Pushes {
    ctx: Arc<Ctx>,
    projector: Projector,
}

impl LogFollower for Pushes {
    type Error = anyhow::Error;

    async fn step(&mut self) -> anyhow::Result<Option<Duration>> {
        // Pushes already planned go out even while the log cannot be read.
        let planned = plan_new_events(&self.ctx, &self.projector).await;
        let retry = deliver(&self.ctx).await;
        planned.map(|()| retry)
    }
}

async fn plan_new_events(ctx: &Ctx, projector: &Projector) -> anyhow::Result<()> {
    loop {
        let cursor = ctx.store.event_cursor().await?;
        let events = ctx.feed.read_after(cursor, BATCH).await?;
        if events.is_empty() {
            return Ok(());
        }
        for event in events {
            // Messages quote names and alert verdicts from the read models.
            projector.wait_until_applied(event.seq).await?;
            let pushes = render(ctx, &event).await?;
            tracing::debug!(seq = event.seq, pushes = pushes.len(), "event planned");
            ctx.store.plan(event.seq, &pushes).await?;
        }
    }
}

/// Sends every pending push in log order; on failure, how long to wait before trying again.
async fn deliver(ctx: &Ctx) -> Option<Duration> {
    let pending = match ctx.store.pending().await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!("bot cannot read its pending deliveries: {e}");
            return Some(RETRY);
        }
    };
    for delivery in pending {
        match ctx
            .bot
            .send_message(ChatId(delivery.chat_id), &delivery.body)
            .await
        {
            Ok(_) => {
                if let Err(e) = ctx.store.mark_sent(&delivery).await {
                    tracing::error!("bot cannot record a sent push: {e}");
                    return Some(RETRY);
                }
            }
            // Telegram refuses this chat for good (bot blocked, chat gone): stop pushing to it
            // instead of retrying forever and holding up the others; /start turns it back on.
            Err(RequestError::Api(e)) if chat_is_gone(&e) => {
                tracing::warn!(
                    chat = delivery.chat_id,
                    "push refused, pausing the chat: {e}"
                );
                if let Err(e) = ctx.store.deactivate(delivery.chat_id).await {
                    tracing::error!("bot cannot pause chat {}: {e}", delivery.chat_id);
                    return Some(RETRY);
                }
            }
            Err(e) => {
                tracing::warn!("push failed, will retry: {}", ctx.redact(&e));
                return Some(retry_after(&e));
            }
        }
    }
    None
}

fn chat_is_gone(error: &ApiError) -> bool {
    matches!(
        error,
        ApiError::BotBlocked
            | ApiError::ChatNotFound
            | ApiError::GroupDeactivated
            | ApiError::BotKicked
            | ApiError::BotKickedFromSupergroup
            | ApiError::BotKickedFromChannel
            | ApiError::UserDeactivated
            | ApiError::CantInitiateConversation
            | ApiError::CantTalkWithBots
    )
}

/// The (kind, text) pushes one event makes, in the order they are to be sent.
async fn render(ctx: &Ctx, rec: &RecordedEvent) -> anyhow::Result<Vec<(String, String)>> {
    let pool = &ctx.pool;
    let tz = queries::current_schedule(pool).await?.timezone;
    let mut pushes = Vec::new();
    let mut push = |kind: String, body: String| pushes.push((kind, body));
    match &rec.event {
        AnyEvent::Presence(PresenceEvent::EmployeeEntered { camera_id, at, .. }) => {
            let name = employee_name(ctx, &rec.aggregate_id).await?;
            let camera = camera_label(ctx, camera_id).await?;
            push(
                "enter".into(),
                format!("🟢 ENTER — {name}\n{} · {camera}", local_time(*at, tz)),
            );
            let resolved =
                queries::alerts_resolved_by_entry(pool, &rec.aggregate_id, rec.seq, *at).await?;
            for alert in &resolved {
                push(
                    format!("alert_resolved:{}", alert.id),
                    format!(
                        "✅ Alert {} resolved — {name} is back\nLeft {} · back {}",
                        alert_name(alert),
                        local_time(alert.raised_at, tz),
                        local_time(*at, tz)
                    ),
                );
            }
        }
        AnyEvent::Presence(PresenceEvent::EmployeeExited { camera_id, at, .. }) => {
            let name = employee_name(ctx, &rec.aggregate_id).await?;
            let camera = camera_label(ctx, camera_id).await?;
            push(
                "exit".into(),
                format!(
                    "🔴 EXIT — {name}\nlast seen {} · {camera}",
                    local_time(*at, tz)
                ),
            );
            // The projector raised an alert for this exit iff a row has its position as id.
            if let Some(alert) = queries::alert(pool, rec.seq).await? {
                push(
                    "alert_raised".into(),
                    format!(
                        "⚠️ ALERT {} — {name} left during work hours\nlast seen {} · {camera}",
                        alert_name(&alert),
                        local_time(alert.raised_at, tz)
                    ),
                );
            }
        }
        AnyEvent::Schedule(change) => {
            let history = queries::schedule_history(pool).await?;
            let before = history
                .iter()
                .rev()
                .find(|v| v.seq < rec.seq)
                .map(|v| v.snapshot.0.clone())
                .unwrap_or_default();
            let now_in_force = history
                .into_iter()
                .find(|v| v.seq == rec.seq)
                .map(|v| v.snapshot.0)
                .unwrap_or_default();
            let by = describe_actor(rec.actor.as_deref())
                .map(|who| format!(" by {who}"))
                .unwrap_or_default();
            push(
                "schedule".into(),
                format!(
                    "🗓 Schedule changed{by}: {}\nNow: {}",
                    describe_change(change, &before, tz),
                    monitoring(&now_in_force)
                ),
            );
        }
        _ => {}
    }
    Ok(pushes)
}

/// "#3 of Wed 25 Nov": the alert's number among its day's alerts, something a person can say.
fn alert_name(alert: &AlertView) -> String {
    format!("#{} of {}", alert.day_number, alert.day.format("%a %-d %b"))
}

async fn employee_name(ctx: &Ctx, id: &str) -> Result<String, sqlx::Error> {
    Ok(queries::employee(&ctx.pool, id)
        .await?
        .map_or_else(|| format!("employee {id}"), |e| e.name))
}

/// What changed, not the whole schedule: for saved work hours, only the days, lunch and zone
/// that differ from the version before.
fn describe_change(change: &ScheduleEvent, before: &ScheduleSnapshot, tz: Tz) -> String {
    match change {
        ScheduleEvent::ScheduleSaved {
            work_hours,
            lunch,
            timezone,
            ..
        } => {
            let hours = |r: &Option<TimeRange>| r.as_ref().map_or("off".to_owned(), range);
            let mut changes: Vec<String> = DAYS
                .iter()
                .zip(before.work_hours.days.iter().zip(&work_hours.days))
                .filter(|(_, (old, new))| old != new)
                .map(|(day, (old, new))| format!("{day} {} → {}", hours(old), hours(new)))
                .collect();
            if before.lunch != *lunch {
                let show = |l: &Option<TimeRange>| l.as_ref().map_or("none".to_owned(), range);
                changes.push(format!("lunch {} → {}", show(&before.lunch), show(lunch)));
            }
            if before.timezone != *timezone {
                changes.push(format!("time zone {} → {}", before.timezone, timezone));
            }
            if changes.is_empty() {
                "work hours saved, nothing changed".into()
            } else {
                changes.join(", ")
            }
        }
        ScheduleEvent::ModeSwitched { mode, .. } => {
            format!("mode switched to {}", mode_name(*mode))
        }
        ScheduleEvent::ManualTrackingSet { on, .. } => {
            format!("manual tracking {}", if *on { "on" } else { "off" })
        }
        ScheduleEvent::Paused { until, .. } => {
            format!("monitoring paused until {}", local_time(*until, tz))
        }
        ScheduleEvent::Resumed { .. } => "monitoring resumed".into(),
    }
}

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn range(r: &TimeRange) -> String {
    format!("{}–{}", r.start.format("%H:%M"), r.end.format("%H:%M"))
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Auto => "automatic (work hours)",
        Mode::Manual => "manual",
    }
}

/// The state of monitoring after a change, in one short line.
fn monitoring(s: &ScheduleSnapshot) -> String {
    let mode = match (s.mode, s.manual_tracking) {
        (Mode::Auto, _) => "Auto mode (work hours)",
        (Mode::Manual, true) => "Manual mode (tracking on)",
        (Mode::Manual, false) => "Manual mode (tracking off)",
    };
    match s.paused_until {
        Some(until) => format!("{mode}, paused until {}", local_time(until, s.timezone)),
        None => mode.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_schedule_names_only_what_changed() {
        let before = ScheduleSnapshot::default();
        let mut hours = before.work_hours;
        hours.days[0] = Some(TimeRange {
            start: "09:00:00".parse().unwrap(),
            end: "18:00:00".parse().unwrap(),
        });
        hours.days[5] = hours.days[1];
        let change = ScheduleEvent::ScheduleSaved {
            work_hours: hours,
            lunch: before.lunch,
            timezone: chrono_tz::Asia::Jakarta,
            alert_min_interval_sec: 300,
            effective_at: chrono::Utc::now(),
        };
        assert_eq!(
            describe_change(&change, &before, chrono_tz::UTC),
            "Mon 08:00–17:00 → 09:00–18:00, Sat off → 08:00–17:00, time zone UTC → Asia/Jakarta"
        );
    }
}
