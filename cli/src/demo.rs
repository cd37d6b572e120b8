//! `facewatch demo`: the system's main job on a bundled video. The video is synthesised from the
//! registry-packaged face photos (scripts/fetch-models.sh) so that nothing large is committed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use chrono::{DateTime, Utc, Weekday};
use facewatch_app::{
    Actor, App, CameraInput, CommandContext, DayHoursInput, EmployeeInput, FaceEnrolment,
    ScheduleInput,
};
use facewatch_domain::employee::Pose;
use facewatch_inference::synthetic::{file_uri, frames_of, head_shot, write_video};
use facewatch_inference::FaceEngine;

/// Who is enrolled from which photo; the video shows them from other photos.
const CAST: [(&str, &str, &str); 2] = [
    ("DEMO-OBAMA", "Barack Obama", "obama.jpg"),
    ("DEMO-BIDEN", "Joe Biden", "biden.jpg"),
];
pub const CAMERA_ID: &str = "DEMO";

fn read_photo(photos: &Path, name: &str) -> anyhow::Result<Vec<u8>> {
    let path = photos.join(name);
    std::fs::read(&path).with_context(|| {
        format!(
            "{} is missing: run scripts/setup-inference.sh first",
            path.display()
        )
    })
}

/// Writes the demo video (once): Obama, an empty door, Biden beside an unenrolled visitor.
pub fn ensure_video(
    vision_config: &facewatch_inference::InferenceConfig,
    photos: &Path,
    data_dir: &Path,
) -> anyhow::Result<PathBuf> {
    let video = data_dir.join("demo").join("entrance.mp4");
    if video.exists() {
        return Ok(video);
    }
    std::fs::create_dir_all(video.parent().expect("has a parent"))?;
    let engine = FaceEngine::new(vision_config)?;
    let shot = |name: &str| -> anyhow::Result<image::RgbImage> {
        let img = image::load_from_memory(&read_photo(photos, name)?)?.to_rgb8();
        Ok(head_shot(&engine, &img, 110.0)?)
    };
    let mut frames = frames_of(&[], 2);
    frames.extend(frames_of(&[shot("obama2.jpg")?], 5));
    frames.extend(frames_of(&[], 3));
    frames.extend(frames_of(&[shot("biden.jpg")?, shot("astronaut.png")?], 5));
    frames.extend(frames_of(&[], 3));
    write_video(&frames, &video)?;
    Ok(video)
}

/// Enrols the cast and adds the demo camera through the application layer (actor
/// `system:demo`), unless they exist already. Each cast member's idempotency key is their code, so
/// a restarted demo addresses the same employees.
pub async fn seed(app: &App, photos: &Path, video: &Path) -> anyhow::Result<()> {
    let demo = CommandContext::new(Actor::system("demo"));
    for (code, name, photo) in CAST {
        if app.employee_holding_code(code).await?.is_some() {
            continue;
        }
        let ctx = demo.clone().with_idempotency_key(Some(code));
        let input = EmployeeInput {
            name: name.into(),
            code: code.into(),
            department: "Demo".into(),
        };
        let employee = app.enroll_employee(&ctx, input).await?;
        let photos = vec![(Pose::Front, photo.to_string(), read_photo(photos, photo)?)];
        app.enroll_face_photos(&ctx, &employee.id, photos, FaceEnrolment::upload())
            .await
            .with_context(|| format!("cannot enrol {name} from {photo}"))?;
    }
    if !app.camera_exists(CAMERA_ID).await? {
        let camera = CameraInput {
            id: Some(CAMERA_ID.into()),
            name: "Demo entrance".into(),
            location: "Bundled video".into(),
            stream_url: file_uri(video)?,
            enabled: true,
        };
        app.add_camera(&demo, camera).await?;
    }
    if !video.exists() {
        bail!("demo video {} vanished", video.display());
    }
    Ok(())
}

/// Work hours that cover every minute of every day (00:00–23:59, Monday to Sunday, UTC, no lunch)
/// in auto mode, so that somebody leaving during the demo raises an alert whatever the time. Only
/// when no schedule was ever saved: an operator's schedule is left alone.
pub async fn seed_schedule(app: &App, alert_min_interval_sec: u32) -> anyhow::Result<()> {
    if app.current_schedule().await?.effective_at.is_some() {
        return Ok(());
    }
    let days = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];
    let all_day = ScheduleInput {
        work_hours: days
            .into_iter()
            .map(|weekday| DayHoursInput {
                weekday,
                start: "00:00".into(),
                end: "23:59".into(),
            })
            .collect(),
        lunch_start: None,
        lunch_end: None,
        timezone: "UTC".into(),
        alert_min_interval_sec,
    };
    let demo = CommandContext::new(Actor::system("demo"));
    app.save_schedule(&demo, all_day).await?;
    tracing::info!("demo: schedule saved (every day 00:00-23:59 UTC, auto mode)");
    Ok(())
}

/// A length of time on the command line: `90`, `90s`, `2m`, `1h`.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| DurationError(text.to_string()))?;
    let seconds = match unit {
        "" | "s" => number,
        "m" => number * 60,
        "h" => number * 3600,
        _ => return Err(DurationError(text.to_string())),
    };
    Ok(Duration::from_secs(seconds))
}

#[derive(Debug, thiserror::Error)]
#[error("invalid duration {0:?}: expected e.g. 90s, 2m or 1h")]
pub struct DurationError(String);

/// The smoke check of `demo --for`: the demo camera delivered frames, and every cast member was
/// seen (a sighting recorded) since `since`.
pub async fn verify_run(
    pool: &facewatch_store::PgPool,
    frames_seen: bool,
    since: DateTime<Utc>,
) -> anyhow::Result<()> {
    if !frames_seen {
        bail!("the demo camera delivered no frame");
    }
    let employees = facewatch_projections::queries::employees(pool).await?;
    for (code, name, _) in CAST {
        let seen = employees
            .iter()
            .find(|e| e.code == code)
            .and_then(|e| e.last_seen)
            .is_some_and(|at| at >= since);
        if !seen {
            bail!("{name} was never recognised during the demo run");
        }
    }
    println!("demo: camera delivered frames, every cast member recognised");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("60s").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5d").is_err());
    }
}
