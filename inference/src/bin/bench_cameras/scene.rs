//! The benchmark's camera picture: a textured wall with light sensor noise and, with faces, two
//! people swaying left and right (a seamless loop, so tracks survive the clip's restart).

use facewatch_inference::synthetic::head_shot;
use facewatch_inference::FaceEngine;
use image::imageops;
use image::{Rgb, RgbImage};

/// Frames of the clip: 4 s at 25 fps.
pub const FRAMES: u32 = 100;
pub const FPS: u32 = 25;

fn wall(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let door = (x * 5 / width) % 2 == 1 && y > height / 5;
        let base = 70 + (y * 60 / height) as u8;
        if door {
            Rgb([base / 2 + 40, base / 2 + 30, base / 2 + 20])
        } else {
            Rgb([base, base + 5, base + 10])
        }
    })
}

/// `FRAMES` frames of `height` p (16:9); `people` head shots sway around 1/3 and 2/3 of the width.
pub fn frames(engine: &FaceEngine, photos: &[RgbImage], height: u32) -> Vec<RgbImage> {
    let width = height * 16 / 9;
    let face_px = 110.0 * height as f32 / 720.0;
    let people: Vec<RgbImage> = photos
        .iter()
        .map(|p| head_shot(engine, p, face_px).expect("a face in every benchmark photo"))
        .collect();
    let background = wall(width, height);
    let mut seed = 0x2545_f491u32;
    (0..FRAMES)
        .map(|i| {
            let mut frame = background.clone();
            // Sensor noise of ±2 on a sparse set of pixels.
            for p in frame.pixels_mut().step_by(7) {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                let n = (seed % 5) as u8;
                p.0[1] = p.0[1].saturating_add(n).saturating_sub(2);
            }
            let phase = i as f32 / FRAMES as f32;
            let sway = (1.0 - (2.0 * phase - 1.0).abs()) * width as f32 / 10.0;
            for (k, person) in people.iter().enumerate() {
                let centre = width as f32 * (k as f32 + 1.0) / (people.len() as f32 + 1.0);
                let x = centre - person.width() as f32 / 2.0 + sway;
                let y = (height - person.height()) / 2;
                imageops::overlay(&mut frame, person, x as i64, y as i64);
            }
            frame
        })
        .collect()
}
