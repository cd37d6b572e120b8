//! Benchmark: domain events appended per second through the event store (cqrs-es + postgres-es,
//! with the global-order trigger), on a scratch database of the local PostgreSQL.
//!
//! `cargo run --release -p facewatch-store --bin bench_events -- [writers] [sightings per writer]`

use std::time::Instant;

use chrono::{Duration, Utc};
use facewatch_domain::presence::{Presence, PresenceCommand};
use facewatch_store::{EventFeed, EventStore, ScratchDatabase};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let writers = args.next().transpose()?.unwrap_or(8);
    let per_writer = args.next().transpose()?.unwrap_or(500);
    let db = ScratchDatabase::create("fw_bench").await?;
    let store = EventStore::new(db.pool.clone());
    let start = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let t0 = Utc::now();
                for i in 0..per_writer {
                    let command = PresenceCommand::RecordSighting {
                        camera_id: "bench".into(),
                        at: t0 + Duration::milliseconds(i as i64 * 100),
                        similarity: 0.8,
                        track_id: i as u64,
                        snapshot_ref: None,
                    };
                    store
                        .execute::<Presence>(&format!("employee-{w}"), command, &test_metadata())
                        .await?;
                }
                Ok::<_, facewatch_store::CommandError<_>>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let events = EventFeed::new(db.pool.clone())
        .read_after(0, i64::MAX)
        .await?
        .len();
    println!(
        "appended {events} events ({writers} writers × {per_writer} commands) in {elapsed:.2} s: {:.0} events/s, {:.0} commands/s",
        events as f64 / elapsed,
        (writers * per_writer) as f64 / elapsed
    );
    db.drop().await?;
    Ok(())
}

/// Commands of these tests are the command line's doing.
fn test_metadata() -> facewatch_store::CommandMetadata {
    facewatch_store::CommandMetadata {
        actor: "cli".into(),
        correlation_id: "test".into(),
        idempotency_key: None,
    }
}
