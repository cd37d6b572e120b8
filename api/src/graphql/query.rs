use async_graphql::{Context, Object, Result};
use chrono::{DateTime, NaiveDate, Utc};
use facewatch_projections::queries::{self, EventFilter};
use facewatch_store::EventFeed;

use super::errors::{bad_input, internal, not_found};
use super::types::*;
use crate::AppState;

pub struct Query;

/// The longest range one attendance or alert query may span.
pub const MAX_RANGE_DAYS: i64 = 366;

pub fn check_day_range(from: NaiveDate, to: NaiveDate) -> Result<()> {
    if from > to {
        return Err(bad_input(format!(
            "date range is inverted: {from} is after {to}"
        )));
    }
    if (to - from).num_days() >= MAX_RANGE_DAYS {
        return Err(bad_input(format!(
            "date range {from} – {to} is longer than {MAX_RANGE_DAYS} days"
        )));
    }
    Ok(())
}

/// Rows one `events` field may ask for.
const MAX_EVENTS: i64 = 5000;

/// The days a range spans, for the complexity of range queries (an inverted or over-long range
/// is refused by the resolver; it costs the most here).
fn range_days(from: NaiveDate, to: NaiveDate) -> usize {
    (to - from).num_days().clamp(0, MAX_RANGE_DAYS) as usize + 1
}

fn check_time_range(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<()> {
    if from > to {
        return Err(bad_input(format!(
            "time range is inverted: {from} is after {to}"
        )));
    }
    Ok(())
}

#[Object(name = "ReadQuery")]
impl Query {
    /// Employees (not deleted) with their live presence.
    async fn employees(&self, ctx: &Context<'_>) -> Result<Vec<Employee>> {
        let state = ctx.data::<AppState>()?;
        let rows = queries::employees(state.pool()).await.map_err(internal)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn employee(&self, ctx: &Context<'_>, id: String) -> Result<Employee> {
        let state = ctx.data::<AppState>()?;
        queries::employee(state.pool(), &id)
            .await
            .map_err(internal)?
            .map(Into::into)
            .ok_or_else(|| not_found("employee", &id))
    }

    async fn cameras(&self, ctx: &Context<'_>) -> Result<Vec<Camera>> {
        let state = ctx.data::<AppState>()?;
        let rows = queries::cameras(state.pool()).await.map_err(internal)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn camera(&self, ctx: &Context<'_>, id: String) -> Result<Camera> {
        let state = ctx.data::<AppState>()?;
        queries::camera(state.pool(), &id)
            .await
            .map_err(internal)?
            .map(Into::into)
            .ok_or_else(|| not_found("camera", &id))
    }

    /// The schedule in force now, with the current monitoring state.
    async fn schedule(&self, ctx: &Context<'_>) -> Result<Schedule> {
        let state = ctx.data::<AppState>()?;
        let snapshot = queries::current_schedule(state.pool())
            .await
            .map_err(internal)?;
        Ok(Schedule::at(&snapshot, Utc::now()))
    }

    /// Every version of the schedule, oldest first.
    async fn schedule_history(&self, ctx: &Context<'_>) -> Result<Vec<Schedule>> {
        let state = ctx.data::<AppState>()?;
        let versions = queries::schedule_history(state.pool())
            .await
            .map_err(internal)?;
        Ok(versions
            .into_iter()
            .map(|v| Schedule::at(&v.snapshot.0, v.effective_at))
            .collect())
    }

    /// Attendance for one day, or a range of days (`to` defaults to `from`), optionally one employee.
    /// Costs its fields once per day of the range (see the complexity limit).
    #[graphql(complexity = "range_days(from, to.unwrap_or(from)) * child_complexity")]
    async fn attendance(
        &self,
        ctx: &Context<'_>,
        from: NaiveDate,
        to: Option<NaiveDate>,
        employee_id: Option<String>,
    ) -> Result<Vec<AttendanceRecord>> {
        let state = ctx.data::<AppState>()?;
        let to = to.unwrap_or(from);
        check_day_range(from, to)?;
        let rows = queries::attendance(state.pool(), from, to, employee_id.as_deref())
            .await
            .map_err(internal)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Alerts raised in `[from, to)`; costs its fields once per day of the range.
    #[graphql(complexity = "range_days(from.date_naive(), to.date_naive()) * child_complexity")]
    async fn alerts(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        employee_id: Option<String>,
        #[graphql(default = false)] open_only: bool,
    ) -> Result<Vec<Alert>> {
        let state = ctx.data::<AppState>()?;
        check_time_range(from, to)?;
        let rows = queries::alerts(state.pool(), from, to, employee_id.as_deref(), open_only)
            .await
            .map_err(internal)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn open_alerts(&self, ctx: &Context<'_>) -> Result<Vec<Alert>> {
        let state = ctx.data::<AppState>()?;
        let rows = queries::open_alerts(state.pool()).await.map_err(internal)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// The audit log, newest first; costs its fields once per row of `limit`.
    #[graphql(complexity = "limit.clamp(1, MAX_EVENTS) as usize * child_complexity")]
    // Each parameter is one of the field's GraphQL arguments (filters and paging).
    #[allow(clippy::too_many_arguments)]
    async fn events(
        &self,
        ctx: &Context<'_>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        event_type: Option<String>,
        employee_id: Option<String>,
        #[graphql(default = 200)] limit: i64,
        // Keyset paging: the `seq` of the last row of the previous page.
        before_seq: Option<i64>,
    ) -> Result<Vec<EventEntry>> {
        let state = ctx.data::<AppState>()?;
        if let (Some(from), Some(to)) = (from, to) {
            check_time_range(from, to)?;
        }
        if !(1..=MAX_EVENTS).contains(&limit) {
            return Err(bad_input(format!(
                "limit must be between 1 and {MAX_EVENTS}"
            )));
        }
        let filter = EventFilter {
            from,
            to,
            event_type,
            employee_id,
            before_seq,
            limit,
        };
        let rows = queries::events(state.pool(), &filter)
            .await
            .map_err(internal)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// The event types the audit log holds (`EmployeeEntered` …) with their aggregate type.
    async fn event_types(&self, ctx: &Context<'_>) -> Result<Vec<EventTypeEntry>> {
        let state = ctx.data::<AppState>()?;
        let rows = queries::event_types(state.pool()).await.map_err(internal)?;
        Ok(rows
            .into_iter()
            .map(|(aggregate_type, event_type)| EventTypeEntry {
                aggregate_type,
                event_type,
            })
            .collect())
    }

    /// The AI parameters in force at the next restart: `{path, source, params}`.
    async fn ai_parameters(
        &self,
        ctx: &Context<'_>,
    ) -> Result<async_graphql::Json<serde_json::Value>> {
        let state = ctx.data::<AppState>()?;
        crate::params::ai_params(state)
            .await
            .map(async_graphql::Json)
            .map_err(super::errors::app_error)
    }

    async fn system(&self, ctx: &Context<'_>) -> Result<SystemStatus> {
        let state = ctx.data::<AppState>()?;
        let stored = EventFeed::new(state.pool().clone())
            .count()
            .await
            .map_err(internal)?;
        let projected = state.projector().checkpoint().await.map_err(internal)?;
        Ok(SystemStatus {
            started_at: state.started_at(),
            uptime_seconds: (Utc::now() - state.started_at()).num_seconds(),
            events_stored: stored,
            projected_up_to: projected,
        })
    }
}
