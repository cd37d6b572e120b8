//! Employees: enrolment, profile changes, face templates, deactivation and deletion.

use chrono::{DateTime, Utc};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Pose {
    Front,
    Left,
    Right,
}

/// Where a face template came from (shown in the face library).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TemplateSource {
    /// A photo file uploaded by an administrator.
    Upload,
    /// A webcam picture taken in the dashboard.
    Webcam,
    /// A face an unknown visitor showed to a camera, attached or enrolled later.
    Visitor,
    /// An embedding sent as is through the API.
    Embedding,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    pub code: String,
    pub department: String,
}

impl Profile {
    pub fn validate(&self) -> Result<(), EmployeeError> {
        if self.name.trim().is_empty() {
            return Err(EmployeeError::Invalid("name must not be empty".into()));
        }
        if self.code.trim().is_empty() {
            return Err(EmployeeError::Invalid("code must not be empty".into()));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EmployeeEvent {
    Enrolled {
        profile: Profile,
        at: DateTime<Utc>,
    },
    ProfileUpdated {
        profile: Profile,
        at: DateTime<Utc>,
    },
    FaceTemplateAdded {
        template_id: String,
        pose: Pose,
        /// L2-normalised embedding produced by `model_id`.
        embedding: Vec<f32>,
        model_id: String,
        at: DateTime<Utc>,
        /// Absent in events stored before the face library.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<TemplateSource>,
        /// The photo the template was made from (a data-dir reference), if it was kept.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        photo_ref: Option<String>,
    },
    /// A template taken out of the gallery (a wrong photo, a replaced one).
    FaceTemplateRemoved {
        template_id: String,
        at: DateTime<Utc>,
    },
    Deactivated {
        at: DateTime<Utc>,
    },
    Reactivated {
        at: DateTime<Utc>,
    },
    Deleted {
        at: DateTime<Utc>,
    },
}
crate::domain_event!(EmployeeEvent, "1.0");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EmployeeCommand {
    Enroll {
        profile: Profile,
        now: DateTime<Utc>,
    },
    UpdateProfile {
        profile: Profile,
        now: DateTime<Utc>,
    },
    AddFaceTemplate {
        template_id: String,
        pose: Pose,
        embedding: Vec<f32>,
        model_id: String,
        source: TemplateSource,
        photo_ref: Option<String>,
        now: DateTime<Utc>,
    },
    RemoveFaceTemplate {
        template_id: String,
        now: DateTime<Utc>,
    },
    Deactivate {
        now: DateTime<Utc>,
    },
    Reactivate {
        now: DateTime<Utc>,
    },
    Delete {
        now: DateTime<Utc>,
    },
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EmployeeError {
    #[error("employee is already enrolled")]
    AlreadyEnrolled,
    #[error("unknown employee")]
    NotFound,
    #[error("employee was deleted")]
    Deleted,
    #[error("invalid employee data: {0}")]
    Invalid(String),
    #[error("this employee has no face template {0:?}")]
    UnknownTemplate(String),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum EmployeeStatus {
    #[default]
    Unknown,
    Active,
    Inactive,
    Deleted,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Employee {
    pub status: EmployeeStatus,
    pub profile: Option<Profile>,
    pub templates: usize,
    /// Ids of the current templates (a snapshot taken before templates could be removed has none).
    #[serde(default)]
    pub template_ids: Vec<String>,
}

impl Employee {
    /// Sightings and corrections are only accepted for employees who exist and are active.
    pub fn is_active(&self) -> bool {
        self.status == EmployeeStatus::Active
    }

    fn require_existing(&self) -> Result<(), EmployeeError> {
        match self.status {
            EmployeeStatus::Unknown => Err(EmployeeError::NotFound),
            EmployeeStatus::Deleted => Err(EmployeeError::Deleted),
            EmployeeStatus::Active | EmployeeStatus::Inactive => Ok(()),
        }
    }

    fn decide(&self, command: EmployeeCommand) -> Result<Option<EmployeeEvent>, EmployeeError> {
        if !matches!(command, EmployeeCommand::Enroll { .. }) {
            self.require_existing()?;
        }
        Ok(Some(match command {
            EmployeeCommand::Enroll { profile, now } => {
                if self.status != EmployeeStatus::Unknown {
                    return Err(EmployeeError::AlreadyEnrolled);
                }
                profile.validate()?;
                EmployeeEvent::Enrolled { profile, at: now }
            }
            EmployeeCommand::UpdateProfile { profile, now } => {
                profile.validate()?;
                if self.profile.as_ref() == Some(&profile) {
                    return Ok(None);
                }
                EmployeeEvent::ProfileUpdated { profile, at: now }
            }
            EmployeeCommand::AddFaceTemplate {
                template_id,
                pose,
                embedding,
                model_id,
                source,
                photo_ref,
                now,
            } => {
                validate_embedding(&embedding)?;
                EmployeeEvent::FaceTemplateAdded {
                    template_id,
                    pose,
                    embedding,
                    model_id,
                    at: now,
                    source: Some(source),
                    photo_ref,
                }
            }
            EmployeeCommand::RemoveFaceTemplate { template_id, now } => {
                if !self.template_ids.contains(&template_id) {
                    return Err(EmployeeError::UnknownTemplate(template_id));
                }
                EmployeeEvent::FaceTemplateRemoved {
                    template_id,
                    at: now,
                }
            }
            EmployeeCommand::Deactivate { now } => match self.status {
                EmployeeStatus::Inactive => return Ok(None),
                _ => EmployeeEvent::Deactivated { at: now },
            },
            EmployeeCommand::Reactivate { now } => match self.status {
                EmployeeStatus::Active => return Ok(None),
                _ => EmployeeEvent::Reactivated { at: now },
            },
            EmployeeCommand::Delete { now } => EmployeeEvent::Deleted { at: now },
        }))
    }
}

/// An embedding must be non-empty, finite and unit length (the recogniser L2-normalises).
pub(crate) fn validate_embedding(embedding: &[f32]) -> Result<(), EmployeeError> {
    if embedding.is_empty() || embedding.iter().any(|v| !v.is_finite()) {
        return Err(EmployeeError::Invalid(
            "face embedding must be a non-empty vector of finite numbers".into(),
        ));
    }
    let norm = embedding.iter().map(|v| v * v).sum::<f32>().sqrt();
    if (norm - 1.0).abs() > 1e-2 {
        return Err(EmployeeError::Invalid(format!(
            "face embedding must be L2-normalised (norm is {norm:.3})"
        )));
    }
    Ok(())
}

impl Employee {
    fn evolve(&mut self, event: EmployeeEvent) {
        match event {
            EmployeeEvent::Enrolled { profile, .. }
            | EmployeeEvent::ProfileUpdated { profile, .. } => {
                if self.status == EmployeeStatus::Unknown {
                    self.status = EmployeeStatus::Active;
                }
                self.profile = Some(profile);
            }
            EmployeeEvent::FaceTemplateAdded { template_id, .. } => {
                self.templates += 1;
                self.template_ids.push(template_id);
            }
            EmployeeEvent::FaceTemplateRemoved { template_id, .. } => {
                self.templates = self.templates.saturating_sub(1);
                self.template_ids.retain(|t| *t != template_id);
            }
            EmployeeEvent::Deactivated { .. } => self.status = EmployeeStatus::Inactive,
            EmployeeEvent::Reactivated { .. } => self.status = EmployeeStatus::Active,
            EmployeeEvent::Deleted { .. } => self.status = EmployeeStatus::Deleted,
        }
    }
}

crate::aggregate!(
    Employee,
    "employee",
    EmployeeCommand,
    EmployeeEvent,
    EmployeeError
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::when;

    fn now() -> DateTime<Utc> {
        "2026-11-23T09:00:00Z".parse().unwrap()
    }
    fn profile(name: &str) -> Profile {
        Profile {
            name: name.into(),
            code: "E-1".into(),
            department: "Ops".into(),
        }
    }
    fn enrolled() -> Vec<EmployeeEvent> {
        vec![EmployeeEvent::Enrolled {
            profile: profile("Ana"),
            at: now(),
        }]
    }
    fn template(embedding: Vec<f32>) -> EmployeeCommand {
        EmployeeCommand::AddFaceTemplate {
            template_id: "t1".into(),
            pose: Pose::Front,
            embedding,
            model_id: "m".into(),
            source: TemplateSource::Upload,
            photo_ref: None,
            now: now(),
        }
    }

    #[test]
    fn enrol_once_with_a_valid_profile() {
        let cmd = EmployeeCommand::Enroll {
            profile: profile("Ana"),
            now: now(),
        };
        assert_eq!(when::<Employee>(vec![], cmd.clone()).unwrap(), enrolled());
        assert_eq!(
            when::<Employee>(enrolled(), cmd).unwrap_err(),
            EmployeeError::AlreadyEnrolled
        );
        let blank = EmployeeCommand::Enroll {
            profile: profile("  "),
            now: now(),
        };
        assert!(matches!(
            when::<Employee>(vec![], blank),
            Err(EmployeeError::Invalid(_))
        ));
    }

    #[test]
    fn templates_need_an_existing_employee_and_a_unit_embedding() {
        assert_eq!(
            when::<Employee>(vec![], template(vec![1.0, 0.0])).unwrap_err(),
            EmployeeError::NotFound
        );
        assert!(when::<Employee>(enrolled(), template(vec![0.6, 0.8])).is_ok());
        assert!(when::<Employee>(enrolled(), template(vec![3.0, 4.0])).is_err());
        assert!(when::<Employee>(enrolled(), template(vec![f32::NAN])).is_err());
        assert!(when::<Employee>(enrolled(), template(vec![])).is_err());
    }

    #[test]
    fn only_an_existing_template_can_be_removed() {
        let remove = |id: &str| EmployeeCommand::RemoveFaceTemplate {
            template_id: id.into(),
            now: now(),
        };
        let mut given = enrolled();
        given.push(EmployeeEvent::FaceTemplateAdded {
            template_id: "t1".into(),
            pose: Pose::Left,
            embedding: vec![1.0],
            model_id: "m".into(),
            at: now(),
            source: Some(TemplateSource::Upload),
            photo_ref: None,
        });
        assert_eq!(
            when::<Employee>(given.clone(), remove("t2")).unwrap_err(),
            EmployeeError::UnknownTemplate("t2".into())
        );
        let removed = when::<Employee>(given.clone(), remove("t1")).unwrap();
        assert_eq!(
            removed,
            vec![EmployeeEvent::FaceTemplateRemoved {
                template_id: "t1".into(),
                at: now()
            }]
        );
        given.extend(removed);
        assert!(
            when::<Employee>(given, remove("t1")).is_err(),
            "removed once"
        );
    }

    #[test]
    fn deleted_employees_accept_nothing_and_noops_emit_nothing() {
        let mut given = enrolled();
        given.push(EmployeeEvent::Deleted { at: now() });
        assert_eq!(
            when::<Employee>(given, template(vec![1.0])).unwrap_err(),
            EmployeeError::Deleted
        );
        let same = EmployeeCommand::UpdateProfile {
            profile: profile("Ana"),
            now: now(),
        };
        assert!(when::<Employee>(enrolled(), same).unwrap().is_empty());
        let reactivate = EmployeeCommand::Reactivate { now: now() };
        assert!(when::<Employee>(enrolled(), reactivate).unwrap().is_empty());
    }
}
