//! Sessions that requests presented a moment ago, kept in memory so that a busy client costs one
//! session lookup per second instead of one per request. Only valid sessions are kept, for at most
//! [`SESSION_RECHECK`]; this process forgets a user's sessions as soon as it ends or changes them
//! (logout, password, role, disable), so only another instance's change can take that long here.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use facewatch_domain::user::Role;

/// How long a looked-up session is trusted before it is looked up again.
pub const SESSION_RECHECK: Duration = Duration::from_secs(1);
/// Sessions kept at most; past this the memory starts over (a miss only costs a lookup).
const CAPACITY: usize = 10_000;

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub username: String,
    pub role: Role,
}

/// Recently checked sessions by token hash.
#[derive(Default)]
pub struct SessionMemory {
    sessions: Mutex<HashMap<String, (Session, Instant)>>,
}

impl SessionMemory {
    /// The session of `token_hash` if it was checked within [`SESSION_RECHECK`].
    pub fn get(&self, token_hash: &str) -> Option<Session> {
        let sessions = self.sessions.lock().expect("session memory");
        let (session, checked) = sessions.get(token_hash)?;
        (checked.elapsed() < SESSION_RECHECK).then(|| session.clone())
    }

    /// `session` was just found valid for `token_hash`.
    pub fn put(&self, token_hash: String, session: Session) {
        let mut sessions = self.sessions.lock().expect("session memory");
        if sessions.len() >= CAPACITY {
            sessions.retain(|_, (_, checked)| checked.elapsed() < SESSION_RECHECK);
            if sessions.len() >= CAPACITY {
                sessions.clear();
            }
        }
        sessions.insert(token_hash, (session, Instant::now()));
    }

    /// A logout.
    pub fn forget(&self, token_hash: &str) {
        self.sessions
            .lock()
            .expect("session memory")
            .remove(token_hash);
    }

    /// The user's password, role or status changed.
    pub(crate) fn forget_user(&self, username: &str) {
        self.sessions
            .lock()
            .expect("session memory")
            .retain(|_, (session, _)| session.username != username);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Session {
        Session {
            username: "alice".into(),
            role: Role::Admin,
        }
    }

    #[test]
    fn remembers_until_forgotten_by_token_or_user() {
        let memory = SessionMemory::default();
        assert_eq!(memory.get("t1"), None);
        memory.put("t1".into(), alice());
        memory.put("t2".into(), alice());
        assert_eq!(memory.get("t1"), Some(alice()));
        memory.forget("t1");
        assert_eq!(memory.get("t1"), None);
        assert_eq!(memory.get("t2"), Some(alice()));
        memory.forget_user("alice");
        assert_eq!(memory.get("t2"), None);
    }

    #[test]
    fn a_session_is_looked_up_again_after_the_recheck_interval() {
        let memory = SessionMemory::default();
        memory
            .sessions
            .lock()
            .unwrap()
            .insert("old".into(), (alice(), Instant::now() - SESSION_RECHECK));
        assert_eq!(memory.get("old"), None);
    }
}
