//! Face detection: the detector model gives boxes and scores, non-maximum
//! suppression merges duplicates, and the landmark model gives 68 points per
//! face from which the 5 alignment points (eyes, nose tip, mouth corners)
//! are taken.
//!
//! Models (from npm `faceplugin-face-recognition-js`, see scripts/fetch-models.sh):
//! - `fr_detect.onnx`: input `[1, 3, H, W]` RGB scaled to `(v - 127) / 128`;
//!   outputs `scores [1, N, 2]` (background, face) and `boxes [1, N, 4]`,
//!   corner form, normalised to the input size (anchors already decoded).
//! - `fr_landmark.onnx`: input `[1, 1, 64, 64]` gray / 256 of the square face
//!   crop; output `[1, 136]`, 68 `(x, y)` pairs normalised to the crop.

use image::RgbImage;
use ort::session::Session;
use ort::value::TensorRef;

use crate::engine::EngineError;
use crate::geometry::{BBox, Point};
use crate::resample::{resize_region, Region};

/// A face found in a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectedFace {
    /// Detection box in frame pixels.
    pub bbox: BBox,
    /// Detector confidence, 0-1.
    pub score: f32,
    /// Left eye, right eye, nose tip, left and right mouth corner (as seen in the image).
    pub landmarks: [Point; 5],
}

/// How a frame was fitted into the detector input: scaled by `scale` and
/// shifted by `(pad_x, pad_y)` (letterboxing keeps the aspect ratio).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    pub scale: f32,
    pub pad_x: f32,
    pub pad_y: f32,
}

impl Letterbox {
    /// Maps a box in input pixels back to frame pixels.
    pub fn to_frame(&self, b: BBox) -> BBox {
        BBox::new(
            (b.x1 - self.pad_x) / self.scale,
            (b.y1 - self.pad_y) / self.scale,
            (b.x2 - self.pad_x) / self.scale,
            (b.y2 - self.pad_y) / self.scale,
        )
    }
}

/// Scales `frame` into a `width` x `height` canvas (aspect ratio kept, grey
/// padding that normalises to 0) and returns it as normalised CHW floats.
pub fn letterbox(frame: &RgbImage, width: u32, height: u32) -> (Vec<f32>, Letterbox) {
    let scale = (width as f32 / frame.width() as f32).min(height as f32 / frame.height() as f32);
    let sw = ((frame.width() as f32 * scale).round() as u32).clamp(1, width);
    let sh = ((frame.height() as f32 * scale).round() as u32).clamp(1, height);
    let (pad_x, pad_y) = ((width - sw) / 2, (height - sh) / 2);
    let plane = (width * height) as usize;
    let mut data = vec![0.0f32; 3 * plane];
    // Scaled straight into the tensor, in one pass (see crate::resample).
    let whole = Region {
        x: 0,
        y: 0,
        width: frame.width(),
        height: frame.height(),
    };
    resize_region(frame, whole, sw, sh, |x, y, rgb| {
        let i = ((y + pad_y) * width + x + pad_x) as usize;
        for (c, v) in rgb.into_iter().enumerate() {
            data[c * plane + i] = (v - 127.0) / 128.0;
        }
    });
    let lb = Letterbox {
        scale,
        pad_x: pad_x as f32,
        pad_y: pad_y as f32,
    };
    (data, lb)
}

/// Greedy non-maximum suppression: keeps the best-scoring box of every group
/// overlapping by more than `iou_threshold`.
pub fn nms(mut candidates: Vec<(BBox, f32)>, iou_threshold: f32) -> Vec<(BBox, f32)> {
    candidates.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut kept: Vec<(BBox, f32)> = Vec::new();
    for c in candidates {
        if kept.iter().all(|k| k.0.iou(&c.0) <= iou_threshold) {
            kept.push(c);
        }
    }
    kept
}

/// The square crop the landmark model expects: side = box height, centred
/// on the box, shifted (not shrunk) to stay inside the image when possible.
pub fn landmark_crop(bbox: &BBox, width: u32, height: u32) -> BBox {
    let side = bbox
        .height()
        .max(bbox.width())
        .min(width as f32)
        .min(height as f32)
        .max(1.0);
    let cx = (bbox.x1 + bbox.x2) / 2.0;
    let cy = (bbox.y1 + bbox.y2) / 2.0;
    let x1 = (cx - side / 2.0).clamp(0.0, width as f32 - side);
    let y1 = (cy - side / 2.0).clamp(0.0, height as f32 - side);
    BBox::new(x1, y1, x1 + side, y1 + side)
}

