use std::fmt;

use serde::{Deserialize, Serialize};

/// Vendor severity, normalized to one scale.
///
/// Debian's urgencies and Ubuntu's priorities map onto it; the original
/// wording stays in [`crate::Advisory::severity_raw`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The vendor gave no severity, or one not yet assigned.
    Unknown,
    /// Debian `unimportant`, Ubuntu `negligible`.
    Negligible,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// Maps a vendor's word to the scale; unrecognized words give `Unknown`.
    ///
    /// Covers Debian urgencies (`unimportant`, `low`, `medium`, `high`, with
    /// an optional `**` suffix), Ubuntu priorities (`negligible` … `critical`)
    /// and the words OVAL and OSV feeds use (`moderate`, `important`).
    pub fn from_vendor(word: &str) -> Self {
        let word = word
            .trim()
            .trim_end_matches('*')
            .trim()
            .to_ascii_lowercase();
        match word.as_str() {
            "unimportant" | "negligible" | "none" => Severity::Negligible,
            "low" => Severity::Low,
            "medium" | "moderate" => Severity::Medium,
            "high" | "important" => Severity::High,
            "critical" => Severity::Critical,
            _ => Severity::Unknown,
        }
    }

    /// Returns the lowercase name used in output and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "unknown",
            Severity::Negligible => "negligible",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses a name written by [`Severity::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        [
            Severity::Unknown,
            Severity::Negligible,
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_words_map_to_scale() {
        assert_eq!(Severity::from_vendor("unimportant"), Severity::Negligible);
        assert_eq!(Severity::from_vendor("medium**"), Severity::Medium);
        assert_eq!(Severity::from_vendor("not yet assigned"), Severity::Unknown);
        assert_eq!(Severity::from_vendor("Important"), Severity::High);
    }

    #[test]
    fn names_round_trip() {
        for s in [Severity::Unknown, Severity::Low, Severity::Critical] {
            assert_eq!(Severity::parse(s.as_str()), Some(s));
        }
    }
}
