//! The live view: per running camera, the newest analysed frame with its overlays (box, name or
//! "unknown", similarity), JPEG-encoded in memory — and only while somebody watches. A watcher
//! holds a [`LiveSubscription`]; the camera's encoder sleeps while none exists, so an unwatched
//! camera costs no encoding at all, and nothing is written to disk per frame.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};
use facewatch_inference::pipeline::encode_jpeg;
use facewatch_inference::FrameFeed;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::overlay::annotate;

/// Employee id → name, for the labels.
pub type Names = Arc<RwLock<HashMap<String, String>>>;

/// One annotated frame of a camera's live view.
#[derive(Debug)]
pub struct LiveFrame {
    pub jpeg: Vec<u8>,
    /// When the frame arrived from the camera stream.
    pub captured_at: DateTime<Utc>,
    /// When the pipeline had analysed it (the overlays are from then).
    pub analysed_at: DateTime<Utc>,
    /// The pipeline's frame counter.
    pub seq: u64,
}

type Slot = Option<Arc<LiveFrame>>;

struct Feed {
    frames: watch::Sender<Slot>,
    wake: Arc<Notify>,
    encoder: JoinHandle<()>,
    encoded: Arc<AtomicU64>,
}

/// The live views of the running cameras.
pub struct LiveHub {
    feeds: Mutex<HashMap<String, Feed>>,
    names: Names,
    jpeg_quality: u8,
}

/// A watcher of one camera's live view; the camera encodes while at least one exists.
pub struct LiveSubscription {
    frames: watch::Receiver<Slot>,
}

impl LiveSubscription {
    /// The next annotated frame (the newest one: a slow watcher skips frames instead of lagging);
    /// `None` once the camera stopped.
    pub async fn next(&mut self) -> Option<Arc<LiveFrame>> {
        loop {
            self.frames.changed().await.ok()?;
            if let Some(frame) = self.frames.borrow_and_update().clone() {
                return Some(frame);
            }
        }
    }
}

impl LiveHub {
    pub fn new(names: Names, jpeg_quality: u8) -> Self {
        Self {
            feeds: Mutex::new(HashMap::new()),
            names,
            jpeg_quality,
        }
    }

    /// Starts the (idle) live view of a camera whose pipeline publishes `frames`. Needs a Tokio
    /// runtime.
    pub fn start(&self, camera_id: &str, frames: FrameFeed) {
        let (tx, _) = watch::channel(None);
        let wake = Arc::new(Notify::new());
        let encoded = Arc::new(AtomicU64::new(0));
        let encoder = tokio::spawn(encode_while_watched(
            camera_id.to_string(),
            frames,
            tx.clone(),
            wake.clone(),
            self.names.clone(),
            self.jpeg_quality,
            encoded.clone(),
        ));
        let feed = Feed {
            frames: tx,
            wake,
            encoder,
            encoded,
        };
        if let Some(old) = self.lock().insert(camera_id.to_string(), feed) {
            old.encoder.abort();
        }
    }

    /// Ends a camera's live view; its watchers' streams end.
    pub fn stop(&self, camera_id: &str) {
        if let Some(feed) = self.lock().remove(camera_id) {
            feed.encoder.abort();
        }
    }

    /// Watches a running camera; `None` when it has no pipeline.
    pub fn subscribe(&self, camera_id: &str) -> Option<LiveSubscription> {
        let feeds = self.lock();
        let feed = feeds.get(camera_id)?;
        let frames = feed.frames.subscribe();
        feed.wake.notify_one();
        Some(LiveSubscription { frames })
    }

    /// How many watchers a camera has (0 when it is not running).
    pub fn watchers(&self, camera_id: &str) -> usize {
        self.lock()
            .get(camera_id)
            .map_or(0, |f| f.frames.receiver_count())
    }

    /// How many live frames a camera has encoded since it started (0 when it is not running).
    pub fn encoded(&self, camera_id: &str) -> u64 {
        self.lock()
            .get(camera_id)
            .map_or(0, |f| f.encoded.load(Ordering::Relaxed))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Feed>> {
        self.feeds.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for LiveHub {
    fn drop(&mut self) {
        for (_, feed) in self.lock().drain() {
            feed.encoder.abort();
        }
    }
}

/// Sleeps until somebody watches, then encodes the newest frame at once and every analysed
/// frame after it (the pipeline analyses at most `fps_target` frames a second), until the last
/// watcher leaves.
async fn encode_while_watched(
    camera_id: String,
    mut frames: FrameFeed,
    tx: watch::Sender<Slot>,
    wake: Arc<Notify>,
    names: Names,
    quality: u8,
    encoded: Arc<AtomicU64>,
) {
    let mut last_seq = 0;
    loop {
        if tx.receiver_count() == 0 {
            wake.notified().await;
            tracing::debug!(camera = camera_id, "live view watched");
            continue;
        }
        if let Some(frame) = frames.latest().filter(|f| f.seq != last_seq) {
            last_seq = frame.seq;
            let names = names.clone();
            let result = tokio::task::spawn_blocking(move || {
                let names = names.read().unwrap_or_else(|p| p.into_inner());
                let image = annotate(&frame.image, &frame.faces, &names);
                LiveFrame {
                    jpeg: encode_jpeg(&image, quality),
                    captured_at: frame.captured_at,
                    analysed_at: frame.analysed_at,
                    seq: frame.seq,
                }
            })
            .await;
            match result {
                Ok(live) => {
                    encoded.fetch_add(1, Ordering::Relaxed);
                    tx.send_replace(Some(Arc::new(live)));
                }
                Err(e) => tracing::error!(camera = camera_id, "live frame not encoded: {e}"),
            }
        }
        tokio::select! {
            alive = frames.changed() => if !alive {
                return;
            },
            _ = tx.closed() => tracing::debug!(camera = camera_id, "live view no longer watched"),
        }
    }
}
