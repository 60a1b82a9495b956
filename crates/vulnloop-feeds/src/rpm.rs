//! Fixed versions of RPM packages, written `[epoch:]version-release`.

/// Returns an RPM EVR as the vendor wrote it, without an explicit `0:` epoch.
///
/// Red Hat OVAL writes every EVR with an epoch (`0:2.2-1.el9`), while OSV and
/// updateinfo omit a zero epoch; rpm orders both spellings the same. A text
/// that is not `[epoch:]version-release` with a numeric epoch is returned as
/// an error message.
pub(crate) fn fixed_version(text: &str) -> Result<String, String> {
    let text = text.trim();
    let (epoch, version_release) = match text.split_once(':') {
        Some((epoch, rest)) => (Some(epoch), rest),
        None => (None, text),
    };
    if let Some(epoch) = epoch {
        if epoch.is_empty() || !epoch.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(format!("invalid RPM epoch in {text:?}"));
        }
    }
    let valid = match version_release.rsplit_once('-') {
        Some((version, release)) => {
            !version.is_empty() && !release.is_empty() && !version_release.contains([':', ' '])
        }
        None => false,
    };
    if !valid {
        return Err(format!("{text:?} is not an RPM version-release"));
    }
    match epoch.map(|epoch| epoch.trim_start_matches('0')) {
        Some("") | None => Ok(version_release.to_string()),
        Some(_) => Ok(text.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_epoch_is_dropped() {
        assert_eq!(fixed_version("0:2.2-1.el9"), Ok("2.2-1.el9".to_string()));
        assert_eq!(fixed_version("2.2-1.el9"), Ok("2.2-1.el9".to_string()));
        assert_eq!(
            fixed_version("1:1.26.0-14.el8_3"),
            Ok("1:1.26.0-14.el8_3".to_string())
        );
    }

    #[test]
    fn invalid_evr_is_rejected() {
        assert!(fixed_version("").is_err());
        assert!(fixed_version("1.0").is_err());
        assert!(fixed_version("x:1.0-1").is_err());
        assert!(fixed_version("1:2:3-4").is_err());
    }
}
