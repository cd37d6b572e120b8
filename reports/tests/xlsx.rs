//! Round-trip tests: build the workbooks, then read them back with calamine (and, when it
//! is installed, LibreOffice) to check what a user would actually see.

use std::io::{Cursor, Read};
use std::path::Path;
use std::process::Command;

use calamine::{open_workbook_from_rs, Data, Range, Reader, Xlsx};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use facewatch_reports::{
    alerts_xlsx, attendance_xlsx, AlertReportRow, AttendanceReportRow, ReportError, ReportFilter,
    ALERTS_SHEET, ATTENDANCE_SHEET, INFO_SHEET,
};

const ATTENDANCE_HEADER: [&str; 10] = [
    "Day",
    "Employee",
    "Code",
    "Department",
    "First in",
    "First in camera",
    "Last out",
    "Last out camera",
    "Entry type",
    "Note",
];

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn local(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
}

fn week() -> ReportFilter {
    ReportFilter {
        from: day("2026-11-01"),
        to: day("2026-11-07"),
        employee: None,
    }
}

fn attendance_rows() -> Vec<AttendanceReportRow> {
    vec![
        AttendanceReportRow {
            day: day("2026-11-02"),
            employee_id: "emp-1".into(),
            employee_code: "E001".into(),
            employee_name: "Alice Example".into(),
            department: "Engineering".into(),
            first_in: Some(utc("2026-11-02T07:58:30Z")),
            first_in_camera: Some("Front door".into()),
            last_out: Some(utc("2026-11-02T17:05:00Z")),
            last_out_camera: Some("Back door".into()),
            entry_type: "AUTO".into(),
            note: String::new(),
        },
        // Still inside: no last-out, no cameras.
        AttendanceReportRow {
            day: day("2026-11-02"),
            employee_id: "emp-2".into(),
            employee_code: "E002".into(),
            employee_name: "Zoë Müller".into(),
            department: "Sales".into(),
            first_in: Some(utc("2026-11-02T08:10:00Z")),
            first_in_camera: None,
            last_out: None,
            last_out_camera: None,
            entry_type: "MANUAL".into(),
            note: "forgot badge".into(),
        },
        // Leaves after local midnight: the time-zone shift moves the date too.
        AttendanceReportRow {
            day: day("2026-11-03"),
            employee_id: "emp-3".into(),
            employee_code: "E003".into(),
            employee_name: "Smith, John".into(),
            department: "Ops".into(),
            first_in: None,
            first_in_camera: None,
            last_out: Some(utc("2026-11-03T23:30:00Z")),
            last_out_camera: Some("Gate".into()),
            entry_type: "SYSTEM".into(),
            note: String::new(),
        },
    ]
}

fn open(bytes: &[u8]) -> Xlsx<Cursor<Vec<u8>>> {
    open_workbook_from_rs(Cursor::new(bytes.to_vec())).expect("valid xlsx")
}

fn sheet(bytes: &[u8], name: &str) -> Range<Data> {
    open(bytes).worksheet_range(name).expect("sheet exists")
}

fn header(range: &Range<Data>) -> Vec<String> {
    range
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect()
}

fn text(range: &Range<Data>, row: u32, col: u32) -> String {
    match range.get_value((row, col)) {
        Some(Data::String(s)) => s.clone(),
        other => panic!("expected a string cell at ({row},{col}), got {other:?}"),
    }
}

/// A date/time cell is a number with a date number-format; calamine reports those as
/// `Data::DateTime`, strings would come back as `Data::String`.
fn datetime(range: &Range<Data>, row: u32, col: u32) -> NaiveDateTime {
    match range.get_value((row, col)) {
        Some(Data::DateTime(dt)) if dt.is_datetime() => dt.as_datetime().unwrap(),
        other => panic!("expected a date/time cell at ({row},{col}), got {other:?}"),
    }
}

fn is_empty(range: &Range<Data>, row: u32, col: u32) -> bool {
    matches!(range.get_value((row, col)), None | Some(Data::Empty))
}

/// Raw XML of one part of the xlsx zip, for layout features calamine does not expose.
fn part(bytes: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut xml = String::new();
    zip.by_name(name).unwrap().read_to_string(&mut xml).unwrap();
    xml
}

