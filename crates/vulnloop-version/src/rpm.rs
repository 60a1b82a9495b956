//! RPM version ordering: epoch, then version, then release, each compared
//! with librpm's `rpmvercmp`.
//!
//! A version is written `[epoch:]version[-release]`, the EVR form of rpm
//! inventories, OVAL `evr` values and OSV `fixed` events. A missing epoch is
//! 0. See `vercmp` for the segment rules (`~`, `^`, digits against letters).
//!
//! librpm has two rules for a missing release, both in rpm's `rpmio/rpmver.c`
//! (rpm 4.16 and later):
//!
//! - `rpmverCmp` orders a missing release before every present one, and so
//!   does `rpm.labelCompare` of python3-rpm 4.18, as the differential test
//!   shows. That is a total order, so `Ord` follows it: `1.0 < 1.0-1`.
//! - `rpmverOverlap`, which decides whether two dependency ranges overlap,
//!   skips the releases when either side has none, so `1.0` matches both
//!   `1.0-1` and `1.0-2`. That relation is not transitive and cannot be an
//!   `Ord`, so it is offered as `RpmVersion::cmp_ignoring_missing_release`.

mod parse;
mod vercmp;

use std::cmp::Ordering;
use std::fmt;

pub use vercmp::rpmvercmp;

/// A parsed RPM epoch-version-release (EVR).
///
/// Equality is librpm's: `1.0-1`, `0:1.0-1`, `1.00-1` and `1_0-1` are equal,
/// so two equal versions may display differently.
#[derive(Debug, Clone)]
pub struct RpmVersion {
    /// Epoch as written, `None` when the text has no `epoch:` prefix.
    epoch: Option<u32>,
    version: String,
    release: Option<String>,
}

impl RpmVersion {
    /// Returns the epoch, 0 when absent.
    pub fn epoch(&self) -> u32 {
        self.epoch.unwrap_or(0)
    }

    /// Returns whether the text has an explicit `epoch:` prefix.
    pub fn has_epoch(&self) -> bool {
        self.epoch.is_some()
    }

    /// Returns the version part, between the epoch and the release.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Returns the release, after the hyphen, or `None` when absent.
    pub fn release(&self) -> Option<&str> {
        self.release.as_deref()
    }

    /// Compares as librpm's `rpmverOverlap` does before it checks range
    /// flags: releases count only when both versions have one.
    ///
    /// This is the rule of rpm dependency ranges such as `Requires: foo >= 1.0`.
    /// It is not transitive (`1.0-1 == 1.0 == 1.0-2`), so never sort with it.
    pub fn cmp_ignoring_missing_release(&self, other: &Self) -> Ordering {
        let ordering = self.cmp_epoch_version(other);
        match (&self.release, &other.release) {
            (Some(a), Some(b)) => ordering.then_with(|| rpmvercmp(a, b)),
            _ => ordering,
        }
    }

    fn cmp_epoch_version(&self, other: &Self) -> Ordering {
        self.epoch()
            .cmp(&other.epoch())
            .then_with(|| rpmvercmp(&self.version, &other.version))
    }
}

impl fmt::Display for RpmVersion {
    /// Writes the version as it was parsed, with the epoch only when the text
    /// had one (`01:1.0` is written `1:1.0`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(epoch) = self.epoch {
            write!(f, "{epoch}:")?;
        }
        f.write_str(&self.version)?;
        if let Some(release) = &self.release {
            write!(f, "-{release}")?;
        }
        Ok(())
    }
}

impl Ord for RpmVersion {
    /// Orders as librpm's `rpmverCmp`: a missing release is older than any
    /// release.
    fn cmp(&self, other: &Self) -> Ordering {
        let ordering = self.cmp_epoch_version(other);
        match (&self.release, &other.release) {
            (Some(a), Some(b)) => ordering.then_with(|| rpmvercmp(a, b)),
            (a, b) => ordering.then_with(|| a.is_some().cmp(&b.is_some())),
        }
    }
}

impl PartialOrd for RpmVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for RpmVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for RpmVersion {}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> RpmVersion {
        text.parse().expect("valid version")
    }

    #[test]
    fn missing_release_sorts_first() {
        assert_eq!(parse("1.0").cmp(&parse("1.0-1")), Ordering::Less);
        assert_eq!(parse("1.0").cmp(&parse("1.0~rc1")), Ordering::Greater);
    }

    #[test]
    fn missing_release_ignored_for_dependencies() {
        let bare = parse("1.0");
        assert_eq!(
            bare.cmp_ignoring_missing_release(&parse("1.0-1")),
            Ordering::Equal
        );
        assert_eq!(
            bare.cmp_ignoring_missing_release(&parse("1.0-9")),
            Ordering::Equal
        );
        assert_eq!(
            parse("1.0-1").cmp_ignoring_missing_release(&parse("1.0-2")),
            Ordering::Less
        );
    }

    #[test]
    fn epoch_wins_over_version() {
        assert_eq!(parse("1:1.0-1").cmp(&parse("2.0-1")), Ordering::Greater);
        assert_eq!(parse("0:1.0-1").cmp(&parse("1.0-1")), Ordering::Equal);
    }

    #[test]
    fn display_keeps_explicit_epoch() {
        assert_eq!(parse("0:1.2-3.el9").to_string(), "0:1.2-3.el9");
        assert_eq!(parse("1.2-3.el9").to_string(), "1.2-3.el9");
    }
}
