//! Live updates: each subscription follows the projector's change feed (sent after commit) and
//! loads the changed row from the read model.

use async_graphql::{Context, Result, Subscription};
use chrono::Utc;
use facewatch_projections::{queries, Change};
use futures::{Stream, StreamExt};
use tokio_stream::wrappers::BroadcastStream;

use super::types::*;
use crate::AppState;

pub struct Subscription;

/// The changes of the live read model, skipping any a slow client missed (it reloads on demand).
fn changes(ctx: &Context<'_>) -> Result<(AppState, impl Stream<Item = Change>)> {
    let state = ctx.data::<AppState>()?.clone();
    let stream =
        BroadcastStream::new(state.projector().subscribe()).filter_map(|c| async { c.ok() });
    Ok((state, stream))
}

#[Subscription]
impl Subscription {
    /// An employee's presence changed (seen, entered, exited).
    async fn presence_changed(&self, ctx: &Context<'_>) -> Result<impl Stream<Item = Employee>> {
        let (state, changes) = changes(ctx)?;
        Ok(changes.filter_map(move |change| {
            let state = state.clone();
            async move {
                let Change::Presence { employee_id } = change else {
                    return None;
                };
                let view = queries::employee(state.pool(), &employee_id).await.ok()??;
                Some(view.into())
            }
        }))
    }

    async fn alert_raised(&self, ctx: &Context<'_>) -> Result<impl Stream<Item = Alert>> {
        let (state, changes) = changes(ctx)?;
        Ok(changes.filter_map(move |change| {
            let state = state.clone();
            async move {
                let Change::AlertRaised { id } = change else {
                    return None;
                };
                Some(queries::alert(state.pool(), id).await.ok()??.into())
            }
        }))
    }

    async fn alert_resolved(&self, ctx: &Context<'_>) -> Result<impl Stream<Item = Alert>> {
        let (state, changes) = changes(ctx)?;
        Ok(changes.filter_map(move |change| {
            let state = state.clone();
            async move {
                let Change::AlertResolved { id } = change else {
                    return None;
                };
                Some(queries::alert(state.pool(), id).await.ok()??.into())
            }
        }))
    }

    /// Somebody acknowledged an alert (with who and their note).
    async fn alert_acknowledged(&self, ctx: &Context<'_>) -> Result<impl Stream<Item = Alert>> {
        let (state, changes) = changes(ctx)?;
        Ok(changes.filter_map(move |change| {
            let state = state.clone();
            async move {
                let Change::AlertAcknowledged { id } = change else {
                    return None;
                };
                Some(queries::alert(state.pool(), id).await.ok()??.into())
            }
        }))
    }

    async fn attendance_updated(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = AttendanceRecord>> {
        let (state, changes) = changes(ctx)?;
        Ok(changes.filter_map(move |change| {
            let state = state.clone();
            async move {
                let Change::Attendance { employee_id, day } = change else {
                    return None;
                };
                let rows = queries::attendance(state.pool(), day, day, Some(&employee_id))
                    .await
                    .ok()?;
                rows.into_iter().next().map(Into::into)
            }
        }))
    }

    async fn schedule_changed(&self, ctx: &Context<'_>) -> Result<impl Stream<Item = Schedule>> {
        let (state, changes) = changes(ctx)?;
        Ok(changes.filter_map(move |change| {
            let state = state.clone();
            async move {
                if change != Change::Schedule {
                    return None;
                }
                let snapshot = queries::current_schedule(state.pool()).await.ok()?;
                Some(Schedule::at(&snapshot, Utc::now()))
            }
        }))
    }

    /// Every camera with its live health, now and then every `intervalSec` seconds (1–60):
    /// state, fps, last frame, and the error only while offline.
    async fn cameras_live(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 2)] interval_sec: u64,
    ) -> Result<impl Stream<Item = Vec<Camera>>> {
        let state = ctx.data::<AppState>()?.clone();
        let every = std::time::Duration::from_secs(interval_sec.clamp(1, 60));
        let ticks = futures::stream::unfold(true, move |first| async move {
            if !first {
                tokio::time::sleep(every).await;
            }
            Some(((), false))
        });
        // A failed read skips one tick rather than reporting "no cameras".
        Ok(ticks.filter_map(move |()| {
            let state = state.clone();
            async move {
                let cameras = queries::cameras(state.pool()).await.ok()?;
                Some(cameras.into_iter().map(Camera::from).collect())
            }
        }))
    }

    /// Employees or cameras were added, changed or removed (the id of what changed).
    async fn directory_changed(&self, ctx: &Context<'_>) -> Result<impl Stream<Item = String>> {
        let (_, changes) = changes(ctx)?;
        Ok(changes.filter_map(|change| async move {
            match change {
                Change::Employee { id } | Change::Camera { id } => Some(id),
                _ => None,
            }
        }))
    }
}
