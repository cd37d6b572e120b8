//! Camera snapshot archive and per-camera live preview.

use std::fmt;
use std::fs;
use std::path::{Component, Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::atomic::{random_suffix, write_atomic};
use crate::{check_id, CaptureError, Result, ATTENDANCE_DIR, FACES_DIR, LATEST_DIR, SNAPSHOTS_DIR};

/// Data-dir-relative path of a stored snapshot, always with `/` separators. This is what
/// gets recorded in events and `meta.json`, so moving the data dir keeps refs valid.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SnapshotRef(String);

impl SnapshotRef {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for SnapshotRef {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SnapshotRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Snapshots (`snapshots/…`) and live previews (`captures/…`) under one data dir.
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    data_dir: PathBuf,
}

impl SnapshotStore {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
        }
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Archives one frame as `snapshots/{camera}/{YYYY-MM-DD}/{millis}-{random}.jpg`. The
    /// day is the UTC day of `at`; the random part keeps two frames of the same
    /// millisecond apart.
    pub fn save_snapshot(
        &self,
        camera_id: &str,
        at: DateTime<Utc>,
        jpeg: &[u8],
    ) -> Result<SnapshotRef> {
        check_id("camera id", camera_id)?;
        let reference = format!(
            "{SNAPSHOTS_DIR}/{camera_id}/{}/{}-{}.jpg",
            at.format("%Y-%m-%d"),
            at.timestamp_millis(),
            random_suffix()
        );
        write_atomic(&self.data_dir.join(&reference), jpeg)?;
        Ok(SnapshotRef(reference))
    }

    /// Keeps an enrolment photo as `faces/{employee}/{millis}-{random}.jpg` (`.png` for a PNG) for
    /// the face library, outside `snapshots/`, so the retention purge leaves it.
    pub fn save_face_photo(
        &self,
        employee_id: &str,
        at: DateTime<Utc>,
        photo: &[u8],
    ) -> Result<SnapshotRef> {
        check_id("employee id", employee_id)?;
        let extension = if photo.starts_with(b"\x89PNG") {
            "png"
        } else {
            "jpg"
        };
        let reference = format!(
            "{FACES_DIR}/{employee_id}/{}-{}.{extension}",
            at.timestamp_millis(),
            random_suffix()
        );
        write_atomic(&self.data_dir.join(&reference), photo)?;
        Ok(SnapshotRef(reference))
    }

    /// Replaces `captures/{camera}/latest.jpg` (the live preview) and returns its path.
    pub fn save_latest(&self, camera_id: &str, jpeg: &[u8]) -> Result<PathBuf> {
        check_id("camera id", camera_id)?;
        let path = self.latest_path(camera_id);
        write_atomic(&path, jpeg)?;
        Ok(path)
    }

    /// The live preview and when it was last written, if there is one. An invalid id has
    /// no preview, hence `None` rather than an error.
    pub fn latest(&self, camera_id: &str) -> Option<(PathBuf, DateTime<Utc>)> {
        check_id("camera id", camera_id).ok()?;
        let path = self.latest_path(camera_id);
        let meta = fs::metadata(&path).ok().filter(|m| m.is_file())?;
        let modified = meta.modified().ok()?;
        Some((path, modified.into()))
    }

    /// Turns a stored reference (e.g. from a URL) into a path inside the data dir. Only
    /// plain relative paths under `snapshots/`, `captures/` or `attendance_captures/` are
    /// accepted: absolute paths, `..`, `.` segments and backslashes are rejected, so a
    /// crafted ref cannot reach other files. The check is lexical; the file need not exist.
    pub fn resolve(&self, reference: &str) -> Result<PathBuf> {
        let reject = |reason| {
            Err(CaptureError::InvalidRef {
                reference: reference.to_owned(),
                reason,
            })
        };
        if reference.is_empty() {
            return reject("it is empty");
        }
        if reference.contains(['\\', '\0']) {
            return reject("backslashes and NUL are not allowed");
        }
        let path = Path::new(reference);
        for component in path.components() {
            match component {
                Component::Normal(_) => {}
                Component::ParentDir => return reject("'..' is not allowed"),
                Component::CurDir => return reject("'.' segments are not allowed"),
                Component::RootDir | Component::Prefix(_) => {
                    return reject("absolute paths are not allowed")
                }
            }
        }
        match path.components().next() {
            Some(Component::Normal(top))
                if top == SNAPSHOTS_DIR
                    || top == LATEST_DIR
                    || top == ATTENDANCE_DIR
                    || top == FACES_DIR =>
            {
                Ok(self.data_dir.join(path))
            }
            _ => reject("it must point into snapshots/, captures/, attendance_captures/ or faces/"),
        }
    }

    /// A reference string read back from storage (an event, the read models), checked like
    /// [`Self::resolve`].
    pub fn checked_ref(&self, reference: &str) -> Result<SnapshotRef> {
        self.resolve(reference)?;
        Ok(SnapshotRef(reference.to_owned()))
    }

    fn latest_path(&self, camera_id: &str) -> PathBuf {
        self.data_dir
            .join(LATEST_DIR)
            .join(camera_id)
            .join("latest.jpg")
    }
}
