//! The newest known state of recently used aggregates in this process, so that a command on a busy
//! aggregate (a person seen all day) does not read its snapshot and replay its tail from PostgreSQL
//! every time. Safe across processes: a command decided on a stale state is refused by the
//! appender's sequence check, and [`crate::EventStore::execute`] then reloads from the database.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;

/// Aggregates kept at most; past this the cache starts over (cheap, and a miss only costs a load).
const CAPACITY: usize = 20_000;

#[derive(Default)]
pub(crate) struct AggregateCache {
    states: Mutex<HashMap<String, (Value, usize)>>,
}

impl AggregateCache {
    /// The state (as JSON) and the sequence it includes.
    pub fn get(&self, stream: &str) -> Option<(Value, usize)> {
        self.states
            .lock()
            .expect("aggregate cache")
            .get(stream)
            .cloned()
    }

    pub fn put(&self, stream: String, state: Value, sequence: usize) {
        let mut states = self.states.lock().expect("aggregate cache");
        if states.len() >= CAPACITY && !states.contains_key(&stream) {
            states.clear();
        }
        states.insert(stream, (state, sequence));
    }

    pub fn forget(&self, stream: &str) {
        self.states.lock().expect("aggregate cache").remove(stream);
    }
}
