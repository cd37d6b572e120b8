//! What a button press means, encoded in its callback data (Telegram allows 64 bytes).
//! Buttons of a menu carry the menu's token (`17|a:d:2026-11-25`): the press is matched to
//! the open menu by token, never by message id, so a menu works from the moment it is sent.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Report {
    Attendance,
    Alerts,
}

impl Report {
    pub fn title(self) -> &'static str {
        match self {
            Report::Attendance => "Attendance",
            Report::Alerts => "Alerts",
        }
    }

    pub fn file_stem(self) -> &'static str {
        match self {
            Report::Attendance => "attendance",
            Report::Alerts => "alerts",
        }
    }

    fn code(self) -> &'static str {
        match self {
            Report::Attendance => "a",
            Report::Alerts => "l",
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        [Report::Attendance, Report::Alerts]
            .into_iter()
            .find(|r| r.code() == code)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Range {
    Today,
    Yesterday,
    Week,
    Month,
}

impl Range {
    pub const ALL: [Range; 4] = [Range::Today, Range::Yesterday, Range::Week, Range::Month];

    pub fn label(self) -> &'static str {
        match self {
            Range::Today => "Today",
            Range::Yesterday => "Yesterday",
            Range::Week => "Last 7 days",
            Range::Month => "Last 30 days",
        }
    }

    fn code(self) -> &'static str {
        match self {
            Range::Today => "td",
            Range::Yesterday => "yd",
            Range::Week => "7d",
            Range::Month => "30d",
        }
    }

    /// Inclusive local days, ending today.
    pub fn days(self, today: NaiveDate) -> (NaiveDate, NaiveDate) {
        match self {
            Range::Today => (today, today),
            Range::Yesterday => (today - Days::new(1), today - Days::new(1)),
            Range::Week => (today - Days::new(6), today),
            Range::Month => (today - Days::new(29), today),
        }
    }
}

/// A button press (employee and camera ids are UUIDs; every form fits in 64 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Button {
    /// Runs a command, as if typed.
    Menu(String),
    /// Re-renders the status message in place.
    Refresh,
    Day(NaiveDate),
    Employee(NaiveDate, String),
    Camera(String),
    ReportType(Report),
    ReportEmployee(Report, Option<String>),
    ReportRange(Report, Option<String>, Range),
}

impl Button {
    fn data(&self) -> String {
        let who = |e: &Option<String>| e.clone().unwrap_or_else(|| "*".into());
        match self {
            Button::Menu(command) => format!("m:{command}"),
            Button::Refresh => "s".into(),
            Button::Day(day) => format!("a:d:{day}"),
            Button::Employee(day, id) => format!("a:e:{day}:{id}"),
            Button::Camera(id) => format!("c:{id}"),
            Button::ReportType(r) => format!("x:t:{}", r.code()),
            Button::ReportEmployee(r, e) => format!("x:e:{}:{}", r.code(), who(e)),
            Button::ReportRange(r, e, range) => {
                format!("x:r:{}:{}:{}", r.code(), who(e), range.code())
            }
        }
    }

    fn parse(data: &str) -> Option<Self> {
        let who = |e: &str| (e != "*").then(|| e.to_string());
        let parts: Vec<&str> = data.splitn(5, ':').collect();
        Some(match parts.as_slice() {
            ["m", command] => Button::Menu(command.to_string()),
            ["s"] => Button::Refresh,
            ["a", "d", day] => Button::Day(day.parse().ok()?),
            ["a", "e", day, id] => Button::Employee(day.parse().ok()?, id.to_string()),
            ["c", id] => Button::Camera(id.to_string()),
            ["x", "t", r] => Button::ReportType(Report::from_code(r)?),
            ["x", "e", r, e] => Button::ReportEmployee(Report::from_code(r)?, who(e)),
            ["x", "r", r, e, range] => Button::ReportRange(
                Report::from_code(r)?,
                who(e),
                Range::ALL.into_iter().find(|x| x.code() == *range)?,
            ),
            _ => return None,
        })
    }

    /// The step name a menu is at after this press (`None`: not a menu button).
    pub fn step(&self) -> Option<&'static str> {
        match self {
            Button::Menu(_) | Button::Refresh => None,
            Button::Day(_) => Some("employee"),
            Button::Employee(..) | Button::Camera(_) | Button::ReportRange(..) => Some("done"),
            Button::ReportType(_) => Some("report_employee"),
            Button::ReportEmployee(..) => Some("report_range"),
        }
    }
}

/// Callback data: `token|button` for a menu's buttons, the bare button otherwise.
pub(crate) fn encode(token: Option<i64>, pressed: &Button) -> String {
    match token {
        Some(token) => format!("{token}|{}", pressed.data()),
        None => pressed.data(),
    }
}

pub(crate) fn decode(data: &str) -> Option<(Option<i64>, Button)> {
    match data.split_once('|') {
        Some((token, rest)) => Some((Some(token.parse().ok()?), Button::parse(rest)?)),
        None => Some((None, Button::parse(data)?)),
    }
}

pub(crate) fn keyboard(
    rows: impl IntoIterator<Item = Vec<InlineKeyboardButton>>,
) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(rows)
}

/// A button valid at any time (commands, refresh).
pub(crate) fn button(label: &str, pressed: Button) -> InlineKeyboardButton {
    InlineKeyboardButton::callback(label, encode(None, &pressed))
}

/// A button of the menu `token`.
pub(crate) fn menu_button(token: i64, label: &str, pressed: Button) -> InlineKeyboardButton {
    InlineKeyboardButton::callback(label, encode(Some(token), &pressed))
}

pub(crate) fn refresh_button() -> InlineKeyboardButton {
    button("🔄 Refresh", Button::Refresh)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn button_data_round_trips_and_fits_telegram() {
        let id = "0b6f3a52-9c1e-4d7e-8f7a-2a4b5c6d7e8f".to_string();
        let day = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let buttons = [
            Button::Menu("export_data".into()),
            Button::Refresh,
            Button::Day(day),
            Button::Employee(day, id.clone()),
            Button::Camera(id.clone()),
            Button::ReportType(Report::Alerts),
            Button::ReportEmployee(Report::Attendance, None),
            Button::ReportEmployee(Report::Alerts, Some(id.clone())),
            Button::ReportRange(Report::Alerts, Some(id.clone()), Range::Month),
            Button::ReportRange(Report::Attendance, None, Range::Yesterday),
        ];
        for b in buttons {
            for token in [None, Some(9_999_999_i64)] {
                let data = encode(token, &b);
                assert!(data.len() <= 64, "{data} is too long for Telegram");
                assert_eq!(decode(&data), Some((token, b.clone())));
            }
        }
        for bad in [
            "",
            "a:d:yesterday",
            "x:t:q",
            "x:r:a:*:1y",
            "zzz",
            "x|s",
            "1|zzz",
        ] {
            assert_eq!(decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn ranges_end_today() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        assert_eq!(Range::Today.days(today), (today, today));
        assert_eq!(Range::Yesterday.days(today), (day(24), day(24)));
        assert_eq!(Range::Week.days(today), (day(19), today));
        assert_eq!(
            Range::Month.days(today).0,
            NaiveDate::from_ymd_opt(2026, 10, 27).unwrap()
        );
    }
}
