//! Parsing of the `[epoch:]version[-release]` form.
//!
//! librpm's own `parseEVR` accepts almost any text. This parser rejects the
//! spellings that no rpm package can have, because rpmbuild refuses them
//! (`-` in a version or release) or because they are clearly not an EVR
//! (an empty part, white space, a non-numeric epoch).

use std::str::FromStr;

use super::RpmVersion;
use crate::VersionError;

fn invalid(version: &str, reason: &'static str) -> VersionError {
    VersionError {
        scheme: "rpm",
        version: version.to_string(),
        reason,
    }
}

impl FromStr for RpmVersion {
    type Err = VersionError;

    /// Parses `[epoch:]version[-release]`.
    ///
    /// As in librpm's `parseEVR`, the epoch is the run of digits before the
    /// first colon and the release starts after the last hyphen.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Err(invalid(text, "version string is empty"));
        }
        if text.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(invalid(
                text,
                "version contains white space or a control character",
            ));
        }

        let (epoch, rest) = split_epoch(text).map_err(|reason| invalid(text, reason))?;
        let (version, release) = match rest.split_once('-') {
            Some((version, release)) => (version, Some(release)),
            None => (rest, None),
        };
        check_part(version, "version").map_err(|reason| invalid(text, reason))?;
        if let Some(release) = release {
            check_part(release, "release").map_err(|reason| invalid(text, reason))?;
        }

        Ok(Self {
            epoch,
            version: version.to_string(),
            release: release.map(str::to_string),
        })
    }
}

/// Splits off the epoch: the text before the first colon, all digits.
fn split_epoch(text: &str) -> Result<(Option<u32>, &str), &'static str> {
    let Some((epoch, rest)) = text.split_once(':') else {
        return Ok((None, text));
    };
    if epoch.is_empty() {
        return Err("empty epoch before the colon");
    }
    if !epoch.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err("epoch is not a decimal number");
    }
    // rpm stores the epoch in a 32-bit unsigned header tag.
    let epoch = epoch
        .parse::<u32>()
        .map_err(|_| "epoch is larger than 4294967295")?;
    Ok((Some(epoch), rest))
}

/// Checks a version or release: not empty, no second hyphen or colon.
fn check_part(part: &str, name: &str) -> Result<(), &'static str> {
    if part.is_empty() {
        return Err(if name == "version" {
            "empty version"
        } else {
            "empty release after the hyphen"
        });
    }
    if part.contains('-') {
        return Err("more than one hyphen: rpm versions and releases cannot contain `-`");
    }
    if part.contains(':') {
        return Err("colon after the epoch: rpm versions and releases cannot contain `:`");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(text: &str) -> &'static str {
        text.parse::<RpmVersion>()
            .expect_err("invalid version")
            .reason
    }

    #[test]
    fn parts_split_at_colon_and_hyphen() {
        let version: RpmVersion = "2:1.2.3-4.el9_2".parse().expect("valid version");
        assert_eq!(version.epoch(), 2);
        assert_eq!(version.version(), "1.2.3");
        assert_eq!(version.release(), Some("4.el9_2"));
    }

    #[test]
    fn invalid_spellings_rejected() {
        assert_eq!(reason(""), "version string is empty");
        assert_eq!(reason(":1.0"), "empty epoch before the colon");
        assert_eq!(reason("a:1.0"), "epoch is not a decimal number");
        assert_eq!(reason("4294967296:1.0"), "epoch is larger than 4294967295");
        assert_eq!(reason("1:"), "empty version");
        assert_eq!(reason("-1"), "empty version");
        assert_eq!(reason("1.0-"), "empty release after the hyphen");
        assert_eq!(
            reason("1.0-1-2"),
            "more than one hyphen: rpm versions and releases cannot contain `-`"
        );
        assert_eq!(
            reason("1:2:3"),
            "colon after the epoch: rpm versions and releases cannot contain `:`"
        );
        assert_eq!(
            reason("1.0 -1"),
            "version contains white space or a control character"
        );
    }
}