#[test]
fn attendance_cells_round_trip_with_real_dates_in_the_report_zone() {
    let bytes = attendance_xlsx(&attendance_rows(), &week(), chrono_tz::Europe::Berlin).unwrap();

    assert_eq!(open(&bytes).sheet_names(), [ATTENDANCE_SHEET, INFO_SHEET]);
    let range = sheet(&bytes, ATTENDANCE_SHEET);
    assert_eq!(header(&range), ATTENDANCE_HEADER);
    assert_eq!(range.height() - 1, 3, "one row per report row");
    assert_eq!(range.width(), ATTENDANCE_HEADER.len());

    // Row 1: everything present; Berlin is UTC+1 in November. Names and words, no ids or codes.
    assert_eq!(datetime(&range, 1, 0).date(), day("2026-11-02"));
    assert_eq!(text(&range, 1, 1), "Alice Example");
    assert_eq!(text(&range, 1, 2), "E001");
    assert_eq!(text(&range, 1, 3), "Engineering");
    assert_eq!(datetime(&range, 1, 4), local("2026-11-02 08:58:30"));
    assert_eq!(text(&range, 1, 5), "Front door");
    assert_eq!(datetime(&range, 1, 6), local("2026-11-02 18:05:00"));
    assert_eq!(text(&range, 1, 7), "Back door");
    assert_eq!(text(&range, 1, 8), "Camera");
    assert!(is_empty(&range, 1, 9), "no note on an automatic row");

    // Row 2: missing last-out and cameras are blank cells, not "" or 0.
    assert_eq!(text(&range, 2, 1), "Zoë Müller");
    assert_eq!(datetime(&range, 2, 4), local("2026-11-02 09:10:00"));
    assert!(is_empty(&range, 2, 5));
    assert!(is_empty(&range, 2, 6));
    assert!(is_empty(&range, 2, 7));
    assert_eq!(text(&range, 2, 8), "Manual correction");
    assert_eq!(text(&range, 2, 9), "forgot badge");

    // Row 3: 23:30 UTC is already the next local day.
    assert_eq!(datetime(&range, 3, 0).date(), day("2026-11-03"));
    assert!(is_empty(&range, 3, 4));
    assert_eq!(datetime(&range, 3, 6), local("2026-11-04 00:30:00"));
    assert_eq!(text(&range, 3, 8), "System correction");

    let info = sheet(&bytes, INFO_SHEET);
    assert_eq!(text(&info, 0, 0), "Attendance report");
    assert_eq!(
        text(&info, 1, 0),
        "Attendance report, 2026-11-01 – 2026-11-07, all employees, 3 rows"
    );
    assert_eq!(
        text(&info, 2, 0),
        "Times are shown in the Europe/Berlin time zone."
    );
}

