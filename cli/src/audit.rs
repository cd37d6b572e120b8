//! `facewatch replay` and `facewatch verify`: the audits, with a progress bar (events/s, ETA) on
//! the terminal.

use std::time::Duration;

use facewatch_projections::rebuild::Progress;
use facewatch_projections::replay::{self, AuditMode, ReplayReport};
use facewatch_projections::{schema, Projector};
use facewatch_store::chain::{self, ChainReport, Link};
use facewatch_store::{PgPool, READ_SCHEMA};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

fn bar(total: u64, show: bool) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(total),
        if show {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(
        ProgressStyle::with_template("{msg:8} [{bar:40}] {pos}/{len} events  {per_sec}  ETA {eta}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

/// Replays (all of the log, or what came after the last audit) and compares; true if every read
/// model matches.
pub async fn replay(pool: &PgPool, from_snapshot: bool, json: bool) -> anyhow::Result<bool> {
    schema::install(pool, READ_SCHEMA, false).await?;
    Projector::new(pool.clone(), READ_SCHEMA)
        .catch_up(None)
        .await?;
    let progress = bar(0, !json);
    progress.set_message("replay");
    let on_progress = |p: Progress| {
        progress.set_length((p.target - p.from).max(0) as u64);
        progress.set_position((p.position - p.from).max(0) as u64);
    };
    let mode = if from_snapshot {
        AuditMode::FromSnapshot
    } else {
        AuditMode::Full
    };
    let report = replay::audit(pool, READ_SCHEMA, mode, &on_progress).await;
    progress.finish_and_clear();
    let report = report?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_replay(&report);
    }
    Ok(report.all_match())
}

fn print_replay(report: &ReplayReport) {
    println!(
        "replayed {} events ({} → {}) and compared in {:.1} s: {:.0} events/s",
        report.events,
        report.from_position,
        report.position,
        report.seconds,
        report.events_per_sec()
    );
    for t in &report.tables {
        let verdict = if t.matches { "match" } else { "DIFFERS" };
        println!(
            "{:<18} {:>10} rows  {}  {verdict}",
            t.table, t.live_rows, t.live_checksum
        );
    }
}

/// Walks the hash chain; true if it is intact (and passes through `expect`, if given).
pub async fn verify(pool: &PgPool, expect: Option<&str>, json: bool) -> anyhow::Result<bool> {
    let expect = expect.map(Link::parse).transpose()?;
    let head = chain::chain_head(pool).await?;
    let progress = bar(head.map_or(0, |h| h.position) as u64, !json);
    progress.set_message("verify");
    let report = chain::verify_chain(pool, expect, |position| {
        progress.set_position(position as u64)
    })
    .await;
    progress.finish_and_clear();
    let report = report?;
    chain::record_verification(pool, &report).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_verify(&report);
    }
    Ok(report.intact())
}

fn print_verify(report: &ChainReport) {
    println!(
        "checked {} events in {:.1} s: {:.0} events/s",
        report.events,
        report.elapsed.as_secs_f64(),
        report.events_per_sec()
    );
    match (&report.problem, &report.head) {
        (None, Some(head)) => {
            println!("chain intact; head (keep it outside the database, check with --expect):");
            println!("{head}");
        }
        (None, None) => println!("the log is empty"),
        (Some(problem), good) => {
            println!("CHAIN BROKEN: {problem}");
            if let Some(good) = good {
                println!("last event that chains correctly: {good}");
            }
        }
    }
}
