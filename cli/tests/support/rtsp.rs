//! A camera on 127.0.0.1 whose picture the test controls: an RTSP server (GStreamer's
//! rtsp-server, H.264 as real cameras send it) fed by `appsrc` with whatever frame the test set
//! last, at a steady frame rate. It records the wall-clock instant the first frame of each new
//! scene went into the encoder, so a benchmark can time "a face entered the frame" → a reaction.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_rtsp_server as rtsp;
use gstreamer_rtsp_server::prelude::*;
use image::RgbImage;

/// Frame rate of the stream.
pub const FPS: u32 = 10;

struct Scene {
    frame: RgbImage,
    /// Set when the next pushed frame is the first of a new scene; taken once it was pushed.
    changed: bool,
    /// When the first frame of the current scene was pushed into the encoder.
    shown_at: Option<SystemTime>,
}

/// The server and its frame pump; dropping it closes the port and stops the pump.
pub struct ControlledCamera {
    scene: Arc<Mutex<Scene>>,
    main_loop: gst::glib::MainLoop,
    server_thread: Option<std::thread::JoinHandle<()>>,
    pump: Option<std::thread::JoinHandle<()>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    pub url: String,
}

impl ControlledCamera {
    /// Serves `first` (every frame must have its size) at `rtsp://127.0.0.1:<port>/cam`.
    pub fn start(first: RgbImage) -> Self {
        gst::init().unwrap();
        let (width, height) = first.dimensions();
        let scene = Arc::new(Mutex::new(Scene {
            frame: first,
            changed: true,
            shown_at: None,
        }));
        let source: Arc<Mutex<Option<gst_app::AppSrc>>> = Arc::default();
        let (tx, rx) = std::sync::mpsc::channel();
        let configure_source = source.clone();
        let server_thread = std::thread::spawn(move || {
            let context = gst::glib::MainContext::new();
            context
                .with_thread_default(|| {
                    let main_loop = gst::glib::MainLoop::new(Some(&context), false);
                    let server = rtsp::RTSPServer::new();
                    server.set_address("127.0.0.1");
                    server.set_service("0");
                    let factory = rtsp::RTSPMediaFactory::new();
                    factory.set_launch(
                        "( appsrc name=src is-live=true format=time do-timestamp=true \
                         ! videoconvert ! video/x-raw,format=I420 \
                         ! x264enc tune=zerolatency speed-preset=ultrafast \
                         key-int-max=10 ! rtph264pay name=pay0 pt=96 )",
                    );
                    factory.set_shared(true);
                    factory.connect_media_configure(move |_, media| {
                        let bin = media.element().downcast::<gst::Bin>().unwrap();
                        let src = bin
                            .by_name_recurse_up("src")
                            .unwrap()
                            .downcast::<gst_app::AppSrc>()
                            .unwrap();
                        src.set_caps(Some(
                            &gst::Caps::builder("video/x-raw")
                                .field("format", "RGB")
                                .field("width", width as i32)
                                .field("height", height as i32)
                                .field("framerate", gst::Fraction::new(FPS as i32, 1))
                                .build(),
                        ));
                        *configure_source.lock().unwrap() = Some(src);
                    });
                    server.mount_points().unwrap().add_factory("/cam", factory);
                    let source_id = server.attach(Some(&context)).unwrap();
                    tx.send((main_loop.clone(), server.bound_port() as u16))
                        .unwrap();
                    main_loop.run();
                    server.client_filter(Some(&mut |_, _| rtsp::RTSPFilterResult::Remove));
                    if let Some(source) = context.find_source_by_id(&source_id) {
                        source.destroy();
                    }
                    while context.iteration(false) {}
                })
                .unwrap();
        });
        let (main_loop, port) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let pump = {
            let (scene, stop) = (scene.clone(), stop.clone());
            std::thread::spawn(move || pump(&scene, &source, &stop))
        };
        Self {
            scene,
            main_loop,
            server_thread: Some(server_thread),
            pump: Some(pump),
            stop,
            url: format!("rtsp://127.0.0.1:{port}/cam"),
        }
    }

    /// Shows `frame` from the next tick on.
    pub fn show(&self, frame: RgbImage) {
        let mut scene = self.scene.lock().unwrap();
        scene.frame = frame;
        scene.changed = true;
        scene.shown_at = None;
    }

    /// When the current scene's first frame went into the encoder (waits for the next tick).
    pub async fn shown_at(&self) -> SystemTime {
        loop {
            if let Some(at) = self.scene.lock().unwrap().shown_at {
                return at;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Pushes the current scene every 1/FPS s while a client is playing the stream.
fn pump(
    scene: &Mutex<Scene>,
    source: &Mutex<Option<gst_app::AppSrc>>,
    stop: &std::sync::atomic::AtomicBool,
) {
    let tick = Duration::from_secs(1) / FPS;
    let mut next = std::time::Instant::now();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        next += tick;
        if let Some(next_sleep) = next.checked_duration_since(std::time::Instant::now()) {
            std::thread::sleep(next_sleep);
        }
        let Some(src) = source.lock().unwrap().clone() else {
            continue;
        };
        let mut scene = scene.lock().unwrap();
        let mut buffer = gst::Buffer::from_slice(scene.frame.as_raw().clone());
        buffer
            .get_mut()
            .unwrap()
            .set_duration(gst::ClockTime::from_nseconds(tick.as_nanos() as u64));
        if src.push_buffer(buffer).is_ok() && scene.changed {
            scene.changed = false;
            scene.shown_at = Some(SystemTime::now());
        }
    }
}

impl Drop for ControlledCamera {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(pump) = self.pump.take() {
            let _ = pump.join();
        }
        self.main_loop.quit();
        if let Some(thread) = self.server_thread.take() {
            let _ = thread.join();
        }
    }
}
