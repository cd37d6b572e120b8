//! What the HTTP server allows a client: request sizes, origins, login attempts, WebSocket
//! timings. `facewatch serve` fills it from the `[server]` settings; the defaults are safe for a
//! server reachable from a network.

use std::time::Duration;

/// Largest photo accepted per pose (REST upload, GraphQL `enrollFacePhoto`).
pub const MAX_PHOTO_BYTES: usize = 10 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct HttpPolicy {
    /// Largest request body of every route except the two below, of a VIEWER's GraphQL request
    /// and of a WebSocket message.
    pub max_body_bytes: usize,
    /// Largest GraphQL request of an ADMIN (an `enrollFacePhoto` carries a photo in base64).
    pub max_graphql_bytes: usize,
    /// Largest `POST /api/employees/{id}/face_templates` body (up to three photos).
    pub max_upload_bytes: usize,
    /// Origins (`https://facewatch.example.com`) allowed besides the server's own address, e.g.
    /// the public name behind a reverse proxy that rewrites `Host`.
    pub allowed_origins: Vec<String>,
    /// A WebSocket that has not sent `connection_init` by then is closed (code 4408).
    pub ws_init_timeout: Duration,
    /// How often an open WebSocket's session is checked again (logout, disabled user, expiry
    /// close it with code 4401).
    pub ws_session_check: Duration,
    /// Take the client address of a login from the last `X-Forwarded-For` entry (only behind a
    /// reverse proxy that sets it; otherwise a client could choose its address).
    pub trust_forwarded_for: bool,
    pub login: LoginPolicy,
}

/// Login throttling: from the `free_failures`-th failed login on, each failure locks the username
/// (or client address) for twice as long as the last: 5 s, 10 s, 20 s … up to `max_lockout`.
/// Failures are forgotten after `max_lockout` without one; a success clears the username's.
#[derive(Debug, Clone, Copy)]
pub struct LoginPolicy {
    pub free_failures_per_user: u32,
    pub free_failures_per_address: u32,
    pub max_lockout: Duration,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        Self {
            free_failures_per_user: 5,
            free_failures_per_address: 20,
            max_lockout: Duration::from_secs(15 * 60),
        }
    }
}

impl Default for HttpPolicy {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_graphql_bytes: 16 * 1024 * 1024,
            max_upload_bytes: 3 * MAX_PHOTO_BYTES + 1024 * 1024,
            allowed_origins: Vec::new(),
            ws_init_timeout: Duration::from_secs(10),
            ws_session_check: Duration::from_secs(5),
            trust_forwarded_for: false,
            login: LoginPolicy::default(),
        }
    }
}
