//! Turns silence into exits: an employee who has not been seen for the absence timeout is
//! recorded as having left (at the time they were last seen).

use std::time::Duration;

use chrono::Utc;
use facewatch_domain::presence::{Presence, PresenceCommand};
use facewatch_projections::queries;

use crate::AppState;

#[derive(Debug, Clone, Copy)]
pub struct AbsencePolicy {
    /// Seconds without a sighting after which a present employee counts as gone.
    pub present_timeout_sec: u32,
    /// How often to look.
    pub check_every: Duration,
}

/// One pass: issues `CheckAbsence` for every present employee whose timeout has expired.
/// Returns how many were checked.
pub async fn check_once(state: &AppState, policy: AbsencePolicy) -> Result<usize, String> {
    let now = Utc::now();
    let timeout = chrono::Duration::seconds(policy.present_timeout_sec.into());
    let due: Vec<String> = queries::present_employees(state.pool())
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|(_, last_seen)| now - *last_seen >= timeout)
        .map(|(id, _)| id)
        .collect();
    for id in &due {
        let command = PresenceCommand::CheckAbsence {
            now,
            timeout_sec: policy.present_timeout_sec,
        };
        // The aggregate re-checks against its own state, so a sighting that raced in wins.
        state
            .store()
            .execute::<Presence>(id, command)
            .await
            .map_err(|e| e.to_string())?;
    }
    if !due.is_empty() {
        state
            .projector()
            .catch_up(None)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(due.len())
}

/// Runs `check_once` every `policy.check_every` until `shutdown` resolves.
pub async fn watch(
    state: AppState,
    policy: AbsencePolicy,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut ticker = tokio::time::interval(policy.check_every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            _ = ticker.tick() => {
                if let Err(e) = check_once(&state, policy).await {
                    tracing::error!("absence check failed: {e}");
                }
            }
        }
    }
}
