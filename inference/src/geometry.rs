//! Boxes, points and the 5-point similarity transform that aligns a face to
//! the ArcFace 112x112 template.

use image::imageops::{self, FilterType};
use image::{Rgb, RgbImage};

/// An axis-aligned box in pixels, corners `(x1, y1)` (top left) and `(x2, y2)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
}

impl BBox {
    pub fn new(x1: f32, y1: f32, x2: f32, y2: f32) -> Self {
        Self { x1, y1, x2, y2 }
    }

    pub fn width(&self) -> f32 {
        (self.x2 - self.x1).max(0.0)
    }

    pub fn height(&self) -> f32 {
        (self.y2 - self.y1).max(0.0)
    }

    pub fn area(&self) -> f32 {
        self.width() * self.height()
    }

    /// The shorter side, used as the face size.
    pub fn min_side(&self) -> f32 {
        self.width().min(self.height())
    }

    /// Intersection over union, 0 when the boxes do not overlap.
    pub fn iou(&self, other: &BBox) -> f32 {
        let iw = (self.x2.min(other.x2) - self.x1.max(other.x1)).max(0.0);
        let ih = (self.y2.min(other.y2) - self.y1.max(other.y1)).max(0.0);
        let inter = iw * ih;
        let union = self.area() + other.area() - inter;
        if union <= 0.0 {
            0.0
        } else {
            inter / union
        }
    }

    /// A box grown by `factor` of its size on every side, clipped to `width` x `height`.
    pub fn expanded(&self, factor: f32, width: u32, height: u32) -> BBox {
        let dx = self.width() * factor;
        let dy = self.height() * factor;
        BBox {
            x1: (self.x1 - dx).max(0.0),
            y1: (self.y1 - dy).max(0.0),
            x2: (self.x2 + dx).min(width as f32),
            y2: (self.y2 + dy).min(height as f32),
        }
    }
}

/// A point in pixels.
pub type Point = [f32; 2];

/// Where ArcFace-style embedders expect the left eye, right eye, nose tip
/// and mouth corners in a 112x112 crop (InsightFace's reference points).
pub const ARCFACE_TEMPLATE: [Point; 5] = [
    [38.2946, 51.6963],
    [73.5318, 51.5014],
    [56.0252, 71.7366],
    [41.5493, 92.3655],
    [70.7299, 92.2041],
];

/// Side of the aligned face crop.
pub const ALIGNED_SIZE: u32 = 112;

/// A 2D similarity transform `dst = s * R * src + t`, stored as the 2x3
/// matrix `[[a, -b, tx], [b, a, ty]]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    pub a: f32,
    pub b: f32,
    pub tx: f32,
    pub ty: f32,
}

impl Similarity {
    /// Least-squares similarity mapping `src` onto `dst` (Umeyama, 2D closed form).
    /// Returns `None` for degenerate input (all points equal).
    pub fn estimate(src: &[Point], dst: &[Point]) -> Option<Similarity> {
        assert_eq!(src.len(), dst.len(), "point sets differ in length");
        let n = src.len() as f64;
        let mean = |pts: &[Point]| {
            let (sx, sy) = pts.iter().fold((0.0f64, 0.0f64), |(x, y), p| {
                (x + p[0] as f64, y + p[1] as f64)
            });
            (sx / n, sy / n)
        };
        let (msx, msy) = mean(src);
        let (mdx, mdy) = mean(dst);
        // Sums over centred points: a*|s|^2 = sum(s·d), b*|s|^2 = sum(s×d).
        let (mut dot, mut cross, mut norm) = (0.0f64, 0.0f64, 0.0f64);
        for (s, d) in src.iter().zip(dst) {
            let (sx, sy) = (s[0] as f64 - msx, s[1] as f64 - msy);
            let (dx, dy) = (d[0] as f64 - mdx, d[1] as f64 - mdy);
            dot += sx * dx + sy * dy;
            cross += sx * dy - sy * dx;
            norm += sx * sx + sy * sy;
        }
        if norm < 1e-9 {
            return None;
        }
        let a = dot / norm;
        let b = cross / norm;
        let tx = mdx - (a * msx - b * msy);
        let ty = mdy - (b * msx + a * msy);
        Some(Similarity {
            a: a as f32,
            b: b as f32,
            tx: tx as f32,
            ty: ty as f32,
        })
    }

