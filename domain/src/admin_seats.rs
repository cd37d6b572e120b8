//! The set of active administrators, as one aggregate (id [`ADMIN_SEATS_ID`]). Every change that
//! can take an admin away (disable, demote) revokes the seat here first, so two admins disabling
//! each other at the same moment cannot leave the system with none: the second revocation sees the
//! first and is refused.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use serde::{Deserialize, Serialize};

/// The single admin-seats aggregate's id.
pub const ADMIN_SEATS_ID: &str = "admins";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AdminSeatsEvent {
    /// The seats as they stood when this rule started to be enforced (from the user accounts).
    SeatsCounted {
        admins: BTreeSet<String>,
        at: DateTime<Utc>,
    },
    SeatGranted {
        username: String,
        at: DateTime<Utc>,
    },
    SeatRevoked {
        username: String,
        at: DateTime<Utc>,
    },
}
crate::domain_event!(AdminSeatsEvent, "1.0");

impl AdminSeatsEvent {
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            AdminSeatsEvent::SeatsCounted { at, .. }
            | AdminSeatsEvent::SeatGranted { at, .. }
            | AdminSeatsEvent::SeatRevoked { at, .. } => *at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AdminSeatsCommand {
    /// First use: record the current admins; a no-op once counted.
    Count {
        admins: BTreeSet<String>,
        now: DateTime<Utc>,
    },
    Grant {
        username: String,
        now: DateTime<Utc>,
    },
    /// Refused when `username` holds the last seat.
    Revoke {
        username: String,
        now: DateTime<Utc>,
    },
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AdminSeatsError {
    #[error("{0} is the last active admin: make another user admin first")]
    LastAdmin(String),
    #[error("admin seats must be counted before they change")]
    NotCounted,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct AdminSeats {
    pub counted: bool,
    pub admins: BTreeSet<String>,
}

impl AdminSeats {
    fn decide(
        &self,
        command: AdminSeatsCommand,
    ) -> Result<Option<AdminSeatsEvent>, AdminSeatsError> {
        if !self.counted && !matches!(command, AdminSeatsCommand::Count { .. }) {
            return Err(AdminSeatsError::NotCounted);
        }
        Ok(match command {
            AdminSeatsCommand::Count { admins, now } => {
                (!self.counted).then_some(AdminSeatsEvent::SeatsCounted { admins, at: now })
            }
            AdminSeatsCommand::Grant { username, now } => (!self.admins.contains(&username))
                .then_some(AdminSeatsEvent::SeatGranted { username, at: now }),
            AdminSeatsCommand::Revoke { username, now } => {
                if !self.admins.contains(&username) {
                    None
                } else if self.admins.len() == 1 {
                    return Err(AdminSeatsError::LastAdmin(username));
                } else {
                    Some(AdminSeatsEvent::SeatRevoked { username, at: now })
                }
            }
        })
    }
}

impl AdminSeats {
    fn evolve(&mut self, event: AdminSeatsEvent) {
        match event {
            AdminSeatsEvent::SeatsCounted { admins, .. } => {
                self.counted = true;
                self.admins = admins;
            }
            AdminSeatsEvent::SeatGranted { username, .. } => {
                self.admins.insert(username);
            }
            AdminSeatsEvent::SeatRevoked { username, .. } => {
                self.admins.remove(&username);
            }
        }
    }
}

crate::aggregate!(
    AdminSeats,
    "admin_seats",
    AdminSeatsCommand,
    AdminSeatsEvent,
    AdminSeatsError
);

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;

    type Given = TestFramework<AdminSeats>;

    fn now() -> DateTime<Utc> {
        "2026-11-23T09:00:00Z".parse().unwrap()
    }
    fn counted(admins: &[&str]) -> AdminSeatsEvent {
        AdminSeatsEvent::SeatsCounted {
            admins: admins.iter().map(|a| a.to_string()).collect(),
            at: now(),
        }
    }
    fn revoke(username: &str) -> AdminSeatsCommand {
        AdminSeatsCommand::Revoke {
            username: username.into(),
            now: now(),
        }
    }

    #[test]
    fn the_last_admin_keeps_the_seat() {
        Given::with(())
            .given(vec![counted(&["ana"])])
            .when(revoke("ana"))
            .then_expect_error(AdminSeatsError::LastAdmin("ana".into()));
        let revoked = AdminSeatsEvent::SeatRevoked {
            username: "ana".into(),
            at: now(),
        };
        Given::with(())
            .given(vec![counted(&["ana", "bo"])])
            .when(revoke("ana"))
            .then_expect_events(vec![revoked.clone()]);
        // Two admins revoking each other: the second sees the first.
        Given::with(())
            .given(vec![counted(&["ana", "bo"]), revoked])
            .when(revoke("bo"))
            .then_expect_error(AdminSeatsError::LastAdmin("bo".into()));
    }

    #[test]
    fn seats_are_counted_once_before_any_change() {
        Given::with(())
            .given_no_previous_events()
            .when(revoke("ana"))
            .then_expect_error(AdminSeatsError::NotCounted);
        let count = AdminSeatsCommand::Count {
            admins: ["ana".to_string()].into(),
            now: now(),
        };
        Given::with(())
            .given(vec![counted(&["bo"])])
            .when(count)
            .then_expect_events(vec![]);
        Given::with(())
            .given(vec![counted(&["ana"])])
            .when(revoke("viewer"))
            .then_expect_events(vec![]);
        Given::with(())
            .given(vec![counted(&["ana"])])
            .when(AdminSeatsCommand::Grant {
                username: "bo".into(),
                now: now(),
            })
            .then_expect_events(vec![AdminSeatsEvent::SeatGranted {
                username: "bo".into(),
                at: now(),
            }]);
    }
}
