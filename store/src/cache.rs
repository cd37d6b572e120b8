//! The newest known state of recently used aggregates in this process, so that a command on a busy
//! aggregate (a person seen all day) does not read its snapshot and replay its tail from PostgreSQL
//! every time. Safe across processes: a command decided on a stale state is refused by the
//! appender's sequence check, and [`crate::EventStore::execute`] then reloads from the database.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use serde_json::Value;

/// Aggregates kept at most; past this the cache starts over (cheap, and a miss only costs a load).
const CAPACITY: usize = 20_000;

/// A cached state: as JSON, the sequence it includes, and when it was last known to be the newest
/// (read from the database, or written by this process).
#[derive(Clone)]
pub(crate) struct Cached {
    pub state: Value,
    pub sequence: usize,
    pub current_at: Instant,
}

#[derive(Default)]
pub(crate) struct AggregateCache {
    states: Mutex<HashMap<String, Cached>>,
}

impl AggregateCache {
    pub fn get(&self, stream: &str) -> Option<Cached> {
        self.states
            .lock()
            .expect("aggregate cache")
            .get(stream)
            .cloned()
    }

    /// `state` at `sequence` is the newest as of now.
    pub fn put(&self, stream: String, state: Value, sequence: usize) {
        let mut states = self.states.lock().expect("aggregate cache");
        if states.len() >= CAPACITY && !states.contains_key(&stream) {
            states.clear();
        }
        let cached = Cached {
            state,
            sequence,
            current_at: Instant::now(),
        };
        states.insert(stream, cached);
    }

    /// The database has nothing after `sequence`: a state cached at it is current now.
    pub fn confirm(&self, stream: &str, sequence: usize) {
        if let Some(cached) = self.states.lock().expect("aggregate cache").get_mut(stream) {
            if cached.sequence == sequence {
                cached.current_at = Instant::now();
            }
        }
    }

    pub fn forget(&self, stream: &str) {
        self.states.lock().expect("aggregate cache").remove(stream);
    }
}
