//! Commands on one aggregate take turns within a process: they would otherwise all decide on the
//! same version, and all but one would lose the optimistic-concurrency race and retry (40 sightings
//! of one person arriving at once would take 40 rounds). Writers in other processes are still
//! reconciled by optimistic concurrency.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::OwnedMutexGuard;

#[derive(Default)]
pub(crate) struct StreamLocks {
    locks: Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
}

impl StreamLocks {
    /// Waits for the turn of stream `key`; the turn lasts as long as the guard.
    pub async fn turn(&self, key: String) -> OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.locks.lock().expect("stream lock map");
            match locks.get(&key).and_then(Weak::upgrade) {
                Some(lock) => lock,
                None => {
                    // Forget streams nobody is writing to before the map grows.
                    if locks.len() >= 1024 {
                        locks.retain(|_, lock| lock.strong_count() > 0);
                    }
                    let lock = Arc::new(tokio::sync::Mutex::new(()));
                    locks.insert(key, Arc::downgrade(&lock));
                    lock
                }
            }
        };
        lock.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_turn_per_stream_at_a_time() {
        let locks = StreamLocks::default();
        let first = locks.turn("a".into()).await;
        let other_stream =
            tokio::time::timeout(std::time::Duration::from_millis(50), locks.turn("b".into()))
                .await;
        assert!(other_stream.is_ok(), "other streams do not wait");
        let same =
            tokio::time::timeout(std::time::Duration::from_millis(50), locks.turn("a".into()))
                .await;
        assert!(same.is_err(), "the same stream waits");
        drop(first);
        locks.turn("a".into()).await;
    }
}
