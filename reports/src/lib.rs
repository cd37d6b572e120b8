//! Shared `.xlsx` report builders.
//!
//! The HTTP API and the Telegram bot hand out the same spreadsheets, so the layout lives
//! here once. Both reports go through one generic column writer (`Column` + `build`), so
//! a report is just a list of columns.
//!
//! Times are written as real Excel date/time cells, converted to the caller's time zone,
//! so that users can sort, filter and compute with them (text cells would defeat that).
//! Excel has no notion of time zones, which is why the zone is named on the "Info" sheet.

pub mod labels;
mod rows;

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_xlsxwriter::{ColNum, DocProperties, Format, RowNum, Workbook, XlsxError};
use serde::{Deserialize, Serialize};

pub use labels::{label, Labels, ENGLISH};
pub use rows::schedule_context;

use labels::ENGLISH as L;

/// Longest range (inclusive days) a report may cover: one (leap) year keeps files and
/// queries bounded.
pub const MAX_RANGE_DAYS: i64 = 366;

/// Name of the data sheet of [`attendance_xlsx`].
pub const ATTENDANCE_SHEET: &str = "Attendance";
/// Name of the data sheet of [`alerts_xlsx`].
pub const ALERTS_SHEET: &str = "Alerts";
/// Name of the sheet holding the title, the filter caption and the time zone.
pub const INFO_SHEET: &str = "Info";

/// Excel number formats; the date-ish format is what makes the cells dates, not numbers.
const DATE_FORMAT: &str = "yyyy-mm-dd";
const DATETIME_FORMAT: &str = "yyyy-mm-dd hh:mm:ss";
/// Column width (in characters) that shows [`DATETIME_FORMAT`] in full. Without the heavy
/// `enhanced_autofit` feature, `autofit()` sizes every date cell like a bare date, which
/// would render date-times as `#####`.
const DATETIME_WIDTH: f64 = 20.0;
/// Rows per worksheet in the xlsx format (rust_xlsxwriter keeps its constant private).
const SHEET_MAX_ROWS: usize = 1_048_576;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("invalid report range: start date {from} is after end date {to}")]
    InvertedRange { from: NaiveDate, to: NaiveDate },
    #[error(
        "report range {from} – {to} covers {days} days; at most {MAX_RANGE_DAYS} days are allowed"
    )]
    RangeTooLong {
        from: NaiveDate,
        to: NaiveDate,
        days: i64,
    },
    #[error("too many rows for one worksheet: {rows} (at most {max})")]
    TooManyRows { rows: usize, max: usize },
    #[error("failed to build the xlsx workbook")]
    Xlsx(#[from] XlsxError),
}

/// One employee-day of the attendance report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttendanceReportRow {
    pub day: NaiveDate,
    pub employee_id: String,
    pub employee_code: String,
    pub employee_name: String,
    pub department: String,
    pub first_in: Option<DateTime<Utc>>,
    pub first_in_camera: Option<String>,
    pub last_out: Option<DateTime<Utc>>,
    pub last_out_camera: Option<String>,
    /// `AUTO` | `MANUAL` | `SYSTEM` (the sheet shows [`label`]s).
    pub entry_type: String,
    /// Why a manual correction was made; empty for automatic rows.
    pub note: String,
}

/// One alert of the alerts report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertReportRow {
    /// Log position (kept for API clients; the sheet shows `day` and `day_number`).
    pub alert_id: i64,
    /// Local day it was raised on, and its number among that day's alerts.
    pub day: NaiveDate,
    pub day_number: i64,
    pub employee_id: String,
    pub employee_name: String,
    pub employee_code: String,
    pub camera: Option<String>,
    pub raised_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// `OPEN` | `RESOLVED` (the sheet shows [`label`]s).
    pub status: String,
    pub reason: String,
    /// Human-readable schedule that was in force when the alert was raised.
    pub schedule_context: String,
}

/// What a report covers; `from` and `to` are inclusive local days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportFilter {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Restrict to one employee (id or code, as the caller chose); `None` = everybody.
    pub employee: Option<String>,
}

impl ReportFilter {
    /// Rejects inverted ranges and ranges longer than [`MAX_RANGE_DAYS`].
    pub fn validate(&self) -> Result<(), ReportError> {
        let (from, to) = (self.from, self.to);
        if from > to {
            return Err(ReportError::InvertedRange { from, to });
        }
        let days = self.days();
        if days > MAX_RANGE_DAYS {
            return Err(ReportError::RangeTooLong { from, to, days });
        }
        Ok(())
    }

    /// Number of days covered, both ends included (0 or less for an inverted range).
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// Caption such as `Attendance report, 2026-11-01 – 2026-11-07, all employees, 12 rows`.
    pub fn describe(&self, title: &str, rows: usize) -> String {
        let period = if self.from == self.to {
            self.from.to_string()
        } else {
            format!("{} – {}", self.from, self.to)
        };
        let who = match &self.employee {
            Some(e) => format!("employee {e}"),
            None => "all employees".to_owned(),
        };
        let plural = if rows == 1 { "" } else { "s" };
        format!("{title}, {period}, {who}, {rows} row{plural}")
    }
}