#[test]
fn alerts_cells_round_trip() {
    let rows = vec![
        AlertReportRow {
            alert_id: 17,
            day: day("2026-11-02"),
            day_number: 1,
            employee_id: "emp-1".into(),
            employee_name: "Alice Example".into(),
            employee_code: "E001".into(),
            camera: Some("Front door".into()),
            raised_at: utc("2026-11-02T04:00:00Z"),
            resolved_at: Some(utc("2026-11-02T04:45:10Z")),
            status: "RESOLVED".into(),
            reason: "EXIT_DURING_WORK_HOURS".into(),
            schedule_context: "Mon–Fri 09:00–18:00".into(),
        },
        AlertReportRow {
            alert_id: 18,
            day: day("2026-11-04"),
            day_number: 2,
            employee_id: "emp-2".into(),
            employee_name: "Bob".into(),
            employee_code: "E002".into(),
            camera: None,
            raised_at: utc("2026-11-03T20:00:00Z"),
            resolved_at: None,
            status: "OPEN".into(),
            reason: "No check-out".into(),
            schedule_context: "Night shift 22:00–06:00".into(),
        },
    ];
    let filter = ReportFilter {
        employee: Some("emp-1".into()),
        ..week()
    };
    // Kolkata is UTC+05:30: checks half-hour offsets are applied, not just whole hours.
    let bytes = alerts_xlsx(&rows, &filter, chrono_tz::Asia::Kolkata).unwrap();

    assert_eq!(open(&bytes).sheet_names(), [ALERTS_SHEET, INFO_SHEET]);
    let range = sheet(&bytes, ALERTS_SHEET);
    assert_eq!(
        header(&range),
        [
            "Day",
            "No.",
            "Employee",
            "Code",
            "Camera",
            "Raised at",
            "Resolved at",
            "Status",
            "Reason",
            "Schedule"
        ]
    );
    assert_eq!(range.height() - 1, 2);
    assert_eq!(datetime(&range, 1, 0).date(), day("2026-11-02"));
    assert_eq!(range.get_value((1, 1)), Some(&Data::Float(1.0)));
    assert_eq!(text(&range, 1, 2), "Alice Example");
    assert_eq!(text(&range, 1, 3), "E001");
    assert_eq!(text(&range, 1, 4), "Front door");
    assert_eq!(datetime(&range, 1, 5), local("2026-11-02 09:30:00"));
    assert_eq!(datetime(&range, 1, 6), local("2026-11-02 10:15:10"));
    assert_eq!(text(&range, 1, 7), "Resolved");
    assert_eq!(text(&range, 1, 8), "Left during work hours");
    assert_eq!(text(&range, 1, 9), "Mon–Fri 09:00–18:00");

    assert_eq!(range.get_value((2, 1)), Some(&Data::Float(2.0)));
    assert!(is_empty(&range, 2, 4));
    assert_eq!(datetime(&range, 2, 5), local("2026-11-04 01:30:00"));
    assert!(is_empty(&range, 2, 6));
    assert_eq!(text(&range, 2, 7), "Open");
    // A code without words stays visible as it is.
    assert_eq!(text(&range, 2, 8), "No check-out");

    let info = sheet(&bytes, INFO_SHEET);
    assert_eq!(
        text(&info, 1, 0),
        "Alerts report, 2026-11-01 – 2026-11-07, employee emp-1, 2 rows"
    );
}

