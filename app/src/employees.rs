//! Employees: enrolment (with a unique code), profile changes, activation, deletion, face templates.

use chrono::{DateTime, Utc};
use facewatch_domain::employee::{Employee, EmployeeCommand, Pose, Profile, TemplateSource};
use facewatch_domain::employee_code::{code_id, EmployeeCode, EmployeeCodeCommand};
use facewatch_projections::queries::{self, EmployeeView};
use facewatch_store::Outcome;
use serde::Deserialize;

use crate::{App, AppError, CommandContext, Result};

#[derive(Debug, Clone, Deserialize)]
pub struct EmployeeInput {
    pub name: String,
    pub code: String,
    #[serde(default)]
    pub department: String,
}

impl EmployeeInput {
    fn profile(&self) -> Result<Profile> {
        for (what, text) in [
            ("name", &self.name),
            ("code", &self.code),
            ("department", &self.department),
        ] {
            crate::input::check_text(what, text)?;
        }
        let profile = Profile {
            name: self.name.trim().into(),
            code: self.code.trim().into(),
            department: self.department.trim().into(),
        };
        profile
            .validate()
            .map_err(|e| AppError::invalid(e.to_string()))?;
        Ok(profile)
    }
}

/// Turns one enrolment photo into a face embedding (the camera supervisor's face models).
pub trait FaceEmbedder: Send + Sync {
    /// `(embedding, model id)`, or a reason the photo is unusable (no face, two faces, …).
    fn embed(&self, photo: &[u8]) -> std::result::Result<(Vec<f32>, String), String>;

    /// The similarity at or above which the cameras take two faces for the same person.
    fn match_threshold(&self) -> f32;

    /// Keeps an enrolment photo for the face library; its data-dir reference, or `None` if it
    /// could not be kept (the template is still worth storing; the implementation logs why).
    fn keep_photo(&self, employee_id: &str, at: DateTime<Utc>, photo: &[u8]) -> Option<String>;
}

/// A face template about to be stored.
pub(crate) struct NewTemplate {
    pub pose: Pose,
    pub embedding: Vec<f32>,
    pub model_id: String,
    pub source: TemplateSource,
    pub photo_ref: Option<String>,
}

/// Enrolment photos: `(pose, label for messages, image bytes)`.
pub type FacePhotos = Vec<(Pose, String, Vec<u8>)>;

impl App {
    pub async fn employee_view(&self, id: &str) -> Result<EmployeeView> {
        queries::employee(self.pool(), id)
            .await?
            .ok_or_else(|| AppError::not_found("employee", id))
    }

    /// The employee who holds `code`, if anyone does.
    pub async fn employee_holding_code(&self, code: &str) -> Result<Option<String>> {
        Ok(self.load::<EmployeeCode>(&code_id(code)).await?.holder)
    }

    /// Enrols a new employee. The code is reserved first (its own aggregate), so of two
    /// concurrent enrolments with one code exactly one succeeds.
    #[tracing::instrument(skip_all, fields(actor = %ctx.actor()))]
    pub async fn enroll_employee(
        &self,
        ctx: &CommandContext,
        input: EmployeeInput,
    ) -> Result<EmployeeView> {
        let profile = input.profile()?;
        let id = ctx.new_id("employee");
        let claimed = self
            .claim_code(ctx, "claim-code", &profile.code, &id)
            .await?;
        let enroll = EmployeeCommand::Enroll {
            profile: profile.clone(),
            now: ctx.now(),
        };
        let enrolled = match self.execute::<Employee>(ctx, "enroll", &id, enroll).await {
            Ok(outcome) => outcome,
            Err(e) => {
                self.release_code(ctx, "release-code", &profile.code, &id)
                    .await?;
                return Err(e);
            }
        };
        self.settle(&[claimed, enrolled]).await?;
        self.employee_view(&id).await
    }

    #[tracing::instrument(skip_all, fields(actor = %ctx.actor(), employee = id))]
    pub async fn update_employee(
        &self,
        ctx: &CommandContext,
        id: &str,
        input: EmployeeInput,
    ) -> Result<EmployeeView> {
        let profile = input.profile()?;
        let current = self.load::<Employee>(id).await?;
        let old_code = current
            .profile
            .as_ref()
            .map(|p| p.code.clone())
            .ok_or_else(|| AppError::not_found("employee", id))?;
        let recoded = code_id(&old_code) != code_id(&profile.code);
        let mut outcomes = Vec::new();
        if recoded {
            outcomes.push(
                self.claim_code(ctx, "claim-code", &profile.code, id)
                    .await?,
            );
        }
        let update = EmployeeCommand::UpdateProfile {
            profile: profile.clone(),
            now: ctx.now(),
        };
        match self.execute::<Employee>(ctx, "update", id, update).await {
            Ok(outcome) => outcomes.push(outcome),
            Err(e) => {
                if recoded {
                    self.release_code(ctx, "release-new-code", &profile.code, id)
                        .await?;
                }
                return Err(e);
            }
        }
        if recoded {
            outcomes.push(
                self.release_code(ctx, "release-code", &old_code, id)
                    .await?,
            );
        }
        self.settle(&outcomes).await?;
        self.employee_view(id).await
    }

