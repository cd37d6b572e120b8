//! Behaviour tests against real temp directories.

use std::fs;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use facewatch_captures::{
    last_out_due, purge_older_than, AttendanceCaptures, CaptureError, CaptureInfo, CaptureMeta,
    CapturePolicy, SnapshotRef, SnapshotStore, WriteOutcome,
};
use tempfile::TempDir;

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Every file below `dir` (links are listed, not followed).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            out.extend(files_under(&entry.path()));
        } else {
            out.push(entry.path());
        }
    }
    out
}

fn assert_no_temp_files(dir: &Path) {
    let leftovers: Vec<_> = files_under(dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temp files left behind: {leftovers:?}"
    );
}

fn info(time: &str, camera: &str) -> CaptureInfo {
    CaptureInfo {
        time: utc(time),
        camera_id: camera.into(),
        camera_name: format!("{camera} camera"),
        snapshot_ref: None,
    }
}

const KEEP_FIRST: CapturePolicy = CapturePolicy {
    first_in_overwrite_enabled: false,
    last_out_delay_sec: 300,
};

// ---------------------------------------------------------------- snapshots

#[test]
fn snapshot_goes_under_camera_and_utc_day_and_resolves_back() {
    let data = TempDir::new().unwrap();
    let store = SnapshotStore::new(data.path());
    let at = utc("2026-11-02T23:59:59.123Z");

    let a = store.save_snapshot("door", at, b"jpeg-a").unwrap();
    let b = store.save_snapshot("door", at, b"jpeg-b").unwrap();

    let name = a
        .as_str()
        .strip_prefix("snapshots/door/2026-11-02/")
        .unwrap_or_else(|| panic!("unexpected layout: {a}"));
    let (millis, random) = name.strip_suffix(".jpg").unwrap().split_once('-').unwrap();
    assert_eq!(millis, at.timestamp_millis().to_string());
    assert_eq!(random.len(), 12);
    assert!(random.bytes().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(a, b, "same millisecond still gives distinct files");

    assert_eq!(
        fs::read(store.resolve(a.as_str()).unwrap()).unwrap(),
        b"jpeg-a"
    );
    assert_eq!(
        fs::read(store.resolve(b.as_str()).unwrap()).unwrap(),
        b"jpeg-b"
    );
    assert_no_temp_files(data.path());
}

#[test]
fn unsafe_ids_are_rejected_before_touching_disk() {
    let data = TempDir::new().unwrap();
    let store = SnapshotStore::new(data.path());
    let captures = AttendanceCaptures::new(data.path(), KEEP_FIRST);
    let at = utc("2026-11-02T08:00:00Z");

    for bad in ["", "..", "../etc", "a/b", "a\\b", ".hidden", "door 1", "ö"] {
        let err = store.save_snapshot(bad, at, b"x").unwrap_err();
        assert!(
            matches!(
                err,
                CaptureError::InvalidId {
                    what: "camera id",
                    ..
                }
            ),
            "{bad:?}: {err}"
        );
        assert!(store.save_latest(bad, b"x").is_err());
        assert!(store.latest(bad).is_none());
        let err = captures
            .write_first_in(
                day("2026-11-02"),
                bad,
                b"x",
                info("2026-11-02T08:00:00Z", "door"),
            )
            .unwrap_err();
        assert!(matches!(
            err,
            CaptureError::InvalidId {
                what: "employee id",
                ..
            }
        ));
    }
    let err = store.save_snapshot("../etc", at, b"x").unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"invalid camera id "../etc": must not start with '.'"#
    );
    assert!(files_under(data.path()).is_empty(), "nothing was written");
}