/// The 5 alignment points from the 68-point (iBUG 300-W) layout: eye
/// centres from the four eyelid points, nose tip, mouth corners averaged
/// over the outer and inner lip corner.
pub fn five_from_68(pts: &[Point]) -> [Point; 5] {
    assert_eq!(pts.len(), 68, "expected 68 landmarks");
    let avg = |idx: &[usize]| -> Point {
        let n = idx.len() as f32;
        let (x, y) = idx
            .iter()
            .fold((0.0, 0.0), |(x, y), &i| (x + pts[i][0], y + pts[i][1]));
        [x / n, y / n]
    };
    [
        avg(&[37, 38, 40, 41]),
        avg(&[43, 44, 46, 47]),
        pts[30],
        avg(&[48, 60]),
        avg(&[54, 64]),
    ]
}

/// Detection settings; the models are passed in per call (each inference worker has its own).
pub(crate) struct Detector {
    input_size: [u32; 2],
    score_threshold: f32,
    nms_iou_threshold: f32,
}

impl Detector {
    pub(crate) fn new(input_size: [u32; 2], score_threshold: f32, nms_iou_threshold: f32) -> Self {
        Self {
            input_size,
            score_threshold,
            nms_iou_threshold,
        }
    }

    /// Fails unless the two models take the inputs this detector feeds them.
    pub(crate) fn check(
        &self,
        detector: &Session,
        landmarker: &Session,
    ) -> Result<(), EngineError> {
        let [w, h] = self.input_size;
        crate::engine::check_input_shape(detector, "fr_detect.onnx", &[1, 3, h as i64, w as i64])?;
        crate::engine::check_input_shape(landmarker, "fr_landmark.onnx", &[1, 1, 64, 64])
    }

    /// All faces in `frame`, best score first.
    pub(crate) fn detect(
        &self,
        detector: &mut Session,
        landmarker: &mut Session,
        frame: &RgbImage,
    ) -> Result<Vec<DetectedFace>, EngineError> {
        let boxes = self.boxes(detector, frame)?;
        boxes
            .into_iter()
            .map(|(bbox, score)| {
                Ok(DetectedFace {
                    bbox,
                    score,
                    landmarks: landmarks(landmarker, frame, &bbox)?,
                })
            })
            .collect()
    }

    /// The face boxes in `frame` with their scores, best first, without landmarks.
    pub(crate) fn boxes(
        &self,
        session: &mut Session,
        frame: &RgbImage,
    ) -> Result<Vec<(BBox, f32)>, EngineError> {
        let [w, h] = self.input_size;
        let (input, lb) = letterbox(frame, w, h);
        let outputs = session.run(ort::inputs![TensorRef::from_array_view((
            [1usize, 3, h as usize, w as usize],
            &input[..]
        ))?])?;
        let (_, scores) = outputs["scores"].try_extract_tensor::<f32>()?;
        let (_, boxes) = outputs["boxes"].try_extract_tensor::<f32>()?;
        if scores.len() / 2 != boxes.len() / 4 {
            return Err(EngineError::ModelOutput(format!(
                "fr_detect.onnx gave {} scores for {} boxes",
                scores.len() / 2,
                boxes.len() / 4
            )));
        }
        let (fw, fh) = (frame.width() as f32, frame.height() as f32);
        let candidates = scores
            .chunks_exact(2)
            .zip(boxes.chunks_exact(4))
            .filter(|(s, _)| s[1] >= self.score_threshold)
            .map(|(s, b)| {
                let input_box = BBox::new(
                    b[0] * w as f32,
                    b[1] * h as f32,
                    b[2] * w as f32,
                    b[3] * h as f32,
                );
                let f = lb.to_frame(input_box);
                let clipped = BBox::new(f.x1.max(0.0), f.y1.max(0.0), f.x2.min(fw), f.y2.min(fh));
                (clipped, s[1])
            })
            .filter(|(b, _)| b.area() > 0.0)
            .collect();
        Ok(nms(candidates, self.nms_iou_threshold))
    }
}

