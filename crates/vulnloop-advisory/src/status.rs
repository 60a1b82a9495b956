use serde::{Deserialize, Serialize};

/// The vendor's verdict for one package in one release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// Fixed in `fixed`; versions below it are affected.
    Fixed {
        /// First version that carries the fix, in the release's ordering.
        fixed: String,
    },
    /// Affected, and the vendor has no fix yet.
    Affected,
    /// Affected, and the vendor decided not to fix it (Debian `ignored`, `no-dsa`
    /// without a plan).
    WillNotFix,
    /// Affected, and the fix is postponed to a later point release.
    Postponed,
    /// The vendor states that this release's package is not affected.
    NotAffected,
    /// The package has no security support in this release (ended or limited).
    Unsupported,
}

impl Status {
    /// Returns the snake_case name used in output and in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Fixed { .. } => "fixed",
            Status::Affected => "affected",
            Status::WillNotFix => "will_not_fix",
            Status::Postponed => "postponed",
            Status::NotAffected => "not_affected",
            Status::Unsupported => "unsupported",
        }
    }

    /// Rebuilds a status from its name and, for `fixed`, the fixed version.
    pub fn from_parts(name: &str, fixed: Option<String>) -> Option<Self> {
        Some(match (name, fixed) {
            ("fixed", Some(fixed)) => Status::Fixed { fixed },
            ("affected", _) => Status::Affected,
            ("will_not_fix", _) => Status::WillNotFix,
            ("postponed", _) => Status::Postponed,
            ("not_affected", _) => Status::NotAffected,
            ("unsupported", _) => Status::Unsupported,
            _ => return None,
        })
    }

    /// The fixed version, for `Fixed`.
    pub fn fixed_version(&self) -> Option<&str> {
        match self {
            Status::Fixed { fixed } => Some(fixed),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_round_trip() {
        let fixed = Status::Fixed {
            fixed: "1.2-3".into(),
        };
        let rebuilt = Status::from_parts(fixed.as_str(), fixed.fixed_version().map(String::from));
        assert_eq!(rebuilt, Some(fixed));
        assert_eq!(Status::from_parts("fixed", None), None);
        assert_eq!(
            Status::from_parts("postponed", None),
            Some(Status::Postponed)
        );
    }
}
