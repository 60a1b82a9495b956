//! Alpine package version ordering, as apk-tools compares versions.
//!
//! A version is `digits{.digits}[letter]{_suffix[digits]}[-rN]`, where `-rN`
//! is the package release. Versions compare token by token:
//!
//! | token | compared by | notes |
//! |---|---|---|
//! | first digit run | number | |
//! | `.digits` | number | leading zeros: `.0`, `.00`, … compare as -1, -2, … and the digits after them as a further token, so `1.01 < 1.1` and `1.0 > 1.00` |
//! | letter `a`–`z` | byte | one letter, e.g. `1.1.1k` |
//! | `_suffix` | rank | `_alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p` |
//! | suffix number | number | `_rc1 < _rc2`; `_rc < _rc0` |
//! | `-rN` | number | the package release |
//!
//! At the first place where the two versions have tokens of different kinds,
//! the kind decides, oldest first: a pre-release suffix, the end of the
//! version, `-rN`, a suffix number, a post-release suffix, a letter, a digit
//! run, a `.digits` run. So `1.2_rc1 < 1.2 < 1.2-r1`, `1.2-r5 < 1.2_p1`,
//! `1.2 < 1.2a < 1.2.1` and `1.2-r5 < 1.2.1`.
//!
//! Source: `src/version.c` of apk-tools 2.x (alpinelinux/apk-tools, the
//! `get_token`, `next_token` and `apk_version_compare_blob_fuzzy` functions
//! at commit 010497cb5ae50713f0ed4e4c4bf3b860bf751da7).
//!
//! NOTE: newer apk-tools accept a `~hash` commit part before `-rN`
//! (`1.2_git20240101~abc123-r0`), and this parser rejects it as invalid.
//!
//! This parser is stricter than apk-tools in three ways: the version must
//! start with a digit, may not end with a separator, and may not have a digit
//! run longer than 18 digits. apk-tools 2 computes numbers in a C `int`, so
//! its result for digit runs above 2147483647 is undefined, while here they
//! compare as exact numbers.

mod token;

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use crate::VersionError;
use token::{tokenize, Token};

/// A parsed Alpine package version.
///
/// Equality is apk-tools': `1.0_rc0` and `1.0_rc00` are equal, so two equal
/// versions may display differently.
#[derive(Debug, Clone)]
pub struct ApkVersion {
    text: String,
    tokens: Vec<Token>,
}

impl ApkVersion {
    /// Returns the version as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Returns the package release `N` of a trailing `-rN`, 0 when absent.
    pub fn release(&self) -> u64 {
        match self.text.rsplit_once("-r") {
            Some((_, release)) => release.parse().unwrap_or(0),
            None => 0,
        }
    }
}

impl FromStr for ApkVersion {
    type Err = VersionError;

    /// Parses a version with the checks of apk-tools' `apk_version_validate`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = |reason| VersionError {
            scheme: "apk",
            version: text.to_string(),
            reason,
        };
        if text.is_empty() {
            return Err(invalid("version string is empty"));
        }
        if !text.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(invalid("version does not start with a digit"));
        }
        let tokens = tokenize(text).map_err(invalid)?;
        Ok(Self {
            text: text.to_string(),
            tokens,
        })
    }
}

impl fmt::Display for ApkVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Ord for ApkVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        // Both token lists end with an `End` token, so a difference shows
        // up before either list runs out.
        self.tokens
            .iter()
            .zip(&other.tokens)
            .map(|(a, b)| a.compare(*b))
            .find(|ordering| ordering.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

impl PartialOrd for ApkVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for ApkVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for ApkVersion {}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(text: &str) -> &'static str {
        text.parse::<ApkVersion>()
            .expect_err("invalid version")
            .reason
    }

    #[test]
    fn release_read_from_suffix() {
        let version: ApkVersion = "1.2.4_git20230717-r4".parse().expect("valid version");
        assert_eq!(version.release(), 4);
        let version: ApkVersion = "7.36.0".parse().expect("valid version");
        assert_eq!(version.release(), 0);
    }

    #[test]
    fn invalid_versions_rejected() {
        assert_eq!(reason(""), "version string is empty");
        assert_eq!(reason("a1"), "version does not start with a digit");
        assert_eq!(reason("1.2-3"), "hyphen not followed by `r`");
        assert_eq!(
            reason("1.2_foo"),
            "unknown suffix after `_`, expected alpha, beta, pre, rc, cvs, svn, git, hg or p"
        );
        assert_eq!(reason("1.2ab"), "unexpected character");
        assert_eq!(reason("1.2a.3"), "`.` after a letter, suffix or revision");
        assert_eq!(reason("1.2-r1_p1"), "`_` suffix after the revision");
        assert_eq!(reason("1.2."), "version ends with `.`, `_` or `-r`");
        assert_eq!(reason("1.2-r"), "version ends with `.`, `_` or `-r`");
        assert_eq!(
            reason("1.1234567890123456789"),
            "number with more than 18 digits"
        );
        assert_eq!(reason("1.2~abc"), "unexpected character");
    }
}
