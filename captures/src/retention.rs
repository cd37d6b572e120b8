//! Retention: dropping whole day folders once they are old enough.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use chrono::{Days, NaiveDate};

use crate::{io_err, Result, ATTENDANCE_DIR, SNAPSHOTS_DIR};

/// What [`purge_older_than`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Each removed day once, ascending, whichever folders (attendance, cameras) it was in.
    pub removed_days: Vec<NaiveDate>,
}

/// Removes `attendance_captures/YYYY-MM-DD` and `snapshots/{camera}/YYYY-MM-DD` folders
/// strictly older than `today - retention_days`.
///
/// Anything whose name is not a canonical date is left alone (it is not ours to judge),
/// and symbolic links are never followed: a link at any level, even one named like a
/// date, is skipped, and `remove_dir_all` deletes links inside a day folder without
/// touching their targets. So the purge cannot reach outside the data dir.
pub fn purge_older_than(
    data_dir: &Path,
    today: NaiveDate,
    retention_days: u32,
) -> Result<PurgeReport> {
    let Some(cutoff) = today.checked_sub_days(Days::new(retention_days.into())) else {
        return Ok(PurgeReport::default());
    };
    let mut day_parents = vec![data_dir.join(ATTENDANCE_DIR)];
    day_parents.extend(real_subdirs(&data_dir.join(SNAPSHOTS_DIR))?);

    let mut removed = BTreeSet::new();
    for parent in day_parents {
        for dir in real_subdirs(&parent)? {
            let day = dir.file_name().and_then(|n| n.to_str()).and_then(parse_day);
            if let Some(day) = day.filter(|d| *d < cutoff) {
                fs::remove_dir_all(&dir).map_err(io_err("remove", &dir))?;
                removed.insert(day);
            }
        }
    }
    Ok(PurgeReport {
        removed_days: removed.into_iter().collect(),
    })
}

/// Only canonical `YYYY-MM-DD` names (chrono alone would also accept `2026-1-5`).
fn parse_day(name: &str) -> Option<NaiveDate> {
    let day = NaiveDate::parse_from_str(name, "%Y-%m-%d").ok()?;
    (day.format("%Y-%m-%d").to_string() == name).then_some(day)
}

/// Real sub-directories of `dir`; empty when `dir` is missing or is itself a link.
/// `symlink_metadata` and `DirEntry::file_type` do not follow links.
fn real_subdirs(dir: &Path) -> Result<Vec<PathBuf>> {
    match fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Ok(Vec::new()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("inspect", dir)(e)),
    }
    let mut dirs = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err("list", dir))? {
        let entry = entry.map_err(io_err("list", dir))?;
        let path = entry.path();
        if entry
            .file_type()
            .map_err(io_err("inspect", &path))?
            .is_dir()
        {
            dirs.push(path);
        }
    }
    Ok(dirs)
}