    pub fn apply(&self, p: Point) -> Point {
        [
            self.a * p[0] - self.b * p[1] + self.tx,
            self.b * p[0] + self.a * p[1] + self.ty,
        ]
    }

    /// The inverse transform; `None` when the scale is zero.
    pub fn inverse(&self) -> Option<Similarity> {
        let det = self.a * self.a + self.b * self.b;
        if det < 1e-12 {
            return None;
        }
        let (a, b) = (self.a / det, -self.b / det);
        Some(Similarity {
            a,
            b,
            tx: -(a * self.tx - b * self.ty),
            ty: -(b * self.tx + a * self.ty),
        })
    }
}

/// Bilinear sample of `img` at `(x, y)`; outside the image is black.
fn sample(img: &RgbImage, x: f32, y: f32) -> [f32; 3] {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let (x0, y0) = (x.floor() as i64, y.floor() as i64);
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let px = |xi: i64, yi: i64| -> [f32; 3] {
        if xi < 0 || yi < 0 || xi >= w || yi >= h {
            [0.0; 3]
        } else {
            let p = img.get_pixel(xi as u32, yi as u32).0;
            [p[0] as f32, p[1] as f32, p[2] as f32]
        }
    };
    let (p00, p10, p01, p11) = (
        px(x0, y0),
        px(x0 + 1, y0),
        px(x0, y0 + 1),
        px(x0 + 1, y0 + 1),
    );
    let mut out = [0.0; 3];
    for c in 0..3 {
        let top = p00[c] * (1.0 - fx) + p10[c] * fx;
        let bottom = p01[c] * (1.0 - fx) + p11[c] * fx;
        out[c] = top * (1.0 - fy) + bottom * fy;
    }
    out
}

/// Warps the face whose five landmarks are `landmarks` (in `frame` pixels)
/// onto the 112x112 ArcFace template. `None` for degenerate landmarks.
///
/// A face much larger than the template (a close-up enrolment photo) is
/// first scaled down with a smoothing filter, so the warp does not alias.
pub fn align_face(frame: &RgbImage, landmarks: &[Point; 5]) -> Option<RgbImage> {
    let to_template = Similarity::estimate(landmarks, &ARCFACE_TEMPLATE)?;
    let scale = (to_template.a * to_template.a + to_template.b * to_template.b).sqrt();
    if scale < 0.5 {
        let to_frame = to_template.inverse()?;
        let corners =
            [[0.0, 0.0], [112.0, 0.0], [0.0, 112.0], [112.0, 112.0]].map(|c| to_frame.apply(c));
        let (fw, fh) = (frame.width() as f32, frame.height() as f32);
        let x1 = corners
            .iter()
            .map(|c| c[0])
            .fold(fw, f32::min)
            .clamp(0.0, fw - 1.0)
            .floor();
        let y1 = corners
            .iter()
            .map(|c| c[1])
            .fold(fh, f32::min)
            .clamp(0.0, fh - 1.0)
            .floor();
        let x2 = corners
            .iter()
            .map(|c| c[0])
            .fold(0.0, f32::max)
            .clamp(x1 + 1.0, fw)
            .ceil();
        let y2 = corners
            .iter()
            .map(|c| c[1])
            .fold(0.0, f32::max)
            .clamp(y1 + 1.0, fh)
            .ceil();
        let region = imageops::crop_imm(
            frame,
            x1 as u32,
            y1 as u32,
            (x2 - x1) as u32,
            (y2 - y1) as u32,
        );
        let (w, h) = (
            (((x2 - x1) * scale).round() as u32).max(1),
            (((y2 - y1) * scale).round() as u32).max(1),
        );
        let small = imageops::resize(&region.to_image(), w, h, FilterType::Triangle);
        let moved = landmarks.map(|p| [(p[0] - x1) * scale, (p[1] - y1) * scale]);
        return warp_to_template(&small, &moved);
    }
    warp_to_template(frame, landmarks)
}

