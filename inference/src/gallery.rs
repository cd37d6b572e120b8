//! Enrolled face templates and matching.

use image::RgbImage;

use crate::config::InferenceConfig;
use crate::embed::{cosine, l2_normalize};
use crate::engine::{EngineError, FaceEngine};
use crate::geometry::align_face;
use crate::quality::{QualityGate, QualityIssue};

/// The best template for a face.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub employee_id: String,
    /// Cosine similarity, -1..1 (same person is typically above 0.5).
    pub similarity: f32,
}

/// Why a template was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GalleryError {
    #[error("embedding has {got} values, the gallery holds {expected}-value embeddings")]
    DimensionMismatch { expected: usize, got: usize },
    #[error("embedding is empty, all zeros or not finite")]
    InvalidEmbedding,
}

/// Enrolled templates `(employee_id, embedding)`; an employee may have several.
#[derive(Debug, Clone, Default)]
pub struct Gallery {
    templates: Vec<(String, Vec<f32>)>,
}

impl Gallery {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a template (normalised to unit length).
    pub fn insert(
        &mut self,
        employee_id: impl Into<String>,
        mut embedding: Vec<f32>,
    ) -> Result<(), GalleryError> {
        if embedding.is_empty()
            || embedding.iter().any(|v| !v.is_finite())
            || embedding.iter().all(|v| *v == 0.0)
        {
            return Err(GalleryError::InvalidEmbedding);
        }
        if let Some((_, first)) = self.templates.first() {
            if first.len() != embedding.len() {
                return Err(GalleryError::DimensionMismatch {
                    expected: first.len(),
                    got: embedding.len(),
                });
            }
        }
        l2_normalize(&mut embedding);
        self.templates.push((employee_id.into(), embedding));
        Ok(())
    }

    /// Removes every template of `employee_id`; returns how many there were.
    pub fn remove(&mut self, employee_id: &str) -> usize {
        let before = self.templates.len();
        self.templates.retain(|(id, _)| id != employee_id);
        before - self.templates.len()
    }

    /// Number of templates.
    pub fn len(&self) -> usize {
        self.templates.len()
    }

    pub fn is_empty(&self) -> bool {
        self.templates.is_empty()
    }

    /// The most similar template, whatever its similarity.
    pub fn best(&self, embedding: &[f32]) -> Option<Match> {
        self.templates
            .iter()
            .filter(|(_, t)| t.len() == embedding.len())
            .map(|(id, t)| (id, cosine(t, embedding)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(id, similarity)| Match {
                employee_id: id.clone(),
                similarity,
            })
    }

    /// The most similar template if it reaches `threshold`.
    pub fn identify(&self, embedding: &[f32], threshold: f32) -> Option<Match> {
        self.best(embedding).filter(|m| m.similarity >= threshold)
    }
}

/// Why an enrolment photo was refused.
#[derive(Debug, thiserror::Error)]
pub enum EnrolError {
    #[error("cannot read the photo (JPEG or PNG expected): {0}")]
    Unreadable(String),
    #[error("no face found in the photo")]
    NoFace,
    #[error("{count} faces found in the photo; use a photo showing only the employee")]
    SeveralFaces { count: usize },
    #[error("the face cannot be aligned (landmarks not found)")]
    NotAligned,
    #[error("the photo is not good enough: {0}")]
    PoorQuality(#[from] QualityIssue),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// The embedding of the one face in an enrolment photo (JPEG or PNG bytes),
/// after the same quality gates as the cameras apply.
pub fn enrol_photo(
    engine: &FaceEngine,
    cfg: &InferenceConfig,
    photo: &[u8],
) -> Result<Vec<f32>, EnrolError> {
    let image = image::load_from_memory(photo)
        .map_err(|e| EnrolError::Unreadable(e.to_string()))?
        .to_rgb8();
    enrol_image(engine, cfg, &image)
}

/// [`enrol_photo`] for an already decoded image.
pub fn enrol_image(
    engine: &FaceEngine,
    cfg: &InferenceConfig,
    image: &RgbImage,
) -> Result<Vec<f32>, EnrolError> {
    let gate = QualityGate::from_config(cfg);
    let faces = engine.detect(image)?;
    let big_enough: Vec<_> = faces
        .iter()
        .filter(|f| gate.check_size(&f.bbox).is_ok())
        .collect();
    let face = match big_enough.as_slice() {
        [one] => *one,
        [] => {
            return Err(match faces.first() {
                None => EnrolError::NoFace,
                Some(small) => EnrolError::PoorQuality(QualityIssue::TooSmall {
                    size: small.bbox.min_side(),
                    min: gate.min_face_size,
                }),
            })
        }
        several => {
            return Err(EnrolError::SeveralFaces {
                count: several.len(),
            })
        }
    };
    let aligned = align_face(image, &face.landmarks).ok_or(EnrolError::NotAligned)?;
    gate.check(&face.bbox, &aligned)?;
    Ok(engine.embed(&aligned)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identify_returns_best_template_above_threshold() {
        let mut g = Gallery::new();
        g.insert("alice", vec![1.0, 0.0, 0.0]).unwrap();
        g.insert("bob", vec![0.0, 2.0, 0.0]).unwrap();
        let probe = [0.1, 0.9, 0.0];
        let m = g.identify(&probe, 0.5).unwrap();
        assert_eq!(m.employee_id, "bob");
        assert!(
            (m.similarity - 0.9).abs() < 1e-6,
            "templates are normalised"
        );
        assert!(g.identify(&[0.0, 0.0, 1.0], 0.5).is_none());
        assert_eq!(g.best(&[0.0, 0.0, 1.0]).unwrap().similarity, 0.0);
    }

    #[test]
    fn several_templates_per_employee_and_removal() {
        let mut g = Gallery::new();
        g.insert("alice", vec![1.0, 0.0]).unwrap();
        g.insert("alice", vec![0.0, 1.0]).unwrap();
        g.insert("bob", vec![-1.0, 0.0]).unwrap();
        assert_eq!(g.identify(&[0.0, 1.0], 0.9).unwrap().employee_id, "alice");
        assert_eq!(g.remove("alice"), 2);
        assert_eq!(g.len(), 1);
        assert!(g.identify(&[0.0, 1.0], 0.9).is_none());
    }

    #[test]
    fn bad_templates_are_refused() {
        let mut g = Gallery::new();
        assert_eq!(g.insert("a", vec![]), Err(GalleryError::InvalidEmbedding));
        assert_eq!(
            g.insert("a", vec![0.0, 0.0]),
            Err(GalleryError::InvalidEmbedding)
        );
        assert_eq!(
            g.insert("a", vec![f32::NAN, 1.0]),
            Err(GalleryError::InvalidEmbedding)
        );
        g.insert("a", vec![1.0, 0.0]).unwrap();
        assert_eq!(
            g.insert("b", vec![1.0, 0.0, 0.0]),
            Err(GalleryError::DimensionMismatch {
                expected: 2,
                got: 3
            })
        );
        assert!(!g.is_empty() && g.len() == 1);
    }
}
