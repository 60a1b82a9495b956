//! Version parsing and ordering, one module per ecosystem.
//!
//! Advisories compare versions in the ordering of the package manager that
//! installed the package, never in a generic one: `1.0~rc1` is older than
//! `1.0` for dpkg and newer for semver-like comparisons.

pub mod dpkg;

use std::cmp::Ordering;

pub use dpkg::DpkgVersion;

/// A version ordering, named after the tool that defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Debian's `dpkg --compare-versions`.
    Dpkg,
}

impl Scheme {
    /// Compares two versions in this ordering.
    pub fn compare(self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        match self {
            Scheme::Dpkg => Ok(a.parse::<DpkgVersion>()?.cmp(&b.parse::<DpkgVersion>()?)),
        }
    }

    /// The name shown in evidence, such as `dpkg`.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Dpkg => "dpkg",
        }
    }
}

/// A version string that the ecosystem's own tool would reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {scheme} version {version:?}: {reason}")]
pub struct VersionError {
    /// Ordering whose rules were broken.
    pub scheme: &'static str,
    /// The rejected text.
    pub version: String,
    /// Which rule was broken.
    pub reason: &'static str,
}
