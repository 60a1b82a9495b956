/// A file that looks like a version marker or a lock file but cannot be read as one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {message}")]
pub struct DetectError {
    /// File, with `:LINE` when the problem is on one line.
    pub location: String,
    /// Description of the problem, with the offending value.
    pub message: String,
}

impl DetectError {
    pub(crate) fn new(location: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            location: location.into(),
            message: message.into(),
        }
    }

    /// Builds the error of a JSON file that serde_json rejected.
    pub(crate) fn json(path: &str, error: &serde_json::Error) -> Self {
        let message = error.to_string();
        let message = message.split(" at line ").next().unwrap_or_default();
        Self::new(
            format!("{path}:{}", error.line()),
            format!("invalid JSON at column {}: {message}", error.column()),
        )
    }
}
