//! Decoding a camera with GStreamer, one pipeline per camera:
//!
//! ```text
//! uridecodebin uri=… (rtspsrc for rtsp://: protocols, latency, tcp-timeout;
//!                     libav decoders get max-threads=<decoder_threads>)
//!   ! videorate drop-only=true max-rate=<fps_target>
//!   ! videoconvertscale            (one pass; videoscale ! videoconvert where missing)
//!   ! video/x-raw,format=RGB,width<=stream_max_width (aspect kept)
//!   ! appsink max-buffers=1 drop=true   (newest frame wins, no queue)
//! ```
//!
//! While the camera is idle, a probe in front of the decoder lets only key frames through
//! ([`crate::keyframes`]).
//!
//! Frames beyond `fps_target` are dropped right after decoding, before any scaling or colour
//! conversion, and the remaining ones are scaled and converted once, in the decoder's format.
//!
//! [`supervise`] (in `crate::stream`, re-exported here) keeps a stream open: it reconnects a failed, stalled or
//! ended stream with exponential backoff and publishes [`CameraHealth`]; a
//! file (file://) that reaches its end is played again at once (it stays online).
//! Credentials in URLs never reach logs or errors ([`redact_url`]).

use std::sync::Arc;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;
use image::RgbImage;

use crate::config::InferenceConfig;
use crate::keyframes::KeyFrameGate;
pub use crate::stream::{supervise, CameraHealth, StopSignal, StreamState};
use facewatch_domain::redact::redact_url;

/// Why a stream could not deliver frames. Every text is redacted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VideoError {
    #[error("GStreamer is not available: {0}")]
    Init(String),
    #[error("{uri}: cannot build the pipeline: {reason}")]
    Build { uri: String, reason: String },
    #[error("{uri}: {message}")]
    Stream { uri: String, message: String },
    #[error("{uri}: end of stream")]
    Ended { uri: String },
    #[error("{uri}: no frame for {seconds:.1} s")]
    Stalled { uri: String, seconds: f32 },
}

/// Initialises GStreamer once per process.
pub fn init_gstreamer() -> Result<(), VideoError> {
    gst::init().map_err(|e| VideoError::Init(e.to_string()))
}

/// The size frames are scaled to: at most `max_width` wide (never enlarged),
/// aspect ratio kept, both sides even (rounded down).
pub fn output_size(width: u32, height: u32, max_width: u32) -> (u32, u32) {
    let even = |v: f64| ((v / 2.0).floor() as u32).max(1) * 2;
    if width <= max_width {
        return (even(width as f64), even(height as f64));
    }
    let scale = max_width as f64 / width as f64;
    (even(max_width as f64), even(height as f64 * scale))
}

/// One open GStreamer pipeline delivering RGB frames.
pub struct VideoSource {
    pipeline: gst::Pipeline,
    appsink: gst_app::AppSink,
    bus: gst::Bus,
    uri: String,
}

