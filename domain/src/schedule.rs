//! Work schedule: hours per weekday, lunch break, auto/manual mode, pause.
//!
//! Every change is an event carrying its effective time. `ScheduleSnapshot` is the schedule in force
//! after a given event; the projections keep every snapshot so that a violation is always judged with
//! the snapshot whose effective time precedes the event, never with today's.

use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc};
use chrono_tz::Tz;

use serde::{Deserialize, Serialize};

/// A daily time window. `end <= start` means the window crosses midnight (a night shift).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl TimeRange {
    pub fn new(start: NaiveTime, end: NaiveTime) -> Result<Self, ScheduleError> {
        if start == end {
            return Err(ScheduleError::Invalid(format!(
                "time range {start}-{end} is empty: start and end are equal"
            )));
        }
        Ok(Self { start, end })
    }

    pub fn crosses_midnight(&self) -> bool {
        self.end <= self.start
    }

    /// Whether `t` lies in the part of the window that starts on the same day (start inclusive).
    fn contains_from_start(&self, t: NaiveTime) -> bool {
        if self.crosses_midnight() {
            t >= self.start
        } else {
            t >= self.start && t < self.end
        }
    }

    /// Whether `t` lies in the after-midnight tail of a window that started the day before.
    fn contains_tail(&self, t: NaiveTime) -> bool {
        self.crosses_midnight() && t < self.end
    }

    /// Whether `t` lies anywhere in the window, ignoring which day it started on.
    pub fn contains_time(&self, t: NaiveTime) -> bool {
        self.contains_from_start(t) || self.contains_tail(t)
    }
}

/// Work hours for Monday (index 0) through Sunday (index 6); `None` is a day off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklyHours {
    pub days: [Option<TimeRange>; 7],
}

impl WeeklyHours {
    /// Is a shift running at local time `local`? A night shift belongs to the day it starts on.
    pub fn in_shift(&self, local: chrono::NaiveDateTime) -> bool {
        let weekday = local.weekday().num_days_from_monday() as usize;
        let yesterday = (weekday + 6) % 7;
        let t = local.time();
        self.days[weekday].is_some_and(|r| r.contains_from_start(t))
            || self.days[yesterday].is_some_and(|r| r.contains_tail(t))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Mode {
    /// Tracking follows the work hours.
    Auto,
    /// An operator switches tracking on and off by hand.
    Manual,
}

/// Why monitoring is (or is not) active at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MonitoringState {
    Active,
    OffHours,
    LunchBreak,
    Paused,
    TrackingOff,
}

/// The complete schedule in force from `effective_at` on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleSnapshot {
    pub effective_at: Option<DateTime<Utc>>,
    pub work_hours: WeeklyHours,
    pub lunch: Option<TimeRange>,
    pub timezone: Tz,
    pub mode: Mode,
    pub manual_tracking: bool,
    pub paused_until: Option<DateTime<Utc>>,
    /// Minimum seconds between two alerts for the same employee.
    pub alert_min_interval_sec: u32,
}

impl Default for ScheduleSnapshot {
    /// Until a schedule is saved: Monday–Friday 08:00–17:00 UTC, lunch 12:00–13:00, auto mode.
    fn default() -> Self {
        let hm = |h, m| NaiveTime::from_hms_opt(h, m, 0).expect("valid constant time");
        let office = Some(TimeRange {
            start: hm(8, 0),
            end: hm(17, 0),
        });
        Self {
            effective_at: None,
            work_hours: WeeklyHours {
                days: [office, office, office, office, office, None, None],
            },
            lunch: Some(TimeRange {
                start: hm(12, 0),
                end: hm(13, 0),
            }),
            timezone: Tz::UTC,
            mode: Mode::Auto,
            manual_tracking: false,
            paused_until: None,
            alert_min_interval_sec: 300,
        }
    }
}

impl ScheduleSnapshot {
    /// The monitoring state at instant `at` under this schedule.
    pub fn state_at(&self, at: DateTime<Utc>) -> MonitoringState {
        if self.paused_until.is_some_and(|until| at < until) {
            return MonitoringState::Paused;
        }
        match self.mode {
            Mode::Manual if self.manual_tracking => MonitoringState::Active,
            Mode::Manual => MonitoringState::TrackingOff,
            Mode::Auto => {
                let local = at.with_timezone(&self.timezone).naive_local();
                if !self.work_hours.in_shift(local) {
                    MonitoringState::OffHours
                } else if self.lunch.is_some_and(|l| l.contains_time(local.time())) {
                    MonitoringState::LunchBreak
                } else {
                    MonitoringState::Active
                }
            }
        }
    }

