//! Synthetic camera footage made from still photos: the demo's "bundled video" and the test
//! videos are built with it from the registry-packaged face photos, so no video file has to be
//! committed or downloaded.

use std::path::Path;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use image::imageops::{self, FilterType};
use image::{Rgb, RgbImage};

use crate::FaceEngine;

pub const WIDTH: u32 = 960;
pub const HEIGHT: u32 = 540;
pub const FPS: u32 = 10;

#[derive(Debug, thiserror::Error)]
pub enum SyntheticError {
    #[error("no face found in a source photo")]
    NoFace,
    #[error("face detection failed: {0}")]
    Engine(#[from] crate::EngineError),
    #[error("video encoding failed: {0}")]
    Encode(String),
}

/// The part of `img` around its largest face, scaled so the face is about `face_px` wide.
pub fn head_shot(
    engine: &FaceEngine,
    img: &RgbImage,
    face_px: f32,
) -> Result<RgbImage, SyntheticError> {
    let faces = engine.detect(img)?;
    let face = faces
        .iter()
        .max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area()))
        .ok_or(SyntheticError::NoFace)?;
    let b = face.bbox.expanded(0.8, img.width(), img.height());
    let crop = imageops::crop_imm(
        img,
        b.x1 as u32,
        b.y1 as u32,
        b.width() as u32,
        b.height() as u32,
    )
    .to_image();
    let scale = face_px / face.bbox.width();
    let (w, h) = (
        (crop.width() as f32 * scale) as u32,
        (crop.height() as f32 * scale) as u32,
    );
    Ok(imageops::resize(
        &crop,
        w.min(WIDTH - 40),
        h.min(HEIGHT),
        FilterType::Triangle,
    ))
}

/// `seconds` of video of `people` side by side on a grey wall, drifting right a few pixels per
/// frame (so the tracker has to follow them). No people: an empty corridor.
pub fn frames_of(people: &[RgbImage], seconds: u32) -> Vec<RgbImage> {
    (0..seconds * FPS)
        .map(|i| {
            let mut canvas = RgbImage::from_pixel(WIDTH, HEIGHT, Rgb([90, 95, 100]));
            let total: u32 =
                people.iter().map(|p| p.width()).sum::<u32>() + 40 * people.len() as u32;
            let mut x = (WIDTH.saturating_sub(total)) / 2 + i * 2;
            for p in people {
                let y = (HEIGHT - p.height()) / 2;
                imageops::overlay(&mut canvas, p, x as i64, y as i64);
                x += p.width() + 40;
            }
            canvas
        })
        .collect()
}

/// Encodes `frames` (WIDTH×HEIGHT at FPS) to H.264 in MP4 (appsrc ! x264enc ! mp4mux).
pub fn write_video(frames: &[RgbImage], path: &Path) -> Result<(), SyntheticError> {
    let fail = |e: &dyn std::fmt::Display| SyntheticError::Encode(e.to_string());
    gst::init().map_err(|e| fail(&e))?;
    let caps = gst::Caps::builder("video/x-raw")
        .field("format", "RGB")
        .field("width", WIDTH as i32)
        .field("height", HEIGHT as i32)
        .field("framerate", gst::Fraction::new(FPS as i32, 1))
        .build();
    let src = gst_app::AppSrc::builder()
        .caps(&caps)
        .format(gst::Format::Time)
        .build();
    let pipeline = gst::Pipeline::new();
    let encode = gst::parse::bin_from_description(
        &format!(
            "videoconvert ! x264enc speed-preset=ultrafast bitrate=3000 key-int-max={FPS} \
             ! h264parse ! mp4mux ! filesink location=\"{}\"",
            std::path::absolute(path).map_err(|e| fail(&e))?.display()
        ),
        true,
    )
    .map_err(|e| fail(&e))?;
    pipeline
        .add_many([src.upcast_ref::<gst::Element>(), encode.upcast_ref()])
        .map_err(|e| fail(&e))?;
    src.link(&encode).map_err(|e| fail(&e))?;
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| fail(&e))?;
    for (i, frame) in frames.iter().enumerate() {
        let mut buffer = gst::Buffer::from_slice(frame.as_raw().clone());
        let b = buffer.get_mut().expect("a new buffer is writable");
        b.set_pts(gst::ClockTime::from_mseconds(i as u64 * 1000 / FPS as u64));
        b.set_duration(gst::ClockTime::from_mseconds(1000 / FPS as u64));
        src.push_buffer(buffer).map_err(|e| fail(&e))?;
    }
    src.end_of_stream().map_err(|e| fail(&e))?;
    let bus = pipeline.bus().expect("pipelines have a bus");
    let msg = bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(300),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    );
    let _ = pipeline.set_state(gst::State::Null);
    match msg.as_ref().map(|m| m.view()) {
        Some(gst::MessageView::Eos(_)) => Ok(()),
        Some(gst::MessageView::Error(e)) => Err(fail(&e.error())),
        _ => Err(fail(&"timed out")),
    }
}

/// The file:// URI of a local path (a relative path is taken from the working directory).
pub fn file_uri(path: &Path) -> Result<String, SyntheticError> {
    gst::init().map_err(|e| SyntheticError::Encode(e.to_string()))?;
    let path = std::path::absolute(path).map_err(|e| SyntheticError::Encode(e.to_string()))?;
    gst::glib::filename_to_uri(&path, None)
        .map(|u| u.to_string())
        .map_err(|e| SyntheticError::Encode(e.to_string()))
}
