/// Errors reading Windows host descriptions and Microsoft feeds.
#[derive(Debug, thiserror::Error)]
pub enum WindowsError {
    #[error("failed to read {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{file}: systeminfo output without the {field} field; run `systeminfo > FILE` on the host \
         again and keep the whole output"
    )]
    SystemInfoField { file: String, field: &'static str },
    #[error(
        "{file}: no HotFixID column or HotFixID entries found; save the list with \
         `wmic qfe list full` or `Get-HotFix | Format-List`"
    )]
    HotfixList { file: String },
    #[error(
        "{file} is a {format} list of installed updates, which names no Windows release; scan the \
         host's systeminfo output or the JSON of scripts/collect-windows.ps1 instead"
    )]
    UpdatesWithoutRelease { file: String, format: &'static str },
    #[error("{file}:{line}:{column}: invalid collector JSON: {message}")]
    CollectorJson {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{file}: invalid collector JSON: {field} {problem}; run scripts/collect-windows.ps1 again"
    )]
    CollectorField {
        file: String,
        field: &'static str,
        problem: String,
    },
    #[error("{file}:{line}: invalid MSRC CVRF XML: {message}")]
    Xml {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{file}: invalid MSRC CVRF archive: {message}")]
    Archive { file: String, message: String },
    #[error("{file}: invalid wesng definitions: {message}")]
    Wesng { file: String, message: String },
}

impl WindowsError {
    pub(crate) fn read(path: &str, source: std::io::Error) -> Self {
        WindowsError::Read {
            path: path.to_string(),
            source,
        }
    }
}
