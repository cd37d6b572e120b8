//! The enrolment check: a new face photo is compared with every enrolled template before it
//! becomes one, so that a wrong photo cannot silently take over somebody else's identity.

use crate::visitor::similarity;

/// An enrolled template and whose it is.
#[derive(Debug, Clone, Copy)]
pub struct Enrolled<'a> {
    pub employee_id: &'a str,
    pub employee_name: &'a str,
    pub embedding: &'a [f32],
}

/// The closest other employee a photo resembles.
#[derive(Debug, Clone, PartialEq)]
pub struct OtherMatch {
    pub employee_id: String,
    pub employee_name: String,
    pub similarity: f32,
}

/// What the check found; [`FaceVerdict::Accept`] stores without asking.
#[derive(Debug, Clone, PartialEq)]
pub enum FaceVerdict {
    Accept,
    /// At or above the recognition threshold to another employee: the cameras would take this
    /// person for them.
    MatchesOther(OtherMatch),
    /// The employee has templates, and none is as close as the recognition threshold: probably
    /// somebody else's photo.
    FarFromOwn {
        best: f32,
    },
}

/// Judges `candidate` for `employee_id` against `enrolled` with the cameras' `threshold`. Templates
/// of another length (another model) are not comparable and are skipped.
pub fn judge(
    candidate: &[f32],
    employee_id: &str,
    enrolled: &[Enrolled<'_>],
    threshold: f32,
) -> FaceVerdict {
    let comparable = enrolled
        .iter()
        .filter(|t| t.embedding.len() == candidate.len());
    let mut other: Option<OtherMatch> = None;
    let mut own_best: Option<f32> = None;
    for template in comparable {
        let s = similarity(candidate, template.embedding);
        if template.employee_id == employee_id {
            own_best = Some(own_best.map_or(s, |b| b.max(s)));
        } else if s >= threshold && other.as_ref().is_none_or(|o| s > o.similarity) {
            other = Some(OtherMatch {
                employee_id: template.employee_id.to_string(),
                employee_name: template.employee_name.to_string(),
                similarity: s,
            });
        }
    }
    match (other, own_best) {
        (Some(other), _) => FaceVerdict::MatchesOther(other),
        (None, Some(best)) if best < threshold => FaceVerdict::FarFromOwn { best },
        _ => FaceVerdict::Accept,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t<'a>(id: &'a str, embedding: &'a [f32]) -> Enrolled<'a> {
        Enrolled {
            employee_id: id,
            employee_name: id,
            embedding,
        }
    }

    #[test]
    fn a_face_like_another_employees_is_refused_with_the_closest_name() {
        let others = [t("ana", &[1.0, 0.0]), t("bo", &[0.8, 0.6])];
        let verdict = judge(&[0.96, 0.28], "cy", &others, 0.5);
        let FaceVerdict::MatchesOther(m) = verdict else {
            panic!("{verdict:?}");
        };
        assert_eq!(m.employee_name, "ana");
        assert!((m.similarity - 0.96).abs() < 1e-6);
    }

    #[test]
    fn far_from_own_templates_warns_and_a_first_photo_is_accepted() {
        let own = [t("cy", &[1.0, 0.0]), t("ana", &[0.0, 1.0])];
        assert_eq!(
            judge(&[0.6, -0.8], "cy", &own, 0.7),
            FaceVerdict::FarFromOwn { best: 0.6 }
        );
        assert_eq!(judge(&[0.8, -0.6], "cy", &own, 0.7), FaceVerdict::Accept);
        assert_eq!(
            judge(&[1.0, 0.0], "new", &own[1..], 0.7),
            FaceVerdict::Accept
        );
        // Another model's template (another length) is not compared.
        assert_eq!(judge(&[1.0, 0.0, 0.0], "x", &own, 0.1), FaceVerdict::Accept);
    }
}
