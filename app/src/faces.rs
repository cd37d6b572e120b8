//! The face library: enrolment photos become templates after a check against everyone enrolled
//! (a photo that matches another employee, or is far from the employee's own faces, needs a
//! confirmation), the templates can be listed with their photos and removed.

use std::sync::Arc;

use facewatch_domain::employee::{Employee, EmployeeCommand, TemplateSource};
use facewatch_domain::face_check::{judge, Enrolled, FaceVerdict};
use facewatch_projections::queries::{self, EmployeeView, FaceLibraryEntry};

use crate::employees::NewTemplate;
use crate::{App, AppError, CommandContext, ConfirmReason, FaceEmbedder, FacePhotos, Result};

/// How enrolment photos arrive and whether the caller already saw the check's warning.
#[derive(Debug, Clone, Copy)]
pub struct FaceEnrolment {
    pub source: TemplateSource,
    /// The caller confirmed a photo the check questioned (it matches another employee or is far
    /// from the employee's own templates).
    pub confirmed: bool,
}

impl FaceEnrolment {
    pub fn upload() -> Self {
        Self {
            source: TemplateSource::Upload,
            confirmed: false,
        }
    }

    pub fn confirmed(self, confirmed: bool) -> Self {
        Self { confirmed, ..self }
    }
}

impl App {
    fn embedder(&self) -> Result<Arc<dyn FaceEmbedder>> {
        self.inner
            .embedder
            .clone()
            .ok_or_else(|| AppError::Unavailable("face models not loaded".into()))
    }

    /// The employee's face templates with their photos, oldest first.
    pub async fn face_library(&self, employee_id: &str) -> Result<Vec<FaceLibraryEntry>> {
        Ok(queries::face_library(self.pool(), employee_id).await?)
    }

    /// Turns enrolment photos into face templates. Every photo is embedded and checked before
    /// anything is stored, so one bad photo (no face, several faces, poor quality, somebody
    /// else's face without confirmation) adds no template at all.
    #[tracing::instrument(skip_all, fields(actor = %ctx.actor(), employee = employee_id))]
    pub async fn enroll_face_photos(
        &self,
        ctx: &CommandContext,
        employee_id: &str,
        photos: FacePhotos,
        enrolment: FaceEnrolment,
    ) -> Result<EmployeeView> {
        let embedder = self.embedder()?;
        self.employee_view(employee_id).await?;
        if photos.is_empty() {
            return Err(AppError::invalid("no photo: send front, left and/or right"));
        }
        // Face models are CPU/GPU bound: keep them off the async workers.
        let models = embedder.clone();
        let embedded = tokio::task::spawn_blocking(move || {
            photos
                .into_iter()
                .map(|(pose, label, bytes)| match models.embed(&bytes) {
                    Ok((embedding, model)) => Ok((pose, label, bytes, embedding, model)),
                    Err(reason) => Err(AppError::invalid(format!("{label}: {reason}"))),
                })
                .collect::<Result<Vec<_>>>()
        })
        .await
        .map_err(AppError::internal)??;
        if !enrolment.confirmed {
            let enrolled = queries::templates_with_owners(self.pool()).await?;
            for (_, label, _, embedding, model) in &embedded {
                let comparable: Vec<Enrolled<'_>> = enrolled
                    .iter()
                    .filter(|t| t.model_id == *model)
                    .map(|t| Enrolled {
                        employee_id: &t.employee_id,
                        employee_name: &t.employee_name,
                        embedding: &t.embedding,
                    })
                    .collect();
                let verdict = judge(
                    embedding,
                    employee_id,
                    &comparable,
                    embedder.match_threshold(),
                );
                refuse_unconfirmed(label, verdict)?;
            }
        }
        let mut outcomes = Vec::new();
        for (n, (pose, _, bytes, embedding, model_id)) in embedded.into_iter().enumerate() {
            let step = format!("template-{n}");
            let photo_ref = embedder.keep_photo(employee_id, ctx.now(), &bytes);
            let template = NewTemplate {
                pose,
                embedding,
                model_id,
                source: enrolment.source,
                photo_ref,
            };
            outcomes.push(self.add_template(ctx, &step, employee_id, template).await?);
        }
        self.settle(&outcomes).await?;
        self.employee_view(employee_id).await
    }

    /// Takes one template out of the employee's face library (and so out of the cameras' gallery).
    #[tracing::instrument(skip_all, fields(actor = %ctx.actor(), employee = employee_id, template = template_id))]
    pub async fn remove_face_template(
        &self,
        ctx: &CommandContext,
        employee_id: &str,
        template_id: &str,
    ) -> Result<EmployeeView> {
        let remove = EmployeeCommand::RemoveFaceTemplate {
            template_id: template_id.to_string(),
            now: ctx.now(),
        };
        let outcome = self
            .execute::<Employee>(ctx, "remove-template", employee_id, remove)
            .await?;
        self.settle(&[outcome]).await?;
        self.employee_view(employee_id).await
    }
}

fn refuse_unconfirmed(label: &str, verdict: FaceVerdict) -> Result<()> {
    match verdict {
        FaceVerdict::Accept => Ok(()),
        FaceVerdict::MatchesOther(other) => Err(AppError::NeedsConfirmation {
            reason: ConfirmReason::FaceMatchesOther,
            message: format!(
                "{label}: this face matches {} (similarity {:.2}); confirm to enrol it anyway",
                other.employee_name, other.similarity
            ),
        }),
        FaceVerdict::FarFromOwn { best } => Err(AppError::NeedsConfirmation {
            reason: ConfirmReason::FaceFarFromOwn,
            message: format!(
                "{label}: this face is far from the employee's other photos (best similarity {best:.2}); confirm to enrol it anyway"
            ),
        }),
    }
}
