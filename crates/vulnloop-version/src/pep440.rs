//! PEP 440 ordering of Python package versions, through `pep440_rs`
//! (the implementation uv uses), for PyPI advisories.

use std::cmp::Ordering;
use std::str::FromStr;

use crate::VersionError;

/// Compares two PEP 440 versions (`1.0rc1` < `1.0` < `1.0.post1`).
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(parse(a)?.cmp(&parse(b)?))
}

fn parse(text: &str) -> Result<pep440_rs::Version, VersionError> {
    pep440_rs::Version::from_str(text.trim()).map_err(|_| VersionError {
        scheme: "PEP 440",
        version: text.to_string(),
        reason: "not a PEP 440 version",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pre_and_post_releases() {
        assert_eq!(compare("1.0rc1", "1.0"), Ok(Ordering::Less));
        assert_eq!(compare("1.0.post1", "1.0"), Ok(Ordering::Greater));
        assert_eq!(compare("1.0", "1.0.0"), Ok(Ordering::Equal));
        assert_eq!(compare("2!1.0", "3.0"), Ok(Ordering::Greater));
    }

    #[test]
    fn invalid_version_rejected() {
        let error = compare("not a version", "1.0").expect_err("rejects");
        assert!(error.to_string().contains("not a version"), "{error}");
    }
}
