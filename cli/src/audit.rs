//! `facewatch replay` and `facewatch verify`: the audits, with a progress bar (events/s, ETA) on
//! the terminal and on the Audit page (a row of `audit_runs_in_progress`, refreshed every second).

use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use facewatch_app::audits::replay_audit;
use facewatch_mqtt::chain_head::{HeadExport, HeadKey, KEY_ENV};
use facewatch_projections::rebuild::{Phase, Progress};
use facewatch_projections::replay::{AuditMode, ReplayReport};
use facewatch_projections::{schema, Projector};
use facewatch_store::audit_runs::{AuditKind, AuditPhase, RunProgress, RunTracker};
use facewatch_store::chain::{self, ChainReport, Link};
use facewatch_store::{PgPool, READ_SCHEMA};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// `[audit]` settings.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditSettings {
    /// Events `facewatch replay` applies per transaction.
    pub replay_batch: usize,
    /// `serve` exports the chain head (signed, to the log and, with `[mqtt]`, as a retained
    /// message on `{topic_prefix}/audit/chain_head`) this often, in seconds, when it moved;
    /// 0: never. The key comes from FACEWATCH_CHAIN_HEAD_KEY.
    pub head_export_sec: u64,
    #[serde(skip)]
    pub head_key: Option<Arc<HeadKey>>,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            replay_batch: facewatch_projections::rebuild::DEFAULT_BATCH,
            head_export_sec: 0,
            head_key: None,
        }
    }
}

impl AuditSettings {
    /// Checks the settings and reads the signing key (`key`, from the environment).
    pub fn load_key(&mut self, key: Option<String>) -> anyhow::Result<()> {
        if self.replay_batch == 0 || self.replay_batch > 1_000_000 {
            bail!("audit.replay_batch must be between 1 and 1000000");
        }
        self.head_key = match (self.head_export_sec, key) {
            (0, _) => None,
            (_, None) => bail!("audit.head_export_sec is set: {KEY_ENV} must hold the signing key"),
            (_, Some(key)) => Some(Arc::new(HeadKey::from_hex_seed(&key)?)),
        };
        Ok(())
    }

    /// The export `serve` runs, if any (`mqtt_prefix`: the MQTT topic prefix, if MQTT is on).
    pub fn head_export(&self, mqtt_prefix: Option<&str>) -> Option<HeadExport> {
        Some(HeadExport {
            every: Duration::from_secs(self.head_export_sec),
            key: self.head_key.clone()?,
            mqtt_topic: mqtt_prefix.map(HeadExport::topic),
        })
    }
}

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

/// Replays (all of the log, or what came after the last audit, `batch` events per transaction)
/// and compares; true if every read model matches.
pub async fn replay(
    pool: &PgPool,
    from_snapshot: bool,
    batch: usize,
    json: bool,
) -> anyhow::Result<bool> {
    schema::install(pool, READ_SCHEMA, false).await?;
    Projector::new(pool.clone(), READ_SCHEMA)
        .catch_up(None)
        .await?;
    let mode = if from_snapshot {
        AuditMode::FromSnapshot
    } else {
        AuditMode::Full
    };
    let progress = bar(0, !json);
    progress.set_message("replay");
    let on_progress = |p: Progress| {
        progress.set_length((p.target - p.from).max(0) as u64);
        progress.set_position((p.position - p.from).max(0) as u64);
        if p.phase == Phase::Comparing {
            progress.set_message("compare");
        }
    };
    let report = replay_audit(pool, mode, batch, &on_progress).await;
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
    let target = head.map_or(0, |h| h.position);
    let tracker = RunTracker::start(
        pool,
        AuditKind::Verify,
        RunProgress {
            target_position: target,
            ..RunProgress::starting(AuditPhase::Verifying)
        },
    )
    .await?;
    let progress = bar(target as u64, !json);
    progress.set_message("verify");
    let report = chain::verify_chain(pool, expect, |position, events| {
        progress.set_position(position as u64);
        tracker.update(RunProgress {
            position,
            target_position: target,
            events,
            ..RunProgress::starting(AuditPhase::Verifying)
        });
    })
    .await;
    progress.finish_and_clear();
    tracker.phase(AuditPhase::Recording);
    let report = match report {
        Ok(report) => report,
        Err(e) => {
            tracker.finish().await?;
            return Err(e.into());
        }
    };
    chain::record_verification(pool, &report).await?;
    tracker.finish().await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_export_needs_a_well_formed_key() {
        let mut off = AuditSettings::default();
        off.load_key(None).unwrap();
        assert!(off.head_export(Some("facewatch")).is_none());

        let mut on = AuditSettings {
            head_export_sec: 60,
            ..AuditSettings::default()
        };
        let missing = on.load_key(None).unwrap_err().to_string();
        assert!(missing.contains(KEY_ENV), "{missing}");
        assert!(on.load_key(Some("abc".into())).is_err());
        on.load_key(Some("11".repeat(32))).unwrap();
        let export = on.head_export(Some("site/facewatch")).unwrap();
        assert_eq!(export.every, Duration::from_secs(60));
        assert_eq!(
            export.mqtt_topic.as_deref(),
            Some("site/facewatch/audit/chain_head")
        );
        assert!(on.head_export(None).unwrap().mqtt_topic.is_none());

        let mut zero = AuditSettings {
            replay_batch: 0,
            ..AuditSettings::default()
        };
        assert!(zero.load_key(None).is_err());
    }
}
