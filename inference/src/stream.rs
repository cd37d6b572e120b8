//! Keeping one camera stream open: [`supervise`] opens a [`VideoSource`], hands each frame on,
//! reconnects a failed, stalled or ended stream with exponential backoff (a file that ends is
//! played again at once) and publishes [`CameraHealth`].

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use image::RgbImage;
use tokio::sync::watch;

use crate::config::InferenceConfig;
use crate::keyframes::KeyFrameGate;
use crate::video::{VideoError, VideoSource};
use facewatch_domain::redact::redact_url;

/// Whether a camera is delivering frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StreamState {
    /// Opening the stream, no frame yet.
    Connecting,
    /// Frames are arriving.
    Online,
    /// The stream failed; a reconnection is scheduled.
    Offline,
    /// The pipeline was stopped.
    Stopped,
}

/// Health of one camera, published on a `watch` channel.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CameraHealth {
    pub state: StreamState,
    /// Frames analysed per second, measured over the last second or so (at most `fps_target`;
    /// lower when the inference workers fall behind).
    pub fps: f32,
    pub last_frame_at: Option<DateTime<Utc>>,
    /// Connection attempts after the first one.
    pub reconnects: u64,
    /// The latest stream error (redacted), kept after recovery (show it only while
    /// [`StreamState::Offline`]).
    pub last_error: Option<String>,
    /// When the current connection delivered its first frame; `None` unless online.
    pub online_since: Option<DateTime<Utc>>,
    /// Times a file source reached its end and was played again from the start.
    pub replays: u64,
    /// Faces voted unknown (once per track).
    pub unknown_faces: u64,
    /// Recognitions dropped because the channel was full.
    pub dropped_recognitions: u64,
    /// Frames analysed since the pipeline started.
    pub analysed_frames: u64,
    /// Frames (already thinned to `fps_target`) dropped unanalysed because the inference workers
    /// were behind.
    pub dropped_frames: u64,
    /// Analysed frames on which the face detector did not run (motion gating: nothing moved).
    pub detector_skips: u64,
    /// Encoded frames not decoded at all: the camera was idle and only key frames were decoded
    /// (`idle_key_frames_only`).
    pub undecoded_frames: u64,
    /// Idle: motion gating saw a still scene and no face is tracked, so the detector is skipped
    /// (and, with `idle_key_frames_only`, only key frames are decoded: `fps` is then the stream's
    /// key-frame rate, about 1, not a shortfall).
    pub idle: bool,
}

impl Default for CameraHealth {
    fn default() -> Self {
        Self {
            state: StreamState::Connecting,
            fps: 0.0,
            last_frame_at: None,
            reconnects: 0,
            last_error: None,
            online_since: None,
            replays: 0,
            unknown_faces: 0,
            dropped_recognitions: 0,
            analysed_frames: 0,
            dropped_frames: 0,
            detector_skips: 0,
            undecoded_frames: 0,
            idle: false,
        }
    }
}

/// A stop request that wakes sleepers at once.
#[derive(Debug, Default)]
pub struct StopSignal {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl StopSignal {
    pub fn stop(&self) {
        *crate::engine::lock(&self.stopped) = true;
        self.wake.notify_all();
    }

    pub fn is_stopped(&self) -> bool {
        *crate::engine::lock(&self.stopped)
    }

    /// Sleeps up to `timeout`; returns true when stopped.
    pub fn wait(&self, timeout: Duration) -> bool {
        let guard = crate::engine::lock(&self.stopped);
        let (guard, _) = self
            .wake
            .wait_timeout_while(guard, timeout, |stopped| !*stopped)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *guard
    }
}

/// Measures frames per second over windows of about a second.
pub(crate) struct FpsMeter {
    window_start: Instant,
    frames: u32,
}

impl FpsMeter {
    pub(crate) fn new() -> Self {
        Self {
            window_start: Instant::now(),
            frames: 0,
        }
    }

