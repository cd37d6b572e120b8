//! Scaling a region of an RGB frame straight into a model's input, in one pass.
//!
//! The detector's letterbox and the landmark model's crop used to go through
//! `image::imageops::resize` (a generic RGBA f32 image in between, read column by column) and then
//! a second pass to build the tensor; profiling six 720p cameras showed that resize as the largest
//! cost outside ONNX Runtime. This does the same triangle (bilinear) filter, with the same
//! weights and the same rounding to 8 bits, for RGB only: a vertical pass into one row of floats,
//! then a horizontal pass that hands each output pixel to the caller, who writes it where the
//! tensor wants it.

use image::RgbImage;

/// A rectangle of the source frame, in pixels (inside the frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// The source pixels and normalised weights of each output coordinate.
struct Taps {
    /// First source index of each output coordinate.
    first: Vec<usize>,
    /// Weights of each output coordinate, `per` of them (zero-padded).
    weights: Vec<f32>,
    per: usize,
}

impl Taps {
    /// The triangle filter from `src` to `dst` samples, as `image::imageops::resize` computes it
    /// (support widened by the scale when shrinking).
    fn triangle(src: u32, dst: u32) -> Self {
        let ratio = src as f32 / dst as f32;
        let sratio = ratio.max(1.0);
        let support = sratio;
        let mut ranges = Vec::with_capacity(dst as usize);
        for out in 0..dst {
            let centre = (out as f32 + 0.5) * ratio;
            let left = ((centre - support).floor() as i64).clamp(0, src as i64 - 1);
            let right = ((centre + support).ceil() as i64).clamp(left + 1, src as i64);
            ranges.push((left as usize, right as usize, centre - 0.5));
        }
        let per = ranges.iter().map(|(l, r, _)| r - l).max().unwrap_or(1);
        let mut first = Vec::with_capacity(dst as usize);
        let mut weights = vec![0.0f32; per * dst as usize];
        for (o, &(left, right, centre)) in ranges.iter().enumerate() {
            let ws = &mut weights[o * per..o * per + (right - left)];
            for (k, w) in ws.iter_mut().enumerate() {
                *w = (1.0 - ((left + k) as f32 - centre).abs() / sratio).max(0.0);
            }
            let sum: f32 = ws.iter().sum();
            ws.iter_mut().for_each(|w| *w /= sum);
            first.push(left);
        }
        Self {
            first,
            weights,
            per,
        }
    }

    fn of(&self, out: usize) -> (usize, &[f32]) {
        (
            self.first[out],
            &self.weights[out * self.per..(out + 1) * self.per],
        )
    }
}

/// Scales `region` of `frame` to `width` × `height` (triangle filter, channels rounded to
/// integers 0-255 like an 8-bit image) and calls `put(x, y, [r, g, b])` for every output pixel,
/// row by row.
pub fn resize_region(
    frame: &RgbImage,
    region: Region,
    width: u32,
    height: u32,
    mut put: impl FnMut(u32, u32, [f32; 3]),
) {
    let stride = frame.width() as usize * 3;
    let raw = frame.as_raw();
    let rows = Taps::triangle(region.height, height);
    let cols = Taps::triangle(region.width, width);
    let row_len = region.width as usize * 3;
    // Zeros after the row: the zero-padded taps of the last columns read them, so the horizontal
    // pass needs no clamping and its slices no bounds checks per tap.
    let mut column_mix = vec![0.0f32; row_len + cols.per * 3];
    for oy in 0..height {
        // Vertical pass: this output row's source rows, mixed, for the region's columns.
        column_mix[..row_len].iter_mut().for_each(|v| *v = 0.0);
        let (first, weights) = rows.of(oy as usize);
        for (k, &w) in weights.iter().enumerate() {
            if w == 0.0 {
                continue;
            }
            let y = region.y as usize + first + k;
            let start = y * stride + region.x as usize * 3;
            for (acc, &v) in column_mix.iter_mut().zip(&raw[start..start + row_len]) {
                *acc += v as f32 * w;
            }
        }
        // Horizontal pass.
        for ox in 0..width {
            let (first, weights) = cols.of(ox as usize);
            let source = &column_mix[first * 3..(first + weights.len()) * 3];
            let mut rgb = [0.0f32; 3];
            for (pixel, &w) in source.chunks_exact(3).zip(weights) {
                rgb[0] += pixel[0] * w;
                rgb[1] += pixel[1] * w;
                rgb[2] += pixel[2] * w;
            }
            // Rounded half up, as `f32::round` does for these non-negative values, without a libm
            // call per channel.
            put(
                ox,
                oy,
                rgb.map(|c| (c.clamp(0.0, 255.0) + 0.5) as u32 as f32),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::imageops::{self, FilterType};
    use image::Rgb;

    fn picture(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            Rgb([
                (x * 7 + y * 3) as u8,
                ((x ^ y) * 5) as u8,
                ((x * y) % 251) as u8,
            ])
        })
    }

    /// The largest channel difference from `image::imageops::resize` with the triangle filter.
    fn max_difference(frame: &RgbImage, region: Region, w: u32, h: u32) -> f32 {
        let crop = imageops::crop_imm(frame, region.x, region.y, region.width, region.height);
        let expected = imageops::resize(&crop.to_image(), w, h, FilterType::Triangle);
        let mut worst = 0.0f32;
        resize_region(frame, region, w, h, |x, y, rgb| {
            let e = expected.get_pixel(x, y).0;
            for c in 0..3 {
                worst = worst.max((rgb[c] - e[c] as f32).abs());
            }
        });
        worst
    }

    #[test]
    fn matches_the_image_crate_when_shrinking_cropping_and_enlarging() {
        let frame = picture(720, 404);
        let whole = Region {
            x: 0,
            y: 0,
            width: 720,
            height: 404,
        };
        // Rounding of sums taken in another order may move a channel by one.
        assert!(max_difference(&frame, whole, 320, 180) <= 1.0);
        let face = Region {
            x: 301,
            y: 97,
            width: 83,
            height: 83,
        };
        assert!(max_difference(&frame, face, 64, 64) <= 1.0);
        let small = Region {
            x: 10,
            y: 20,
            width: 40,
            height: 40,
        };
        assert!(max_difference(&frame, small, 64, 64) <= 1.0);
    }
}
