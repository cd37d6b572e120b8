//! Motion gating (as Frigate does): the face detector runs only when the picture changed.
//!
//! Each frame is reduced to a grey thumbnail of [`GRID_WIDTH`] cells across (each cell the mean
//! luma of a block, sampled on a sparse grid of pixels, so it costs a few thousand reads, not a
//! full pass). The thumbnail is compared with the one of the last frame the detector ran on; a
//! cell whose mean changed by `motion_threshold` or more counts as changed, and `motion_min_area`
//! of changed cells is motion. Comparing with the last *detected* frame, not the previous one,
//! means slow movement adds up until it is noticed. The detector also runs while any face is
//! tracked (so a person standing still keeps being followed) and at least every
//! `motion_refresh_ms` (a face that arrived without enough change is found then).

use chrono::{DateTime, Utc};
use image::RgbImage;

use crate::config::InferenceConfig;

/// Thumbnail cells across the frame (rows follow the aspect ratio).
pub const GRID_WIDTH: u32 = 80;
/// Pixels sampled per cell side (4 × 4 per cell).
const SAMPLES: u32 = 4;

/// Why the detector runs, or that it may be skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The picture changed since the detector last ran.
    Motion,
    /// Faces are being tracked: follow them.
    Tracking,
    /// No detection for `motion_refresh_ms`, or the first frame, or gating is off.
    Refresh,
    /// Nothing changed and nothing is tracked: skip the detector.
    Still,
}

impl Decision {
    pub fn runs_detector(self) -> bool {
        self != Decision::Still
    }
}

/// The per-camera motion gate.
pub struct MotionGate {
    enabled: bool,
    threshold: u8,
    min_area: f32,
    refresh: chrono::Duration,
    /// Thumbnail and time of the last frame the detector ran on.
    reference: Option<(Thumbnail, DateTime<Utc>)>,
}

impl MotionGate {
    pub fn from_config(cfg: &InferenceConfig) -> Self {
        Self {
            enabled: cfg.motion_gating,
            threshold: cfg.motion_threshold,
            min_area: cfg.motion_min_area,
            refresh: chrono::Duration::milliseconds(cfg.motion_refresh_ms as i64),
            reference: None,
        }
    }

    /// Whether gating is on (`motion_gating`); off, every frame is a [`Decision::Refresh`].
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Decides whether the detector runs on `frame`; `tracking` says whether any face is tracked.
    /// When it runs, `frame` becomes the new reference.
    pub fn decide(&mut self, frame: &RgbImage, at: DateTime<Utc>, tracking: bool) -> Decision {
        if !self.enabled {
            return Decision::Refresh;
        }
        let thumb = Thumbnail::of(frame);
        let decision = match &self.reference {
            None => Decision::Refresh,
            Some((reference, _)) if reference.dims != thumb.dims => Decision::Refresh,
            Some((reference, _))
                if changed_fraction(reference, &thumb, self.threshold) >= self.min_area =>
            {
                Decision::Motion
            }
            Some(_) if tracking => Decision::Tracking,
            Some((_, since)) if at - *since >= self.refresh => Decision::Refresh,
            Some(_) => Decision::Still,
        };
        if decision.runs_detector() {
            self.reference = Some((thumb, at));
        }
        decision
    }
}

/// A grey thumbnail: one mean luma per cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Thumbnail {
    dims: (u32, u32),
    cells: Vec<u8>,
}

impl Thumbnail {
    pub fn of(frame: &RgbImage) -> Self {
        let (w, h) = frame.dimensions();
        let cell = (w / GRID_WIDTH).max(1);
        let (cols, rows) = ((w / cell).max(1), (h / cell).max(1));
        let step = (cell / SAMPLES).max(1);
        let raw = frame.as_raw();
        let mut cells = Vec::with_capacity((cols * rows) as usize);
        for row in 0..rows {
            for col in 0..cols {
                let (mut sum, mut n) = (0u32, 0u32);
                for sy in (0..cell).step_by(step as usize) {
                    let y = (row * cell + sy).min(h - 1);
                    for sx in (0..cell).step_by(step as usize) {
                        let x = (col * cell + sx).min(w - 1);
                        let i = ((y * w + x) * 3) as usize;
                        // BT.601 luma in integers.
                        sum +=
                            (77 * raw[i] as u32 + 150 * raw[i + 1] as u32 + 29 * raw[i + 2] as u32)
                                >> 8;
                        n += 1;
                    }
                }
                cells.push((sum / n) as u8);
            }
        }
        Self {
            dims: (cols, rows),
            cells,
        }
    }
}

/// The fraction of cells whose luma differs by `threshold` or more.
pub fn changed_fraction(a: &Thumbnail, b: &Thumbnail, threshold: u8) -> f32 {
    let changed = a
        .cells
        .iter()
        .zip(&b.cells)
        .filter(|(x, y)| x.abs_diff(**y) >= threshold)
        .count();
    changed as f32 / a.cells.len().max(1) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn wall() -> RgbImage {
        RgbImage::from_fn(720, 404, |x, y| Rgb([(x / 3) as u8, (y / 2) as u8, 100]))
    }

    fn cfg() -> InferenceConfig {
        InferenceConfig::default()
    }

    #[test]
    fn a_still_scene_skips_the_detector_until_the_refresh() {
        let mut gate = MotionGate::from_config(&cfg());
        let t0 = Utc::now();
        let ms = chrono::Duration::milliseconds;
        assert_eq!(gate.decide(&wall(), t0, false), Decision::Refresh);
        assert_eq!(gate.decide(&wall(), t0 + ms(125), false), Decision::Still);
        assert_eq!(gate.decide(&wall(), t0 + ms(1_900), false), Decision::Still);
        assert_eq!(
            gate.decide(&wall(), t0 + ms(2_000), false),
            Decision::Refresh
        );
        assert_eq!(
            gate.decide(&wall(), t0 + ms(2_100), true),
            Decision::Tracking
        );
    }

    #[test]
    fn noise_is_still_and_a_small_object_is_motion() {
        let mut gate = MotionGate::from_config(&cfg());
        let t0 = Utc::now();
        gate.decide(&wall(), t0, false);
        let mut noisy = wall();
        for (i, p) in noisy.pixels_mut().enumerate() {
            let n = (i * 7919 % 11) as u8; // ±5
            p.0[0] = p.0[0].saturating_add(n).saturating_sub(5);
        }
        assert_eq!(gate.decide(&noisy, t0, false), Decision::Still);
        // A 40 × 40 px face-sized patch appears.
        let mut face = wall();
        for y in 200..240 {
            for x in 300..340 {
                face.put_pixel(x, y, Rgb([230, 190, 160]));
            }
        }
        assert_eq!(gate.decide(&face, t0, false), Decision::Motion);
        // The reference moved on: the same picture again is still.
        assert_eq!(gate.decide(&face, t0, false), Decision::Still);
    }

    #[test]
    fn gating_off_runs_the_detector_on_every_frame() {
        let mut gate = MotionGate::from_config(&InferenceConfig {
            motion_gating: false,
            ..cfg()
        });
        let t0 = Utc::now();
        gate.decide(&wall(), t0, false);
        assert!(gate.decide(&wall(), t0, false).runs_detector());
    }
}
