//! The alert rule: an exit during active monitoring is a violation, unless the same employee was
//! alerted less than `alert_min_interval_sec` ago. Pure, so that replay reaches the same verdicts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::schedule::{MonitoringState, ScheduleSnapshot};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExitVerdict {
    /// Raise an alert.
    Violation,
    /// No alert: monitoring was not active at the exit (off hours, lunch, pause, manual off).
    NotMonitored(MonitoringState),
    /// No alert: the employee was alerted too recently.
    RateLimited,
}

/// Judges an exit at `exit_at` with `schedule`, the snapshot in force at `exit_at`.
pub fn judge_exit(
    schedule: &ScheduleSnapshot,
    exit_at: DateTime<Utc>,
    last_alert_at: Option<DateTime<Utc>>,
) -> ExitVerdict {
    match schedule.state_at(exit_at) {
        MonitoringState::Active => {
            let interval = chrono::Duration::seconds(schedule.alert_min_interval_sec.into());
            match last_alert_at {
                Some(last) if exit_at - last < interval => ExitVerdict::RateLimited,
                _ => ExitVerdict::Violation,
            }
        }
        other => ExitVerdict::NotMonitored(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        format!("2026-11-23T{s}Z").parse().unwrap()
    }

    #[test]
    fn exits_in_work_hours_alert_once_per_interval() {
        let s = ScheduleSnapshot::default(); // 300 s interval
        assert_eq!(judge_exit(&s, t("10:00:00"), None), ExitVerdict::Violation);
        assert_eq!(
            judge_exit(&s, t("10:04:59"), Some(t("10:00:00"))),
            ExitVerdict::RateLimited
        );
        assert_eq!(
            judge_exit(&s, t("10:05:00"), Some(t("10:00:00"))),
            ExitVerdict::Violation
        );
    }

    #[test]
    fn no_alerts_off_hours_at_lunch_or_paused() {
        let mut s = ScheduleSnapshot::default();
        assert_eq!(
            judge_exit(&s, t("07:59:59"), None),
            ExitVerdict::NotMonitored(MonitoringState::OffHours)
        );
        assert_eq!(
            judge_exit(&s, t("12:30:00"), None),
            ExitVerdict::NotMonitored(MonitoringState::LunchBreak)
        );
        s.paused_until = Some(t("11:00:00"));
        assert_eq!(
            judge_exit(&s, t("10:30:00"), None),
            ExitVerdict::NotMonitored(MonitoringState::Paused)
        );
        assert_eq!(judge_exit(&s, t("11:00:00"), None), ExitVerdict::Violation);
    }
}
