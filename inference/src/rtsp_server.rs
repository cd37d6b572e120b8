//! A local RTSP server (GStreamer's rtsp-server) for the tests and the camera-capacity benchmark
//! (feature `rtsp-server`): it runs on its own GLib main loop thread, serves each mount to any
//! number of clients from one shared source, and dropping it disconnects the clients and closes
//! the port.
//!
//! A mount plays either a launch line (e.g. a live test pattern) or an [`EncodedClip`]: a short
//! video encoded once, then sent in a loop at its frame rate, so that serving many cameras costs
//! no encoding at all.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_rtsp_server as rtsp;
use gstreamer_rtsp_server::prelude::*;
use image::RgbImage;

/// Why the server or a clip could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RtspServerError {
    #[error("GStreamer: {0}")]
    Gst(String),
    #[error("the RTSP server thread did not start")]
    NotStarted,
}

fn gst_error(e: impl std::fmt::Display) -> RtspServerError {
    RtspServerError::Gst(e.to_string())
}

/// Video codecs an [`EncodedClip`] can be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    H264,
    H265,
}

impl Codec {
    fn encoder(self, bitrate_kbps: u32, key_interval: u32) -> String {
        // Like IP cameras: no B-frames (zerolatency) and a fixed GOP (no extra key frames at
        // scene cuts, which sensor noise would trigger several times a second).
        match self {
            Codec::H264 => format!(
                "x264enc speed-preset=veryfast tune=zerolatency bitrate={bitrate_kbps} key-int-max={key_interval} option-string=scenecut=0 ! h264parse"
            ),
            Codec::H265 => format!(
                "x265enc speed-preset=veryfast tune=zerolatency bitrate={bitrate_kbps} key-int-max={key_interval} option-string=scenecut=0 ! h265parse"
            ),
        }
    }

    fn caps(self) -> &'static str {
        match self {
            Codec::H264 => "video/x-h264,stream-format=byte-stream,alignment=au",
            Codec::H265 => "video/x-h265,stream-format=byte-stream,alignment=au",
        }
    }

    fn payloader(self) -> &'static str {
        match self {
            Codec::H264 => "h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1",
            Codec::H265 => "h265parse ! rtph265pay name=pay0 pt=96 config-interval=-1",
        }
    }
}

/// A video encoded once, kept in memory as access units (one per frame).
pub struct EncodedClip {
    codec: Codec,
    fps: u32,
    caps: gst::Caps,
    units: Vec<gst::Buffer>,
}

impl EncodedClip {
    /// Encodes `frames` (all the same size) at `fps`, a key frame every second, in 4:2:0
    /// chroma (I420) like IP cameras (H.264 Main/High, H.265 Main). Left to itself, `videoconvert`
    /// would hand the encoder the RGB frames as 4:4:4 (High 4:4:4 Predictive), which no camera
    /// sends and which costs about half as much again to decode.
    pub fn encode(
        frames: &[RgbImage],
        fps: u32,
        codec: Codec,
        bitrate_kbps: u32,
    ) -> Result<Self, RtspServerError> {
        gst::init().map_err(gst_error)?;
        let (w, h) = frames.first().map(|f| f.dimensions()).unwrap_or((320, 240));
        let pipeline = gst::parse::launch(&format!(
            "appsrc name=src format=time caps=video/x-raw,format=RGB,width={w},height={h},framerate={fps}/1 \
             ! videoconvert ! video/x-raw,format=I420 ! {} ! {} ! appsink name=sink sync=false",
            codec.encoder(bitrate_kbps, fps),
            codec.caps()
        ))
        .map_err(gst_error)?
        .downcast::<gst::Pipeline>()
        .map_err(|_| gst_error("not a pipeline"))?;
        let by_name = |name: &str| {
            pipeline
                .by_name(name)
                .ok_or_else(|| gst_error(format!("no element {name}")))
        };
        let src = by_name("src")?
            .downcast::<gst_app::AppSrc>()
            .map_err(|_| gst_error("src is not an appsrc"))?;
        let sink = by_name("sink")?
            .downcast::<gst_app::AppSink>()
            .map_err(|_| gst_error("sink is not an appsink"))?;
        pipeline.set_state(gst::State::Playing).map_err(gst_error)?;
        let pusher = {
            let frames: Vec<Vec<u8>> = frames.iter().map(|f| f.as_raw().clone()).collect();
            std::thread::spawn(move || {
                for (i, data) in frames.into_iter().enumerate() {
                    let mut buffer = gst::Buffer::from_mut_slice(data);
                    let b = buffer.get_mut().expect("a new buffer is writable");
                    b.set_pts(gst::ClockTime::SECOND * i as u64 / u64::from(fps));
                    b.set_duration(gst::ClockTime::SECOND / u64::from(fps));
                    if src.push_buffer(buffer).is_err() {
                        return;
                    }
                }
                let _ = src.end_of_stream();
            })
        };
        let mut units = Vec::with_capacity(frames.len());
        let mut caps = None;
        while let Ok(sample) = sink.pull_sample() {
            if caps.is_none() {
                caps = sample.caps_owned();
            }
            if let Some(buffer) = sample.buffer_owned() {
                units.push(buffer);
            }
        }
        let _ = pusher.join();
        let _ = pipeline.set_state(gst::State::Null);
        let caps = caps.ok_or_else(|| gst_error("the encoder gave no frame"))?;
        Ok(Self {
            codec,
            fps,
            caps,
            units,
        })
    }