/// Builds the attendance workbook: sheet [`ATTENDANCE_SHEET`] with one row per entry
/// (header on row 0), plus an [`INFO_SHEET`]. Times are shown in `tz`.
pub fn attendance_xlsx(
    rows: &[AttendanceReportRow],
    filter: &ReportFilter,
    tz: Tz,
) -> Result<Vec<u8>, ReportError> {
    const COLUMNS: &[Column<AttendanceReportRow>] = &[
        Column::new(L.day, |r| Cell::Date(r.day)),
        Column::new(L.employee, |r| Cell::Text(&r.employee_name)),
        Column::new(L.code, |r| Cell::Text(&r.employee_code)),
        Column::new(L.department, |r| Cell::Text(&r.department)),
        Column::new(L.first_in, |r| Cell::time(r.first_in)),
        Column::new(L.first_in_camera, |r| Cell::text(&r.first_in_camera)),
        Column::new(L.last_out, |r| Cell::time(r.last_out)),
        Column::new(L.last_out_camera, |r| Cell::text(&r.last_out_camera)),
        Column::new(L.entry_type, |r| Cell::Text(L.label(&r.entry_type))),
        Column::new(L.note, |r| Cell::non_empty(&r.note)),
    ];
    build(
        "Attendance report",
        ATTENDANCE_SHEET,
        COLUMNS,
        rows,
        filter,
        tz,
    )
}

/// Builds the alerts workbook: sheet [`ALERTS_SHEET`] with one row per alert (header on
/// row 0), plus an [`INFO_SHEET`]. Times are shown in `tz`.
pub fn alerts_xlsx(
    rows: &[AlertReportRow],
    filter: &ReportFilter,
    tz: Tz,
) -> Result<Vec<u8>, ReportError> {
    const COLUMNS: &[Column<AlertReportRow>] = &[
        Column::new(L.day, |r| Cell::Date(r.day)),
        // i64 → f64 is exact far beyond any day's alert count.
        Column::new(L.number, |r| Cell::Number(r.day_number as f64)),
        Column::new(L.employee, |r| Cell::Text(&r.employee_name)),
        Column::new(L.code, |r| Cell::Text(&r.employee_code)),
        Column::new(L.camera, |r| Cell::text(&r.camera)),
        Column::new(L.raised_at, |r| Cell::Time(r.raised_at)),
        Column::new(L.resolved_at, |r| Cell::time(r.resolved_at)),
        Column::new(L.status, |r| Cell::Text(L.label(&r.status))),
        Column::new(L.reason, |r| Cell::Text(L.label(&r.reason))),
        Column::new(L.schedule, |r| Cell::Text(&r.schedule_context)),
    ];
    build("Alerts report", ALERTS_SHEET, COLUMNS, rows, filter, tz)
}

/// A typed cell value; `Empty` leaves the cell blank so "missing" stays distinguishable
/// from an empty string or a zero time.
enum Cell<'a> {
    Text(&'a str),
    Number(f64),
    Date(NaiveDate),
    Time(DateTime<Utc>),
    Empty,
}

impl<'a> Cell<'a> {
    fn text(value: &'a Option<String>) -> Self {
        value.as_deref().map_or(Cell::Empty, Cell::Text)
    }

    fn non_empty(value: &'a str) -> Self {
        if value.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(value)
        }
    }

    fn time(value: Option<DateTime<Utc>>) -> Self {
        value.map_or(Cell::Empty, Cell::Time)
    }
}

/// One report column: its header and how to get the cell out of a row.
struct Column<R> {
    header: &'static str,
    cell: fn(&R) -> Cell<'_>,
}

impl<R> Column<R> {
    const fn new(header: &'static str, cell: fn(&R) -> Cell<'_>) -> Self {
        Self { header, cell }
    }
}

/// The single writer behind every report.
fn build<R>(
    title: &str,
    sheet_name: &str,
    columns: &[Column<R>],
    rows: &[R],
    filter: &ReportFilter,
    tz: Tz,
) -> Result<Vec<u8>, ReportError> {
    filter.validate()?;
    // Row 0 is the header, so one row fewer than the sheet holds.
    let max = SHEET_MAX_ROWS - 1;
    if rows.len() > max {
        return Err(ReportError::TooManyRows {
            rows: rows.len(),
            max,
        });
    }
    let caption = filter.describe(title, rows.len());

    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format(DATE_FORMAT);
    let datetime = Format::new().set_num_format(DATETIME_FORMAT);

    let mut workbook = Workbook::new();
    workbook.set_properties(&DocProperties::new().set_title(title).set_subject(&caption));

    let sheet = workbook.add_worksheet().set_name(sheet_name)?;
    let mut datetime_cols = BTreeSet::new();
    for (col, column) in (0..).zip(columns) {
        sheet.write_string_with_format(0, col, column.header, &bold)?;
    }
    for (row, item) in (1..).zip(rows) {
        for (col, column) in (0..).zip(columns) {
            match (column.cell)(item) {
                Cell::Text(s) => sheet.write_string(row, col, s)?,
                Cell::Number(n) => sheet.write_number(row, col, n)?,
                Cell::Date(d) => sheet.write_date_with_format(row, col, d, &date)?,
                Cell::Time(t) => {
                    datetime_cols.insert(col);
                    let local = t.with_timezone(&tz).naive_local();
                    sheet.write_datetime_with_format(row, col, local, &datetime)?
                }
                Cell::Empty => sheet,
            };
        }
    }
    // Checked above: fits in a worksheet, and no report has 65k columns.
    let last_row = rows.len() as RowNum;
    let last_col = (columns.len() - 1) as ColNum;
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofilter(0, 0, last_row, last_col)?;
    sheet.autofit();
    for col in datetime_cols {
        sheet.set_column_width(col, DATETIME_WIDTH)?;
    }

    let info = workbook.add_worksheet().set_name(INFO_SHEET)?;
    info.write_string_with_format(0, 0, title, &bold)?;
    info.write_string(1, 0, &caption)?;
    info.write_string(
        2,
        0,
        format!("Times are shown in the {} time zone.", tz.name()),
    )?;

    Ok(workbook.save_to_buffer()?)
}
