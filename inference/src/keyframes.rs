//! Decoding only key frames while a camera is idle (`idle_key_frames_only`).
//!
//! Decoding every frame is the floor of a camera's cost (~0.05–0.09 core for 720p25 H.264), even
//! when motion gating keeps the detector off. So while the motion gate sees a still scene and no
//! face is tracked, the analysis asks for key frames only ([`KeyFrameGate::request`]) and a pad
//! probe in front of the video decoder drops the encoded delta frames: the decoder then sees one
//! frame per GOP (one a second for most cameras) and costs a few percent of that.
//!
//! The probe switches only at a key frame: a delta frame refers to the frames before it, so
//! after any delta was dropped the decoder must restart at a key frame. That is the trade-off:
//! motion is noticed on the next key frame (up to one GOP late), and full decoding resumes at the
//! key frame after it (up to two GOPs after the motion began). The key frame that shows the motion
//! is itself analysed, so a face already in it is detected at once. Cameras should send a key
//! frame every 1–2 s; on a stream whose key frames are further apart than [`MAX_KEY_INTERVAL`]
//! (or half of `stall_timeout_ms`, so that an idle camera is never taken for a stalled one) every
//! frame is decoded.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;

/// Key frames further apart than this (measured on the stream) disable key-frame-only decoding:
/// motion would be noticed too late.
pub const MAX_KEY_INTERVAL: Duration = Duration::from_secs(4);

/// One camera's request for key-frame-only decoding, shared by its analysis (which asks) and its
/// decoder's probe (which drops delta frames).
#[derive(Debug, Default)]
pub struct KeyFrameGate {
    requested: AtomicBool,
    skipped: AtomicU64,
}

impl KeyFrameGate {
    /// Asks for key frames only (`true`) or every frame; takes effect at the next key frame.
    pub fn request(&self, key_frames_only: bool) {
        self.requested.store(key_frames_only, Ordering::Relaxed);
    }

    /// Whether key frames only are asked for.
    pub fn requested(&self) -> bool {
        self.requested.load(Ordering::Relaxed)
    }

    /// Encoded frames dropped before decoding so far.
    pub fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    /// Puts the probe on the sink pad of `decoder` (a video decoder fed whole encoded frames by a
    /// parser, which marks delta frames with `DELTA_UNIT`). Key frames further apart than
    /// `max_key_interval` (at most [`MAX_KEY_INTERVAL`]) keep every frame decoded.
    pub(crate) fn install(self: &Arc<Self>, decoder: &gst::Element, max_key_interval: Duration) {
        let Some(pad) = decoder.static_pad("sink") else {
            return;
        };
        let gate = self.clone();
        let state = Mutex::new(ProbeState::new(max_key_interval));
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            let Some(buffer) = info.buffer() else {
                return gst::PadProbeReturn::Ok;
            };
            let key = !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT);
            let mut state = crate::engine::lock(&state);
            if state.pass(key, gate.requested(), Instant::now()) {
                gst::PadProbeReturn::Ok
            } else {
                gate.skipped.fetch_add(1, Ordering::Relaxed);
                // Released here: answering `Drop` makes GStreamer 1.22 log a CRITICAL (an unref
                // of NULL) per dropped frame; taking the buffer and answering `Handled` does not.
                info.data = None;
                gst::PadProbeReturn::Handled
            }
        });
    }
}

/// What the probe remembers between frames.
#[derive(Debug)]
struct ProbeState {
    max_key_interval: Duration,
    /// Dropping the delta frames of the current GOP.
    dropping: bool,
    last_key: Option<Instant>,
    /// Time between the last two key frames.
    key_interval: Option<Duration>,
}

impl ProbeState {
    fn new(max_key_interval: Duration) -> Self {
        Self {
            max_key_interval: max_key_interval.min(MAX_KEY_INTERVAL),
            dropping: false,
            last_key: None,
            key_interval: None,
        }
    }

    /// Whether a frame (`key` or delta, arriving `now`) goes to the decoder.
    fn pass(&mut self, key: bool, requested: bool, now: Instant) -> bool {
        if !key {
            return !self.dropping;
        }
        if let Some(last) = self.last_key {
            self.key_interval = Some(now - last);
        }
        self.last_key = Some(now);
        self.dropping = requested
            && self
                .key_interval
                .is_some_and(|gap| gap <= self.max_key_interval);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds frames `frames` of a stream with a key frame every 10 frames, 40 ms apart (a 0.4 s
    /// GOP), key frames only being requested when `requested(i)`; returns which frames passed.
    fn feed(
        state: &mut ProbeState,
        t0: Instant,
        frames: std::ops::Range<usize>,
        requested: impl Fn(usize) -> bool,
    ) -> Vec<bool> {
        frames
            .map(|i| {
                state.pass(
                    i % 10 == 0,
                    requested(i),
                    t0 + Duration::from_millis(40 * i as u64),
                )
            })
            .collect()
    }

    #[test]
    fn switches_only_at_key_frames_once_the_key_interval_is_known() {
        let (mut state, t0) = (ProbeState::new(MAX_KEY_INTERVAL), Instant::now());
        // Asked from frame 5 on: frames 0-9 decode in full (the key interval is not known yet and
        // the request came mid-GOP); from frame 10 on only the key frames pass.
        let passed = feed(&mut state, t0, 0..45, |i| i >= 5);
        assert!(passed[..10].iter().all(|&p| p));
        for (i, &p) in passed.iter().enumerate().skip(10) {
            assert_eq!(p, i % 10 == 0, "frame {i}");
        }
        // Full decoding asked back at frame 45, mid-GOP: it resumes at the key frame 50, not
        // before (frames 46-49 would lack their references).
        let passed = feed(&mut state, t0, 45..60, |_| false);
        assert!(!passed[..5].iter().any(|&p| p));
        assert!(passed[5..].iter().all(|&p| p));
    }

    #[test]
    fn a_stream_with_rare_key_frames_is_always_decoded_in_full() {
        let (mut state, t0) = (ProbeState::new(MAX_KEY_INTERVAL), Instant::now());
        // Key frames 5 s apart.
        for at in [0u64, 5_000, 10_000] {
            assert!(state.pass(true, true, t0 + Duration::from_millis(at)));
            assert!(state.pass(false, true, t0 + Duration::from_millis(at + 40)));
        }
    }
}
