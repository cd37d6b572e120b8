//! What the live view and `latest.jpg` show on a frame: a box per face and, above it, a label with
//! the employee's name (or "unknown") and the similarity of the best match, in an 8×8 bitmap font
//! scaled ×2 (no font files, no system fonts).

use std::collections::HashMap;

use facewatch_inference::pipeline::draw_box;
use facewatch_inference::{FaceLabel, FaceOverlay};
use font8x8::legacy::{BASIC_LEGACY, LATIN_LEGACY};
use image::{Rgb, RgbImage};

/// Pixels per font pixel.
pub const TEXT_SCALE: u32 = 2;
/// Height of a label bar (text plus padding).
pub const LABEL_HEIGHT: u32 = 8 * TEXT_SCALE + 4;

const KNOWN: Rgb<u8> = Rgb([0, 200, 0]);
const UNKNOWN: Rgb<u8> = Rgb([220, 0, 0]);
const PENDING: Rgb<u8> = Rgb([230, 200, 0]);
const POOR: Rgb<u8> = Rgb([150, 150, 150]);
const WHITE: Rgb<u8> = Rgb([255, 255, 255]);
const BLACK: Rgb<u8> = Rgb([0, 0, 0]);

/// The text drawn above a face: `"Barack Obama 0.87"`, `"unknown 0.21"`, `"?"` while votes are
/// still being collected; no label for a face too poor to recognise.
pub fn label_text(face: &FaceOverlay, names: &HashMap<String, String>) -> Option<String> {
    let similarity = face
        .similarity
        .map(|s| format!(" {s:.2}"))
        .unwrap_or_default();
    match &face.label {
        FaceLabel::Known(id) => {
            let name = names.get(id).map(String::as_str).unwrap_or(id);
            Some(format!("{name}{similarity}"))
        }
        FaceLabel::Unknown => Some(format!("unknown{similarity}")),
        FaceLabel::Pending => Some(format!("?{similarity}")),
        FaceLabel::PoorQuality => None,
    }
}

/// A copy of `image` with every face's box and label drawn (green: known, red: unknown,
/// yellow: still deciding, grey: too poor to recognise).
pub fn annotate(
    image: &RgbImage,
    faces: &[FaceOverlay],
    names: &HashMap<String, String>,
) -> RgbImage {
    let mut canvas = image.clone();
    for face in faces {
        let (color, ink) = match face.label {
            FaceLabel::Known(_) => (KNOWN, WHITE),
            FaceLabel::Unknown => (UNKNOWN, WHITE),
            FaceLabel::Pending => (PENDING, BLACK),
            FaceLabel::PoorQuality => (POOR, BLACK),
        };
        draw_box(&mut canvas, &face.bbox, color);
        if let Some(text) = label_text(face, names) {
            let x = face.bbox.x1.max(0.0) as i64;
            // Above the box; inside its top edge when the box touches the top of the frame.
            let above = face.bbox.y1 as i64 - LABEL_HEIGHT as i64;
            let y = if above >= 0 {
                above
            } else {
                face.bbox.y1.max(0.0) as i64
            };
            draw_label(&mut canvas, x, y, &text, color, ink);
        }
    }
    canvas
}

/// A filled bar in `background` with `text` in `ink`, top-left corner at `(x, y)`.
pub fn draw_label(
    img: &mut RgbImage,
    x: i64,
    y: i64,
    text: &str,
    background: Rgb<u8>,
    ink: Rgb<u8>,
) {
    let width = text_width(text) + 4;
    fill(img, x, y, width as i64, LABEL_HEIGHT as i64, background);
    draw_text(img, x + 2, y + 2, text, ink);
}

/// Width in pixels of `text` drawn with [`draw_text`].
pub fn text_width(text: &str) -> u32 {
    text.chars().count() as u32 * 8 * TEXT_SCALE
}

/// Draws `text` with its top-left corner at `(x, y)`, clipped to the image.
pub fn draw_text(img: &mut RgbImage, x: i64, y: i64, text: &str, ink: Rgb<u8>) {
    for (i, c) in text.chars().enumerate() {
        let glyph = glyph(c);
        let gx = x + (i as i64) * 8 * TEXT_SCALE as i64;
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                if bits & (1 << col) != 0 {
                    let px = gx + col * TEXT_SCALE as i64;
                    let py = y + row as i64 * TEXT_SCALE as i64;
                    fill(img, px, py, TEXT_SCALE as i64, TEXT_SCALE as i64, ink);
                }
            }
        }
    }
}

