//! Unknown visitors: the faces cameras settled as nobody enrolled, grouped by stranger, and what
//! an administrator does with a group (enrol as a new employee, attach to an existing one,
//! dismiss). Reads come from `facewatch_projections::visitors`, writes from the app's use cases.

use async_graphql::{Context, Enum, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use facewatch_projections::visitors::{self, UnknownFaceView, VisitorGroupView};

use super::caller::caller;
use super::errors::{app_error, internal};
use super::mutation::EmployeeInput;
use super::types::Employee;
use crate::rest::files;
use crate::AppState;

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "facewatch_projections::visitors::VisitorStatus")]
pub enum VisitorStatus {
    Open,
    Enrolled,
    Attached,
    Dismissed,
}

/// One track a camera settled as unknown.
#[derive(SimpleObject)]
pub struct UnknownFace {
    pub id: String,
    pub camera_id: String,
    pub seen_at: DateTime<Utc>,
    pub track_id: i64,
    /// Where the face snapshot is served (absent when it could not be saved or was purged by
    /// retention).
    pub snapshot_url: Option<String>,
    pub status: VisitorStatus,
}

/// One stranger: their open faces across tracks and cameras, oldest first.
#[derive(SimpleObject)]
pub struct VisitorGroup {
    pub id: String,
    pub faces: Vec<UnknownFace>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// The cameras that saw them, each once.
    pub cameras: Vec<String>,
}

impl From<UnknownFaceView> for UnknownFace {
    fn from(v: UnknownFaceView) -> Self {
        Self {
            snapshot_url: v.snapshot_ref.as_deref().map(files::url),
            id: v.id,
            camera_id: v.camera_id,
            seen_at: v.seen_at,
            track_id: v.track_id,
            status: v.status.into(),
        }
    }
}

impl From<VisitorGroupView> for VisitorGroup {
    fn from(v: VisitorGroupView) -> Self {
        let mut cameras: Vec<String> = v.faces.iter().map(|f| f.camera_id.clone()).collect();
        cameras.sort();
        cameras.dedup();
        Self {
            id: v.id,
            first_seen: v.first_seen,
            last_seen: v.last_seen,
            cameras,
            faces: v.faces.into_iter().map(Into::into).collect(),
        }
    }
}

pub struct VisitorQuery;

#[Object]
impl VisitorQuery {
    /// Open unknown-visitor groups, most recently seen first.
    async fn visitors(&self, ctx: &Context<'_>) -> Result<Vec<VisitorGroup>> {
        let state = ctx.data::<AppState>()?;
        let groups = visitors::visitor_groups(state.pool())
            .await
            .map_err(internal)?;
        Ok(groups.into_iter().map(Into::into).collect())
    }
}

pub struct VisitorMutation;

#[Object]
impl VisitorMutation {
    /// Enrols the group as a new employee; its most typical faces become their face templates.
    async fn enrol_visitor(
        &self,
        ctx: &Context<'_>,
        group_id: String,
        input: EmployeeInput,
    ) -> Result<Employee> {
        let (app, caller) = caller(ctx)?;
        let enrolled = app.enrol_visitor(&caller, &group_id, input.into()).await;
        enrolled.map(Into::into).map_err(app_error)
    }

    /// Attaches the group to an existing employee: its most typical faces become more templates.
    async fn attach_visitor(
        &self,
        ctx: &Context<'_>,
        group_id: String,
        employee_id: String,
    ) -> Result<Employee> {
        let (app, caller) = caller(ctx)?;
        let attached = app.attach_visitor(&caller, &group_id, &employee_id).await;
        attached.map(Into::into).map_err(app_error)
    }

    /// Dismisses the group; returns how many faces it had.
    async fn dismiss_visitor(&self, ctx: &Context<'_>, group_id: String) -> Result<i32> {
        let (app, caller) = caller(ctx)?;
        let dismissed = app.dismiss_visitor(&caller, &group_id).await;
        dismissed.map(|n| n as i32).map_err(app_error)
    }
}
