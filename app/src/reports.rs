//! Report reads shared by the API, the bot and the spreadsheet exports: rows of a date range, in
//! the schedule's time zone (the one its days are counted in).

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use facewatch_domain::maintenance::TimeWindow;
use facewatch_projections::queries::{self, AlertView, AttendanceView};
use facewatch_reports::ReportFilter;

use crate::{App, AppError, Result};

/// UTC bounds of local calendar days `[from, to]` in time zone `tz`; an omitted end is open.
pub fn day_window(tz: Tz, from: Option<NaiveDate>, to: Option<NaiveDate>) -> Result<TimeWindow> {
    let start_of = |day: NaiveDate| {
        tz.from_local_datetime(&day.and_time(NaiveTime::MIN))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    };
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(AppError::invalid(format!(
                "date range is inverted: {f} is after {t}"
            )));
        }
    }
    Ok(TimeWindow {
        from: from.and_then(start_of),
        to: to.and_then(|d| start_of(d + Duration::days(1))),
    })
}

impl App {
    /// Attendance rows of a report, and the time zone their days are in.
    pub async fn attendance_report(
        &self,
        filter: &ReportFilter,
    ) -> Result<(Vec<AttendanceView>, Tz)> {
        filter
            .validate()
            .map_err(|e| AppError::invalid(e.to_string()))?;
        let tz = self.current_schedule().await?.timezone;
        let rows = queries::attendance(
            self.pool(),
            filter.from,
            filter.to,
            filter.employee.as_deref(),
        )
        .await?;
        Ok((rows, tz))
    }

    /// Alerts raised on the local days of a report.
    pub async fn alerts_report(&self, filter: &ReportFilter) -> Result<(Vec<AlertView>, Tz)> {
        filter
            .validate()
            .map_err(|e| AppError::invalid(e.to_string()))?;
        let tz = self.current_schedule().await?.timezone;
        let window = day_window(tz, Some(filter.from), Some(filter.to))?;
        let (Some(from), Some(to)) = (window.from, window.to) else {
            return Err(AppError::invalid(format!(
                "{} – {} has no start of day in {tz}",
                filter.from, filter.to
            )));
        };
        let rows =
            queries::alerts(self.pool(), from, to, filter.employee.as_deref(), false).await?;
        Ok((rows, tz))
    }
}
