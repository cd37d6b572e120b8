//! `GET /api/report/{attendance,alerts,attendance_captures}`: JSON for screens, xlsx (the shared
//! `facewatch_reports` workbooks) for people.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{NaiveDate, Utc};
use chrono_tz::Tz;
use facewatch_reports::{alerts_xlsx, attendance_xlsx, ReportError, ReportFilter};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{files, parse_date, ApiError, ApiResult};
use crate::AppState;
use facewatch_app::AppError;

#[derive(Deserialize)]
pub struct ReportQuery {
    date: Option<String>,
    date_from: Option<String>,
    date_to: Option<String>,
    employee_id: Option<String>,
    format: Option<String>,
}

#[derive(PartialEq)]
enum Format {
    Json,
    Xlsx,
}

const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

impl ReportQuery {
    fn format(&self) -> ApiResult<Format> {
        match self.format.as_deref() {
            None | Some("json") => Ok(Format::Json),
            Some("xlsx") => Ok(Format::Xlsx),
            Some(other) => Err(ApiError::bad_request(format!(
                "format: {other:?} is not one of json, xlsx"
            ))),
        }
    }

    /// `date` is one day; `date_from`/`date_to` a range (a missing end is the other end);
    /// nothing is today in the schedule's time zone.
    async fn filter(&self, state: &AppState) -> ApiResult<ReportFilter> {
        let date = parse_date("date", self.date.as_deref())?;
        let from = parse_date("date_from", self.date_from.as_deref())?;
        let to = parse_date("date_to", self.date_to.as_deref())?;
        let (from, to) = match (date, from, to) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err(ApiError::bad_request(
                    "give either date or date_from/date_to, not both",
                ))
            }
            (Some(day), None, None) => (day, day),
            (None, Some(f), Some(t)) => (f, t),
            (None, Some(day), None) | (None, None, Some(day)) => (day, day),
            (None, None, None) => {
                let today = state.app().current_schedule().await?.local_day(Utc::now());
                (today, today)
            }
        };
        let employee = self.employee_id.clone().filter(|e| !e.is_empty());
        Ok(ReportFilter { from, to, employee })
    }
}

fn file_name(kind: &str, filter: &ReportFilter) -> String {
    if filter.from == filter.to {
        format!("{kind}_{}.xlsx", filter.from)
    } else {
        format!("{kind}_{}_{}.xlsx", filter.from, filter.to)
    }
}

/// One of `facewatch_reports`' workbook builders.
type Workbook<R> = fn(&[R], &ReportFilter, Tz) -> Result<Vec<u8>, ReportError>;

/// The report as JSON (the read-model rows) or as the shared xlsx workbook.
fn respond<V: Serialize, R: for<'a> From<&'a V>>(
    kind: &str,
    format: Format,
    filter: &ReportFilter,
    (rows, tz): (Vec<V>, Tz),
    workbook: Workbook<R>,
) -> ApiResult<Response> {
    if format == Format::Json {
        return Ok(Json(json!({
            "date_from": filter.from,
            "date_to": filter.to,
            "employee_id": filter.employee,
            "timezone": tz.name(),
            "rows": rows,
        }))
        .into_response());
    }
    let rows: Vec<R> = rows.iter().map(R::from).collect();
    let bytes = workbook(&rows, filter, tz).map_err(|e| ApiError::from(AppError::internal(e)))?;
    let disposition = format!("attachment; filename=\"{}\"", file_name(kind, filter));
    Ok((
        [
            (header::CONTENT_TYPE, XLSX_TYPE.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

pub async fn attendance(
    State(state): State<AppState>,
    Query(query): Query<ReportQuery>,
) -> ApiResult<Response> {
    let format = query.format()?;
    let filter = query.filter(&state).await?;
    let report = state.app().attendance_report(&filter).await?;
    respond("attendance", format, &filter, report, attendance_xlsx)
}

pub async fn alerts(
    State(state): State<AppState>,
    Query(query): Query<ReportQuery>,
) -> ApiResult<Response> {
    let format = query.format()?;
    let filter = query.filter(&state).await?;
    let report = state.app().alerts_report(&filter).await?;
    respond("alerts", format, &filter, report, alerts_xlsx)
}

#[derive(Deserialize)]
pub struct CapturesQuery {
    employee_id: Option<String>,
    date: Option<String>,
}

/// The day's first-in / last-out photos of one employee, as URLs under `/api/files/`.
pub async fn attendance_captures(
    State(state): State<AppState>,
    Query(query): Query<CapturesQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let employee_id = query
        .employee_id
        .filter(|e| !e.is_empty())
        .ok_or_else(|| ApiError::bad_request("employee_id is required"))?;
    let day: NaiveDate = match parse_date("date", query.date.as_deref())? {
        Some(day) => day,
        None => state.app().current_schedule().await?.local_day(Utc::now()),
    };
    let set = state
        .attendance_captures()
        .read(day, &employee_id)
        .map_err(|e| match e {
            facewatch_captures::CaptureError::InvalidId { .. } => {
                ApiError::bad_request(e.to_string())
            }
            other => AppError::internal(other).into(),
        })?;
    let url = |path: Option<std::path::PathBuf>| {
        path.and_then(|p| {
            let relative = p.strip_prefix(state.data_dir()).ok()?.to_str()?.to_owned();
            Some(files::url(&relative))
        })
    };
    Ok(Json(json!({
        "employee_id": employee_id,
        "date": day,
        "first_in": url(set.first_in),
        "last_out": url(set.last_out),
        "meta": set.meta,
    })))
}
