//! A generated event log for the replay/verify tests and benchmarks: a site of employees seen by
//! cameras day after day — sightings while they are in, entries and exits (lunch, an occasional
//! break during work hours, which raises an alert), unknown visitors, manual corrections, schedule
//! changes and log resets — appended straight into `events` in large statements (the database
//! still numbers and chains every event). Deterministic: the same arguments give the same log.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use facewatch_domain::camera::CameraEvent;
use facewatch_domain::employee::{EmployeeEvent, Pose, Profile};
use facewatch_domain::maintenance::{LogScope, MaintenanceEvent, TimeWindow};
use facewatch_domain::presence::{EntryType, PresenceEvent};
use facewatch_domain::schedule::{ScheduleEvent, ScheduleSnapshot};
use facewatch_domain::visitor::UnknownFaceEvent;
use facewatch_domain::AnyEvent;
use sqlx::PgPool;

/// Events per INSERT statement.
const APPEND_BATCH: usize = 10_000;
/// Seconds between two sightings of someone in view.
const SIGHTING_EVERY: i64 = 40;

#[derive(Debug, Clone, Copy)]
pub struct SiteShape {
    pub employees: usize,
    pub cameras: usize,
}

impl Default for SiteShape {
    fn default() -> Self {
        Self {
            employees: 200,
            cameras: 4,
        }
    }
}

/// Appends `events` events to the log of `pool` (the last day is cut short); returns how many
/// were appended.
pub async fn generate_log(
    pool: &PgPool,
    shape: SiteShape,
    events: usize,
) -> Result<usize, sqlx::Error> {
    let mut log = Appender::new(pool.clone());
    let start = Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap(); // a Monday
    let mut rng = Rng(0x5eed_f00d);
    let employee = |i: usize| format!("E{i:04}");
    let camera = |i: usize| format!("CAM{}", i + 1);
    for c in 0..shape.cameras {
        let at = start + Duration::minutes(c as i64);
        log.push(
            &camera(c),
            AnyEvent::Camera(CameraEvent::Added {
                name: format!("Camera {}", c + 1),
                location: ["Door", "Desk", "Hall", "Lab"][c % 4].into(),
                stream_url: format!("rtsp://user:secret@10.0.0.{}/stream", c + 10),
                enabled: true,
                at,
            }),
        )
        .await?;
    }
    for e in 0..shape.employees {
        let at = start + Duration::minutes(10) + Duration::seconds(e as i64);
        log.push(
            &employee(e),
            AnyEvent::Employee(EmployeeEvent::Enrolled {
                profile: Profile {
                    name: format!("Employee {e}"),
                    code: format!("C{e:04}"),
                    department: ["Ops", "Sales", "R&D"][e % 3].into(),
                },
                at,
            }),
        )
        .await?;
        log.push(
            &employee(e),
            AnyEvent::Employee(EmployeeEvent::FaceTemplateAdded {
                template_id: format!("T{e:04}"),
                pose: Pose::Front,
                embedding: embedding(&mut rng, 128),
                model_id: "arcface-r100".into(),
                at,
                source: None,
                photo_ref: None,
            }),
        )
        .await?;
    }
    let mut day = 0;
    while log.count() < events {
        generate_day(
            &mut log,
            &mut rng,
            shape,
            events,
            start.date_naive() + Duration::days(day),
            day,
        )
        .await?;
        day += 1;
    }
    log.flush().await?;
    Ok(log.appended)
}