    /// Counts a frame; returns the rate when a window closes.
    pub(crate) fn tick(&mut self) -> Option<f32> {
        self.frames += 1;
        let elapsed = self.window_start.elapsed();
        if elapsed < Duration::from_secs(1) {
            return None;
        }
        let fps = self.frames as f32 / elapsed.as_secs_f32();
        *self = Self::new();
        Some(fps)
    }
}

/// Runs the stream of `uri` until `stop`: opens it, hands each frame to
/// `on_frame` (which queues it for the inference workers; they measure the analysed fps), and on failure, stall or end of stream marks the camera
/// offline and reconnects after an exponential backoff
/// (`reconnect_initial_ms` doubling up to `reconnect_max_ms`, reset by the
/// first frame of a connection). `key_frames` is the camera's idle decoding request (see
/// [`crate::keyframes`]).
pub fn supervise(
    uri: &str,
    cfg: &InferenceConfig,
    key_frames: &Arc<KeyFrameGate>,
    stop: &StopSignal,
    health: &watch::Sender<CameraHealth>,
    mut on_frame: impl FnMut(RgbImage, DateTime<Utc>),
) {
    let initial = Duration::from_millis(cfg.reconnect_initial_ms);
    let max = Duration::from_millis(cfg.reconnect_max_ms);
    let stall = Duration::from_millis(cfg.stall_timeout_ms);
    let poll = Duration::from_millis(100);
    let mut backoff = initial;
    let mut attempts: u64 = 0;
    // A file that ended is played again at once, without going offline (a looping demo video).
    let mut replay = false;
    let is_file = uri.starts_with("file://");
    while !stop.is_stopped() {
        if replay {
            health.send_modify(|h| h.replays += 1);
        } else {
            if attempts > 0 {
                health.send_modify(|h| h.reconnects += 1);
            }
            health.send_modify(|h| {
                h.state = StreamState::Connecting;
                h.fps = 0.0;
                h.idle = false;
                h.online_since = None;
            });
        }
        attempts += 1;
        replay = false;
        let error = match VideoSource::open(uri, cfg, key_frames) {
            Err(e) => e,
            Ok(source) => {
                let mut last_frame = Instant::now();
                let outcome = loop {
                    if stop.is_stopped() {
                        break None;
                    }
                    match source.next_frame(poll) {
                        Ok(Some(frame)) => {
                            let at = Utc::now();
                            last_frame = Instant::now();
                            backoff = initial;
                            health.send_modify(|h| {
                                if h.state != StreamState::Online {
                                    tracing::info!(uri = %redact_url(uri), "camera online");
                                    h.online_since = Some(at);
                                }
                                h.state = StreamState::Online;
                                h.last_frame_at = Some(at);
                            });
                            on_frame(frame, at);
                        }
                        Ok(None) if last_frame.elapsed() >= stall => {
                            break Some(VideoError::Stalled {
                                uri: redact_url(uri),
                                seconds: last_frame.elapsed().as_secs_f32(),
                            })
                        }
                        Ok(None) => {}
                        Err(e) => break Some(e),
                    }
                };
                match outcome {
                    Some(e) => e,
                    None => break,
                }
            }
        };
        let online = health.borrow().state == StreamState::Online;
        if is_file && online && matches!(error, VideoError::Ended { .. }) {
            tracing::debug!(uri = %redact_url(uri), "end of file, playing it again");
            replay = true;
            continue;
        }
        tracing::warn!(error = %error, retry_in_ms = backoff.as_millis() as u64, "camera offline");
        health.send_modify(|h| {
            h.state = StreamState::Offline;
            h.fps = 0.0;
            h.idle = false;
            h.online_since = None;
            h.last_error = Some(error.to_string());
        });
        if stop.wait(backoff) {
            break;
        }
        backoff = (backoff * 2).min(max);
    }
    health.send_modify(|h| {
        h.state = StreamState::Stopped;
        h.fps = 0.0;
        h.idle = false;
        h.online_since = None;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_signal_wakes_waiters() {
        let stop = std::sync::Arc::new(StopSignal::default());
        assert!(!stop.wait(Duration::from_millis(10)));
        let s = stop.clone();
        let t = std::thread::spawn(move || s.wait(Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(50));
        let started = Instant::now();
        stop.stop();
        assert!(t.join().unwrap());
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(stop.is_stopped());
    }
}
