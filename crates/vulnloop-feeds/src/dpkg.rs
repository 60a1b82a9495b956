//! Fixed versions of Debian and Ubuntu packages, checked against dpkg's rules.

use vulnloop_version::DpkgVersion;

/// Returns a fixed version as the vendor wrote it, without an explicit `0:` epoch.
///
/// OVAL writes every EVR with an epoch (`0:2.2-1`), while the tracker, OSV
/// and dpkg itself omit a zero epoch. Dropping it keeps one spelling per
/// version in evidence; dpkg orders both spellings the same. A version that
/// dpkg would reject is returned as an error message.
pub(crate) fn fixed_version(text: &str) -> Result<String, String> {
    let text = text.trim();
    let version = match text.strip_prefix("0:") {
        // A colon left in the rest would then be read as the epoch separator.
        Some(rest) if !rest.contains(':') => rest,
        _ => text,
    };
    match version.parse::<DpkgVersion>() {
        Ok(_) => Ok(version.to_string()),
        Err(error) => Err(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_epoch_is_dropped() {
        assert_eq!(fixed_version("0:2.2-1"), Ok("2.2-1".to_string()));
        assert_eq!(fixed_version("1:3.9p1-1"), Ok("1:3.9p1-1".to_string()));
        assert_eq!(fixed_version("0:1:2-3"), Ok("0:1:2-3".to_string()));
    }

    #[test]
    fn invalid_version_is_rejected() {
        assert!(fixed_version("").is_err());
        assert!(fixed_version("abc").is_err());
    }
}
