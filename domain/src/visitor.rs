//! Unknown visitors: a face that a camera followed on one track and settled as nobody enrolled
//! (aggregate id = one per track). The embedding is kept so the face can be grouped with the same
//! stranger's other tracks and, once an administrator names them, become a face template.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::employee::validate_embedding;

/// Two unknown faces at least this similar (cosine) are taken for the same stranger. The
/// recogniser's default threshold: same person typically 0.55-0.9, different people below 0.2.
pub const SAME_VISITOR_SIMILARITY: f32 = 0.4;

/// What became of an unknown face.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Resolution {
    /// Enrolled as this new employee (the face became one of their templates or was among them).
    Enrolled { employee_id: String },
    /// Attached to this existing employee.
    Attached { employee_id: String },
    /// Not of interest.
    Dismissed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum UnknownFaceEvent {
    Seen {
        camera_id: String,
        at: DateTime<Utc>,
        track_id: u64,
        snapshot_ref: Option<String>,
        embedding: Vec<f32>,
        model_id: String,
    },
    Resolved {
        resolution: Resolution,
        at: DateTime<Utc>,
    },
}
crate::domain_event!(UnknownFaceEvent, "1.0");

impl UnknownFaceEvent {
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            UnknownFaceEvent::Seen { at, .. } | UnknownFaceEvent::Resolved { at, .. } => *at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum UnknownFaceCommand {
    Record {
        camera_id: String,
        at: DateTime<Utc>,
        track_id: u64,
        snapshot_ref: Option<String>,
        embedding: Vec<f32>,
        model_id: String,
    },
    Resolve {
        resolution: Resolution,
        now: DateTime<Utc>,
    },
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum UnknownFaceError {
    #[error("this unknown face is already recorded")]
    AlreadyRecorded,
    #[error("no such unknown face")]
    NotFound,
    #[error("this unknown face was already resolved")]
    AlreadyResolved,
    #[error("invalid unknown face: {0}")]
    Invalid(String),
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct UnknownFace {
    pub seen: bool,
    pub resolution: Option<Resolution>,
}

impl UnknownFace {
    fn decide(
        &self,
        command: UnknownFaceCommand,
    ) -> Result<Vec<UnknownFaceEvent>, UnknownFaceError> {
        match command {
            UnknownFaceCommand::Record {
                camera_id,
                at,
                track_id,
                snapshot_ref,
                embedding,
                model_id,
            } => {
                if self.seen {
                    return Err(UnknownFaceError::AlreadyRecorded);
                }
                validate_embedding(&embedding)
                    .map_err(|e| UnknownFaceError::Invalid(e.to_string()))?;
                Ok(vec![UnknownFaceEvent::Seen {
                    camera_id,
                    at,
                    track_id,
                    snapshot_ref,
                    embedding,
                    model_id,
                }])
            }
            UnknownFaceCommand::Resolve { resolution, now } => {
                if !self.seen {
                    return Err(UnknownFaceError::NotFound);
                }
                match &self.resolution {
                    Some(done) if *done == resolution => Ok(vec![]),
                    Some(_) => Err(UnknownFaceError::AlreadyResolved),
                    None => Ok(vec![UnknownFaceEvent::Resolved {
                        resolution,
                        at: now,
                    }]),
                }
            }
        }
    }

    fn evolve(&mut self, event: UnknownFaceEvent) {
        match event {
            UnknownFaceEvent::Seen { .. } => self.seen = true,
            UnknownFaceEvent::Resolved { resolution, .. } => self.resolution = Some(resolution),
        }
    }
}

crate::aggregate!(
    UnknownFace,
    "unknown_face",
    UnknownFaceCommand,
    UnknownFaceEvent,
    UnknownFaceError
);

/// Cosine similarity of two L2-normalised embeddings (their dot product); 0 when the lengths
/// differ (embeddings of different models cannot be compared).
pub fn similarity(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::when;

    fn t() -> DateTime<Utc> {
        "2026-11-25T09:00:00Z".parse().unwrap()
    }
    fn record(embedding: Vec<f32>) -> UnknownFaceCommand {
        UnknownFaceCommand::Record {
            camera_id: "door".into(),
            at: t(),
            track_id: 7,
            snapshot_ref: Some("s.jpg".into()),
            embedding,
            model_id: "m".into(),
        }
    }

    #[test]
    fn recorded_once_with_a_valid_embedding() {
        let seen = when::<UnknownFace>(vec![], record(vec![0.6, 0.8])).unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(
            when::<UnknownFace>(seen, record(vec![0.6, 0.8])),
            Err(UnknownFaceError::AlreadyRecorded)
        );
        assert!(matches!(
            when::<UnknownFace>(vec![], record(vec![3.0, 4.0])),
            Err(UnknownFaceError::Invalid(_))
        ));
    }

    #[test]
    fn resolved_once_and_a_repeat_is_a_noop() {
        let seen = when::<UnknownFace>(vec![], record(vec![1.0, 0.0])).unwrap();
        let dismiss = || UnknownFaceCommand::Resolve {
            resolution: Resolution::Dismissed,
            now: t(),
        };
        let done = when::<UnknownFace>(seen.clone(), dismiss()).unwrap();
        let mut history = seen;
        history.extend(done);
        assert!(when::<UnknownFace>(history.clone(), dismiss())
            .unwrap()
            .is_empty());
        let attach = UnknownFaceCommand::Resolve {
            resolution: Resolution::Attached {
                employee_id: "e1".into(),
            },
            now: t(),
        };
        assert_eq!(
            when::<UnknownFace>(history, attach.clone()),
            Err(UnknownFaceError::AlreadyResolved)
        );
        assert_eq!(
            when::<UnknownFace>(vec![], attach),
            Err(UnknownFaceError::NotFound)
        );
    }

    #[test]
    fn similarity_is_the_dot_product_of_same_length_vectors() {
        assert!((similarity(&[0.6, 0.8], &[0.6, 0.8]) - 1.0).abs() < 1e-6);
        assert_eq!(similarity(&[1.0, 0.0], &[0.0, 1.0]), 0.0);
        assert_eq!(similarity(&[1.0], &[1.0, 0.0]), 0.0);
    }
}
