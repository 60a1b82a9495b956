//! An rpm header as an inventory package.

use vulnloop_inventory::{Package, PackageManager};

use super::RpmHeader;

/// Name of the pseudo-packages that hold imported signing keys, which are not software.
const GPG_PUBKEY: &str = "gpg-pubkey";

/// Converts a header into a package, or `None` for a `gpg-pubkey` entry.
///
/// The version is `EPOCH:VERSION-RELEASE` when the header has an EPOCH tag,
/// even `0:`, and `VERSION-RELEASE` when it has none: rpm orders both alike,
/// and the inventory keeps what the database states. The source package
/// comes from `SOURCERPM`, which carries no epoch.
pub fn to_package(header: RpmHeader, origin: &str) -> Option<Package> {
    if header.name == GPG_PUBKEY {
        return None;
    }
    let version = match header.epoch {
        Some(epoch) => format!("{epoch}:{}-{}", header.version, header.release),
        None => format!("{}-{}", header.version, header.release),
    };
    let (source_name, source_version) =
        match header.source_rpm.as_deref().and_then(parse_source_rpm) {
            Some((name, version)) => (Some(name), Some(version)),
            None => (None, None),
        };
    Some(Package {
        manager: PackageManager::Rpm,
        name: header.name,
        version,
        arch: header.arch.filter(|arch| !arch.is_empty()),
        source_name,
        source_version,
        origin: origin.to_string(),
        vendor: header.vendor.filter(|vendor| !vendor.is_empty()),
        module: header.modularity_label.filter(|label| !label.is_empty()),
        repository: None,
    })
}

/// Splits a source rpm file name (`openssl-3.0.7-24.el9.src.rpm`) into its
/// name and `VERSION-RELEASE` (`openssl`, `3.0.7-24.el9`).
///
/// Returns `None` when the name does not end in `.src.rpm` or `.nosrc.rpm`
/// or lacks a version or release.
pub fn parse_source_rpm(file_name: &str) -> Option<(String, String)> {
    let stem = file_name
        .strip_suffix(".src.rpm")
        .or_else(|| file_name.strip_suffix(".nosrc.rpm"))?;
    let (rest, release) = stem.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() || release.is_empty() {
        return None;
    }
    Some((name.to_string(), format!("{version}-{release}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_rpm_split() {
        assert_eq!(
            parse_source_rpm("openssl-3.0.7-24.el9.src.rpm"),
            Some(("openssl".to_string(), "3.0.7-24.el9".to_string()))
        );
    }

    #[test]
    fn source_rpm_with_dashes_in_name() {
        assert_eq!(
            parse_source_rpm("python-setuptools-53.0.0-12.el9.src.rpm"),
            Some(("python-setuptools".to_string(), "53.0.0-12.el9".to_string()))
        );
    }

    #[test]
    fn source_rpm_without_suffix() {
        assert_eq!(parse_source_rpm("openssl-3.0.7-24.el9"), None);
    }

    #[test]
    fn source_rpm_without_release() {
        assert_eq!(parse_source_rpm("openssl.src.rpm"), None);
    }

    #[test]
    fn epoch_zero_kept() {
        let header = RpmHeader {
            name: "bash".into(),
            epoch: Some(0),
            version: "5.1".into(),
            release: "1".into(),
            ..RpmHeader::default()
        };
        let package = to_package(header, "/var/lib/rpm/rpmdb.sqlite");
        assert_eq!(
            package.map(|package| package.version).as_deref(),
            Some("0:5.1-1")
        );
    }

    #[test]
    fn gpg_pubkey_skipped() {
        let header = RpmHeader {
            name: GPG_PUBKEY.into(),
            version: "fd431d51".into(),
            release: "4ae0493b".into(),
            ..RpmHeader::default()
        };
        assert_eq!(to_package(header, "/var/lib/rpm/Packages"), None);
    }
}