    #[tracing::instrument(skip_all, fields(actor = %ctx.actor(), employee = id, active))]
    pub async fn set_employee_active(
        &self,
        ctx: &CommandContext,
        id: &str,
        active: bool,
    ) -> Result<EmployeeView> {
        let now = ctx.now();
        let command = if active {
            EmployeeCommand::Reactivate { now }
        } else {
            EmployeeCommand::Deactivate { now }
        };
        let outcome = self
            .execute::<Employee>(ctx, "set-active", id, command)
            .await?;
        self.settle(&[outcome]).await?;
        self.employee_view(id).await
    }

    /// Deletes an employee (templates and presence go; history keeps the name) and frees the code.
    #[tracing::instrument(skip_all, fields(actor = %ctx.actor(), employee = id))]
    pub async fn delete_employee(&self, ctx: &CommandContext, id: &str) -> Result<()> {
        let current = self.load::<Employee>(id).await?;
        let delete = EmployeeCommand::Delete { now: ctx.now() };
        let deleted = self.execute::<Employee>(ctx, "delete", id, delete).await?;
        let mut outcomes = vec![deleted];
        if let Some(profile) = current.profile {
            outcomes.push(
                self.release_code(ctx, "release-code", &profile.code, id)
                    .await?,
            );
        }
        self.settle(&outcomes).await
    }

    #[tracing::instrument(skip_all, fields(actor = %ctx.actor(), employee = employee_id))]
    pub async fn add_face_template(
        &self,
        ctx: &CommandContext,
        employee_id: &str,
        pose: Pose,
        embedding: Vec<f32>,
        model_id: String,
    ) -> Result<EmployeeView> {
        let template = NewTemplate {
            pose,
            embedding,
            model_id,
            source: TemplateSource::Embedding,
            photo_ref: None,
        };
        let outcome = self
            .add_template(ctx, "template", employee_id, template)
            .await?;
        self.settle(&[outcome]).await?;
        self.employee_view(employee_id).await
    }

    /// Reserves the codes of employees enrolled before codes were reserved (run at start-up;
    /// a no-op for codes already held).
    pub async fn claim_existing_codes(&self, ctx: &CommandContext) -> Result<usize> {
        let mut claimed = 0;
        for employee in queries::employees(self.pool()).await? {
            if employee.status == "DELETED" {
                continue;
            }
            match self
                .claim_code(
                    ctx,
                    &format!("claim-{}", employee.id),
                    &employee.code,
                    &employee.id,
                )
                .await
            {
                Ok(Outcome::Stored { .. }) => claimed += 1,
                Ok(_) => {}
                Err(AppError::Invalid(reason)) => tracing::warn!(
                    employee = employee.id,
                    code = employee.code,
                    "duplicate employee code from before codes were reserved: {reason}"
                ),
                Err(e) => return Err(e),
            }
        }
        Ok(claimed)
    }

    pub(crate) async fn add_template(
        &self,
        ctx: &CommandContext,
        step: &str,
        employee_id: &str,
        template: NewTemplate,
    ) -> Result<Outcome> {
        let command = EmployeeCommand::AddFaceTemplate {
            template_id: ctx.new_id(step),
            pose: template.pose,
            embedding: template.embedding,
            model_id: template.model_id,
            source: template.source,
            photo_ref: template.photo_ref,
            now: ctx.now(),
        };
        self.execute::<Employee>(ctx, step, employee_id, command)
            .await
    }

    /// Reserves `code` for `employee_id`; refused while another employee holds it.
    async fn claim_code(
        &self,
        ctx: &CommandContext,
        step: &str,
        code: &str,
        employee_id: &str,
    ) -> Result<Outcome> {
        let claim = EmployeeCodeCommand::Claim {
            employee_id: employee_id.to_string(),
            now: ctx.now(),
        };
        self.code_command(ctx, step, code, claim)
            .await
            .map_err(|e| match e {
                AppError::Invalid(_) => {
                    AppError::invalid(format!("employee code {:?} is already in use", code.trim()))
                }
                other => other,
            })
    }

    /// Frees `code` if `employee_id` holds it.
    async fn release_code(
        &self,
        ctx: &CommandContext,
        step: &str,
        code: &str,
        employee_id: &str,
    ) -> Result<Outcome> {
        let release = EmployeeCodeCommand::Release {
            employee_id: employee_id.to_string(),
            now: ctx.now(),
        };
        self.code_command(ctx, step, code, release).await
    }

    async fn code_command(
        &self,
        ctx: &CommandContext,
        step: &str,
        code: &str,
        command: EmployeeCodeCommand,
    ) -> Result<Outcome> {
        self.execute::<EmployeeCode>(ctx, step, &code_id(code), command)
            .await
    }
}