/// The 5 alignment points of the face in `bbox`, from the landmark model.
pub(crate) fn landmarks(
    session: &mut Session,
    frame: &RgbImage,
    bbox: &BBox,
) -> Result<[Point; 5], EngineError> {
    let crop = landmark_crop(bbox, frame.width(), frame.height());
    let (x, y) = (crop.x1.floor() as u32, crop.y1.floor() as u32);
    let side = (crop.width().round() as u32)
        .min(frame.width() - x)
        .min(frame.height() - y)
        .max(1);
    let crop = Region {
        x,
        y,
        width: side,
        height: side,
    };
    // Grey as crate::quality::to_luma computes it, / 256.
    let mut input = Vec::with_capacity(64 * 64);
    resize_region(frame, crop, 64, 64, |_, _, [r, g, b]| {
        input.push((0.299 * r + 0.587 * g + 0.114 * b) / 256.0);
    });
    let outputs = session.run(ort::inputs![TensorRef::from_array_view((
        [1usize, 1, 64, 64],
        &input[..]
    ))?])?;
    let (_, raw) = outputs[0].try_extract_tensor::<f32>()?;
    if raw.len() != 136 {
        return Err(EngineError::ModelOutput(format!(
            "fr_landmark.onnx gave {} values, expected 136",
            raw.len()
        )));
    }
    let pts: Vec<Point> = raw
        .chunks_exact(2)
        .map(|p| [x as f32 + p[0] * side as f32, y as f32 + p[1] * side as f32])
        .collect();
    Ok(five_from_68(&pts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letterbox_keeps_aspect_and_maps_boxes_back() {
        let frame = RgbImage::from_pixel(720, 405, image::Rgb([255, 0, 127]));
        let (data, lb) = letterbox(&frame, 320, 240);
        assert_eq!(data.len(), 3 * 320 * 240);
        assert!((lb.scale - 320.0 / 720.0).abs() < 1e-6);
        assert_eq!(lb.pad_x, 0.0);
        assert_eq!(lb.pad_y, 30.0);
        // Padding normalises to 0, the picture to (v - 127) / 128.
        assert_eq!(data[0], 0.0);
        let centre = (120 * 320 + 160) as usize;
        assert!((data[centre] - 1.0).abs() < 0.01);
        assert!((data[2 * 320 * 240 + centre]).abs() < 0.01);
        let back = lb.to_frame(BBox::new(32.0, 30.0, 64.0, 75.0));
        assert!((back.x1 - 72.0).abs() < 1e-3 && (back.y1 - 0.0).abs() < 1e-3);
        assert!((back.x2 - 144.0).abs() < 1e-3 && (back.y2 - 101.25).abs() < 1e-3);
    }

    #[test]
    fn nms_keeps_best_of_overlapping_and_all_of_disjoint() {
        let a = (BBox::new(0.0, 0.0, 10.0, 10.0), 0.8);
        let a_dup = (BBox::new(1.0, 1.0, 11.0, 11.0), 0.9);
        let b = (BBox::new(50.0, 50.0, 60.0, 60.0), 0.7);
        let kept = nms(vec![a, a_dup, b], 0.4);
        assert_eq!(kept, vec![a_dup, b]);
    }

    #[test]
    fn landmark_crop_is_square_and_inside_the_image() {
        let c = landmark_crop(&BBox::new(-10.0, 5.0, 30.0, 65.0), 640, 480);
        assert_eq!((c.width(), c.height()), (60.0, 60.0));
        assert_eq!((c.x1, c.y1), (0.0, 5.0));
        let c = landmark_crop(&BBox::new(600.0, 440.0, 650.0, 500.0), 640, 480);
        assert_eq!((c.x2, c.y2), (640.0, 480.0));
    }

    #[test]
    fn five_points_come_from_eyes_nose_and_mouth_corners() {
        let mut pts = vec![[0.0, 0.0]; 68];
        for i in [37, 38, 40, 41] {
            pts[i] = [10.0, 20.0];
        }
        for i in [43, 44, 46, 47] {
            pts[i] = [30.0, 20.0];
        }
        pts[30] = [20.0, 30.0];
        pts[48] = [12.0, 40.0];
        pts[60] = [14.0, 40.0];
        pts[54] = [28.0, 40.0];
        pts[64] = [26.0, 40.0];
        assert_eq!(
            five_from_68(&pts),
            [
                [10.0, 20.0],
                [30.0, 20.0],
                [20.0, 30.0],
                [13.0, 40.0],
                [27.0, 40.0]
            ]
        );
    }
}
