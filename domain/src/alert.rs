//! An alert's follow-up: somebody looked at it and says what happened (aggregate id: the alert id,
//! which is the log position of the exit that raised it). Who did it is the event's actor.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Longest acknowledgement note.
pub const MAX_NOTE_CHARS: usize = 1000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AlertEvent {
    Acknowledged {
        alert_id: i64,
        /// Whose exit raised the alert (for the audit log's employee filter).
        employee_id: String,
        note: String,
        at: DateTime<Utc>,
    },
}
crate::domain_event!(AlertEvent, "1.0");

impl AlertEvent {
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            AlertEvent::Acknowledged { at, .. } => *at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AlertCommand {
    Acknowledge {
        alert_id: i64,
        employee_id: String,
        note: String,
        now: DateTime<Utc>,
    },
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AlertError {
    #[error("this alert was already acknowledged")]
    AlreadyAcknowledged,
    #[error("the note is too long (at most {MAX_NOTE_CHARS} characters)")]
    NoteTooLong,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Alert {
    pub acknowledged: bool,
}

impl Alert {
    fn decide(&self, command: AlertCommand) -> Result<Option<AlertEvent>, AlertError> {
        match command {
            AlertCommand::Acknowledge {
                alert_id,
                employee_id,
                note,
                now,
            } => {
                if self.acknowledged {
                    return Err(AlertError::AlreadyAcknowledged);
                }
                if note.chars().count() > MAX_NOTE_CHARS {
                    return Err(AlertError::NoteTooLong);
                }
                Ok(Some(AlertEvent::Acknowledged {
                    alert_id,
                    employee_id,
                    note: note.trim().to_string(),
                    at: now,
                }))
            }
        }
    }

    fn evolve(&mut self, event: AlertEvent) {
        match event {
            AlertEvent::Acknowledged { .. } => self.acknowledged = true,
        }
    }
}

crate::aggregate!(Alert, "alert", AlertCommand, AlertEvent, AlertError);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::when;

    #[test]
    fn an_alert_is_acknowledged_once_with_its_note() {
        let now: DateTime<Utc> = "2026-11-23T09:00:00Z".parse().unwrap();
        let ack = |note: &str| AlertCommand::Acknowledge {
            alert_id: 7,
            employee_id: "e1".into(),
            note: note.into(),
            now,
        };
        let done = when::<Alert>(vec![], ack(" called her back ")).unwrap();
        assert_eq!(
            done,
            vec![AlertEvent::Acknowledged {
                alert_id: 7,
                employee_id: "e1".into(),
                note: "called her back".into(),
                at: now
            }]
        );
        assert_eq!(
            when::<Alert>(done, ack("again")).unwrap_err(),
            AlertError::AlreadyAcknowledged
        );
        let long = "x".repeat(MAX_NOTE_CHARS + 1);
        assert_eq!(
            when::<Alert>(vec![], ack(&long)).unwrap_err(),
            AlertError::NoteTooLong
        );
    }
}