impl VideoSource {
    /// Builds the pipeline for `uri` (any URI uridecodebin can play: rtsp://,
    /// file://, http://) and starts it. Connection errors arrive later, from
    /// [`VideoSource::next_frame`]. The video decoder drops delta frames while `key_frames` asks
    /// for key frames only (with `idle_key_frames_only` and `motion_gating` on).
    pub fn open(
        uri: &str,
        cfg: &InferenceConfig,
        key_frames: &Arc<KeyFrameGate>,
    ) -> Result<Self, VideoError> {
        init_gstreamer()?;
        let redacted = redact_url(uri);
        let build_error = |reason: String| VideoError::Build {
            uri: redacted.clone(),
            reason: redact_url(&reason),
        };
        let make = |factory: &str| {
            gst::ElementFactory::make(factory).build().map_err(|_| {
                build_error(format!(
                    "GStreamer element `{factory}` is missing (run scripts/setup-inference.sh)"
                ))
            })
        };
        let decode = make("uridecodebin")?;
        decode.set_property("uri", uri);
        let rate = make("videorate")?;
        rate.set_property("drop-only", true);
        rate.set_property("max-rate", cfg.fps_target as i32);
        // One element that scales and converts in one pass when GStreamer has it (1.22+).
        let converters = match gst::ElementFactory::make("videoconvertscale").build() {
            Ok(both) => vec![both],
            Err(_) => vec![make("videoscale")?, make("videoconvert")?],
        };
        let filter = make("capsfilter")?;
        filter.set_property(
            "caps",
            gst_video::VideoCapsBuilder::new()
                .format(gst_video::VideoFormat::Rgb)
                .build(),
        );
        let appsink = gst_app::AppSink::builder()
            .max_buffers(1)
            .drop(true)
            .sync(true)
            .build();

        let pipeline = gst::Pipeline::new();
        let chain: Vec<&gst::Element> = std::iter::once(&rate)
            .chain(&converters)
            .chain([&filter, appsink.upcast_ref()])
            .collect();
        pipeline
            .add(&decode)
            .and_then(|()| pipeline.add_many(chain.iter().copied()))
            .map_err(|e| build_error(e.to_string()))?;
        gst::Element::link_many(chain.iter().copied()).map_err(|e| build_error(e.to_string()))?;
        // libav decoders start one thread per core each; with many cameras that is many threads
        // competing with the inference workers for the same cores.
        let decoder_threads = cfg.decoder_threads as i32;
        let key_frames =
            (cfg.motion_gating && cfg.idle_key_frames_only).then(|| key_frames.clone());
        let max_key_interval = Duration::from_millis(cfg.stall_timeout_ms / 2);
        pipeline.connect_deep_element_added(move |_, _, element| {
            let Some(factory) = element.factory() else {
                return;
            };
            if factory.name().starts_with("avdec_") && element.has_property("max-threads") {
                element.set_property("max-threads", decoder_threads);
            }
            let klass = factory.metadata("klass").unwrap_or_default();
            if klass.contains("Decoder") && klass.contains("Video") {
                if let Some(gate) = &key_frames {
                    gate.install(element, max_key_interval);
                }
            }
        });

        let (protocols, latency, tcp_timeout_us) = (
            cfg.rtsp_protocol.as_gst_flags(),
            cfg.gst_latency_ms,
            cfg.stall_timeout_ms * 1000,
        );
        decode.connect("source-setup", false, move |args| {
            if let Ok(source) = args[1].get::<gst::Element>() {
                if source.factory().is_some_and(|f| f.name() == "rtspsrc") {
                    source.set_property_from_str("protocols", protocols);
                    source.set_property("latency", latency);
                    source.set_property("tcp-timeout", tcp_timeout_us);
                }
            }
            None
        });

        let max_width = cfg.stream_max_width;
        let rate_weak = rate.downgrade();
        let filter_weak = filter.downgrade();
        decode.connect_pad_added(move |_, pad| {
            let (Some(rate), Some(filter)) = (rate_weak.upgrade(), filter_weak.upgrade()) else {
                return;
            };
            let Some(caps) = pad.current_caps().or_else(|| Some(pad.query_caps(None))) else {
                return;
            };
            let Some(s) = caps.structure(0) else { return };
            if !s.name().starts_with("video/") {
                return; // audio and other streams are left unlinked
            }
            let Some(sink) = rate.static_pad("sink") else {
                return;
            };
            if sink.is_linked() {
                return;
            }
            if let (Ok(w), Ok(h)) = (s.get::<i32>("width"), s.get::<i32>("height")) {
                let (tw, th) = output_size(w.max(1) as u32, h.max(1) as u32, max_width);
                filter.set_property(
                    "caps",
                    gst_video::VideoCapsBuilder::new()
                        .format(gst_video::VideoFormat::Rgb)
                        .width(tw as i32)
                        .height(th as i32)
                        .pixel_aspect_ratio(gst::Fraction::new(1, 1))
                        .build(),
                );
            }
            if let Err(e) = pad.link(&sink) {
                tracing::warn!(error = ?e, "cannot link decoded video");
            }
        });

        let bus = pipeline
            .bus()
            .ok_or_else(|| build_error("pipeline has no bus".into()))?;
        let source = Self {
            pipeline,
            appsink,
            bus,
            uri: redacted.clone(),
        };
        if source.pipeline.set_state(gst::State::Playing).is_err() {
            // The reason is on the bus (file missing, bad URI scheme, ...).
            return Err(source.bus_error().unwrap_or(VideoError::Stream {
                uri: redacted,
                message: "cannot start the stream".into(),
            }));
        }
        Ok(source)
    }

