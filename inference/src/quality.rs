//! Gates that keep small, blurred, too dark or too bright faces away from
//! recognition. Measured on the aligned 112x112 face, so the numbers do not
//! depend on the camera's resolution.

use image::RgbImage;

use crate::config::InferenceConfig;
use crate::geometry::BBox;

/// Why a face was not good enough to recognise.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QualityIssue {
    #[error("face is too small ({size:.0} px, at least {min} px needed)")]
    TooSmall { size: f32, min: u32 },
    #[error("face is blurred (sharpness {sharpness:.1}, at least {min:.1} needed)")]
    Blurred { sharpness: f32, min: f32 },
    #[error("face is too dark (brightness {brightness:.0}, at least {min:.0} needed)")]
    TooDark { brightness: f32, min: f32 },
    #[error("face is too bright (brightness {brightness:.0}, at most {max:.0} allowed)")]
    TooBright { brightness: f32, max: f32 },
}

/// The measurements of one face.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quality {
    /// Shorter side of the detection box, in frame pixels.
    pub size: f32,
    /// Variance of the Laplacian of the aligned face (higher is sharper).
    pub sharpness: f32,
    /// Mean luma (0-255) of the aligned face.
    pub brightness: f32,
}

/// The thresholds from [`InferenceConfig`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityGate {
    pub min_face_size: u32,
    pub blur_threshold: f32,
    pub brightness_min: f32,
    pub brightness_max: f32,
}

impl QualityGate {
    pub fn from_config(cfg: &InferenceConfig) -> Self {
        Self {
            min_face_size: cfg.min_face_size,
            blur_threshold: cfg.blur_threshold,
            brightness_min: cfg.brightness_min,
            brightness_max: cfg.brightness_max,
        }
    }

    /// The size check alone: cheap, done before a face is aligned.
    pub fn check_size(&self, bbox: &BBox) -> Result<(), QualityIssue> {
        let size = bbox.min_side();
        if size < self.min_face_size as f32 {
            return Err(QualityIssue::TooSmall {
                size,
                min: self.min_face_size,
            });
        }
        Ok(())
    }

    /// All checks, in the order size, brightness, sharpness (a dark face
    /// also has little contrast, so darkness is the better explanation).
    pub fn check(&self, bbox: &BBox, aligned: &RgbImage) -> Result<Quality, QualityIssue> {
        self.check_size(bbox)?;
        let luma = to_luma(aligned);
        let quality = Quality {
            size: bbox.min_side(),
            sharpness: laplacian_variance(&luma, aligned.width() as usize),
            brightness: mean(&luma),
        };
        if quality.brightness < self.brightness_min {
            return Err(QualityIssue::TooDark {
                brightness: quality.brightness,
                min: self.brightness_min,
            });
        }
        if quality.brightness > self.brightness_max {
            return Err(QualityIssue::TooBright {
                brightness: quality.brightness,
                max: self.brightness_max,
            });
        }
        if quality.sharpness < self.blur_threshold {
            return Err(QualityIssue::Blurred {
                sharpness: quality.sharpness,
                min: self.blur_threshold,
            });
        }
        Ok(quality)
    }
}

/// BT.601 luma of every pixel, row-major.
pub fn to_luma(img: &RgbImage) -> Vec<f32> {
    img.pixels()
        .map(|p| 0.299 * p.0[0] as f32 + 0.587 * p.0[1] as f32 + 0.114 * p.0[2] as f32)
        .collect()
}

fn mean(values: &[f32]) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    values.iter().sum::<f32>() / values.len() as f32
}

/// Variance of the 4-neighbour Laplacian over the interior pixels of a
/// `width`-wide luma image: the usual "is it in focus" measure.
pub fn laplacian_variance(luma: &[f32], width: usize) -> f32 {
    if width < 3 || luma.len() < width * 3 {
        return 0.0;
    }
    let height = luma.len() / width;
    let mut responses = Vec::with_capacity((width - 2) * (height - 2));
    for y in 1..height - 1 {
        for x in 1..width - 1 {
            let i = y * width + x;
            responses.push(
                luma[i - 1] + luma[i + 1] + luma[i - width] + luma[i + width] - 4.0 * luma[i],
            );
        }
    }
    let m = mean(&responses);
    mean(
        &responses
            .iter()
            .map(|r| (r - m) * (r - m))
            .collect::<Vec<_>>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn gate() -> QualityGate {
        QualityGate {
            min_face_size: 40,
            blur_threshold: 30.0,
            brightness_min: 40.0,
            brightness_max: 220.0,
        }
    }

    fn checkerboard(low: u8, high: u8) -> RgbImage {
        RgbImage::from_fn(112, 112, |x, y| {
            let v = if (x / 2 + y / 2) % 2 == 0 { low } else { high };
            Rgb([v, v, v])
        })
    }

    fn big_box() -> BBox {
        BBox::new(0.0, 0.0, 100.0, 120.0)
    }

    #[test]
    fn laplacian_variance_is_zero_on_flat_and_high_on_texture() {
        assert_eq!(laplacian_variance(&[128.0; 112 * 112], 112), 0.0);
        let luma = to_luma(&checkerboard(60, 190));
        assert!(laplacian_variance(&luma, 112) > 1000.0);
    }

    #[test]
    fn sharp_well_lit_face_passes() {
        let q = gate().check(&big_box(), &checkerboard(60, 190)).unwrap();
        assert_eq!(q.size, 100.0);
        assert!((q.brightness - 125.0).abs() < 1.0);
    }

    #[test]
    fn small_faces_are_rejected_before_alignment() {
        let err = gate()
            .check_size(&BBox::new(0.0, 0.0, 30.0, 80.0))
            .unwrap_err();
        assert_eq!(
            err,
            QualityIssue::TooSmall {
                size: 30.0,
                min: 40
            }
        );
    }

    #[test]
    fn flat_faces_are_blurred() {
        let flat = RgbImage::from_pixel(112, 112, Rgb([128, 128, 128]));
        assert!(matches!(
            gate().check(&big_box(), &flat),
            Err(QualityIssue::Blurred { .. })
        ));
    }

    #[test]
    fn dark_and_bright_faces_are_rejected() {
        assert!(matches!(
            gate().check(&big_box(), &checkerboard(0, 50)),
            Err(QualityIssue::TooDark { .. })
        ));
        assert!(matches!(
            gate().check(&big_box(), &checkerboard(210, 255)),
            Err(QualityIssue::TooBright { .. })
        ));
    }

    #[test]
    fn messages_say_what_to_fix() {
        let msg = QualityIssue::TooDark {
            brightness: 20.0,
            min: 40.0,
        }
        .to_string();
        assert_eq!(msg, "face is too dark (brightness 20, at least 40 needed)");
    }
}
