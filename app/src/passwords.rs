//! Password hashing (argon2). Hashing is deliberately slow, so it runs on blocking threads and at
//! most [`Passwords::CONCURRENCY`] at a time: a burst of logins queues instead of starving the
//! server of CPU and memory.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use tokio::sync::Semaphore;

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 12;
/// Fewest different characters in a password (`aaaaaaaaaaaa` is 12 characters and no secret).
pub const MIN_DISTINCT_CHARS: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password must be at least {MIN_PASSWORD_LEN} characters")]
    TooShort,
    #[error(
        "password must use at least {MIN_DISTINCT_CHARS} different characters, not only spaces"
    )]
    TooSimple,
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// A hash of a password nobody knows, verified for unknown users so that they cost the same time
/// as known ones (no username enumeration by timing). Made once, on first use.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes()).expect("16-byte salt");
        Argon2::default()
            .hash_password(uuid::Uuid::new_v4().to_string().as_bytes(), &salt)
            .expect("argon2 with default parameters")
            .to_string()
    })
}

#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
}

impl Default for Passwords {
    fn default() -> Self {
        Self {
            permits: Arc::new(Semaphore::new(Self::CONCURRENCY)),
        }
    }
}

impl Passwords {
    /// Hashes computed at once.
    pub const CONCURRENCY: usize = 2;

    /// The password policy: long enough and not trivially repetitive.
    pub fn check_policy(password: &str) -> Result<(), PasswordError> {
        if password.chars().count() < MIN_PASSWORD_LEN {
            return Err(PasswordError::TooShort);
        }
        let distinct: std::collections::HashSet<char> = password.chars().collect();
        if distinct.len() < MIN_DISTINCT_CHARS || password.trim().is_empty() {
            return Err(PasswordError::TooSimple);
        }
        Ok(())
    }

    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        Self::check_policy(password)?;
        let password = password.to_string();
        self.run(move || {
            // uuid v4 comes from the OS CSPRNG: 16 random bytes are a standard-size salt.
            let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes())
                .map_err(|e| PasswordError::Hash(e.to_string()))?;
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| PasswordError::Hash(e.to_string()))
        })
        .await
        .unwrap_or_else(|| Err(PasswordError::Hash("hashing task failed".into())))
    }

    /// Whether `password` matches `hash`; with no hash (unknown user) the same work is done
    /// against a decoy and the answer is false.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> bool {
        let known = hash.is_some();
        let hash = hash.map(str::to_string);
        let password = password.to_string();
        let matches = self
            .run(move || {
                // Made on the first login whoever logs in, so that it never tells them apart.
                let decoy = decoy_hash();
                let hash = hash.as_deref().unwrap_or(decoy);
                PasswordHash::new(hash).is_ok_and(|h| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &h)
                        .is_ok()
                })
            })
            .await
            .unwrap_or(false);
        known && matches
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let _permit = self.permits.acquire().await.ok()?;
        tokio::task::spawn_blocking(work).await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_or_repetitive_passwords_are_refused() {
        for weak in [
            "aaaaaaaa",
            "        ",
            "short-pass1",
            "aaaaaaaaaaaa",
            "            ",
            "abababababab",
        ] {
            assert!(
                Passwords::check_policy(weak).is_err(),
                "{weak:?} was accepted"
            );
        }
        assert!(Passwords::check_policy("correct horse battery").is_ok());
    }
}
