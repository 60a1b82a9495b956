//! Vendors: a distribution's advisories judge only that distribution's packages.
//!
//! An rpm host often carries packages from other vendors (EPEL, Docker, a
//! database vendor's repository). Their names can collide with distribution
//! packages, and their versions follow other rules, so judging them by the
//! distribution's advisories would produce false positives.

use vulnloop_inventory::{Package, PackageManager};

/// Words that the rpm `VENDOR` tag of each distribution's packages contains.
const RPM_VENDORS: &[(&str, &[&str])] = &[
    ("almalinux", &["AlmaLinux"]),
    ("rocky", &["Rocky"]),
    ("rhel", &["Red Hat"]),
    ("centos", &["CentOS"]),
    ("ol", &["Oracle"]),
    ("amzn", &["Amazon"]),
    ("fedora", &["Fedora"]),
    ("sles", &["SUSE"]),
    ("sled", &["SUSE"]),
    ("opensuse-leap", &["SUSE", "openSUSE"]),
    ("opensuse-tumbleweed", &["SUSE", "openSUSE"]),
    ("mariner", &["Microsoft"]),
    ("azurelinux", &["Microsoft"]),
];

/// Returns whether a package comes from the host's distribution.
///
/// Only rpm packages carry a vendor. A package without one, or on a
/// distribution missing from the table, counts as the distribution's own.
pub fn is_distribution_package(os_id: &str, package: &Package) -> bool {
    if package.manager != PackageManager::Rpm {
        return true;
    }
    let Some(vendor) = package.vendor.as_deref().filter(|v| !v.is_empty()) else {
        return true;
    };
    match RPM_VENDORS.iter().find(|(id, _)| *id == os_id) {
        Some((_, words)) => words.iter().any(|word| vendor.contains(word)),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rpm(vendor: Option<&str>) -> Package {
        Package {
            manager: PackageManager::Rpm,
            name: "openssl".into(),
            version: "1:3.0.7-24.el9".into(),
            arch: Some("x86_64".into()),
            source_name: None,
            source_version: None,
            origin: "/var/lib/rpm/rpmdb.sqlite".into(),
            vendor: vendor.map(String::from),
            module: None,
            repository: None,
        }
    }

    #[test]
    fn distribution_vendor_accepted() {
        assert!(is_distribution_package(
            "almalinux",
            &rpm(Some("AlmaLinux"))
        ));
        assert!(is_distribution_package("ol", &rpm(Some("Oracle America"))));
    }

    #[test]
    fn other_vendor_rejected() {
        assert!(!is_distribution_package(
            "almalinux",
            &rpm(Some("Fedora Project"))
        ));
        assert!(!is_distribution_package("ol", &rpm(Some("AlmaLinux"))));
    }

    #[test]
    fn missing_vendor_accepted() {
        assert!(is_distribution_package("rhel", &rpm(None)));
    }
}