    /// The local calendar day of an instant in this schedule's time zone.
    pub fn local_day(&self, at: DateTime<Utc>) -> chrono::NaiveDate {
        at.with_timezone(&self.timezone).date_naive()
    }

    /// The snapshot after `event` (pure: used by the aggregate and by the projections).
    pub fn apply(&mut self, event: &ScheduleEvent) {
        match event {
            ScheduleEvent::ScheduleSaved {
                work_hours,
                lunch,
                timezone,
                alert_min_interval_sec,
                effective_at,
            } => {
                self.work_hours = *work_hours;
                self.lunch = *lunch;
                self.timezone = *timezone;
                self.alert_min_interval_sec = *alert_min_interval_sec;
                self.effective_at = Some(*effective_at);
            }
            ScheduleEvent::ModeSwitched { mode, effective_at } => {
                self.mode = *mode;
                self.effective_at = Some(*effective_at);
            }
            ScheduleEvent::ManualTrackingSet { on, effective_at } => {
                self.manual_tracking = *on;
                self.effective_at = Some(*effective_at);
            }
            ScheduleEvent::Paused {
                until,
                effective_at,
            } => {
                self.paused_until = Some(*until);
                self.effective_at = Some(*effective_at);
            }
            ScheduleEvent::Resumed { effective_at } => {
                self.paused_until = None;
                self.effective_at = Some(*effective_at);
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ScheduleEvent {
    ScheduleSaved {
        work_hours: WeeklyHours,
        lunch: Option<TimeRange>,
        timezone: Tz,
        alert_min_interval_sec: u32,
        effective_at: DateTime<Utc>,
    },
    ModeSwitched {
        mode: Mode,
        effective_at: DateTime<Utc>,
    },
    ManualTrackingSet {
        on: bool,
        effective_at: DateTime<Utc>,
    },
    Paused {
        until: DateTime<Utc>,
        effective_at: DateTime<Utc>,
    },
    Resumed {
        effective_at: DateTime<Utc>,
    },
}
crate::domain_event!(ScheduleEvent, "1.0");

impl ScheduleEvent {
    pub fn effective_at(&self) -> DateTime<Utc> {
        match self {
            ScheduleEvent::ScheduleSaved { effective_at, .. }
            | ScheduleEvent::ModeSwitched { effective_at, .. }
            | ScheduleEvent::ManualTrackingSet { effective_at, .. }
            | ScheduleEvent::Paused { effective_at, .. }
            | ScheduleEvent::Resumed { effective_at } => *effective_at,
        }
    }
}

/// Commands carry `now`: the domain has no clock. A change takes effect at `now`; it can never be
/// back-dated, so a change can never alter the verdict on an event that already happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ScheduleCommand {
    Save {
        work_hours: WeeklyHours,
        lunch: Option<TimeRange>,
        timezone: String,
        alert_min_interval_sec: u32,
        now: DateTime<Utc>,
    },
    SwitchMode {
        mode: Mode,
        now: DateTime<Utc>,
    },
    SetManualTracking {
        on: bool,
        now: DateTime<Utc>,
    },
    PauseFor {
        minutes: u32,
        now: DateTime<Utc>,
    },
    Resume {
        now: DateTime<Utc>,
    },
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ScheduleError {
    #[error("invalid schedule: {0}")]
    Invalid(String),
    #[error("the schedule is not paused")]
    NotPaused,
    #[error("schedule changes cannot take effect before the last change ({last})")]
    OutOfOrder { last: DateTime<Utc> },
}

/// The longest pause one command may set: a week.
pub const MAX_PAUSE_MINUTES: u32 = 7 * 24 * 60;

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Schedule {
    pub current: ScheduleSnapshot,
}

impl Schedule {
    fn evolve(&mut self, event: ScheduleEvent) {
        self.current.apply(&event);
    }
}

crate::aggregate!(
    Schedule,
    "schedule",
    ScheduleCommand,
    ScheduleEvent,
    ScheduleError
);

impl Schedule {
    fn decide(&self, command: ScheduleCommand) -> Result<Option<ScheduleEvent>, ScheduleError> {
        let now = match &command {
            ScheduleCommand::Save { now, .. }
            | ScheduleCommand::SwitchMode { now, .. }
            | ScheduleCommand::SetManualTracking { now, .. }
            | ScheduleCommand::PauseFor { now, .. }
            | ScheduleCommand::Resume { now } => *now,
        };
        if let Some(last) = self.current.effective_at.filter(|last| now < *last) {
            return Err(ScheduleError::OutOfOrder { last });
        }
        Ok(Some(match command {
            ScheduleCommand::Save {
                work_hours,
                lunch,
                timezone,
                alert_min_interval_sec,
                now,
            } => {
                let timezone: Tz = timezone.parse().map_err(|_| {
                    ScheduleError::Invalid(format!("unknown time zone {timezone:?}"))
                })?;
                if let Some(lunch) = lunch.filter(|l| l.crosses_midnight() || l.start == l.end) {
                    return Err(ScheduleError::Invalid(format!(
                        "lunch break {}-{} must start before it ends",
                        lunch.start, lunch.end
                    )));
                }
                if let Some(empty) = work_hours.days.iter().flatten().find(|r| r.start == r.end) {
                    return Err(ScheduleError::Invalid(format!(
                        "work hours {}-{} are empty",
                        empty.start, empty.end
                    )));
                }
                ScheduleEvent::ScheduleSaved {
                    work_hours,
                    lunch,
                    timezone,
                    alert_min_interval_sec,
                    effective_at: now,
                }
            }
            ScheduleCommand::SwitchMode { mode, now } => ScheduleEvent::ModeSwitched {
                mode,
                effective_at: now,
            },
            ScheduleCommand::SetManualTracking { on, now } => ScheduleEvent::ManualTrackingSet {
                on,
                effective_at: now,
            },
            ScheduleCommand::PauseFor { minutes, now } => {
                if minutes == 0 || minutes > MAX_PAUSE_MINUTES {
                    return Err(ScheduleError::Invalid(format!(
                        "pause must last 1 to {MAX_PAUSE_MINUTES} minutes, got {minutes}"
                    )));
                }
                ScheduleEvent::Paused {
                    until: now + Duration::minutes(minutes.into()),
                    effective_at: now,
                }
            }
            ScheduleCommand::Resume { now } => {
                if self.current.paused_until.is_none_or(|until| until <= now) {
                    return Err(ScheduleError::NotPaused);
                }
                ScheduleEvent::Resumed { effective_at: now }
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::when;
    use chrono::TimeZone;

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }
    /// 2026-11-23 is a Monday.
    fn utc(d: u32, h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, h, m, s).unwrap()
    }

    #[test]
    fn work_start_is_inclusive_and_end_exclusive() {
        let s = ScheduleSnapshot::default();
        assert_eq!(s.state_at(utc(23, 7, 59, 59)), MonitoringState::OffHours);
        assert_eq!(s.state_at(utc(23, 8, 0, 0)), MonitoringState::Active);
        assert_eq!(s.state_at(utc(23, 16, 59, 59)), MonitoringState::Active);
        assert_eq!(s.state_at(utc(23, 17, 0, 0)), MonitoringState::OffHours);
    }

    #[test]
    fn lunch_break_and_weekend_are_not_active() {
        let s = ScheduleSnapshot::default();
        assert_eq!(s.state_at(utc(23, 12, 0, 0)), MonitoringState::LunchBreak);
        assert_eq!(s.state_at(utc(23, 12, 59, 59)), MonitoringState::LunchBreak);
        assert_eq!(s.state_at(utc(23, 13, 0, 0)), MonitoringState::Active);
        // Saturday 2026-11-28.
        assert_eq!(s.state_at(utc(28, 10, 0, 0)), MonitoringState::OffHours);
    }

    #[test]
    fn night_shift_crosses_midnight_and_belongs_to_its_start_day() {
        let night = Some(TimeRange::new(hm(22, 0), hm(6, 0)).unwrap());
        let mut s = ScheduleSnapshot {
            lunch: None,
            ..Default::default()
        };
        // Only Monday night: Monday 22:00 → Tuesday 06:00.
        s.work_hours.days = [night, None, None, None, None, None, None];
        assert_eq!(s.state_at(utc(23, 21, 59, 0)), MonitoringState::OffHours);
        assert_eq!(s.state_at(utc(23, 23, 30, 0)), MonitoringState::Active);
        assert_eq!(s.state_at(utc(24, 0, 0, 0)), MonitoringState::Active);
        assert_eq!(s.state_at(utc(24, 5, 59, 0)), MonitoringState::Active);
        assert_eq!(s.state_at(utc(24, 6, 0, 0)), MonitoringState::OffHours);
        // Sunday night has no shift, so Monday 01:00 is off.
        assert_eq!(s.state_at(utc(23, 1, 0, 0)), MonitoringState::OffHours);
    }

    #[test]
    fn time_zone_shifts_the_working_day() {
        let s = ScheduleSnapshot {
            timezone: chrono_tz::Asia::Jakarta, // UTC+7
            ..Default::default()
        };
        // 01:00 UTC is 08:00 in Jakarta.
        assert_eq!(s.state_at(utc(23, 1, 0, 0)), MonitoringState::Active);
        assert_eq!(s.state_at(utc(23, 10, 0, 0)), MonitoringState::OffHours);
        assert_eq!(
            s.local_day(utc(23, 20, 0, 0)),
            chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
        );
    }

    #[test]
    fn pause_wins_over_work_hours_until_it_ends() {
        let events = when::<Schedule>(
            vec![],
            ScheduleCommand::PauseFor {
                minutes: 30,
                now: utc(23, 9, 0, 0),
            },
        )
        .unwrap();
        let mut s = ScheduleSnapshot::default();
        s.apply(&events[0]);
        assert_eq!(s.state_at(utc(23, 9, 29, 59)), MonitoringState::Paused);
        assert_eq!(s.state_at(utc(23, 9, 30, 0)), MonitoringState::Active);
    }

    #[test]
    fn manual_mode_ignores_work_hours() {
        let mut s = ScheduleSnapshot {
            mode: Mode::Manual,
            ..Default::default()
        };
        assert_eq!(s.state_at(utc(23, 10, 0, 0)), MonitoringState::TrackingOff);
        s.manual_tracking = true;
        assert_eq!(s.state_at(utc(28, 3, 0, 0)), MonitoringState::Active);
    }

    #[test]
    fn changes_cannot_be_backdated_or_invalid() {
        let given = vec![ScheduleEvent::ModeSwitched {
            mode: Mode::Manual,
            effective_at: utc(23, 10, 0, 0),
        }];
        let err = when::<Schedule>(
            given.clone(),
            ScheduleCommand::SetManualTracking {
                on: true,
                now: utc(23, 9, 0, 0),
            },
        )
        .unwrap_err();
        assert!(matches!(err, ScheduleError::OutOfOrder { .. }));
        let bad_tz = ScheduleCommand::Save {
            work_hours: ScheduleSnapshot::default().work_hours,
            lunch: None,
            timezone: "Mars/Olympus".into(),
            alert_min_interval_sec: 60,
            now: utc(23, 11, 0, 0),
        };
        assert_eq!(
            when::<Schedule>(given.clone(), bad_tz).unwrap_err(),
            ScheduleError::Invalid("unknown time zone \"Mars/Olympus\"".into())
        );
        let bad_lunch = ScheduleCommand::Save {
            work_hours: ScheduleSnapshot::default().work_hours,
            lunch: Some(TimeRange::new(hm(13, 0), hm(12, 0)).unwrap()),
            timezone: "UTC".into(),
            alert_min_interval_sec: 60,
            now: utc(23, 11, 0, 0),
        };
        assert!(when::<Schedule>(given.clone(), bad_lunch).is_err());
        assert!(TimeRange::new(hm(9, 0), hm(9, 0)).is_err());
        let zero_pause = ScheduleCommand::PauseFor {
            minutes: 0,
            now: utc(23, 11, 0, 0),
        };
        assert!(when::<Schedule>(given.clone(), zero_pause).is_err());
        let resume = ScheduleCommand::Resume {
            now: utc(23, 11, 0, 0),
        };
        assert_eq!(
            when::<Schedule>(given, resume).unwrap_err(),
            ScheduleError::NotPaused
        );
    }
}
