//! Debian version ordering, as `dpkg --compare-versions` implements it.
//!
//! A version is `[epoch:]upstream[-revision]`. The revision starts after the
//! last hyphen. Upstream and revision compare by alternating non-digit and
//! digit runs: non-digit runs character by character with `~` sorting before
//! everything (even the end of the string), letters before other characters;
//! digit runs numerically. See deb-version(7).

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use crate::VersionError;

/// A parsed Debian package version.
#[derive(Debug, Clone)]
pub struct DpkgVersion {
    epoch: u32,
    upstream: String,
    revision: String,
}

impl DpkgVersion {
    /// The epoch, 0 when absent.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The upstream part.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// The Debian revision, empty when absent.
    pub fn revision(&self) -> &str {
        &self.revision
    }
}

fn invalid(version: &str, reason: &'static str) -> VersionError {
    VersionError { scheme: "dpkg", version: version.to_string(), reason }
}

impl FromStr for DpkgVersion {
    type Err = VersionError;

    /// Parses a version with the checks of dpkg's `parseversion`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(invalid(text, "version string is empty"));
        }
        if trimmed.chars().any(char::is_whitespace) {
            return Err(invalid(text, "version string has embedded spaces"));
        }

        let (epoch, rest) = match trimmed.split_once(':') {
            Some((epoch, rest)) => {
                if epoch.is_empty() {
                    return Err(invalid(text, "epoch in version is empty"));
                }
                if !epoch.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid(text, "epoch in version is not number"));
                }
                let epoch = epoch.parse::<u32>().map_err(|_| invalid(text, "epoch in version is too big"))?;
                if i32::try_from(epoch).is_err() {
                    return Err(invalid(text, "epoch in version is too big"));
                }
                if rest.is_empty() {
                    return Err(invalid(text, "nothing after colon in version number"));
                }
                (epoch, rest)
            }
            None => (0, trimmed),
        };

        let (upstream, revision) = match rest.rsplit_once('-') {
            Some((upstream, revision)) => {
                if revision.is_empty() {
                    return Err(invalid(text, "revision number is empty"));
                }
                (upstream, revision)
            }
            None => (rest, ""),
        };
        if upstream.is_empty() {
            return Err(invalid(text, "version number is empty"));
        }
        if !upstream.as_bytes()[0].is_ascii_digit() {
            return Err(invalid(text, "version number does not start with digit"));
        }
        let allowed_upstream = |c: char| c.is_ascii_alphanumeric() || ".-+~:".contains(c);
        if !upstream.chars().all(allowed_upstream) {
            return Err(invalid(text, "invalid character in version number"));
        }
        let allowed_revision = |c: char| c.is_ascii_alphanumeric() || ".+~".contains(c);
        if !revision.chars().all(allowed_revision) {
            return Err(invalid(text, "invalid character in revision number"));
        }

        Ok(Self { epoch, upstream: upstream.to_string(), revision: revision.to_string() })
    }
}

impl fmt::Display for DpkgVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.epoch > 0 {
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
            .then_with(|| compare_part(&self.upstream, &other.upstream))
            .then_with(|| compare_part(&self.revision, &other.revision))
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

/// Sort weight of one character of a non-digit run; `None` is the end of the run.
fn weight(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// Compares an upstream version or a revision by dpkg's `verrevcmp` rules.
fn compare_part(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        // Non-digit run, character by character.
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let wa = weight(a.get(i).copied().filter(|c| !c.is_ascii_digit()));
            let wb = weight(b.get(j).copied().filter(|c| !c.is_ascii_digit()));
            if wa != wb {
                return wa.cmp(&wb);
            }
            i += 1;
            j += 1;
        }

        // Digit run, numerically: skip leading zeros, then longer is bigger.
        while i < a.len() && a[i] == b'0' {
            i += 1;
        }
        while j < b.len() && b[j] == b'0' {
            j += 1;
        }
        let start_a = i;
        let start_b = j;
        while i < a.len() && a[i].is_ascii_digit() {
            i += 1;
        }
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        let (digits_a, digits_b) = (&a[start_a..i], &b[start_b..j]);
        let by_length = digits_a.len().cmp(&digits_b.len());
        if by_length != Ordering::Equal {
            return by_length;
        }
        let by_value = digits_a.cmp(digits_b);
        if by_value != Ordering::Equal {
            return by_value;
        }
    }
    Ordering::Equal
}

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
    fn invalid_versions_rejected() {
        for text in ["", "a1.0", "1:", ":1.0", "x:1.0", "1.0-", "1 0", "1.0_1"] {
            assert!(text.parse::<DpkgVersion>().is_err(), "{text:?} should be rejected");
        }
    }
}