    /// The newest frame, waiting at most `timeout`; `Ok(None)` when none came
    /// in time, `Err` when the stream failed or ended.
    pub fn next_frame(&self, timeout: Duration) -> Result<Option<RgbImage>, VideoError> {
        if let Some(err) = self.bus_error() {
            return Err(err);
        }
        let clock = gst::ClockTime::from_nseconds(timeout.as_nanos() as u64);
        match self.appsink.try_pull_sample(clock) {
            Some(sample) => self.to_rgb(&sample).map(Some),
            None => {
                if let Some(err) = self.bus_error() {
                    return Err(err);
                }
                if self.appsink.is_eos() {
                    return Err(VideoError::Ended {
                        uri: self.uri.clone(),
                    });
                }
                Ok(None)
            }
        }
    }

    /// The first error or end-of-stream waiting on the bus.
    fn bus_error(&self) -> Option<VideoError> {
        let msg = self
            .bus
            .pop_filtered(&[gst::MessageType::Error, gst::MessageType::Eos])?;
        Some(match msg.view() {
            gst::MessageView::Error(e) => {
                let mut message = e.error().to_string();
                if let Some(debug) = e.debug() {
                    // The last line of the debug info usually names the cause.
                    if let Some(line) = debug.lines().rev().find(|l| !l.trim().is_empty()) {
                        message.push_str(" (");
                        message.push_str(line.trim());
                        message.push(')');
                    }
                }
                VideoError::Stream {
                    uri: self.uri.clone(),
                    message: redact_url(&message),
                }
            }
            _ => VideoError::Ended {
                uri: self.uri.clone(),
            },
        })
    }

    fn to_rgb(&self, sample: &gst::Sample) -> Result<RgbImage, VideoError> {
        let fail = |what: &str| VideoError::Stream {
            uri: self.uri.clone(),
            message: format!("bad frame: {what}"),
        };
        let caps = sample.caps().ok_or_else(|| fail("no caps"))?;
        let info = gst_video::VideoInfo::from_caps(caps).map_err(|_| fail("unreadable caps"))?;
        let buffer = sample.buffer().ok_or_else(|| fail("no buffer"))?;
        let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &info)
            .map_err(|_| fail("cannot map buffer"))?;
        let (w, h) = (info.width() as usize, info.height() as usize);
        let stride = frame.plane_stride()[0] as usize;
        let data = frame.plane_data(0).map_err(|_| fail("no plane"))?;
        let mut rgb = Vec::with_capacity(w * h * 3);
        for row in 0..h {
            let start = row * stride;
            rgb.extend_from_slice(
                data.get(start..start + w * 3)
                    .ok_or_else(|| fail("short buffer"))?,
            );
        }
        RgbImage::from_raw(w as u32, h as u32, rgb).ok_or_else(|| fail("size mismatch"))
    }
}

impl Drop for VideoSource {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_size_never_enlarges_and_keeps_aspect() {
        assert_eq!(output_size(1920, 1080, 720), (720, 404));
        assert_eq!(output_size(640, 480, 720), (640, 480));
        assert_eq!(output_size(641, 481, 720), (640, 480));
        assert_eq!(output_size(2560, 1440, 720), (720, 404));
        assert_eq!(output_size(721, 541, 720), (720, 540));
    }
}
