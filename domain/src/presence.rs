//! Presence of one employee (aggregate id = employee id): sightings, derived enter/exit
//! transitions and manual attendance corrections.
//!
//! A sighting of an absent employee is an entry. An exit is only known once the employee has not
//! been seen for the absence timeout; it is recorded at the time they were last seen.

use chrono::{DateTime, NaiveDate, Utc};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntryType {
    /// Derived from camera sightings.
    Auto,
    /// Entered by a person; never overwritten by automatic data.
    Manual,
    /// Written by the system itself (imports, migrations); never overwritten by automatic data.
    System,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PresenceEvent {
    FaceRecognized {
        camera_id: String,
        at: DateTime<Utc>,
        similarity: f32,
        track_id: u64,
        snapshot_ref: Option<String>,
    },
    EmployeeEntered {
        camera_id: String,
        at: DateTime<Utc>,
        snapshot_ref: Option<String>,
    },
    EmployeeExited {
        /// The camera that saw the employee last.
        camera_id: String,
        /// When the employee was last seen.
        at: DateTime<Utc>,
        snapshot_ref: Option<String>,
        /// When the absence timeout expired and the exit became known.
        detected_at: DateTime<Utc>,
    },
    AttendanceCorrected {
        day: NaiveDate,
        first_in: Option<DateTime<Utc>>,
        last_out: Option<DateTime<Utc>>,
        entry_type: EntryType,
        note: String,
        at: DateTime<Utc>,
    },
}
crate::domain_event!(PresenceEvent, "1.0");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PresenceCommand {
    RecordSighting {
        camera_id: String,
        at: DateTime<Utc>,
        similarity: f32,
        track_id: u64,
        snapshot_ref: Option<String>,
    },
    /// Issued periodically: records an exit if the employee has been unseen for `timeout_sec`.
    CheckAbsence {
        now: DateTime<Utc>,
        timeout_sec: u32,
    },
    CorrectAttendance {
        day: NaiveDate,
        first_in: Option<DateTime<Utc>>,
        last_out: Option<DateTime<Utc>>,
        entry_type: EntryType,
        note: String,
        now: DateTime<Utc>,
    },
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PresenceError {
    #[error("similarity must be a finite number between -1 and 1, got {0}")]
    BadSimilarity(f32),
    #[error("sighting at {at} is older than the employee's recorded exit at {exit}")]
    SightingBeforeExit {
        at: DateTime<Utc>,
        exit: DateTime<Utc>,
    },
    #[error("invalid attendance correction: {0}")]
    InvalidCorrection(String),
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LastSighting {
    pub camera_id: String,
    pub at: DateTime<Utc>,
    pub snapshot_ref: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Presence {
    pub present: bool,
    pub last_seen: Option<LastSighting>,
    pub last_exit: Option<DateTime<Utc>>,
}

impl Presence {
    fn decide(&self, command: PresenceCommand) -> Result<Vec<PresenceEvent>, PresenceError> {
        match command {
            PresenceCommand::RecordSighting {
                camera_id,
                at,
                similarity,
                track_id,
                snapshot_ref,
            } => {
                if !similarity.is_finite() || !(-1.0..=1.0).contains(&similarity) {
                    return Err(PresenceError::BadSimilarity(similarity));
                }
                if let Some(exit) = self.last_exit.filter(|exit| at <= *exit) {
                    return Err(PresenceError::SightingBeforeExit { at, exit });
                }
                let mut events = vec![PresenceEvent::FaceRecognized {
                    camera_id: camera_id.clone(),
                    at,
                    similarity,
                    track_id,
                    snapshot_ref: snapshot_ref.clone(),
                }];
                if !self.present {
                    events.push(PresenceEvent::EmployeeEntered {
                        camera_id,
                        at,
                        snapshot_ref,
                    });
                }
                Ok(events)
            }
            PresenceCommand::CheckAbsence { now, timeout_sec } => {
                let timeout = chrono::Duration::seconds(timeout_sec.into());
                match &self.last_seen {
                    Some(last) if self.present && now - last.at >= timeout => {
                        Ok(vec![PresenceEvent::EmployeeExited {
                            camera_id: last.camera_id.clone(),
                            at: last.at,
                            snapshot_ref: last.snapshot_ref.clone(),
                            detected_at: now,
                        }])
                    }
                    _ => Ok(vec![]),
                }
            }
            PresenceCommand::CorrectAttendance {
                day,
                first_in,
                last_out,
                entry_type,
                note,
                now,
            } => {
                let invalid = |m: &str| Err(PresenceError::InvalidCorrection(m.into()));
                if entry_type == EntryType::Auto {
                    return invalid("corrections are MANUAL or SYSTEM, never AUTO");
                }
                match (first_in, last_out) {
                    (None, None) => return invalid("give a first-in or a last-out time"),
                    (Some(i), Some(o)) if o < i => {
                        return invalid("last-out must not be before first-in")
                    }
                    _ => {}
                }
                Ok(vec![PresenceEvent::AttendanceCorrected {
                    day,
                    first_in,
                    last_out,
                    entry_type,
                    note,
                    at: now,
                }])
            }
        }
    }
}

impl Presence {
    fn evolve(&mut self, event: PresenceEvent) {
        match event {
            PresenceEvent::FaceRecognized {
                camera_id,
                at,
                snapshot_ref,
                ..
            } => {
                // Sightings from several cameras may arrive slightly out of order: keep the newest.
                if self.last_seen.as_ref().is_none_or(|last| at >= last.at) {
                    self.last_seen = Some(LastSighting {
                        camera_id,
                        at,
                        snapshot_ref,
                    });
                }
            }
            PresenceEvent::EmployeeEntered { .. } => self.present = true,
            PresenceEvent::EmployeeExited { at, .. } => {
                self.present = false;
                self.last_exit = Some(at);
            }
            PresenceEvent::AttendanceCorrected { .. } => {}
        }
    }
}

crate::aggregate!(
    Presence,
    "presence",
    PresenceCommand,
    PresenceEvent,
    PresenceError
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::when;

    fn t(s: &str) -> DateTime<Utc> {
        format!("2026-11-23T{s}Z").parse().unwrap()
    }
    fn sighting(at: &str) -> PresenceCommand {
        PresenceCommand::RecordSighting {
            camera_id: "door".into(),
            at: t(at),
            similarity: 0.7,
            track_id: 1,
            snapshot_ref: Some("s.jpg".into()),
        }
    }
    fn history(commands: Vec<PresenceCommand>) -> Vec<PresenceEvent> {
        let mut all = vec![];
        for command in commands {
            all.extend(when::<Presence>(all.clone(), command).unwrap());
        }
        all
    }

    #[test]
    fn first_sighting_enters_later_ones_only_recognise() {
        let first = when::<Presence>(vec![], sighting("09:00:00")).unwrap();
        assert_eq!(first.len(), 2);
        assert!(matches!(first[1], PresenceEvent::EmployeeEntered { .. }));
        let again = when::<Presence>(first, sighting("09:00:05")).unwrap();
        assert_eq!(again.len(), 1);
        assert!(matches!(again[0], PresenceEvent::FaceRecognized { .. }));
    }

    #[test]
    fn exit_needs_the_full_timeout_and_is_dated_at_last_sighting() {
        let seen = history(vec![sighting("09:00:00"), sighting("09:10:00")]);
        let early = PresenceCommand::CheckAbsence {
            now: t("09:10:59"),
            timeout_sec: 60,
        };
        assert!(when::<Presence>(seen.clone(), early).unwrap().is_empty());
        let due = PresenceCommand::CheckAbsence {
            now: t("09:11:00"),
            timeout_sec: 60,
        };
        let exit = when::<Presence>(seen, due).unwrap();
        assert_eq!(
            exit,
            vec![PresenceEvent::EmployeeExited {
                camera_id: "door".into(),
                at: t("09:10:00"),
                snapshot_ref: Some("s.jpg".into()),
                detected_at: t("09:11:00"),
            }]
        );
    }

    #[test]
    fn late_out_of_order_sightings_do_not_rewind_presence() {
        let seen = history(vec![sighting("09:10:00"), sighting("09:05:00")]);
        let check = PresenceCommand::CheckAbsence {
            now: t("09:10:30"),
            timeout_sec: 60,
        };
        // Last seen stays 09:10, so 09:10:30 is within the timeout.
        assert!(when::<Presence>(seen.clone(), check).unwrap().is_empty());
        let mut gone = seen;
        gone.extend(
            when::<Presence>(
                gone.clone(),
                PresenceCommand::CheckAbsence {
                    now: t("09:20:00"),
                    timeout_sec: 60,
                },
            )
            .unwrap(),
        );
        assert!(matches!(
            when::<Presence>(gone.clone(), sighting("09:09:00")),
            Err(PresenceError::SightingBeforeExit { .. })
        ));
        // Coming back after the exit is a new entry.
        assert_eq!(
            when::<Presence>(gone, sighting("09:30:00")).unwrap().len(),
            2
        );
    }

    #[test]
    fn absence_check_of_an_absent_employee_is_a_noop() {
        let check = PresenceCommand::CheckAbsence {
            now: t("10:00:00"),
            timeout_sec: 1,
        };
        assert!(when::<Presence>(vec![], check).unwrap().is_empty());
    }

    #[test]
    fn corrections_are_validated() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let correction = |first_in, last_out, entry_type| PresenceCommand::CorrectAttendance {
            day,
            first_in,
            last_out,
            entry_type,
            note: "forgot badge".into(),
            now: t("18:00:00"),
        };
        let ok = correction(Some(t("08:00:00")), Some(t("17:00:00")), EntryType::Manual);
        assert_eq!(when::<Presence>(vec![], ok).unwrap().len(), 1);
        for bad in [
            correction(None, None, EntryType::Manual),
            correction(Some(t("17:00:00")), Some(t("08:00:00")), EntryType::Manual),
            correction(Some(t("08:00:00")), None, EntryType::Auto),
        ] {
            assert!(matches!(
                when::<Presence>(vec![], bad),
                Err(PresenceError::InvalidCorrection(_))
            ));
        }
        let bad_similarity = PresenceCommand::RecordSighting {
            camera_id: "door".into(),
            at: t("09:00:00"),
            similarity: 1.5,
            track_id: 1,
            snapshot_ref: None,
        };
        assert_eq!(
            when::<Presence>(vec![], bad_similarity).unwrap_err(),
            PresenceError::BadSimilarity(1.5)
        );
    }
}