fn warp_to_template(frame: &RgbImage, landmarks: &[Point; 5]) -> Option<RgbImage> {
    let to_template = Similarity::estimate(landmarks, &ARCFACE_TEMPLATE)?;
    let to_frame = to_template.inverse()?;
    let mut out = RgbImage::new(ALIGNED_SIZE, ALIGNED_SIZE);
    for (x, y, px) in out.enumerate_pixels_mut() {
        let [sx, sy] = to_frame.apply([x as f32, y as f32]);
        let v = sample(frame, sx, sy);
        *px = Rgb([v[0].round() as u8, v[1].round() as u8, v[2].round() as u8]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Point, b: Point) -> bool {
        (a[0] - b[0]).abs() < 1e-3 && (a[1] - b[1]).abs() < 1e-3
    }

    #[test]
    fn iou_of_identical_disjoint_and_half_overlapping_boxes() {
        let a = BBox::new(0.0, 0.0, 10.0, 10.0);
        assert_eq!(a.iou(&a), 1.0);
        assert_eq!(a.iou(&BBox::new(20.0, 20.0, 30.0, 30.0)), 0.0);
        let half = BBox::new(5.0, 0.0, 15.0, 10.0);
        assert!((a.iou(&half) - 50.0 / 150.0).abs() < 1e-6);
    }

    #[test]
    fn similarity_recovers_a_known_rotation_scale_and_shift() {
        let truth = Similarity {
            a: 0.8 * 30f32.to_radians().cos(),
            b: 0.8 * 30f32.to_radians().sin(),
            tx: 12.0,
            ty: -7.0,
        };
        let src: Vec<Point> = ARCFACE_TEMPLATE
            .iter()
            .map(|p| [p[0] * 3.0, p[1] * 2.0])
            .collect();
        let dst: Vec<Point> = src.iter().map(|p| truth.apply(*p)).collect();
        let est = Similarity::estimate(&src, &dst).unwrap();
        for (s, d) in src.iter().zip(&dst) {
            assert!(close(est.apply(*s), *d), "{:?} vs {:?}", est.apply(*s), d);
        }
        let inv = est.inverse().unwrap();
        for s in &src {
            assert!(close(inv.apply(est.apply(*s)), *s));
        }
    }

    #[test]
    fn large_faces_are_scaled_down_before_the_warp() {
        // The template drawn 6x larger: aligning it must give back the template.
        let big: [Point; 5] = ARCFACE_TEMPLATE.map(|p| [p[0] * 6.0 + 40.0, p[1] * 6.0 + 30.0]);
        let frame = RgbImage::from_fn(800, 800, |x, y| {
            let v = (((x as f32 - 40.0) / 6.0 + (y as f32 - 30.0) / 6.0) as u32 % 256) as u8;
            Rgb([v, v, 255 - v])
        });
        let aligned = align_face(&frame, &big).unwrap();
        let expected = |x: u32, y: u32| ((x + y) % 256) as i32;
        for (x, y) in [(10, 10), (56, 56), (100, 30)] {
            let got = aligned.get_pixel(x, y).0[0] as i32;
            assert!((got - expected(x, y)).abs() <= 3, "({x},{y}): {got}");
        }
    }

    #[test]
    fn similarity_of_degenerate_points_is_none() {
        let same = [[5.0, 5.0]; 5];
        assert!(Similarity::estimate(&same, &ARCFACE_TEMPLATE).is_none());
    }

    #[test]
    fn align_maps_landmarks_onto_the_template() {
        // A frame where each landmark is a bright dot; after alignment the
        // dots must sit on the template points.
        let landmarks: [Point; 5] = [
            [200.0, 150.0],
            [260.0, 156.0],
            [228.0, 190.0],
            [205.0, 225.0],
            [252.0, 229.0],
        ];
        let mut frame = RgbImage::new(400, 300);
        for p in &landmarks {
            for dy in -2i32..=2 {
                for dx in -2i32..=2 {
                    let (x, y) = ((p[0] as i32 + dx) as u32, (p[1] as i32 + dy) as u32);
                    frame.put_pixel(x, y, Rgb([255, 255, 255]));
                }
            }
        }
        let aligned = align_face(&frame, &landmarks).unwrap();
        assert_eq!(aligned.dimensions(), (112, 112));
        let fit = Similarity::estimate(&landmarks, &ARCFACE_TEMPLATE).unwrap();
        for (p, t) in landmarks.iter().zip(ARCFACE_TEMPLATE) {
            // The least-squares fit lands within a pixel or two of the template.
            let mapped = fit.apply(*p);
            assert!((mapped[0] - t[0]).abs() < 3.0 && (mapped[1] - t[1]).abs() < 3.0);
            let px = aligned.get_pixel(mapped[0].round() as u32, mapped[1].round() as u32);
            assert!(px.0[0] > 100, "dot not found at {mapped:?}");
        }
    }
}
