//! Logs: human-readable lines by default, JSON lines with `FACEWATCH_LOG_FORMAT=json`. `RUST_LOG`
//! replaces the default filter, which keeps ONNX Runtime and SQL chatter out (`ort=warn`,
//! `sqlx=warn`): one line per camera start/online/offline and per recognition at `info`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Used when `RUST_LOG` is not set.
pub const DEFAULT_FILTER: &str = "info,ort=warn,sqlx=warn";

/// The environment variable that picks the log format (`text` or `json`).
pub const FORMAT_VAR: &str = "FACEWATCH_LOG_FORMAT";

#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    #[error("{FORMAT_VAR} must be `text` or `json`, not {0:?}")]
    Format(String),
}

pub fn init() -> Result<(), LoggingError> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    // Colours only on a terminal: log files and CI logs stay plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal());
    match std::env::var(FORMAT_VAR).unwrap_or_default().as_str() {
        "" | "text" => builder.init(),
        "json" => builder.json().with_current_span(true).init(),
        other => return Err(LoggingError::Format(other.to_string())),
    }
    Ok(())
}
