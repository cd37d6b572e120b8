//! The newest analysed frame of a camera, shared between its analysis thread and whoever draws
//! previews, and the drawing/encoding helpers for them.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use image::{Rgb, RgbImage};
use tokio::sync::watch;

use crate::engine::lock;
use crate::geometry::BBox;
use crate::pipeline::FaceOverlay;

/// The newest analysed frame of a camera and the faces found in it.
#[derive(Debug, Clone)]
pub struct AnalysedFrame {
    pub image: Arc<RgbImage>,
    pub faces: Vec<FaceOverlay>,
    /// When the frame arrived from the stream.
    pub captured_at: DateTime<Utc>,
    /// When its analysis (detection, recognition) was done.
    pub analysed_at: DateTime<Utc>,
    /// Counts analysed frames of this pipeline, from 1.
    pub seq: u64,
}

/// A cheap, cloneable view of a pipeline's newest analysed frame, for whoever draws previews
/// (e.g. a live stream): [`FrameFeed::changed`] waits for the next frame.
#[derive(Clone)]
pub struct FrameFeed {
    latest: Arc<Mutex<Option<AnalysedFrame>>>,
    ticks: watch::Receiver<u64>,
}

impl FrameFeed {
    /// The newest analysed frame, if any arrived yet.
    pub fn latest(&self) -> Option<AnalysedFrame> {
        lock(&self.latest).clone()
    }

    /// Waits until a frame newer than the last one seen through this handle is analysed;
    /// `false` once the pipeline is gone.
    pub async fn changed(&mut self) -> bool {
        self.ticks.changed().await.is_ok()
    }
}

impl FrameFeed {
    pub(crate) fn new(
        latest: Arc<Mutex<Option<AnalysedFrame>>>,
        ticks: watch::Receiver<u64>,
    ) -> Self {
        Self { latest, ticks }
    }
}

/// JPEG bytes of `image` at `quality` (1-100).
pub fn encode_jpeg(image: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(image)
        .expect("encoding an RGB image in memory cannot fail");
    out
}

/// Draws a 2-pixel rectangle outline of `b` in `color` (clipped to the image).
pub fn draw_box(img: &mut RgbImage, b: &BBox, color: Rgb<u8>) {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let (x1, y1, x2, y2) = (b.x1 as i64, b.y1 as i64, b.x2 as i64 - 1, b.y2 as i64 - 1);
    let mut put = |x: i64, y: i64| {
        if x >= 0 && y >= 0 && x < w && y < h {
            img.put_pixel(x as u32, y as u32, color);
        }
    };
    for t in 0..2 {
        for x in x1..=x2 {
            put(x, y1 + t);
            put(x, y2 - t);
        }
        for y in y1..=y2 {
            put(x1 + t, y);
            put(x2 - t, y);
        }
    }
}
