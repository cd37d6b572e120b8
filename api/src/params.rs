//! The AI parameters file as the API shows it.

use facewatch_app::{AppError, Result};

use crate::AppState;

/// The AI parameters in force at the next restart: `{path, source, params}` from the params file,
/// or from the example file (the defaults) when there is none yet.
pub async fn ai_params(state: &AppState) -> Result<serde_json::Value> {
    let file = state.params_file().to_owned();
    let (source, path) = if file.is_file() {
        ("file", file)
    } else {
        ("defaults", file.with_extension("example.toml"))
    };
    let text = tokio::fs::read_to_string(&path)
        .await
        .map_err(|e| AppError::internal(format!("read {}: {e}", path.display())))?;
    let params: serde_json::Value = toml::from_str(&text)
        .map_err(|e| AppError::internal(format!("{} is not valid TOML: {e}", path.display())))?;
    Ok(serde_json::json!({ "path": path, "source": source, "params": params }))
}
