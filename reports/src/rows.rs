//! Report rows from the read models, so that every caller (API, bot) fills the sheets the same
//! way.

use chrono::Weekday;
use facewatch_domain::schedule::{Mode, ScheduleSnapshot, TimeRange};
use facewatch_projections::queries::{AlertView, AttendanceView};

use crate::{AlertReportRow, AttendanceReportRow};

impl From<&AttendanceView> for AttendanceReportRow {
    fn from(v: &AttendanceView) -> Self {
        Self {
            day: v.day,
            employee_id: v.employee_id.clone(),
            employee_code: v.employee_code.clone(),
            employee_name: v.employee_name.clone(),
            department: v.department.clone(),
            first_in: v.first_in,
            first_in_camera: v.first_in_camera.clone(),
            last_out: v.last_out,
            last_out_camera: v.last_out_camera.clone(),
            entry_type: v.entry_type.clone(),
            note: v.note.clone(),
        }
    }
}

impl From<&AlertView> for AlertReportRow {
    fn from(v: &AlertView) -> Self {
        Self {
            alert_id: v.id,
            day: v.day,
            day_number: v.day_number,
            employee_id: v.employee_id.clone(),
            employee_name: v.employee_name.clone(),
            employee_code: v.employee_code.clone(),
            // A removed camera keeps its id in the alert.
            camera: Some(v.camera_name.clone().unwrap_or_else(|| v.camera_id.clone())),
            raised_at: v.raised_at,
            resolved_at: v.resolved_at,
            status: if v.resolved_at.is_some() {
                "RESOLVED"
            } else {
                "OPEN"
            }
            .into(),
            reason: v.reason.clone(),
            schedule_context: schedule_context(&v.schedule.0),
        }
    }
}

/// One line a person can read, e.g.
/// `Manual mode (tracking on); Mon 08:00–17:00, Tue 08:00–17:00; lunch 12:00–13:00; paused until
/// 2026-11-25 10:30; Asia/Jakarta` (times local to the schedule's zone).
pub fn schedule_context(s: &ScheduleSnapshot) -> String {
    let range = |r: &TimeRange| format!("{}–{}", r.start.format("%H:%M"), r.end.format("%H:%M"));
    let mut parts = vec![match (s.mode, s.manual_tracking) {
        (Mode::Auto, _) => "Auto mode".to_owned(),
        (Mode::Manual, true) => "Manual mode (tracking on)".to_owned(),
        (Mode::Manual, false) => "Manual mode (tracking off)".to_owned(),
    }];
    let days: Vec<String> = s
        .work_hours
        .days
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let day = Weekday::try_from(u8::try_from(i).ok()?).ok()?;
            r.as_ref().map(|r| format!("{day} {}", range(r)))
        })
        .collect();
    parts.push(if days.is_empty() {
        "no work hours".to_owned()
    } else {
        days.join(", ")
    });
    if let Some(lunch) = &s.lunch {
        parts.push(format!("lunch {}", range(lunch)));
    }
    if let Some(until) = s.paused_until {
        let local = until.with_timezone(&s.timezone);
        parts.push(format!("paused until {}", local.format("%Y-%m-%d %H:%M")));
    }
    parts.push(s.timezone.name().to_owned());
    parts.join("; ")
}
