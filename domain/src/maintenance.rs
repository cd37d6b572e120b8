//! Maintenance facts. Resetting logs never deletes events (they are the audit trail): it appends a
//! `LogsReset` event, and the read models drop the matching rows when they see it.

use chrono::{DateTime, Utc};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LogScope {
    Events,
    Alerts,
    Both,
}

impl LogScope {
    pub fn includes_events(self) -> bool {
        matches!(self, LogScope::Events | LogScope::Both)
    }
    pub fn includes_alerts(self) -> bool {
        matches!(self, LogScope::Alerts | LogScope::Both)
    }
}

/// A half-open time range `[from, to)`; an open end is unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeWindow {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl TimeWindow {
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.from.is_none_or(|from| at >= from) && self.to.is_none_or(|to| at < to)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MaintenanceEvent {
    LogsReset {
        scope: LogScope,
        window: TimeWindow,
        at: DateTime<Utc>,
    },
}
crate::domain_event!(MaintenanceEvent, "1.0");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MaintenanceCommand {
    ResetLogs {
        scope: LogScope,
        window: TimeWindow,
        now: DateTime<Utc>,
    },
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MaintenanceError {
    #[error("invalid range: {from} is after {to}")]
    InvalidRange {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Maintenance;

impl Maintenance {
    fn decide(
        &self,
        command: MaintenanceCommand,
    ) -> Result<Option<MaintenanceEvent>, MaintenanceError> {
        let MaintenanceCommand::ResetLogs { scope, window, now } = command;
        if let (Some(from), Some(to)) = (window.from, window.to) {
            if from > to {
                return Err(MaintenanceError::InvalidRange { from, to });
            }
        }
        Ok(Some(MaintenanceEvent::LogsReset {
            scope,
            window,
            at: now,
        }))
    }

    /// Resets leave no state behind: each one stands alone.
    fn evolve(&mut self, _: MaintenanceEvent) {}
}

crate::aggregate!(
    Maintenance,
    "maintenance",
    MaintenanceCommand,
    MaintenanceEvent,
    MaintenanceError
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::when;

    #[test]
    fn reset_needs_an_ordered_window() {
        let t = |s: &str| -> DateTime<Utc> { s.parse().unwrap() };
        let window = TimeWindow {
            from: Some(t("2026-11-02T00:00:00Z")),
            to: Some(t("2026-11-01T00:00:00Z")),
        };
        let now = t("2026-11-25T00:00:00Z");
        let bad = MaintenanceCommand::ResetLogs {
            scope: LogScope::Both,
            window,
            now,
        };
        assert!(when::<Maintenance>(vec![], bad).is_err());
        let open = TimeWindow {
            from: None,
            to: Some(t("2026-11-01T00:00:00Z")),
        };
        assert!(open.contains(t("1999-01-01T00:00:00Z")));
        assert!(!open.contains(t("2026-11-01T00:00:00Z")));
    }
}