#[test]
fn header_is_bold_frozen_filtered_and_columns_are_sized() {
    let bytes = attendance_xlsx(&attendance_rows(), &week(), chrono_tz::UTC).unwrap();
    let xml = part(&bytes, "xl/worksheets/sheet1.xml");

    assert!(
        xml.contains(
            r#"<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>"#
        ),
        "header row frozen: {xml}"
    );
    assert!(
        xml.contains(r#"<autoFilter ref="A1:J4"/>"#),
        "autofilter over header + rows"
    );
    // Autofit sized the text columns from their longest value ("Alice Example"), and the
    // date-time columns are wide enough for "yyyy-mm-dd hh:mm:ss".
    assert!(column_width(&xml, 2) > 12.0, "{xml}");
    for time_col in [5, 7] {
        assert!(column_width(&xml, time_col) >= 19.0, "{xml}");
    }
    assert!(
        part(&bytes, "xl/styles.xml").contains("<b/>"),
        "a bold font exists"
    );
    assert!(part(&bytes, "docProps/core.xml").contains("<dc:title>Attendance report</dc:title>"));
}

/// Width of the 1-based column `col` from the sheet's `<cols>` element.
fn column_width(sheet_xml: &str, col: u32) -> f64 {
    let tag = format!(r#"<col min="{col}" max="{col}" width=""#);
    let start = sheet_xml
        .find(&tag)
        .unwrap_or_else(|| panic!("no width for column {col}"))
        + tag.len();
    let len = sheet_xml[start..].find('"').unwrap();
    sheet_xml[start..start + len].parse().unwrap()
}

#[test]
fn no_rows_gives_a_valid_file_with_just_the_header() {
    let bytes = attendance_xlsx(&[], &week(), chrono_tz::UTC).unwrap();

    let range = sheet(&bytes, ATTENDANCE_SHEET);
    assert_eq!(range.height(), 1);
    assert_eq!(header(&range), ATTENDANCE_HEADER);
    let xml = part(&bytes, "xl/worksheets/sheet1.xml");
    assert!(xml.contains(r#"<autoFilter ref="A1:J1"/>"#));
    assert_eq!(
        text(&sheet(&bytes, INFO_SHEET), 1, 0),
        "Attendance report, 2026-11-01 – 2026-11-07, all employees, 0 rows"
    );

    let alerts = alerts_xlsx(&[], &week(), chrono_tz::UTC).unwrap();
    assert_eq!(sheet(&alerts, ALERTS_SHEET).height(), 1);
}

/// What LibreOffice (i.e. a real spreadsheet app) displays: the date formats must render
/// as local date/times, blanks as nothing. Skipped when LibreOffice is not installed.
#[test]
fn libreoffice_renders_the_expected_csv() {
    if Command::new("libreoffice")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("NOTE: libreoffice not on PATH; skipping the CSV conversion test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let xlsx = dir.path().join("attendance.xlsx");
    let bytes = attendance_xlsx(&attendance_rows(), &week(), chrono_tz::Europe::Berlin).unwrap();
    std::fs::write(&xlsx, bytes).unwrap();

    let csv = convert_to_csv(&xlsx, dir.path());
    // LibreOffice quotes text cells only, so unquoted times prove they are date cells
    // rendered through the date-time number format.
    let expected = r#""Day","Employee","Code","Department","First in","First in camera","Last out","Last out camera","Entry type","Note"
2026-11-02,"Alice Example","E001","Engineering",2026-11-02 08:58:30,"Front door",2026-11-02 18:05:00,"Back door","Camera",
2026-11-02,"Zoë Müller","E002","Sales",2026-11-02 09:10:00,,,,"Manual correction","forgot badge"
2026-11-03,"Smith, John","E003","Ops",,,2026-11-04 00:30:00,"Gate","System correction",
"#;
    assert_eq!(csv, expected);
}

fn convert_to_csv(xlsx: &Path, dir: &Path) -> String {
    // Private profile: a concurrently running LibreOffice would otherwise swallow the job.
    let profile = format!("-env:UserInstallation=file://{}/lo-profile", dir.display());
    let output = Command::new("libreoffice")
        .arg(profile)
        .arg("--headless")
        // comma separator, double-quote delimiter, UTF-8, start at line 1
        .args(["--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1"])
        .arg("--outdir")
        .arg(dir)
        .arg(xlsx)
        .output()
        .expect("run libreoffice");
    assert!(output.status.success(), "libreoffice failed: {output:?}");
    let csv = std::fs::read_to_string(dir.join("attendance.csv"))
        .unwrap_or_else(|e| panic!("no CSV produced ({e}): {output:?}"));
    csv.replace("\r\n", "\n")
}

#[test]
fn filter_validation() {
    let f = |from: &str, to: &str| ReportFilter {
        from: day(from),
        to: day(to),
        employee: None,
    };

    assert!(f("2026-11-01", "2026-11-01").validate().is_ok(), "one day");
    // A whole leap year is exactly the maximum.
    assert!(f("2028-01-01", "2028-12-31").validate().is_ok());

    let err = f("2026-11-07", "2026-11-01").validate().unwrap_err();
    assert!(matches!(err, ReportError::InvertedRange { .. }));
    assert_eq!(
        err.to_string(),
        "invalid report range: start date 2026-11-07 is after end date 2026-11-01"
    );

    let err = f("2026-01-01", "2027-01-02").validate().unwrap_err();
    assert!(matches!(err, ReportError::RangeTooLong { days: 367, .. }));
    assert_eq!(
        err.to_string(),
        "report range 2026-01-01 – 2027-01-02 covers 367 days; at most 366 days are allowed"
    );

    // The builders refuse to produce a file for a bad filter.
    let bad = f("2026-11-07", "2026-11-01");
    assert!(matches!(
        attendance_xlsx(&[], &bad, chrono_tz::UTC),
        Err(ReportError::InvertedRange { .. })
    ));
    assert!(matches!(
        alerts_xlsx(&[], &bad, chrono_tz::UTC),
        Err(ReportError::InvertedRange { .. })
    ));
}

#[test]
fn describe_wording() {
    let mut filter = ReportFilter {
        from: day("2026-11-01"),
        to: day("2026-11-01"),
        employee: Some("E042".into()),
    };
    assert_eq!(
        filter.describe("Alerts report", 1),
        "Alerts report, 2026-11-01, employee E042, 1 row"
    );
    filter.employee = None;
    filter.to = day("2026-11-07");
    assert_eq!(
        filter.describe("Attendance report", 12),
        "Attendance report, 2026-11-01 – 2026-11-07, all employees, 12 rows"
    );
}
