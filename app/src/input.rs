//! Bounds on what callers send that the database could not store. The log keeps every event for
//! ever and the read models must be able to hold what it says, so a value PostgreSQL would refuse
//! (a NUL character, a year 200000 timestamp) is refused here, before anything is appended.

use chrono::{DateTime, NaiveDate, Utc};

use crate::{AppError, Result};

/// The days a caller may name (attendance corrections, sightings, log resets).
const EARLIEST_DAY: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
const LATEST_DAY: NaiveDate = NaiveDate::from_ymd_opt(9999, 12, 31).expect("valid date");

pub(crate) fn check_day(what: &str, day: NaiveDate) -> Result<()> {
    if (EARLIEST_DAY..=LATEST_DAY).contains(&day) {
        Ok(())
    } else {
        Err(AppError::invalid(format!(
            "{what} {day} is out of range ({EARLIEST_DAY} to {LATEST_DAY})"
        )))
    }
}

pub(crate) fn check_instant(what: &str, at: DateTime<Utc>) -> Result<()> {
    check_day(what, at.date_naive())
}

/// Text PostgreSQL can store (no NUL character).
pub(crate) fn check_text(what: &str, text: &str) -> Result<()> {
    if text.contains('\0') {
        return Err(AppError::invalid(format!(
            "{what} must not contain NUL characters"
        )));
    }
    Ok(())
}

/// Aggregate ids (usernames, employee and camera ids) end up in SQL text columns.
pub(crate) fn check_id(id: &str) -> Result<()> {
    check_text("an id", id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_outside_the_storable_range_are_refused() {
        let far = NaiveDate::from_ymd_opt(200_000, 1, 1).unwrap();
        assert!(check_day("day", far).is_err());
        assert!(check_day("day", NaiveDate::from_ymd_opt(-200_000, 1, 1).unwrap()).is_err());
        assert!(check_day("day", NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()).is_ok());
        assert!(check_id("a\0b").is_err());
    }
}
