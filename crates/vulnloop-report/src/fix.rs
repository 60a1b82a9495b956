use vulnloop_inventory::PackageManager;
use vulnloop_match::Finding;

/// Returns the command that installs the fixed versions of a package group's
/// binaries, or `None` when no finding in the group has a released fix.
///
/// Every installed binary built from the affected source is named, because
/// upgrading only one of them breaks dpkg's same-version dependencies
/// (`libssl3` and `openssl` move together).
pub fn fix_command<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Option<String> {
    let mut names: Vec<&str> = Vec::new();
    let mut manager = None;
    for finding in findings.into_iter().filter(|f| f.has_fix()) {
        manager = Some(finding.manager);
        for binary in &finding.binaries {
            if !names.contains(&binary.name.as_str()) {
                names.push(&binary.name);
            }
        }
    }
    names.sort_unstable();
    match manager? {
        PackageManager::Dpkg => Some(format!("apt-get install --only-upgrade {}", names.join(" "))),
        PackageManager::Rpm => Some(format!("dnf upgrade {}", names.join(" "))),
        PackageManager::Apk => Some(format!("apk add --upgrade {}", names.join(" "))),
    }
}
