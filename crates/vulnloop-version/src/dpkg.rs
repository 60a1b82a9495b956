//! Debian version ordering, as `dpkg --compare-versions` implements it.
//!
//! A version is `[epoch:]upstream[-revision]`. The revision starts after the
//! last hyphen. Upstream and revision compare by alternating non-digit and
//! digit runs: non-digit runs character by character with `~` sorting before
//! everything (even the end of the string), letters before other characters;
//! digit runs numerically. See deb-version(7).
//!
//! The parser and the ordering follow dpkg's `parseversion` and `verrevcmp`.
//! The tests in `tests/dpkg_differential.rs` check both against
//! `/usr/bin/dpkg` (1.21.22 when they were written).

mod order;
mod parse;

use std::cmp::Ordering;
use std::fmt;

/// A parsed Debian package version.
///
/// Equality is dpkg's: `1.0`, `0:1.0`, `1.0-0` and `01.0` are equal, so two
/// equal versions may display differently.
#[derive(Debug, Clone)]
pub struct DpkgVersion {
    epoch: u32,
    upstream: String,
    revision: String,
}

impl DpkgVersion {
    /// Returns the epoch, 0 when absent.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// Returns the upstream part.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// Returns the Debian revision, empty when absent.
    pub fn revision(&self) -> &str {
        &self.revision
    }
}

impl fmt::Display for DpkgVersion {
    /// Writes the version in a form that parses back to an equal version.
    ///
    /// The epoch is written when it is not 0, and also when the upstream part
    /// contains a colon, because without the epoch the text before that colon
    /// would be read as the epoch.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.epoch > 0 || self.upstream.contains(':') {
            write!(f, "{}:", self.epoch)?;
        }
        f.write_str(&self.upstream)?;
        if !self.revision.is_empty() {
            write!(f, "-{}", self.revision)?;
        }
        Ok(())
    }
}

impl Ord for DpkgVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| order::compare_part(&self.upstream, &other.upstream))
            .then_with(|| order::compare_part(&self.revision, &other.revision))
    }
}

impl PartialOrd for DpkgVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for DpkgVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for DpkgVersion {}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        a.parse::<DpkgVersion>()
            .expect("valid a")
            .cmp(&b.parse::<DpkgVersion>().expect("valid b"))
    }

    #[test]
    fn tilde_sorts_before_end() {
        assert_eq!(cmp("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(cmp("3.0.19-1~deb12u2", "3.0.19-1"), Ordering::Less);
        assert_eq!(cmp("1.0~~", "1.0~"), Ordering::Less);
    }

    #[test]
    fn epoch_wins() {
        assert_eq!(cmp("1:1.0", "2.0"), Ordering::Greater);
        assert_eq!(cmp("0:1.0", "1.0"), Ordering::Equal);
    }

    #[test]
    fn letters_before_symbols() {
        assert_eq!(cmp("1.0a", "1.0+"), Ordering::Less);
        assert_eq!(cmp("1.0+deb12u1", "1.0"), Ordering::Greater);
    }

    #[test]
    fn numeric_runs_ignore_leading_zeros() {
        assert_eq!(cmp("1.002", "1.2"), Ordering::Equal);
        assert_eq!(cmp("1.10", "1.9"), Ordering::Greater);
    }

    #[test]
    fn missing_revision_equals_zero() {
        assert_eq!(cmp("1.0", "1.0-0"), Ordering::Equal);
    }

    #[test]
    fn display_keeps_epoch_zero_before_colon() {
        let version: DpkgVersion = "0:1:2-3".parse().expect("valid version");
        assert_eq!(version.to_string(), "0:1:2-3");
    }

    #[test]
    fn display_omits_epoch_zero() {
        let version: DpkgVersion = "0:1.2-3".parse().expect("valid version");
        assert_eq!(version.to_string(), "1.2-3");
    }
}
