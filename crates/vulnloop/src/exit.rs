//! The exit code contract, documented in the README.

use std::process::ExitCode;

/// Process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// No finding at or above the threshold, and full coverage.
    Clean,
    /// Findings were reported (the code is configurable with `--exit-code`).
    Findings(u8),
    /// The tool failed, or coverage was incomplete.
    Failure,
}

impl From<Code> for ExitCode {
    fn from(code: Code) -> Self {
        match code {
            Code::Clean => ExitCode::from(0),
            Code::Findings(value) => ExitCode::from(value),
            Code::Failure => ExitCode::from(2),
        }
    }
}