#[test]
fn resolve_rejects_path_traversal_and_foreign_paths() {
    let data = TempDir::new().unwrap();
    let store = SnapshotStore::new(data.path());

    for (bad, reason) in [
        ("", "empty"),
        ("../secret.jpg", "'..'"),
        ("snapshots/../../etc/passwd", "'..'"),
        ("snapshots/door/../../../x.jpg", "'..'"),
        ("/etc/passwd", "absolute"),
        ("./snapshots/door/x.jpg", "'.'"),
        ("snapshots\\..\\..\\x.jpg", "backslash"),
        (
            "config.toml",
            "snapshots/, captures/, attendance_captures/ or faces/",
        ),
    ] {
        let err = store.resolve(bad).unwrap_err();
        assert!(matches!(err, CaptureError::InvalidRef { .. }), "{bad:?}");
        let msg = err.to_string();
        assert!(msg.contains(reason), "{bad:?}: {msg}");
        assert!(
            msg.contains(&format!("{bad:?}")),
            "message names the ref: {msg}"
        );
    }

    let ok = "snapshots/door/2026-11-02/1-abc.jpg";
    assert_eq!(store.resolve(ok).unwrap(), data.path().join(ok));
    let face = "faces/emp-1/1-abc.png";
    assert_eq!(store.resolve(face).unwrap(), data.path().join(face));
    let ok = "captures/door/latest.jpg";
    assert_eq!(store.resolve(ok).unwrap(), data.path().join(ok));
    let ok = "attendance_captures/2026-11-02/e1/first_in.jpg";
    assert_eq!(store.resolve(ok).unwrap(), data.path().join(ok));
}

#[test]
fn latest_preview_is_replaced_and_reported_with_its_mtime() {
    let data = TempDir::new().unwrap();
    let store = SnapshotStore::new(data.path());
    assert!(store.latest("door").is_none());

    let before = Utc::now() - TimeDelta::seconds(5);
    let path = store.save_latest("door", b"first").unwrap();
    assert_eq!(path, data.path().join("captures/door/latest.jpg"));
    store.save_latest("door", b"second").unwrap();

    let (latest, modified) = store.latest("door").unwrap();
    assert_eq!(latest, path);
    assert_eq!(fs::read(&latest).unwrap(), b"second");
    assert!(modified >= before && modified <= Utc::now() + TimeDelta::seconds(5));
    assert!(store.latest("yard").is_none(), "other cameras unaffected");
    assert_no_temp_files(data.path());
}

// ---------------------------------------------------------------- atomic writes

/// A reader holding the old file keeps seeing the complete old content: the new content
/// arrived as a new file renamed over the old one, not by truncating it in place.
#[test]
fn replacing_a_file_swaps_it_whole() {
    let data = TempDir::new().unwrap();
    let store = SnapshotStore::new(data.path());
    let path = store.save_latest("door", &[1u8; 64 * 1024]).unwrap();
    let mut old = fs::File::open(&path).unwrap();

    store.save_latest("door", &[2u8; 1000]).unwrap();

    let mut old_content = Vec::new();
    old.read_to_end(&mut old_content).unwrap();
    assert_eq!(old_content, vec![1u8; 64 * 1024]);
    assert_eq!(fs::read(&path).unwrap(), vec![2u8; 1000]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        assert_ne!(
            old.metadata().unwrap().ino(),
            fs::metadata(&path).unwrap().ino()
        );
    }
    assert_no_temp_files(data.path());
}

/// If the final rename fails the temp file is cleaned up and the error says what/where.
#[test]
fn failed_write_leaves_no_temp_file() {
    let data = TempDir::new().unwrap();
    let store = SnapshotStore::new(data.path());
    // A directory where latest.jpg should go makes the rename fail.
    let blocker = data.path().join("captures/door/latest.jpg");
    fs::create_dir_all(blocker.join("sub")).unwrap();

    let err = store.save_latest("door", b"jpeg").unwrap_err();
    match &err {
        CaptureError::Io { action, path, .. } => {
            assert_eq!(*action, "move temp file into");
            assert_eq!(path, &blocker);
        }
        other => panic!("expected an I/O error, got {other:?}"),
    }
    assert!(err.to_string().contains("latest.jpg"), "{err}");
    assert!(std::error::Error::source(&err).is_some(), "cause is kept");
    assert_no_temp_files(data.path());
    assert!(blocker.join("sub").is_dir(), "existing content untouched");
}

