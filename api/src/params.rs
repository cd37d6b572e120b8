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

/// Paths the server loads code and models from: set in the server's files only, never through
/// the API (a changed library path would run any file as code).
pub const SERVER_ONLY_KEYS: [&str; 2] = ["models_dir", "onnxruntime_library"];

/// `document` with the server-only keys of the parameters in force (`current`); an error names a
/// key the document tries to change.
pub fn keep_server_only_keys(
    mut document: serde_json::Value,
    current: &serde_json::Value,
) -> Result<serde_json::Value> {
    let Some(object) = document.as_object_mut() else {
        return Err(AppError::invalid("parameters must be a JSON object"));
    };
    for key in SERVER_ONLY_KEYS {
        let in_force = current.get(key);
        match object.get(key) {
            Some(asked) if Some(asked) != in_force => {
                return Err(AppError::invalid(format!(
                    "{key} is set in the server's configuration files only, not through the API"
                )))
            }
            _ => {}
        }
        match in_force {
            Some(value) => object.insert(key.to_string(), value.clone()),
            None => object.remove(key),
        };
    }
    Ok(document)
}