/// One working day (weekends too: shift work), events in the order they become known.
async fn generate_day(
    log: &mut Appender,
    rng: &mut Rng,
    shape: SiteShape,
    limit: usize,
    date: NaiveDate,
    day: i64,
) -> Result<(), sqlx::Error> {
    let at = |h: u32, m: u32, s: i64| {
        Utc.from_utc_datetime(&date.and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap()))
            + Duration::seconds(s)
    };
    let mut todays: Vec<(DateTime<Utc>, String, AnyEvent)> = Vec::new();
    for e in 0..shape.employees {
        if rng.below(10) == 0 {
            continue; // Off today.
        }
        let id = format!("E{e:04}");
        let cam = format!("CAM{}", rng.below(shape.cameras as u64) + 1);
        let arrive = at(7, 30, rng.below(3600) as i64);
        let mut stays = vec![(arrive, at(12, 0, rng.below(600) as i64))];
        let back = at(12, 45, rng.below(900) as i64);
        if rng.below(5) == 0 {
            // A break during work hours: an alert, resolved when they come back.
            let out = at(14, 30, rng.below(1800) as i64);
            stays.push((back, out));
            stays.push((
                out + Duration::minutes(20),
                at(16, 45, rng.below(3600) as i64),
            ));
        } else {
            stays.push((back, at(16, 45, rng.below(3600) as i64)));
        }
        for (from, to) in stays {
            let mut t = from;
            let mut track = rng.next() % 100_000;
            todays.push((t, id.clone(), sighting(&cam, t, track, rng)));
            todays.push((
                t,
                id.clone(),
                AnyEvent::Presence(PresenceEvent::EmployeeEntered {
                    camera_id: cam.clone(),
                    at: t,
                    snapshot_ref: Some(format!("captures/{date}/{id}-in.jpg")),
                }),
            ));
            loop {
                t += Duration::seconds(SIGHTING_EVERY)
                    + Duration::milliseconds(rng.below(900) as i64);
                if t > to {
                    break;
                }
                if rng.below(50) == 0 {
                    track += 1;
                }
                todays.push((t, id.clone(), sighting(&cam, t, track, rng)));
            }
            let last = t - Duration::seconds(SIGHTING_EVERY);
            let detected = last + Duration::seconds(60);
            todays.push((
                detected,
                id.clone(),
                AnyEvent::Presence(PresenceEvent::EmployeeExited {
                    camera_id: cam.clone(),
                    at: last,
                    snapshot_ref: None,
                    detected_at: detected,
                }),
            ));
        }
    }
    for v in 0..5 {
        let t = at(9, 0, rng.below(8 * 3600) as i64);
        todays.push((
            t,
            format!("U{day}-{v}"),
            AnyEvent::UnknownFace(UnknownFaceEvent::Seen {
                camera_id: "CAM1".into(),
                at: t,
                track_id: rng.next() % 100_000,
                snapshot_ref: Some(format!("unknown/{date}/{v}.jpg")),
                embedding: embedding(rng, 128),
                model_id: "arcface-r100".into(),
            }),
        ));
    }
    for c in 0..3 {
        let t = at(18, 0, c * 60);
        let who = format!("E{:04}", rng.below(shape.employees as u64));
        todays.push((
            t,
            who,
            AnyEvent::Presence(PresenceEvent::AttendanceCorrected {
                day: date - Duration::days(1),
                first_in: Some(at(8, 0, 0) - Duration::days(1)),
                last_out: None,
                entry_type: EntryType::Manual,
                note: "forgot badge".into(),
                at: t,
            }),
        ));
    }
    let evening = at(20, 0, 0);
    match day % 4 {
        1 => todays.push((
            evening,
            "site".into(),
            AnyEvent::Schedule(ScheduleEvent::ScheduleSaved {
                work_hours: ScheduleSnapshot::default().work_hours,
                lunch: ScheduleSnapshot::default().lunch,
                timezone: chrono_tz::Europe::Berlin,
                alert_min_interval_sec: 600,
                effective_at: evening,
            }),
        )),
        2 => todays.push((
            evening,
            "site".into(),
            AnyEvent::Schedule(ScheduleEvent::Paused {
                until: evening + Duration::hours(14),
                effective_at: evening,
            }),
        )),
        3 => todays.push((
            evening,
            "maintenance".into(),
            AnyEvent::Maintenance(MaintenanceEvent::LogsReset {
                scope: if day % 8 == 3 {
                    LogScope::Alerts
                } else {
                    LogScope::Both
                },
                window: TimeWindow {
                    from: Some(at(10, 0, 0) - Duration::days(2)),
                    to: Some(at(11, 0, 0) - Duration::days(2)),
                },
                at: evening,
            }),
        )),
        _ => {}
    }
    todays.sort_by_key(|(t, _, _)| *t);
    for (_, id, event) in todays {
        if log.count() == limit {
            break;
        }
        log.push(&id, event).await?;
    }
    Ok(())
}