/// Writers racing on one file while a reader polls it: every read sees one writer's
/// complete payload, never a mix or a short file.
#[test]
fn concurrent_writers_never_expose_a_partial_file() {
    const SIZE: usize = 256 * 1024;
    let data = TempDir::new().unwrap();
    let store = SnapshotStore::new(data.path());
    let path = data.path().join("captures/door/latest.jpg");
    let done = Arc::new(AtomicBool::new(false));

    let reader = {
        let (path, done) = (path.clone(), done.clone());
        thread::spawn(move || {
            let mut reads = 0;
            while !done.load(Ordering::Relaxed) {
                match fs::read(&path) {
                    Ok(bytes) => {
                        assert_eq!(bytes.len(), SIZE, "short read");
                        assert!(bytes.iter().all(|b| *b == bytes[0]), "mixed content");
                        reads += 1;
                    }
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => panic!("{e}"),
                }
            }
            reads
        })
    };
    let writers: Vec<_> = (1..=4u8)
        .map(|id| {
            let store = store.clone();
            thread::spawn(move || {
                for _ in 0..25 {
                    store.save_latest("door", &vec![id; SIZE]).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    let reads = reader.join().unwrap();

    let last = fs::read(&path).unwrap();
    assert_eq!(last.len(), SIZE);
    assert!((1..=4).contains(&last[0]));
    assert!(reads > 0, "the reader actually observed the file");
    assert_no_temp_files(data.path());
}

// ---------------------------------------------------------------- attendance photos

#[test]
fn first_in_is_kept_and_last_out_added_with_rfc3339_meta() {
    let data = TempDir::new().unwrap();
    let store = SnapshotStore::new(data.path());
    let captures = AttendanceCaptures::new(data.path(), KEEP_FIRST);
    let d = day("2026-11-02");

    let snap = store
        .save_snapshot("door", utc("2026-11-02T07:58:30Z"), b"snap")
        .unwrap();
    let first = CaptureInfo {
        snapshot_ref: Some(snap.clone()),
        ..info("2026-11-02T07:58:30Z", "door")
    };
    assert_eq!(
        captures
            .write_first_in(d, "emp-1", b"in-1", first.clone())
            .unwrap(),
        WriteOutcome::Written
    );
    // A later sighting must not replace the first-in photo.
    assert_eq!(
        captures
            .write_first_in(d, "emp-1", b"in-2", info("2026-11-02T09:00:00Z", "yard"))
            .unwrap(),
        WriteOutcome::KeptExisting
    );
    let out = info("2026-11-02T17:05:00Z", "gate");
    assert_eq!(
        captures
            .write_last_out(d, "emp-1", b"out-1", out.clone())
            .unwrap(),
        WriteOutcome::Written
    );

    let dir = data.path().join("attendance_captures/2026-11-02/emp-1");
    let set = captures.read(d, "emp-1").unwrap();
    assert_eq!(
        set.first_in.as_deref(),
        Some(dir.join("first_in.jpg").as_path())
    );
    assert_eq!(
        set.last_out.as_deref(),
        Some(dir.join("last_out.jpg").as_path())
    );
    assert_eq!(fs::read(dir.join("first_in.jpg")).unwrap(), b"in-1");
    assert_eq!(fs::read(dir.join("last_out.jpg")).unwrap(), b"out-1");
    assert_eq!(
        set.meta,
        Some(CaptureMeta {
            first_in: Some(first),
            last_out: Some(out),
        })
    );

    // The on-disk JSON format is what other tools read: check it literally.
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("meta.json")).unwrap()).unwrap();
    let time = json["first_in"]["time"].as_str().unwrap();
    assert_eq!(
        DateTime::parse_from_rfc3339(time).unwrap(),
        utc("2026-11-02T07:58:30Z")
    );
    assert_eq!(json["first_in"]["camera_id"], "door");
    assert_eq!(json["first_in"]["camera_name"], "door camera");
    assert_eq!(json["first_in"]["snapshot_ref"], snap.as_str());
    assert_eq!(json["last_out"]["camera_id"], "gate");
    assert!(json["last_out"]["snapshot_ref"].is_null());
    assert!(DateTime::parse_from_rfc3339(json["last_out"]["time"].as_str().unwrap()).is_ok());
    assert_no_temp_files(data.path());
}

#[test]
fn first_in_overwrite_policy_replaces_the_photo() {
    let data = TempDir::new().unwrap();
    let policy = CapturePolicy {
        first_in_overwrite_enabled: true,
        ..KEEP_FIRST
    };
    let captures = AttendanceCaptures::new(data.path(), policy);
    let d = day("2026-11-02");

    captures
        .write_first_in(d, "emp-1", b"in-1", info("2026-11-02T07:00:00Z", "door"))
        .unwrap();
    let second = info("2026-11-02T07:30:00Z", "yard");
    assert_eq!(
        captures
            .write_first_in(d, "emp-1", b"in-2", second.clone())
            .unwrap(),
        WriteOutcome::Written
    );
    let set = captures.read(d, "emp-1").unwrap();
    assert_eq!(fs::read(set.first_in.unwrap()).unwrap(), b"in-2");
    assert_eq!(set.meta.unwrap().first_in, Some(second));
}

/// A photo without its meta entry (crash between the two writes) counts as absent, so the
/// next write repairs the pair instead of keeping an undocumented photo.
#[test]
fn first_in_photo_without_meta_is_rewritten() {
    let data = TempDir::new().unwrap();
    let captures = AttendanceCaptures::new(data.path(), KEEP_FIRST);
    let d = day("2026-11-02");
    let dir = data.path().join("attendance_captures/2026-11-02/emp-1");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("first_in.jpg"), b"orphan").unwrap();

    let first = info("2026-11-02T07:00:00Z", "door");
    assert_eq!(
        captures
            .write_first_in(d, "emp-1", b"in-1", first.clone())
            .unwrap(),
        WriteOutcome::Written
    );
    assert_eq!(fs::read(dir.join("first_in.jpg")).unwrap(), b"in-1");
    assert_eq!(
        captures.read(d, "emp-1").unwrap().meta.unwrap().first_in,
        Some(first)
    );
}

#[test]
fn last_out_only_moves_forward_in_time() {
    let data = TempDir::new().unwrap();
    let captures = AttendanceCaptures::new(data.path(), KEEP_FIRST);
    let d = day("2026-11-02");

    let at_17 = info("2026-11-02T17:00:00Z", "gate");
    captures
        .write_last_out(d, "emp-1", b"17", at_17.clone())
        .unwrap();
    assert_eq!(
        captures
            .write_last_out(d, "emp-1", b"16", info("2026-11-02T16:00:00Z", "gate"))
            .unwrap(),
        WriteOutcome::KeptExisting,
        "an older candidate arriving late is ignored"
    );
    let at_18 = info("2026-11-02T18:00:00Z", "door");
    assert_eq!(
        captures
            .write_last_out(d, "emp-1", b"18", at_18.clone())
            .unwrap(),
        WriteOutcome::Written
    );
    let set = captures.read(d, "emp-1").unwrap();
    assert_eq!(fs::read(set.last_out.unwrap()).unwrap(), b"18");
    let meta = set.meta.unwrap();
    assert_eq!(meta.last_out, Some(at_18));
    assert_eq!(meta.first_in, None);
}

#[test]
fn reading_an_unknown_day_is_empty() {
    let data = TempDir::new().unwrap();
    let captures = AttendanceCaptures::new(data.path(), KEEP_FIRST);
    let set = captures.read(day("2026-11-02"), "emp-1").unwrap();
    assert_eq!(set.first_in, None);
    assert_eq!(set.last_out, None);
    assert_eq!(set.meta, None);
}

#[test]
fn corrupt_meta_is_reported_with_its_path() {
    let data = TempDir::new().unwrap();
    let captures = AttendanceCaptures::new(data.path(), KEEP_FIRST);
    let dir = data.path().join("attendance_captures/2026-11-02/emp-1");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("meta.json"), b"{not json").unwrap();

    let err = captures.read(day("2026-11-02"), "emp-1").unwrap_err();
    assert!(matches!(err, CaptureError::Meta { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "capture metadata {} is not valid JSON",
            dir.join("meta.json").display()
        )
    );
}

/// First-in and last-out for the same employee written from many threads at once: both
/// entries survive (no lost meta update) and photos match their meta.
#[test]
fn concurrent_attendance_writes_keep_meta_consistent() {
    let data = TempDir::new().unwrap();
    let policy = CapturePolicy {
        first_in_overwrite_enabled: true,
        ..KEEP_FIRST
    };
    let captures = AttendanceCaptures::new(data.path(), policy);
    let d = day("2026-11-02");

    thread::scope(|s| {
        for t in 0..8u32 {
            let captures = &captures;
            s.spawn(move || {
                for i in 0..10u32 {
                    let at = utc("2026-11-02T08:00:00Z") + TimeDelta::seconds((t * 100 + i).into());
                    let jpeg = format!("{}", at.timestamp()).into_bytes();
                    let meta = CaptureInfo {
                        time: at,
                        ..info("2026-11-02T00:00:00Z", "door")
                    };
                    if t % 2 == 0 {
                        captures.write_first_in(d, "emp-1", &jpeg, meta).unwrap();
                    } else {
                        captures.write_last_out(d, "emp-1", &jpeg, meta).unwrap();
                    }
                }
            });
        }
    });

    let set = captures.read(d, "emp-1").unwrap();
    let meta = set.meta.unwrap();
    let (first, last) = (meta.first_in.unwrap(), meta.last_out.unwrap());
    let photo_time = |p: PathBuf| String::from_utf8(fs::read(p).unwrap()).unwrap();
    assert_eq!(
        photo_time(set.first_in.unwrap()),
        first.time.timestamp().to_string()
    );
    assert_eq!(
        photo_time(set.last_out.unwrap()),
        last.time.timestamp().to_string()
    );
    // Last-out only moves forward, so the latest odd-thread candidate wins.
    assert_eq!(
        last.time,
        utc("2026-11-02T08:00:00Z") + TimeDelta::seconds(709)
    );
    assert_no_temp_files(data.path());
}

#[test]
fn last_out_is_due_only_after_the_delay() {
    let at = utc("2026-11-02T17:00:00Z");
    let p = |secs| CapturePolicy {
        first_in_overwrite_enabled: false,
        last_out_delay_sec: secs,
    };
    let after = |secs| at + TimeDelta::seconds(secs);

    assert!(!last_out_due(at, after(299), &p(300)));
    assert!(last_out_due(at, after(300), &p(300)));
    assert!(last_out_due(at, after(3600), &p(300)));
    assert!(!last_out_due(at, after(-1), &p(0)), "clock skew: not yet");
    assert!(last_out_due(at, at, &p(0)));
    assert!(
        !last_out_due(at, after(1_000_000), &p(u64::MAX)),
        "no overflow"
    );
}

// ---------------------------------------------------------------- retention

fn mkdirs(root: &Path, dirs: &[&str]) {
    for d in dirs {
        fs::create_dir_all(root.join(d)).unwrap();
        fs::write(root.join(d).join("x.jpg"), b"x").unwrap();
    }
}

#[test]
fn purge_removes_only_date_folders_strictly_older_than_the_cutoff() {
    let data = TempDir::new().unwrap();
    let root = data.path();
    mkdirs(
        root,
        &[
            "attendance_captures/2026-10-01/emp-1",
            "attendance_captures/2026-10-21/emp-1",
            "attendance_captures/2026-10-22/emp-1",
            "attendance_captures/2026-11-01/emp-1",
            "attendance_captures/notes",
            "attendance_captures/2026-13-01",
            "attendance_captures/2026-1-05",
            "snapshots/door/2026-10-01",
            "snapshots/door/2026-11-01",
            "snapshots/yard/2026-10-15",
            "snapshots/yard/backup",
            "captures/door",
        ],
    );
    fs::write(
        root.join("attendance_captures/2020-01-01"),
        b"a file, not a folder",
    )
    .unwrap();

    // Cutoff = 2026-11-01 - 10 days = 2026-10-22, which itself is kept.
    let report = purge_older_than(root, day("2026-11-01"), 10).unwrap();

    assert_eq!(
        report.removed_days,
        [day("2026-10-01"), day("2026-10-15"), day("2026-10-21")]
    );
    for gone in [
        "attendance_captures/2026-10-01",
        "attendance_captures/2026-10-21",
        "snapshots/door/2026-10-01",
        "snapshots/yard/2026-10-15",
    ] {
        assert!(!root.join(gone).exists(), "{gone} should be removed");
    }
    for kept in [
        "attendance_captures/2026-10-22/emp-1/x.jpg",
        "attendance_captures/2026-11-01/emp-1/x.jpg",
        "attendance_captures/notes/x.jpg",
        "attendance_captures/2026-13-01/x.jpg",
        "attendance_captures/2026-1-05/x.jpg",
        "attendance_captures/2020-01-01",
        "snapshots/door/2026-11-01/x.jpg",
        "snapshots/yard/backup/x.jpg",
        "captures/door/x.jpg",
    ] {
        assert!(root.join(kept).exists(), "{kept} should be kept");
    }

    // Idempotent.
    assert!(purge_older_than(root, day("2026-11-01"), 10)
        .unwrap()
        .removed_days
        .is_empty());
}

#[test]
fn purge_handles_missing_folders_and_huge_retention() {
    let data = TempDir::new().unwrap();
    assert!(purge_older_than(data.path(), day("2026-11-01"), 30)
        .unwrap()
        .removed_days
        .is_empty());
    mkdirs(data.path(), &["attendance_captures/2026-10-01"]);
    let report = purge_older_than(data.path(), day("2026-11-01"), u32::MAX).unwrap();
    assert!(report.removed_days.is_empty());
    assert!(data.path().join("attendance_captures/2026-10-01").exists());
}

#[cfg(unix)]
#[test]
fn purge_never_follows_symlinks_out_of_the_data_dir() {
    use std::os::unix::fs::symlink;

    let outside = TempDir::new().unwrap();
    mkdirs(outside.path(), &["victim", "2020-01-01", "cam/2020-01-01"]);
    let data = TempDir::new().unwrap();
    let root = data.path();
    mkdirs(
        root,
        &["attendance_captures/2020-01-02/emp-1", "snapshots/door"],
    );

    // A date-named link, a camera-named link and a link inside an old day folder.
    symlink(
        outside.path().join("2020-01-01"),
        root.join("attendance_captures/2020-01-01"),
    )
    .unwrap();
    symlink(outside.path().join("cam"), root.join("snapshots/evil")).unwrap();
    symlink(
        outside.path().join("victim"),
        root.join("attendance_captures/2020-01-02/emp-1/link"),
    )
    .unwrap();

    let report = purge_older_than(root, day("2026-11-01"), 30).unwrap();

    assert_eq!(report.removed_days, [day("2020-01-02")]);
    assert!(!root.join("attendance_captures/2020-01-02").exists());
    for survivor in ["victim/x.jpg", "2020-01-01/x.jpg", "cam/2020-01-01/x.jpg"] {
        assert!(
            outside.path().join(survivor).exists(),
            "{survivor} outside was touched"
        );
    }
    // The links themselves are left in place too.
    assert!(fs::symlink_metadata(root.join("attendance_captures/2020-01-01")).is_ok());
    assert!(fs::symlink_metadata(root.join("snapshots/evil")).is_ok());
}

#[test]
fn snapshot_ref_serialises_as_a_plain_string() {
    let data = TempDir::new().unwrap();
    let store = SnapshotStore::new(data.path());
    let r = store
        .save_snapshot("door", utc("2026-11-02T08:00:00Z"), b"x")
        .unwrap();
    let json = serde_json::to_string(&r).unwrap();
    assert_eq!(json, format!("\"{r}\""));
    assert_eq!(serde_json::from_str::<SnapshotRef>(&json).unwrap(), r);
}

#[test]
fn enrolment_photos_are_kept_outside_the_purged_snapshots() {
    let data = TempDir::new().unwrap();
    let store = SnapshotStore::new(data.path());
    let at = chrono::Utc::now();
    let jpeg = store.save_face_photo("emp-1", at, b"\xff\xd8jpeg").unwrap();
    let png = store.save_face_photo("emp-1", at, b"\x89PNG\r\n").unwrap();
    assert!(jpeg.as_str().starts_with("faces/emp-1/") && jpeg.as_str().ends_with(".jpg"));
    assert!(png.as_str().ends_with(".png"), "{png}");
    assert_ne!(jpeg, png);
    assert_eq!(
        std::fs::read(store.resolve(png.as_str()).unwrap()).unwrap(),
        b"\x89PNG\r\n"
    );
    assert!(store.save_face_photo("../x", at, b"x").is_err());
}
