use vulnloop_inventory::PackageManager;
use vulnloop_match::Finding;

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
    let names = sorted_unique(fixable.iter().flat_map(|f| f.binaries.iter().map(|b| b.name.as_str())));
    Some(match manager {
        PackageManager::Dpkg => format!("apt-get install --only-upgrade {}", names.join(" ")),
        PackageManager::Apk => format!("apk add --upgrade {}", names.join(" ")),
        PackageManager::Rpm if is_suse(os_id) => {
            let cves = sorted_unique(fixable.iter().flat_map(|f| f.cves.iter().map(String::as_str)));
            format!("zypper patch --cve={}", cves.join(","))
        }
        PackageManager::Rpm if uses_yum(os_id, os_version) => format!("yum update {}", names.join(" ")),
        PackageManager::Rpm => {
            let advisories = sorted_unique(fixable.iter().map(|f| f.advisory_id.as_str()));
            format!("dnf upgrade --advisory={}", advisories.join(","))
        }
    })
}

fn sorted_unique<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut items: Vec<&str> = items.collect();
    items.sort_unstable();
    items.dedup();
    items
}

fn is_suse(os_id: &str) -> bool {
    os_id == "sles" || os_id == "sled" || os_id.starts_with("opensuse")
}

/// Returns whether the release's package manager is yum: Amazon Linux 2 and
/// the 7 releases of the Red Hat family.
fn uses_yum(os_id: &str, os_version: Option<&str>) -> bool {
    let major = os_version.and_then(|v| v.split('.').next()).unwrap_or("");
    match os_id {
        "amzn" => major == "2",
        "rhel" | "centos" | "ol" => major == "7" || major == "6",
        _ => false,
    }
}