fn sighting(camera: &str, at: DateTime<Utc>, track: u64, rng: &mut Rng) -> AnyEvent {
    AnyEvent::Presence(PresenceEvent::FaceRecognized {
        camera_id: camera.to_string(),
        at,
        similarity: 0.6 + rng.below(400) as f32 / 1000.0,
        track_id: track,
        snapshot_ref: (rng.below(4) == 0).then(|| format!("captures/{}.jpg", at.timestamp())),
    })
}

fn embedding(rng: &mut Rng, dims: usize) -> Vec<f32> {
    let raw: Vec<f32> = (0..dims)
        .map(|_| rng.below(2001) as f32 / 1000.0 - 1.0)
        .collect();
    let norm = raw.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
    raw.into_iter().map(|x| x / norm).collect()
}

/// The aggregate type and payload the event store keeps for `event`.
fn stored_form(event: &AnyEvent) -> (&'static str, serde_json::Value) {
    use facewatch_domain::{camera::Camera, employee::Employee, maintenance::Maintenance};
    use facewatch_domain::{presence::Presence, schedule::Schedule, visitor::UnknownFace};
    use facewatch_store::Aggregate;
    fn json(event: &impl serde::Serialize) -> serde_json::Value {
        serde_json::to_value(event).expect("events serialize")
    }
    match event {
        AnyEvent::Camera(e) => (Camera::TYPE, json(e)),
        AnyEvent::Employee(e) => (Employee::TYPE, json(e)),
        AnyEvent::Presence(e) => (Presence::TYPE, json(e)),
        AnyEvent::Schedule(e) => (Schedule::TYPE, json(e)),
        AnyEvent::Maintenance(e) => (Maintenance::TYPE, json(e)),
        AnyEvent::UnknownFace(e) => (UnknownFace::TYPE, json(e)),
        other => unreachable!("the generator does not make {other:?}"),
    }
}

/// splitmix64: enough randomness for a plausible log, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Rows for `events`, appended a statement at a time.
struct Appender {
    pool: PgPool,
    sequences: HashMap<(String, String), i64>,
    pending: Vec<Row>,
    appended: usize,
}

struct Row {
    aggregate_type: String,
    aggregate_id: String,
    sequence: i64,
    event_type: String,
    payload: serde_json::Value,
    metadata: serde_json::Value,
}

impl Appender {
    fn new(pool: PgPool) -> Self {
        Self {
            pool,
            sequences: HashMap::new(),
            pending: Vec::with_capacity(APPEND_BATCH),
            appended: 0,
        }
    }

    /// Events appended or about to be.
    fn count(&self) -> usize {
        self.appended + self.pending.len()
    }

    async fn push(&mut self, id: &str, event: AnyEvent) -> Result<(), sqlx::Error> {
        let (aggregate_type, payload) = stored_form(&event);
        let event_type = payload
            .as_object()
            .and_then(|o| o.keys().next().cloned())
            .unwrap_or_default();
        let sequence = self
            .sequences
            .entry((aggregate_type.to_string(), id.to_string()))
            .or_insert(0);
        *sequence += 1;
        let actor = match &event {
            AnyEvent::Presence(_) | AnyEvent::UnknownFace(_) => "camera:CAM1",
            _ => "user:admin",
        };
        self.pending.push(Row {
            aggregate_type: aggregate_type.to_string(),
            aggregate_id: id.to_string(),
            sequence: *sequence,
            event_type,
            payload,
            metadata: serde_json::json!({
                "actor": actor,
                "correlation_id": format!("gen-{}", self.appended + self.pending.len()),
            }),
        });
        if self.pending.len() == APPEND_BATCH {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), sqlx::Error> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.pending);
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
             SELECT t, i, s, et, '1.0', p::json, m::json \
             FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::jsonb[], $6::jsonb[]) \
                  WITH ORDINALITY AS e(t, i, s, et, p, m, n) ORDER BY n",
        )
        .bind(rows.iter().map(|r| r.aggregate_type.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.aggregate_id.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.sequence).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.event_type.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.payload.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.metadata.clone()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
        // A position left unused, as a rolled-back append leaves one.
        sqlx::query("SELECT nextval('events_global_seq')")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.appended += rows.len();
        Ok(())
    }
}