/// The 8×8 bitmap of a character (rows top to bottom, bit 0 = leftmost pixel); `?` for
/// characters outside Basic Latin and Latin-1.
pub fn glyph(c: char) -> [u8; 8] {
    let code = c as usize;
    match code {
        0x20..=0x7e => BASIC_LEGACY[code],
        0xa0..=0xff => LATIN_LEGACY[code - 0xa0],
        _ => BASIC_LEGACY['?' as usize],
    }
}

fn fill(img: &mut RgbImage, x: i64, y: i64, w: i64, h: i64, color: Rgb<u8>) {
    let (iw, ih) = (img.width() as i64, img.height() as i64);
    for py in y.max(0)..(y + h).min(ih) {
        for px in x.max(0)..(x + w).min(iw) {
            img.put_pixel(px as u32, py as u32, color);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use facewatch_inference::BBox;

    fn face(label: FaceLabel, similarity: Option<f32>) -> FaceOverlay {
        FaceOverlay {
            bbox: BBox::new(100.0, 80.0, 180.0, 180.0),
            track_id: 1,
            label,
            similarity,
        }
    }

    fn names() -> HashMap<String, String> {
        HashMap::from([("emp-1".to_string(), "Ana Lopez".to_string())])
    }

    #[test]
    fn labels_name_unknown_and_similarity() {
        let names = names();
        let known = face(FaceLabel::Known("emp-1".into()), Some(0.873));
        assert_eq!(label_text(&known, &names).unwrap(), "Ana Lopez 0.87");
        let gone = face(FaceLabel::Known("emp-9".into()), None);
        assert_eq!(label_text(&gone, &names).unwrap(), "emp-9");
        let stranger = face(FaceLabel::Unknown, Some(0.21));
        assert_eq!(label_text(&stranger, &names).unwrap(), "unknown 0.21");
        assert_eq!(
            label_text(&face(FaceLabel::PoorQuality, None), &names),
            None
        );
    }

    /// Reads back the characters drawn at `(x, y)` by comparing each cell with the font.
    fn read_text(img: &RgbImage, x: u32, y: u32, len: usize, ink: Rgb<u8>) -> String {
        (0..len)
            .map(|i| {
                let gx = x + i as u32 * 8 * TEXT_SCALE;
                let mut bits = [0u8; 8];
                for (row, b) in bits.iter_mut().enumerate() {
                    for col in 0..8 {
                        let p = img.get_pixel(gx + col * TEXT_SCALE, y + row as u32 * TEXT_SCALE);
                        if *p == ink {
                            *b |= 1 << col;
                        }
                    }
                }
                (0x20u8..0x7f)
                    .map(char::from)
                    .find(|c| glyph(*c) == bits)
                    .unwrap_or('\u{fffd}')
            })
            .collect()
    }

    #[test]
    fn annotate_draws_box_and_readable_name_above_it() {
        let frame = RgbImage::from_pixel(480, 240, Rgb([90, 95, 100]));
        let known = face(FaceLabel::Known("emp-1".into()), Some(0.873));
        let out = annotate(&frame, &[known], &names());
        // The box outline in green, the inside of the box untouched.
        assert_eq!(*out.get_pixel(100, 120), KNOWN);
        assert_eq!(*out.get_pixel(140, 130), Rgb([90, 95, 100]));
        // The label bar sits right above the box and spells the name and similarity.
        let (x, y) = (100 + 2, 80 - LABEL_HEIGHT + 2);
        assert_eq!(*out.get_pixel(100, 80 - LABEL_HEIGHT), KNOWN);
        assert_eq!(read_text(&out, x, y, 14, WHITE), "Ana Lopez 0.87");
        // The input frame is not modified.
        assert_eq!(*frame.get_pixel(100, 120), Rgb([90, 95, 100]));
    }

    #[test]
    fn unknown_face_is_labelled_unknown_in_red_and_label_stays_inside_at_the_top() {
        let frame = RgbImage::from_pixel(320, 240, Rgb([0, 0, 0]));
        let mut stranger = face(FaceLabel::Unknown, Some(0.2));
        stranger.bbox.y1 = 2.0;
        let out = annotate(&frame, &[stranger], &names());
        assert_eq!(*out.get_pixel(100, 2), UNKNOWN);
        assert_eq!(read_text(&out, 102, 4, 12, WHITE), "unknown 0.20");
    }

    #[test]
    fn text_is_clipped_at_the_edges() {
        let mut img = RgbImage::new(10, 10);
        draw_label(&mut img, -5, 5, "Zoë", KNOWN, WHITE);
        // The bar's top row (above the text) is drawn where it is inside the image.
        assert_eq!(*img.get_pixel(0, 5), KNOWN);
        assert_eq!(*img.get_pixel(0, 4), Rgb([0, 0, 0]));
    }
}
