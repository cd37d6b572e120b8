//! The face library: every template of an employee with its photo, pose, date and source, and
//! removing one (enrolment itself is `enrollFacePhoto`, checked against everyone enrolled).

use async_graphql::{ComplexObject, Context, Enum, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use facewatch_projections::queries::FaceLibraryEntry;

use super::caller::caller;
use super::errors::app_error;
use super::types::{Employee, Pose};

/// Where a face template came from.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "facewatch_domain::employee::TemplateSource")]
pub enum FaceSource {
    Upload,
    Webcam,
    Visitor,
    Embedding,
}

#[derive(SimpleObject)]
pub struct FaceTemplate {
    pub id: String,
    pub pose: Pose,
    pub added_at: DateTime<Utc>,
    /// Null for templates enrolled before the face library existed.
    pub source: Option<FaceSource>,
    /// `/api/files/…` of the photo it was made from, when the photo was kept.
    pub photo_url: Option<String>,
    pub model_id: String,
}

/// A unit variant back from the name the read model stores (`FRONT`, `UPLOAD`).
fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::from(text)).ok()
}

impl From<FaceLibraryEntry> for FaceTemplate {
    fn from(e: FaceLibraryEntry) -> Self {
        Self {
            id: e.template_id,
            pose: parse::<facewatch_domain::employee::Pose>(&e.pose)
                .map(Into::into)
                .unwrap_or(Pose::Front),
            added_at: e.added_at,
            source: e
                .source
                .as_deref()
                .and_then(parse::<facewatch_domain::employee::TemplateSource>)
                .map(Into::into),
            photo_url: e.photo_ref.as_deref().map(crate::rest::files::url),
            model_id: e.model_id,
        }
    }
}

#[ComplexObject]
impl Employee {
    /// The face library: every template the cameras compare faces with, oldest first.
    async fn faces(&self, ctx: &Context<'_>) -> Result<Vec<FaceTemplate>> {
        let state = ctx.data::<crate::AppState>()?;
        let library = state
            .app()
            .face_library(&self.id)
            .await
            .map_err(app_error)?;
        Ok(library.into_iter().map(Into::into).collect())
    }
}

pub struct FaceMutation;

#[Object]
impl FaceMutation {
    /// Removes one face template (a wrong photo, one to replace): the cameras stop matching it.
    async fn remove_face_template(
        &self,
        ctx: &Context<'_>,
        employee_id: String,
        template_id: String,
    ) -> Result<Employee> {
        let (app, caller) = caller(ctx)?;
        let removed = app.remove_face_template(&caller, &employee_id, &template_id);
        removed.await.map(Into::into).map_err(app_error)
    }
}
