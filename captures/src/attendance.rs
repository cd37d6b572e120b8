//! Per-day attendance photos: `attendance_captures/{YYYY-MM-DD}/{employee}/`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;
use crate::{check_id, io_err, CaptureError, Result, SnapshotRef, ATTENDANCE_DIR};

const FIRST_IN_FILE: &str = "first_in.jpg";
const LAST_OUT_FILE: &str = "last_out.jpg";
const META_FILE: &str = "meta.json";

/// Serialises the read-modify-write of `meta.json` within this process (any number of
/// [`AttendanceCaptures`] values), so a concurrent first-in and last-out for the same
/// employee cannot drop each other's entry. Other processes are not covered.
static META_LOCK: Mutex<()> = Mutex::new(());

/// How attendance photos are kept; typically loaded from configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapturePolicy {
    /// When false the first-in photo of a day, once stored, is never replaced.
    pub first_in_overwrite_enabled: bool,
    /// How long a person must have been gone before the last-out photo is final.
    pub last_out_delay_sec: u64,
}

/// Whether a last-out candidate seen at `candidate_at` may be committed at `now`: only
/// once the person has been gone for `last_out_delay_sec`, since reappearing earlier
/// would make it not the last out. Clock skew (`now` before the candidate) and delays too
/// large to represent are never due.
pub fn last_out_due(
    candidate_at: DateTime<Utc>,
    now: DateTime<Utc>,
    policy: &CapturePolicy,
) -> bool {
    let delay = i64::try_from(policy.last_out_delay_sec)
        .ok()
        .and_then(TimeDelta::try_seconds);
    delay.is_some_and(|delay| now.signed_duration_since(candidate_at) >= delay)
}

/// What is recorded about one attendance photo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureInfo {
    /// When the photo was taken; RFC 3339 in `meta.json`.
    pub time: DateTime<Utc>,
    pub camera_id: String,
    pub camera_name: String,
    /// The archived snapshot the photo came from, when there is one.
    pub snapshot_ref: Option<SnapshotRef>,
}

/// Contents of `meta.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureMeta {
    pub first_in: Option<CaptureInfo>,
    pub last_out: Option<CaptureInfo>,
}

/// What exists on disk for one employee-day; paths are only set for files that exist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaptureSet {
    pub first_in: Option<PathBuf>,
    pub last_out: Option<PathBuf>,
    pub meta: Option<CaptureMeta>,
}

/// Result of a write request that the policy may turn down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Written,
    /// The stored photo was kept (first-in without overwrite, or an older last-out).
    KeptExisting,
}

#[derive(Clone, Copy)]
enum Slot {
    FirstIn,
    LastOut,
}

impl Slot {
    fn file(self) -> &'static str {
        match self {
            Slot::FirstIn => FIRST_IN_FILE,
            Slot::LastOut => LAST_OUT_FILE,
        }
    }

    fn info(self, meta: &mut CaptureMeta) -> &mut Option<CaptureInfo> {
        match self {
            Slot::FirstIn => &mut meta.first_in,
            Slot::LastOut => &mut meta.last_out,
        }
    }
}

/// Attendance photo store under one data dir, applying a [`CapturePolicy`].
#[derive(Debug, Clone)]
pub struct AttendanceCaptures {
    data_dir: PathBuf,
    policy: CapturePolicy,
}

impl AttendanceCaptures {
    pub fn new(data_dir: impl Into<PathBuf>, policy: CapturePolicy) -> Self {
        Self {
            data_dir: data_dir.into(),
            policy,
        }
    }

    pub fn policy(&self) -> CapturePolicy {
        self.policy
    }

    /// Stores the first-in photo of `day` unless one is already recorded (photo and meta
    /// entry both present) and overwriting is disabled.
    pub fn write_first_in(
        &self,
        day: NaiveDate,
        employee_id: &str,
        jpeg: &[u8],
        info: CaptureInfo,
    ) -> Result<WriteOutcome> {
        self.write(day, employee_id, Slot::FirstIn, jpeg, info)
    }

    /// Stores the last-out photo of `day`; a candidate older than the recorded one is
    /// ignored. Whether the candidate is final yet is the caller's call, see
    /// [`last_out_due`].
    pub fn write_last_out(
        &self,
        day: NaiveDate,
        employee_id: &str,
        jpeg: &[u8],
        info: CaptureInfo,
    ) -> Result<WriteOutcome> {
        self.write(day, employee_id, Slot::LastOut, jpeg, info)
    }

    /// What is stored for `employee_id` on `day`; a missing folder is simply empty.
    pub fn read(&self, day: NaiveDate, employee_id: &str) -> Result<CaptureSet> {
        let dir = self.dir(day, employee_id)?;
        let existing = |file| Some(dir.join(file)).filter(|p| p.is_file());
        Ok(CaptureSet {
            first_in: existing(FIRST_IN_FILE),
            last_out: existing(LAST_OUT_FILE),
            meta: read_meta(&dir.join(META_FILE))?,
        })
    }

    fn dir(&self, day: NaiveDate, employee_id: &str) -> Result<PathBuf> {
        check_id("employee id", employee_id)?;
        Ok(self
            .data_dir
            .join(ATTENDANCE_DIR)
            .join(day.format("%Y-%m-%d").to_string())
            .join(employee_id))
    }

    /// Photo first, then `meta.json`: a crash in between leaves the meta entry missing,
    /// which the next write treats as "absent" and repairs.
    fn write(
        &self,
        day: NaiveDate,
        employee_id: &str,
        slot: Slot,
        jpeg: &[u8],
        info: CaptureInfo,
    ) -> Result<WriteOutcome> {
        let dir = self.dir(day, employee_id)?;
        let photo = dir.join(slot.file());
        let meta_path = dir.join(META_FILE);

        let _guard = META_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
        let mut meta = read_meta(&meta_path)?.unwrap_or_default();
        let stored = slot.info(&mut meta).as_ref().filter(|_| photo.is_file());
        let keep = match (slot, stored) {
            (_, None) => false,
            (Slot::FirstIn, Some(_)) => !self.policy.first_in_overwrite_enabled,
            (Slot::LastOut, Some(old)) => old.time > info.time,
        };
        if keep {
            return Ok(WriteOutcome::KeptExisting);
        }

        write_atomic(&photo, jpeg)?;
        *slot.info(&mut meta) = Some(info);
        let json = serde_json::to_vec_pretty(&meta).expect("CaptureMeta always serialises");
        write_atomic(&meta_path, &json)?;
        Ok(WriteOutcome::Written)
    }
}

fn read_meta(path: &Path) -> Result<Option<CaptureMeta>> {
    match fs::read(path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| CaptureError::Meta {
                    path: path.to_owned(),
                    source,
                })
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("read", path)(e)),
    }
}
