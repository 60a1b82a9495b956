//! Version parsing and ordering, one module per ecosystem.
//!
//! Advisories compare versions in the ordering of the package manager that
//! installed the package, never in a generic one: `1.0~rc1` is older than
//! `1.0` for dpkg and newer for semver-like comparisons.

pub mod apk;
pub mod dpkg;
pub mod maven;
pub mod pep440;
pub mod php;
pub mod rpm;
pub mod semver;

use std::cmp::Ordering;

pub use apk::ApkVersion;
pub use dpkg::DpkgVersion;
pub use rpm::RpmVersion;

/// A version ordering, named after the tool that defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Debian's `dpkg --compare-versions`.
    Dpkg,
    /// librpm's EVR ordering (`rpm.labelCompare`): epoch, version, release.
    Rpm,
    /// Alpine's apk-tools version ordering.
    Apk,
    /// PHP's `version_compare()`: WordPress and Composer packages.
    Php,
    /// Semantic Versioning 2.0: npm packages.
    Semver,
    /// PEP 440: Python packages.
    Pep440,
    /// Maven's version order: Java libraries.
    Maven,
}

impl Scheme {
    /// Compares two versions in this ordering.
    pub fn compare(self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        match self {
            Scheme::Dpkg => Ok(a.parse::<DpkgVersion>()?.cmp(&b.parse::<DpkgVersion>()?)),
            Scheme::Rpm => Ok(a.parse::<RpmVersion>()?.cmp(&b.parse::<RpmVersion>()?)),
            Scheme::Apk => Ok(a.parse::<ApkVersion>()?.cmp(&b.parse::<ApkVersion>()?)),
            Scheme::Php => Ok(php::compare(a, b)),
            Scheme::Semver => semver::compare(a, b),
            Scheme::Pep440 => pep440::compare(a, b),
            Scheme::Maven => Ok(maven::compare(a, b)),
        }
    }

    /// Returns the name shown in evidence, such as `dpkg`.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Dpkg => "dpkg",
            Scheme::Rpm => "rpm",
            Scheme::Apk => "apk",
            Scheme::Php => "PHP version_compare",
            Scheme::Semver => "semver",
            Scheme::Pep440 => "PEP 440",
            Scheme::Maven => "Maven",
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
    /// Rule that was broken.
    pub reason: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_names() {
        assert_eq!(Scheme::Dpkg.name(), "dpkg");
        assert_eq!(Scheme::Rpm.name(), "rpm");
        assert_eq!(Scheme::Apk.name(), "apk");
    }

    #[test]
    fn scheme_compare_rpm_and_apk() {
        assert_eq!(
            Scheme::Rpm.compare("1:3.0.7-16.el9_2", "1:3.0.7-2.el9"),
            Ok(Ordering::Greater)
        );
        assert_eq!(
            Scheme::Apk.compare("1.1.1k-r0", "1.1.1l-r0"),
            Ok(Ordering::Less)
        );
    }

    #[test]
    fn scheme_compare_reports_invalid_version() {
        let error = Scheme::Apk
            .compare("1.2-3", "1.2")
            .expect_err("invalid apk version");
        assert_eq!(
            error.to_string(),
            "invalid apk version \"1.2-3\": hyphen not followed by `r`"
        );
    }
}
