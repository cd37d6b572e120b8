//! Unknown visitors: a camera records a face that nobody enrolled (once per track); an
//! administrator enrols the stranger's group as a new employee, attaches it to an existing one (the
//! group's most typical faces become face templates), or dismisses it. Groups come from the read
//! model (`facewatch_projections::visitors`); every decision is an event on each face.

use chrono::{DateTime, Utc};
use facewatch_domain::employee::{Pose, TemplateSource};
use facewatch_domain::visitor::{similarity, Resolution, UnknownFace, UnknownFaceCommand};
use facewatch_projections::queries::EmployeeView;
use facewatch_projections::visitors::{self, GroupFace};
use facewatch_store::Outcome;

use crate::employees::NewTemplate;
use crate::{App, AppError, CommandContext, EmployeeInput, Result};

/// At most this many faces of a group become face templates: those closest to the group's mean.
pub const TEMPLATES_PER_VISITOR: usize = 3;

#[derive(Debug, Clone)]
pub struct UnknownFaceInput {
    pub camera_id: String,
    /// Defaults to the command's `now`.
    pub at: Option<DateTime<Utc>>,
    pub track_id: u64,
    pub snapshot_ref: Option<String>,
    /// L2-normalised face embedding.
    pub embedding: Vec<f32>,
    pub model_id: String,
}

impl App {
    /// Records a face a camera settled as unknown (the camera exists and is enabled, the time is
    /// not in the future). Does not wait for the read models.
    #[tracing::instrument(skip_all, fields(actor = %ctx.actor(), camera = input.camera_id))]
    pub async fn record_unknown_face(
        &self,
        ctx: &CommandContext,
        input: UnknownFaceInput,
    ) -> Result<Outcome> {
        let at = self
            .check_camera_report(ctx, &input.camera_id, input.at, "unknown face")
            .await?;
        let record = UnknownFaceCommand::Record {
            camera_id: input.camera_id,
            at,
            track_id: input.track_id,
            snapshot_ref: input.snapshot_ref,
            embedding: input.embedding,
            model_id: input.model_id,
        };
        let id = ctx.new_id("unknown-face");
        self.execute::<UnknownFace>(ctx, "unknown-face", &id, record)
            .await
    }

    /// Enrols a visitor group as a new employee with the group's faces as templates.
    #[tracing::instrument(skip_all, fields(actor = %ctx.actor(), group = group_id))]
    pub async fn enrol_visitor(
        &self,
        ctx: &CommandContext,
        group_id: &str,
        input: EmployeeInput,
    ) -> Result<EmployeeView> {
        let faces = self.open_group(group_id).await?;
        let employee = self.enroll_employee(ctx, input).await?;
        let resolution = Resolution::Enrolled {
            employee_id: employee.id.clone(),
        };
        self.identify_visitor(ctx, &faces, &employee.id, resolution)
            .await
    }

    /// Attaches a visitor group to an existing, active employee: more templates for them.
    #[tracing::instrument(skip_all, fields(actor = %ctx.actor(), group = group_id, employee = employee_id))]
    pub async fn attach_visitor(
        &self,
        ctx: &CommandContext,
        group_id: &str,
        employee_id: &str,
    ) -> Result<EmployeeView> {
        self.require_active_employee(employee_id).await?;
        let faces = self.open_group(group_id).await?;
        let resolution = Resolution::Attached {
            employee_id: employee_id.to_string(),
        };
        self.identify_visitor(ctx, &faces, employee_id, resolution)
            .await
    }

    /// Dismisses a visitor group; returns how many faces it had.
    #[tracing::instrument(skip_all, fields(actor = %ctx.actor(), group = group_id))]
    pub async fn dismiss_visitor(&self, ctx: &CommandContext, group_id: &str) -> Result<usize> {
        let faces = self.open_group(group_id).await?;
        let outcomes = self.resolve(ctx, &faces, Resolution::Dismissed).await?;
        self.settle(&outcomes).await?;
        Ok(faces.len())
    }

    async fn open_group(&self, group_id: &str) -> Result<Vec<GroupFace>> {
        let faces = visitors::group_faces(self.pool(), group_id).await?;
        if faces.is_empty() {
            return Err(AppError::not_found("visitor group", group_id));
        }
        Ok(faces)
    }

    async fn identify_visitor(
        &self,
        ctx: &CommandContext,
        faces: &[GroupFace],
        employee_id: &str,
        resolution: Resolution,
    ) -> Result<EmployeeView> {
        let mut outcomes = Vec::new();
        for (i, face) in most_typical(faces, TEMPLATES_PER_VISITOR)
            .into_iter()
            .enumerate()
        {
            let step = format!("visitor-template-{i}");
            let template = self
                .add_template(
                    ctx,
                    &step,
                    employee_id,
                    NewTemplate {
                        pose: Pose::Front,
                        embedding: face.embedding.clone(),
                        model_id: face.model_id.clone(),
                        source: TemplateSource::Visitor,
                        photo_ref: face.snapshot_ref.clone(),
                    },
                )
                .await?;
            outcomes.push(template);
        }
        outcomes.extend(self.resolve(ctx, faces, resolution).await?);
        self.settle(&outcomes).await?;
        self.employee_view(employee_id).await
    }

    async fn resolve(
        &self,
        ctx: &CommandContext,
        faces: &[GroupFace],
        resolution: Resolution,
    ) -> Result<Vec<Outcome>> {
        let mut outcomes = Vec::with_capacity(faces.len());
        for face in faces {
            let resolve = UnknownFaceCommand::Resolve {
                resolution: resolution.clone(),
                now: ctx.now(),
            };
            let step = format!("resolve-{}", face.id);
            outcomes.push(
                self.execute::<UnknownFace>(ctx, &step, &face.id, resolve)
                    .await?,
            );
        }
        Ok(outcomes)
    }
}

/// The `n` faces most similar to the mean of the group's faces (of the model most faces have).
fn most_typical(faces: &[GroupFace], n: usize) -> Vec<&GroupFace> {
    let Some(first) = faces.first() else {
        return Vec::new();
    };
    let same_model: Vec<&GroupFace> = faces
        .iter()
        .filter(|f| f.model_id == first.model_id && f.embedding.len() == first.embedding.len())
        .collect();
    let mut mean = vec![0.0f32; first.embedding.len()];
    for face in &same_model {
        for (m, v) in mean.iter_mut().zip(&face.embedding) {
            *m += v;
        }
    }
    let mut ranked: Vec<(f32, &GroupFace)> = same_model
        .into_iter()
        .map(|f| (similarity(&mean, &f.embedding), f))
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.id.cmp(&b.1.id)));
    ranked.into_iter().take(n).map(|(_, f)| f).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(id: &str, embedding: Vec<f32>) -> GroupFace {
        GroupFace {
            id: id.into(),
            model_id: "m".into(),
            embedding,
            snapshot_ref: None,
        }
    }

    #[test]
    fn the_most_typical_faces_are_closest_to_the_mean() {
        let faces = vec![
            face("odd", vec![0.0, 1.0]),
            face("a", vec![1.0, 0.0]),
            face("b", vec![0.96, 0.28]),
        ];
        let picked: Vec<&str> = most_typical(&faces, 2)
            .iter()
            .map(|f| f.id.as_str())
            .collect();
        assert_eq!(picked, vec!["b", "a"]);
        assert!(most_typical(&[], 3).is_empty());
    }
}
