//! Parsing with the checks and error messages of dpkg's `parseversion`.
//!
//! dpkg reports some problems as errors and others (a first character that
//! is not a digit, an invalid character) as warnings. `dpkg --compare-versions`
//! still compares a version that only has warnings, but a package with such a
//! version is broken, so this parser rejects both kinds.

use std::str::FromStr;

use super::DpkgVersion;
use crate::VersionError;

/// Largest epoch dpkg accepts: `INT_MAX`, which is `i32::MAX` wherever `int`
/// has 32 bits, as on every Linux architecture Debian supports.
const MAX_EPOCH: u64 = i32::MAX as u64;

fn invalid(version: &str, reason: &'static str) -> VersionError {
    VersionError {
        scheme: "dpkg",
        version: version.to_string(),
        reason,
    }
}

/// Returns whether `c` is a blank (space or tab) in the C locale, the
/// characters that dpkg trims.
fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Returns whether `byte` is white space in the C locale, as `strtol` skips it.
fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

impl FromStr for DpkgVersion {
    type Err = VersionError;

    /// Parses a version with the checks of dpkg's `parseversion`.
    ///
    /// Leading and trailing spaces and tabs are ignored, as dpkg ignores them.
    /// Unlike `dpkg --compare-versions`, an empty string is an error here, not
    /// the lowest version.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim_matches(is_blank);
        if trimmed.is_empty() {
            return Err(invalid(text, "version string is empty"));
        }
        if trimmed.contains(is_blank) {
            return Err(invalid(text, "version string has embedded spaces"));
        }

        let (epoch, rest) = match trimmed.split_once(':') {
            Some((epoch_text, rest)) => {
                let epoch = parse_epoch(epoch_text).map_err(|reason| invalid(text, reason))?;
                if rest.is_empty() {
                    return Err(invalid(text, "nothing after colon in version number"));
                }
                (epoch, rest)
            }
            None => (0, trimmed),
        };

        let (upstream, revision) = split_revision(rest).map_err(|reason| invalid(text, reason))?;
        check_upstream(upstream).map_err(|reason| invalid(text, reason))?;
        check_revision(revision).map_err(|reason| invalid(text, reason))?;

        Ok(Self {
            epoch,
            upstream: upstream.to_string(),
            revision: revision.to_string(),
        })
    }
}

/// Parses the text before the first colon as dpkg does, through `strtol`.
///
/// `strtol` skips leading white space and takes an optional sign, so dpkg
/// accepts `+1:1.0` (epoch 1) and `-0:1.0` (epoch 0), and so does this.
fn parse_epoch(text: &str) -> Result<u32, &'static str> {
    let bytes = text.as_bytes();
    let start = bytes
        .iter()
        .position(|&b| !is_c_space(b))
        .unwrap_or(bytes.len());
    let (negative, digits_start) = match bytes.get(start) {
        Some(b'-') => (true, start + 1),
        Some(b'+') => (false, start + 1),
        _ => (false, start),
    };
    let digits = &bytes[digits_start..];
    let digit_count = digits.iter().take_while(|b| b.is_ascii_digit()).count();

    if digit_count == 0 {
        return Err("epoch in version is empty");
    }
    if digit_count != digits.len() {
        return Err("epoch in version is not number");
    }

    // Saturating is enough, because every value past MAX_EPOCH gets the same verdict.
    let value = digits.iter().fold(0_u64, |value, &digit| {
        value
            .saturating_mul(10)
            .saturating_add(u64::from(digit - b'0'))
    });
    if negative && value != 0 {
        return Err("epoch in version is negative");
    }
    u32::try_from(value)
        .ok()
        .filter(|&epoch| u64::from(epoch) <= MAX_EPOCH)
        .ok_or("epoch in version is too big")
}

/// Splits `upstream-revision` at the last hyphen.
fn split_revision(text: &str) -> Result<(&str, &str), &'static str> {
    match text.rsplit_once('-') {
        Some((_, "")) => Err("revision number is empty"),
        Some((upstream, revision)) => Ok((upstream, revision)),
        None => Ok((text, "")),
    }
}

fn check_upstream(upstream: &str) -> Result<(), &'static str> {
    let Some(first) = upstream.bytes().next() else {
        return Err("version number is empty");
    };
    if !first.is_ascii_digit() {
        return Err("version number does not start with digit");
    }
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b".-+~:".contains(&b);
    if !upstream.bytes().all(allowed) {
        return Err("invalid character in version number");
    }
    Ok(())
}

fn check_revision(revision: &str) -> Result<(), &'static str> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b".+~".contains(&b);
    if !revision.bytes().all(allowed) {
        return Err("invalid character in revision number");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(text: &str) -> Option<&'static str> {
        text.parse::<DpkgVersion>().err().map(|error| error.reason)
    }

    #[test]
    fn invalid_versions_rejected() {
        for text in ["", "a1.0", "1:", ":1.0", "x:1.0", "1.0-", "1 0", "1.0_1"] {
            assert!(
                text.parse::<DpkgVersion>().is_err(),
                "{text:?} should be rejected"
            );
        }
    }

    #[test]
    fn epoch_accepts_strtol_forms() {
        for (text, epoch) in [("+1:1.0", 1), ("-0:1.0", 0), ("\n2:1.0", 2), ("007:1.0", 7)] {
            let version: DpkgVersion = text.parse().expect("dpkg accepts this epoch");
            assert_eq!(version.epoch(), epoch, "epoch of {text:?}");
        }
    }

    #[test]
    fn epoch_errors_follow_dpkg() {
        assert_eq!(reason("a:1"), Some("epoch in version is empty"));
        assert_eq!(reason("1a:1"), Some("epoch in version is not number"));
        assert_eq!(reason("-1:1"), Some("epoch in version is negative"));
        assert_eq!(reason("2147483648:1"), Some("epoch in version is too big"));
        assert_eq!(
            reason("99999999999999999999999:1"),
            Some("epoch in version is too big")
        );
    }

    #[test]
    fn largest_epoch_accepted() {
        assert_eq!(reason("2147483647:1"), None);
    }

    #[test]
    fn only_spaces_and_tabs_trimmed() {
        assert_eq!(reason(" \t1.0\t "), None);
        assert_eq!(reason("1.0\n"), Some("invalid character in version number"));
        assert_eq!(
            reason("\n1.0"),
            Some("version number does not start with digit")
        );
        assert_eq!(
            reason("1.0\u{a0}"),
            Some("invalid character in version number")
        );
    }
}
