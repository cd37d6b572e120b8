//! Employee codes are unique: each code is an aggregate of its own (id = the normalised code) that
//! one employee at a time may hold. Two concurrent enrolments with one code append to the same
//! stream, so optimistic concurrency lets exactly one of them win.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The aggregate id of a code: trimmed and case-folded, so `e-7` and `E-7 ` are one code.
pub fn code_id(code: &str) -> String {
    code.trim().to_lowercase()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EmployeeCodeEvent {
    CodeClaimed {
        employee_id: String,
        at: DateTime<Utc>,
    },
    CodeReleased {
        employee_id: String,
        at: DateTime<Utc>,
    },
}
crate::domain_event!(EmployeeCodeEvent, "1.0");

impl EmployeeCodeEvent {
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            EmployeeCodeEvent::CodeClaimed { at, .. }
            | EmployeeCodeEvent::CodeReleased { at, .. } => *at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EmployeeCodeCommand {
    /// Take the code for `employee_id`; a no-op if they hold it already.
    Claim {
        employee_id: String,
        now: DateTime<Utc>,
    },
    /// Give the code up; a no-op unless `employee_id` holds it.
    Release {
        employee_id: String,
        now: DateTime<Utc>,
    },
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EmployeeCodeError {
    #[error("employee code is already in use by employee {holder}")]
    Taken { holder: String },
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct EmployeeCode {
    pub holder: Option<String>,
}

impl EmployeeCode {
    fn decide(
        &self,
        command: EmployeeCodeCommand,
    ) -> Result<Option<EmployeeCodeEvent>, EmployeeCodeError> {
        Ok(match command {
            EmployeeCodeCommand::Claim { employee_id, now } => match &self.holder {
                Some(holder) if *holder == employee_id => None,
                Some(holder) => {
                    return Err(EmployeeCodeError::Taken {
                        holder: holder.clone(),
                    })
                }
                None => Some(EmployeeCodeEvent::CodeClaimed {
                    employee_id,
                    at: now,
                }),
            },
            EmployeeCodeCommand::Release { employee_id, now } => (self.holder.as_ref()
                == Some(&employee_id))
            .then_some(EmployeeCodeEvent::CodeReleased {
                employee_id,
                at: now,
            }),
        })
    }

    fn evolve(&mut self, event: EmployeeCodeEvent) {
        match event {
            EmployeeCodeEvent::CodeClaimed { employee_id, .. } => self.holder = Some(employee_id),
            EmployeeCodeEvent::CodeReleased { .. } => self.holder = None,
        }
    }
}

crate::aggregate!(
    EmployeeCode,
    "employee_code",
    EmployeeCodeCommand,
    EmployeeCodeEvent,
    EmployeeCodeError
);

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;

    type Given = TestFramework<EmployeeCode>;

    fn now() -> DateTime<Utc> {
        "2026-11-23T09:00:00Z".parse().unwrap()
    }
    fn claimed(by: &str) -> EmployeeCodeEvent {
        EmployeeCodeEvent::CodeClaimed {
            employee_id: by.into(),
            at: now(),
        }
    }
    fn claim(by: &str) -> EmployeeCodeCommand {
        EmployeeCodeCommand::Claim {
            employee_id: by.into(),
            now: now(),
        }
    }
    fn release(by: &str) -> EmployeeCodeCommand {
        EmployeeCodeCommand::Release {
            employee_id: by.into(),
            now: now(),
        }
    }

    #[test]
    fn a_free_code_is_claimed_once() {
        Given::with(())
            .given_no_previous_events()
            .when(claim("ana"))
            .then_expect_events(vec![claimed("ana")]);
        Given::with(())
            .given(vec![claimed("ana")])
            .when(claim("ana"))
            .then_expect_events(vec![]);
    }

    #[test]
    fn a_held_code_refuses_others_until_released() {
        Given::with(())
            .given(vec![claimed("ana")])
            .when(claim("bo"))
            .then_expect_error(EmployeeCodeError::Taken {
                holder: "ana".into(),
            });
        Given::with(())
            .given(vec![claimed("ana")])
            .when(release("bo"))
            .then_expect_events(vec![]);
        let released = EmployeeCodeEvent::CodeReleased {
            employee_id: "ana".into(),
            at: now(),
        };
        Given::with(())
            .given(vec![claimed("ana")])
            .when(release("ana"))
            .then_expect_events(vec![released.clone()]);
        Given::with(())
            .given(vec![claimed("ana"), released])
            .when(claim("bo"))
            .then_expect_events(vec![claimed("bo")]);
    }

    #[test]
    fn codes_are_compared_trimmed_and_case_folded() {
        assert_eq!(code_id(" E-7 "), code_id("e-7"));
    }
}
