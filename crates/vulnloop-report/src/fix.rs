use vulnloop_match::Finding;
use vulnloop_remediate::Tool;

/// Returns the command that installs the fixed versions of a package group's
/// binaries, or `None` when no finding in the group has a released fix.
///
/// On dpkg hosts every installed binary built from the affected source is
/// named, because upgrading only one of them breaks dpkg's same-version
/// dependencies (`libssl3` and `openssl` move together). On rpm hosts the
/// command names the advisories (dnf), the CVEs (zypper) or the packages (yum
/// on releases that predate dnf).
pub fn fix_command<'a>(
    findings: impl IntoIterator<Item = &'a Finding>,
    os_id: &str,
    os_version: Option<&str>,
) -> Option<String> {
    let fixable: Vec<&Finding> = findings.into_iter().filter(|f| f.has_fix()).collect();
    let manager = fixable.first()?.manager;
    let names = sorted_unique(
        fixable
            .iter()
            .flat_map(|f| f.binaries.iter().map(|b| b.name.as_str())),
    );
    Some(match Tool::for_host(manager, os_id, os_version) {
        Tool::Apt => format!("apt-get install --only-upgrade {}", names.join(" ")),
        Tool::Apk => format!("apk add --upgrade {}", names.join(" ")),
        Tool::Zypper => {
            let cves = sorted_unique(
                fixable
                    .iter()
                    .flat_map(|f| f.cves.iter().map(String::as_str)),
            );
            format!("zypper patch --cve={}", cves.join(","))
        }
        Tool::Yum => format!("yum update {}", names.join(" ")),
        Tool::Dnf => {
            let advisories = sorted_unique(fixable.iter().map(|f| f.advisory_id.as_str()));
            format!("dnf upgrade --advisory={}", advisories.join(","))
        }
        Tool::Wusa => {
            let kbs = sorted_unique(fixable.iter().filter_map(|f| f.fixed_version()));
            match kbs.as_slice() {
                [kb] => format!("wusa.exe {kb}.msu /quiet /norestart"),
                _ => format!(
                    "wusa.exe KB….msu /quiet /norestart; `vulnloop fix` picks the updates that cover {} KBs",
                    kbs.len()
                ),
            }
        }
    })
}

fn sorted_unique<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut items: Vec<&str> = items.collect();
    items.sort_unstable();
    items.dedup();
    items
}

#[cfg(test)]
mod tests {
    use vulnloop_advisory::{PackageKind, Severity};
    use vulnloop_inventory::PackageManager;
    use vulnloop_match::{Evidence, FindingStatus, InstalledBinary};

    use super::*;

    fn finding(manager: PackageManager, advisory: &str, binaries: &[&str]) -> Finding {
        Finding {
            id: advisory.into(),
            advisory_id: advisory.into(),
            source: "osv".into(),
            cves: vec!["CVE-2024-1".into(), "CVE-2024-2".into()],
            title: None,
            severity: Severity::High,
            severity_raw: None,
            url: None,
            published: None,
            package: binaries[0].into(),
            package_kind: PackageKind::Binary,
            manager,
            installed_version: "1.0-1".into(),
            binaries: binaries
                .iter()
                .map(|name| InstalledBinary {
                    name: (*name).into(),
                    version: "1.0-1".into(),
                    arch: None,
                    origin: "db".into(),
                })
                .collect(),
            status: FindingStatus::FixAvailable {
                fixed: "1.0-2".into(),
            },
            note: None,
            evidence: Evidence {
                found_in: vec![],
                record: String::new(),
                comparison: String::new(),
                other_records: vec![],
            },
            windows_update: None,
        }
    }

    #[test]
    fn dpkg_names_every_binary() {
        let findings = [finding(
            PackageManager::Dpkg,
            "CVE-2024-1",
            &["openssl", "libssl3"],
        )];
        assert_eq!(
            fix_command(&findings, "debian", Some("12")).as_deref(),
            Some("apt-get install --only-upgrade libssl3 openssl")
        );
    }

    #[test]
    fn dnf_names_advisories() {
        let findings = [
            finding(PackageManager::Rpm, "ALSA-2024:2", &["openssl"]),
            finding(PackageManager::Rpm, "ALSA-2024:1", &["openssl"]),
        ];
        assert_eq!(
            fix_command(&findings, "almalinux", Some("9.4")).as_deref(),
            Some("dnf upgrade --advisory=ALSA-2024:1,ALSA-2024:2")
        );
    }

    #[test]
    fn yum_on_releases_before_dnf() {
        let findings = [finding(
            PackageManager::Rpm,
            "ALAS2-2024-1",
            &["curl", "libcurl"],
        )];
        assert_eq!(
            fix_command(&findings, "amzn", Some("2")).as_deref(),
            Some("yum update curl libcurl")
        );
    }

    #[test]
    fn zypper_names_cves() {
        let findings = [finding(
            PackageManager::Rpm,
            "SUSE-SU-2024:1",
            &["openssl-3"],
        )];
        assert_eq!(
            fix_command(&findings, "sles", Some("15.5")).as_deref(),
            Some("zypper patch --cve=CVE-2024-1,CVE-2024-2")
        );
    }

    #[test]
    fn apk_names_packages() {
        let findings = [finding(
            PackageManager::Apk,
            "CVE-2024-1",
            &["libcrypto3", "libssl3"],
        )];
        assert_eq!(
            fix_command(&findings, "alpine", Some("3.19")).as_deref(),
            Some("apk add --upgrade libcrypto3 libssl3")
        );
    }

    #[test]
    fn no_fix_no_command() {
        let mut unfixed = finding(PackageManager::Dpkg, "CVE-2024-1", &["bash"]);
        unfixed.status = FindingStatus::NoFixYet;
        assert_eq!(fix_command(&[unfixed], "debian", Some("12")), None);
    }
}
