//! The inference workers: a fixed number of threads (`inference_workers`, one per core by
//! default) analyse the frames of every camera, so 20 cameras do not make 20 × cores threads.
//!
//! Each camera has a [`CameraSlot`] with a bounded queue of frames. A camera with frames waiting
//! is in the ready line once; a worker takes the camera at the front, analyses its oldest frame
//! and, if more are waiting, puts the camera at the back of the line. So when the workers fall
//! behind, cameras take turns, one frame each: every camera's analysed rate drops evenly and none
//! stalls, while a full queue drops its oldest frame (counted as a dropped frame).

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};

use chrono::{DateTime, Utc};
use image::RgbImage;

use crate::engine::lock;

/// Frames waiting per camera; a new frame beyond this replaces the oldest. Three (375 ms at
/// 8 fps) leave room for a burst of analysis: once a second every settled track is embedded again
/// (`reverify_interval_ms`). Tracks that began on the same frame (cameras that see the same scene,
/// the capacity benchmark's identical streams) used to be re-embedded on the same frame too, about
/// one frame period of extra work for six cameras with two faces each on one core; with a queue of
/// two, such a burst dropped frames while the core was ~10 % idle on average. Each track now
/// staggers its re-checks (`track::REVERIFY_SPREAD`), and the third frame absorbs what is left.
pub const QUEUE_PER_CAMERA: usize = 3;

/// What a worker does with a camera's frame (the camera's analysis state).
pub trait FrameJob: Send {
    fn process(&mut self, frame: RgbImage, at: DateTime<Utc>);
}

/// A frame waiting for analysis, with the time it arrived.
type Frame = (RgbImage, DateTime<Utc>);

struct SlotState {
    pending: VecDeque<Frame>,
    /// In the ready line or being analysed by a worker.
    scheduled: bool,
    closed: bool,
}

/// One camera's queue and analysis state.
struct CameraSlot {
    state: Mutex<SlotState>,
    job: Mutex<Box<dyn FrameJob>>,
}

struct ReadyLine {
    slots: VecDeque<Arc<CameraSlot>>,
    stopping: bool,
}

struct Shared {
    ready: Mutex<ReadyLine>,
    wake: Condvar,
}

/// The worker threads shared by all cameras. Dropping it lets the workers end once idle.
pub struct InferencePool {
    shared: Arc<Shared>,
    workers: usize,
}

impl InferencePool {
    /// Starts `workers` threads (at least one).
    pub fn new(workers: usize) -> Self {
        let workers = workers.max(1);
        let shared = Arc::new(Shared {
            ready: Mutex::new(ReadyLine {
                slots: VecDeque::new(),
                stopping: false,
            }),
            wake: Condvar::new(),
        });
        for i in 0..workers {
            let shared = shared.clone();
            // A worker that cannot start leaves the others; with none, frames wait (and drop).
            if let Err(e) = std::thread::Builder::new()
                .name(format!("inference-{i}"))
                .spawn(move || work(&shared))
            {
                tracing::error!(error = %e, "cannot start an inference worker");
            }
        }
        Self { shared, workers }
    }

    /// The number of worker threads.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Adds a camera whose frames `job` analyses.
    pub fn register(&self, job: Box<dyn FrameJob>) -> SlotHandle {
        SlotHandle {
            slot: Arc::new(CameraSlot {
                state: Mutex::new(SlotState {
                    pending: VecDeque::with_capacity(QUEUE_PER_CAMERA),
                    scheduled: false,
                    closed: false,
                }),
                job: Mutex::new(job),
            }),
            shared: self.shared.clone(),
        }
    }
}

impl Drop for InferencePool {
    fn drop(&mut self) {
        lock(&self.shared.ready).stopping = true;
        self.shared.wake.notify_all();
    }
}

/// A camera's handle on the pool: hands frames in, and closes the camera.
pub struct SlotHandle {
    slot: Arc<CameraSlot>,
    shared: Arc<Shared>,
}

