//! Crash-safe file replacement.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use crate::{io_err, Result};

/// Temp files are hidden and end in this suffix, so nothing mistakes them for photos.
pub(crate) const TEMP_SUFFIX: &str = ".tmp";

/// Writes `bytes` to `path` so that `path` always holds either the complete old or the
/// complete new content. The temp file lives in the same directory because `rename` is
/// only atomic within one filesystem; its data is fsynced before the rename and the
/// directory after it, so after a crash the rename is durable and never exposes a file
/// whose data did not reach the disk. A crash can at worst leave a stray temp file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}{TEMP_SUFFIX}", random_suffix()));

    let result = write_new_file(&tmp, bytes)
        .and_then(|()| fs::rename(&tmp, path).map_err(io_err("move temp file into", path)))
        .and_then(|()| sync_dir(dir));
    if result.is_err() {
        // Best effort: after a successful rename the temp name is already gone.
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn write_new_file(path: &Path, bytes: &[u8]) -> Result<()> {
    // `create_new`: never share a temp file with a concurrent writer.
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io_err("create temp file", path))?;
    file.write_all(bytes)
        .map_err(io_err("write temp file", path))?;
    file.sync_all().map_err(io_err("fsync temp file", path))
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("fsync directory", dir))
}

/// Directories cannot be opened for fsync on Windows; NTFS journals the rename itself.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<()> {
    Ok(())
}

/// 12 hex digits (48 random bits) from a v4 UUID: unique enough for names within one
/// camera-day or one directory.
pub(crate) fn random_suffix() -> String {
    let mut s = uuid::Uuid::new_v4().simple().to_string();
    s.truncate(12);
    s
}