    /// Sends the clip in a loop into `src` at its frame rate until the media goes away.
    fn play(self: Arc<Self>, src: gst_app::AppSrc) {
        src.set_caps(Some(&self.caps));
        let gap = Duration::from_secs(1) / self.fps;
        let mut due = Instant::now();
        for unit in self.units.iter().cycle() {
            // A shallow copy (the data is shared) stamped afresh by the live appsrc.
            let mut buffer = unit.copy();
            {
                let b = buffer.make_mut();
                b.set_pts(gst::ClockTime::NONE);
                b.set_dts(gst::ClockTime::NONE);
            }
            if src.push_buffer(buffer).is_err() {
                return;
            }
            due += gap;
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            } else if now - due > Duration::from_secs(1) {
                due = now; // far behind (a busy machine): skip ahead rather than burst
            }
        }
    }
}

/// What a mount plays.
pub enum Mount {
    /// A `gst-launch` line in parentheses whose payloader is named `pay0`.
    Launch(String),
    /// A clip sent in a loop.
    Clip(Arc<EncodedClip>),
}

impl Mount {
    /// A live 320×240 10 fps H.264 test pattern (a moving ball).
    pub fn test_pattern() -> Self {
        Mount::Launch(
            "( videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=10/1 \
             ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=10 ! rtph264pay name=pay0 pt=96 )"
                .into(),
        )
    }
}

/// An RTSP server on 127.0.0.1.
pub struct RtspServer {
    main_loop: gst::glib::MainLoop,
    thread: Option<std::thread::JoinHandle<()>>,
    port: u16,
}

impl RtspServer {
    /// Serves each `(path, mount)` (paths start with `/`) on `port` (0: any free port).
    pub fn start(port: u16, mounts: Vec<(String, Mount)>) -> Result<Self, RtspServerError> {
        gst::init().map_err(gst_error)?;
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let context = gst::glib::MainContext::new();
            let served = context.with_thread_default(|| {
                let main_loop = gst::glib::MainLoop::new(Some(&context), false);
                let server = rtsp::RTSPServer::new();
                server.set_address("127.0.0.1");
                server.set_service(&port.to_string());
                let Some(points) = server.mount_points() else {
                    return;
                };
                for (path, mount) in mounts {
                    points.add_factory(&path, factory(mount));
                }
                let Ok(source_id) = server.attach(Some(&context)) else {
                    return;
                };
                let _ = tx.send((main_loop.clone(), server.bound_port() as u16));
                main_loop.run();
                // Stopping: drop every client and the listening socket.
                server.client_filter(Some(&mut |_, _| rtsp::RTSPFilterResult::Remove));
                if let Some(source) = context.find_source_by_id(&source_id) {
                    source.destroy();
                }
                while context.iteration(false) {}
            });
            if let Err(e) = served {
                tracing::error!(error = %e, "RTSP server thread");
            }
        });
        let (main_loop, port) = rx
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| RtspServerError::NotStarted)?;
        Ok(Self {
            main_loop,
            thread: Some(thread),
            port,
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }
}

fn factory(mount: Mount) -> rtsp::RTSPMediaFactory {
    let factory = rtsp::RTSPMediaFactory::new();
    factory.set_shared(true);
    match mount {
        Mount::Launch(line) => factory.set_launch(&line),
        Mount::Clip(clip) => {
            factory.set_launch(&format!(
                "( appsrc name=src is-live=true format=time do-timestamp=true ! {} )",
                clip.codec.payloader()
            ));
            factory.connect_media_configure(move |_, media| {
                let src = media
                    .element()
                    .downcast::<gst::Bin>()
                    .ok()
                    .and_then(|bin| bin.by_name("src"))
                    .and_then(|e| e.downcast::<gst_app::AppSrc>().ok());
                if let Some(src) = src {
                    let clip = clip.clone();
                    std::thread::spawn(move || clip.play(src));
                }
            });
        }
    }
    factory
}

impl Drop for RtspServer {
    fn drop(&mut self) {
        self.main_loop.quit();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
