//! File storage for camera snapshots and attendance photos.
//!
//! Layout under the configurable data dir:
//!
//! ```text
//! snapshots/{camera}/{YYYY-MM-DD}/{timestamp_millis}-{random}.jpg   (UTC day of the shot)
//! captures/{camera}/latest.jpg                                      (live preview)
//! attendance_captures/{YYYY-MM-DD}/{employee}/first_in.jpg | last_out.jpg | meta.json
//! ```
//!
//! Every file is written atomically (temp file + fsync + rename), so the API and the bot
//! never serve half a JPEG, even after a crash. Camera and employee ids are validated as
//! single safe path components, and stored references are checked lexically before they
//! are turned into paths, so neither can be used to escape the data dir.

mod atomic;
mod attendance;
mod retention;
mod snapshots;

use std::io;
use std::path::{Path, PathBuf};

pub use atomic::write_atomic;
pub use attendance::{
    last_out_due, AttendanceCaptures, CaptureInfo, CaptureMeta, CapturePolicy, CaptureSet,
    WriteOutcome,
};
pub use retention::{purge_older_than, PurgeReport};
pub use snapshots::{SnapshotRef, SnapshotStore};

/// Folder (under the data dir) of the per-camera snapshot archive.
pub const SNAPSHOTS_DIR: &str = "snapshots";
/// Folder (under the data dir) of the per-camera `latest.jpg`.
pub const LATEST_DIR: &str = "captures";
/// Folder (under the data dir) of the per-day attendance photos.
pub const ATTENDANCE_DIR: &str = "attendance_captures";
/// Enrolment photos of the face library, kept as long as their template (no retention purge).
pub const FACES_DIR: &str = "faces";

pub type Result<T, E = CaptureError> = std::result::Result<T, E>;

/// Errors name the offending value or path and the step that failed; the underlying
/// cause (I/O, JSON) is the error's `source()`.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidId {
        what: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("rejected snapshot reference {reference:?}: {reason}")]
    InvalidRef {
        reference: String,
        reason: &'static str,
    },
    #[error("failed to {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("capture metadata {} is not valid JSON", path.display())]
    Meta {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// `map_err` helper attaching the failed step and path to an I/O error.
fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> CaptureError + 'a {
    move |source| CaptureError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// Ids become path components, so only a conservative character set is accepted: this is
/// what makes `..`, separators and hidden/temp names impossible through an id.
fn check_id(what: &'static str, value: &str) -> Result<()> {
    let reason = if value.is_empty() {
        "must not be empty"
    } else if value.len() > 128 {
        "must be at most 128 bytes"
    } else if value.starts_with('.') {
        "must not start with '.'"
    } else if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        "only ASCII letters, digits, '-', '_' and '.' are allowed"
    } else {
        return Ok(());
    };
    Err(CaptureError::InvalidId {
        what,
        value: value.to_owned(),
        reason,
    })
}
