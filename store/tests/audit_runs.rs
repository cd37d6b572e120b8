//! Audits in progress against real PostgreSQL (migrations/0008_audit_progress.sql): a running
//! audit's row appears, follows its progress once a second, freezes events/s while comparing and
//! is gone when the run finishes; a run that dies (its session ends) or stops reporting reads as
//! stale, and the next run clears the dead one's row.

use std::time::Duration;

use facewatch_store::audit_runs::{
    runs_in_progress, AuditKind, AuditPhase, AuditRun, RunProgress, RunTracker,
};
use facewatch_store::ScratchDatabase;
use sqlx::PgPool;

/// Polls the rows until `done` holds for them (the heartbeat writes about once a second).
async fn rows_until(
    pool: &PgPool,
    what: &str,
    done: impl Fn(&[AuditRun]) -> bool,
) -> Vec<AuditRun> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let rows = runs_in_progress(pool).await.unwrap();
        if done(&rows) {
            return rows;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}; rows: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn at(phase: AuditPhase, position: i64, events: i64) -> RunProgress {
    RunProgress {
        phase,
        from_position: 0,
        position,
        target_position: 1_000,
        events,
    }
}

#[tokio::test]
async fn a_run_reports_progress_and_clears_its_row() {
    let db = ScratchDatabase::create("fw_audit_runs").await.unwrap();
    let pool = &db.pool;
    assert!(runs_in_progress(pool).await.unwrap().is_empty());

    let tracker = RunTracker::start(pool, AuditKind::Replay, at(AuditPhase::Replaying, 0, 0))
        .await
        .unwrap();
    let rows = runs_in_progress(pool).await.unwrap();
    assert_eq!(rows.len(), 1, "the row is there as soon as the run starts");
    assert_eq!(rows[0].id, tracker.id());
    assert_eq!(rows[0].kind, "REPLAY");
    assert_eq!(rows[0].pid, std::process::id() as i32);
    assert!(!rows[0].stale);

    // Progress reaches the row with a rate and an ETA.
    tracker.update(at(AuditPhase::Replaying, 400, 400));
    let rows = rows_until(pool, "position 400 and a rate", |r| {
        r[0].position == 400 && r[0].events_per_sec > 0.0
    })
    .await;
    let run = &rows[0];
    assert_eq!((run.target_position, run.events), (1_000, 400));
    assert!(run.events_per_sec > 0.0, "{run:?}");
    let eta = run.eta_seconds().expect("an ETA while replaying");
    let expected = 600.0 / run.events_per_sec;
    assert!((eta - expected).abs() < 1e-6, "{eta} vs {expected}");

    // Comparing: no ETA, and events/s stays what the replay achieved.
    tracker.update(at(AuditPhase::Comparing, 1_000, 1_000));
    let rows = rows_until(pool, "the comparison", |r| r[0].phase == "COMPARING").await;
    let compared = &rows[0];
    assert_eq!(compared.eta_seconds(), None);
    assert!(compared.events_per_sec > 0.0);
    let frozen = compared.events_per_sec;
    let later = rows_until(pool, "a later beat", |r| {
        r[0].updated_at > compared.updated_at
    })
    .await;
    assert_eq!(
        later[0].events_per_sec, frozen,
        "events/s is frozen while comparing"
    );
    assert!(!later[0].stale);

    tracker.finish().await.unwrap();
    assert!(
        runs_in_progress(pool).await.unwrap().is_empty(),
        "a finished run leaves no row"
    );
    db.drop().await.unwrap();
}

#[tokio::test]
async fn a_dead_or_silent_run_is_stale_and_the_next_run_clears_it() {
    let db = ScratchDatabase::create("fw_audit_runs").await.unwrap();
    let pool = &db.pool;

    // A run that ends without finishing (an error, a panic, a killed process) ends its session.
    let dead = RunTracker::start(pool, AuditKind::Verify, at(AuditPhase::Verifying, 10, 10))
        .await
        .unwrap();
    let dead_id = dead.id();
    drop(dead);
    let rows = rows_until(pool, "the dead run to read as stale", |r| {
        r.len() == 1 && r[0].stale
    })
    .await;
    assert_eq!(rows[0].id, dead_id);
    assert_eq!(rows[0].kind, "VERIFY");
    assert_eq!(rows[0].eta_seconds(), None, "no ETA for a dead run");

    // A run whose session lives but which stopped reporting (a hung process) is stale too.
    let mut hung = pool.acquire().await.unwrap();
    sqlx::query(
        "INSERT INTO audit_runs_in_progress (kind, phase, host, pid, backend_pid, updated_at) \
         VALUES ('REPLAY_INCREMENTAL', 'REPLAYING', 'elsewhere', 1, pg_backend_pid(), \
                 now() - interval '11 seconds')",
    )
    .execute(&mut *hung)
    .await
    .unwrap();
    let rows = runs_in_progress(pool).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.stale), "{rows:?}");

    // The next run clears both.
    let next = RunTracker::start(
        pool,
        AuditKind::ReplayIncremental,
        at(AuditPhase::Replaying, 0, 0),
    )
    .await
    .unwrap();
    let rows = runs_in_progress(pool).await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].id, rows[0].stale), (next.id(), false));
    next.finish().await.unwrap();
    drop(hung);
    db.drop().await.unwrap();
}