impl SlotHandle {
    /// Queues a frame for analysis; returns how many frames were dropped to make room (0 or 1).
    pub fn submit(&self, frame: RgbImage, at: DateTime<Utc>) -> u64 {
        let mut state = lock(&self.slot.state);
        if state.closed {
            return 1;
        }
        let mut dropped = 0;
        while state.pending.len() >= QUEUE_PER_CAMERA {
            state.pending.pop_front();
            dropped += 1;
        }
        state.pending.push_back((frame, at));
        if !state.scheduled {
            state.scheduled = true;
            drop(state);
            lock(&self.shared.ready).slots.push_back(self.slot.clone());
            self.shared.wake.notify_one();
        }
        dropped
    }

    /// Frames waiting for a worker.
    pub fn waiting(&self) -> usize {
        lock(&self.slot.state).pending.len()
    }

    /// Drops the waiting frames and waits for a frame being analysed; nothing is analysed after.
    pub fn close(&self) {
        {
            let mut state = lock(&self.slot.state);
            state.closed = true;
            state.pending.clear();
        }
        drop(lock(&self.slot.job));
    }
}

impl Drop for SlotHandle {
    fn drop(&mut self) {
        self.close();
    }
}

fn work(shared: &Shared) {
    loop {
        let slot = {
            let mut ready = lock(&shared.ready);
            loop {
                if ready.stopping {
                    return;
                }
                if let Some(slot) = ready.slots.pop_front() {
                    break slot;
                }
                ready = shared
                    .wake
                    .wait(ready)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
        };
        // The job lock is taken before the frame leaves the queue, so `close` (which clears the
        // queue, then takes this lock) never misses a frame in between.
        let mut job = lock(&slot.job);
        let frame = {
            let mut state = lock(&slot.state);
            if state.closed {
                state.scheduled = false;
                continue;
            }
            state.pending.pop_front()
        };
        if let Some((image, at)) = frame {
            job.process(image, at);
        }
        drop(job);
        let mut state = lock(&slot.state);
        if !state.closed && !state.pending.is_empty() {
            drop(state);
            lock(&shared.ready).slots.push_back(slot);
            shared.wake.notify_one();
        } else {
            state.scheduled = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    /// Analysis that takes a fixed time (the pool's scheduling is under test, not the models).
    struct Busy {
        done: Arc<AtomicU64>,
        cost: Duration,
    }

    impl FrameJob for Busy {
        fn process(&mut self, _: RgbImage, _: DateTime<Utc>) {
            let until = Instant::now() + self.cost;
            while Instant::now() < until {
                std::hint::spin_loop();
            }
            self.done.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn an_overloaded_worker_serves_every_camera_in_turn_and_drops_the_oldest_frames() {
        let pool = InferencePool::new(1);
        let cameras: Vec<(SlotHandle, Arc<AtomicU64>)> = (0..4)
            .map(|_| {
                let done = Arc::new(AtomicU64::new(0));
                let job = Busy {
                    done: done.clone(),
                    cost: Duration::from_millis(4),
                };
                (pool.register(Box::new(job)), done)
            })
            .collect();
        // 4 cameras × one frame every 5 ms need 3.2 workers; there is one.
        let mut dropped = [0u64; 4];
        for _ in 0..100 {
            for (i, (slot, _)) in cameras.iter().enumerate() {
                dropped[i] += slot.submit(RgbImage::new(2, 2), Utc::now());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        for (slot, _) in &cameras {
            slot.close();
        }
        let done: Vec<u64> = cameras
            .iter()
            .map(|(_, d)| d.load(Ordering::Relaxed))
            .collect();
        let (min, max) = (*done.iter().min().unwrap(), *done.iter().max().unwrap());
        assert!(min > 0, "every camera was served: {done:?}");
        assert!(max - min <= 2 + max / 5, "served in turn: {done:?}");
        assert!(
            dropped.iter().all(|&d| d > 0),
            "the backlog is dropped, not queued: {dropped:?}"
        );
        // Closed cameras are not analysed any more.
        std::thread::sleep(Duration::from_millis(20));
        let after: Vec<u64> = cameras
            .iter()
            .map(|(_, d)| d.load(Ordering::Relaxed))
            .collect();
        assert_eq!(done, after);
    }
}
