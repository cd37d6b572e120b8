//! What a projected batch changed, for live subscribers (GraphQL subscriptions, the bot).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Change {
    Employee { id: String },
    Camera { id: String },
    Schedule,
    Presence { employee_id: String },
    Attendance { employee_id: String, day: NaiveDate },
    AlertRaised { id: i64 },
    AlertResolved { id: i64 },
    LogsReset,
}
