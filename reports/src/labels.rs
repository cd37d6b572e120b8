//! Words for the codes the read models store (`AUTO`, `EXIT_DURING_WORK_HOURS`, …), in one table
//! per language so a translation is one more table. The spreadsheets and the bot use these; an
//! unknown code is shown as it is rather than hidden.

/// Every user-facing word of the reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Labels {
    /// (code, label) pairs for attendance entry types, alert reasons and statuses.
    pub codes: &'static [(&'static str, &'static str)],
    pub day: &'static str,
    pub number: &'static str,
    pub employee: &'static str,
    pub code: &'static str,
    pub department: &'static str,
    pub first_in: &'static str,
    pub first_in_camera: &'static str,
    pub last_out: &'static str,
    pub last_out_camera: &'static str,
    pub entry_type: &'static str,
    pub note: &'static str,
    pub camera: &'static str,
    pub raised_at: &'static str,
    pub resolved_at: &'static str,
    pub status: &'static str,
    pub reason: &'static str,
    pub schedule: &'static str,
}

/// English, the language of the dashboard.
pub const ENGLISH: Labels = Labels {
    codes: &[
        // Attendance entry types.
        ("AUTO", "Camera"),
        ("MANUAL", "Manual correction"),
        ("SYSTEM", "System correction"),
        // Alert reasons.
        ("EXIT_DURING_WORK_HOURS", "Left during work hours"),
        // Alert statuses.
        ("OPEN", "Open"),
        ("RESOLVED", "Resolved"),
    ],
    day: "Day",
    number: "No.",
    employee: "Employee",
    code: "Code",
    department: "Department",
    first_in: "First in",
    first_in_camera: "First in camera",
    last_out: "Last out",
    last_out_camera: "Last out camera",
    entry_type: "Entry type",
    note: "Note",
    camera: "Camera",
    raised_at: "Raised at",
    resolved_at: "Resolved at",
    status: "Status",
    reason: "Reason",
    schedule: "Schedule",
};

impl Labels {
    /// The words for `code`; the code itself when the table has none.
    pub fn label<'a>(&self, code: &'a str) -> &'a str {
        self.codes
            .iter()
            .find(|(c, _)| *c == code)
            .map_or(code, |(_, label)| label)
    }
}

/// [`ENGLISH`] words for `code`.
pub fn label(code: &str) -> &str {
    ENGLISH.label(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_words_and_unknown_codes_stay_visible() {
        assert_eq!(label("EXIT_DURING_WORK_HOURS"), "Left during work hours");
        assert_eq!(label("AUTO"), "Camera");
        assert_eq!(label("RESOLVED"), "Resolved");
        assert_eq!(label("SOMETHING_NEW"), "SOMETHING_NEW");
    }
}
