//! Semantic Versioning 2.0 ordering, for npm packages.
//!
//! Lock files may write a leading `v` or `=` and surrounding spaces, which
//! npm accepts, so those are removed before the strict parse.

use std::cmp::Ordering;

use crate::VersionError;

/// Compares two semantic versions (`1.0.0-rc.1` < `1.0.0`; build metadata is ignored).
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(parse(a)?.cmp_precedence(&parse(b)?))
}

fn parse(text: &str) -> Result<semver::Version, VersionError> {
    let cleaned = text.trim().trim_start_matches(['v', '=']);
    semver::Version::parse(cleaned).map_err(|_| VersionError {
        scheme: "semver",
        version: text.to_string(),
        reason: "not MAJOR.MINOR.PATCH with optional -pre-release and +build",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pre_release_precedence() {
        assert_eq!(compare("1.0.0-alpha", "1.0.0-alpha.1"), Ok(Ordering::Less));
        assert_eq!(compare("1.0.0-rc.1", "1.0.0"), Ok(Ordering::Less));
        assert_eq!(compare("v4.17.21", "4.17.20"), Ok(Ordering::Greater));
        assert_eq!(compare("1.0.0+build.1", "1.0.0"), Ok(Ordering::Equal));
    }

    #[test]
    fn invalid_version_rejected() {
        assert!(compare("1.0", "1.0.0").is_err());
    }
}
