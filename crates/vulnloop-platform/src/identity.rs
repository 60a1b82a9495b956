//! Operating system identity and the package-manager family it belongs to.

use crate::release::{debian_codename, debian_release, ubuntu_codename, ubuntu_release};

/// An operating system as its release files, or the user, name it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsIdentity {
    /// Lowercase distribution id, os-release `ID` (`debian`, `ubuntu`, `rhel`).
    pub id: String,
    /// Ids of the distributions this one derives from, os-release `ID_LIKE`.
    pub id_like: Vec<String>,
    /// Release number, os-release `VERSION_ID` (`12`, `22.04`).
    pub version_id: Option<String>,
    /// Release code name (`bookworm`, `jammy`).
    pub codename: Option<String>,
    /// Human-readable name, os-release `PRETTY_NAME`.
    pub pretty_name: Option<String>,
}

/// A group of distributions that share a package manager and advisory style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// Debian, Ubuntu and their derivatives: dpkg.
    Debian,
    /// Red Hat Enterprise Linux, its rebuilds, Fedora, Amazon Linux and Azure Linux (CBL-Mariner): rpm.
    RedHat,
    /// SUSE Linux Enterprise and openSUSE: rpm.
    Suse,
    /// Alpine Linux: apk.
    Alpine,
    /// Any other distribution.
    Other,
}

const DEBIAN_IDS: &[&str] = &["debian", "ubuntu"];
const RED_HAT_IDS: &[&str] = &[
    "rhel",
    "centos",
    "fedora",
    "almalinux",
    "rocky",
    "ol",
    "amzn",
    "scientific",
    "mariner",
    "azurelinux",
];
const SUSE_IDS: &[&str] = &[
    "sles",
    "sled",
    "opensuse",
    "opensuse-leap",
    "opensuse-tumbleweed",
    "suse",
];

impl OsIdentity {
    /// Returns the family of this distribution, judged by `ID` first and `ID_LIKE` second.
    pub fn family(&self) -> Family {
        let candidates = std::iter::once(&self.id).chain(&self.id_like);
        for id in candidates {
            let id = id.as_str();
            if DEBIAN_IDS.contains(&id) {
                return Family::Debian;
            }
            if RED_HAT_IDS.contains(&id) {
                return Family::RedHat;
            }
            if SUSE_IDS.contains(&id) || id.starts_with("sle-") || id.starts_with("sl-") {
                return Family::Suse;
            }
            if id == "alpine" {
                return Family::Alpine;
            }
        }
        Family::Other
    }

    /// Fills a missing code name from the release number for Debian and Ubuntu.
    pub(crate) fn fill_codename(&mut self) {
        if self.codename.is_some() {
            return;
        }
        let Some(version) = self.version_id.as_deref() else {
            return;
        };
        let codename = match self.id.as_str() {
            "debian" => debian_codename(version),
            "ubuntu" => ubuntu_codename(version),
            _ => None,
        };
        self.codename = codename.map(str::to_string);
    }
}

/// Parses an OS given by the user as `ID:VERSION` (`debian:12`, `ubuntu:22.04`).
///
/// For Debian and Ubuntu the version may also be a code name
/// (`debian:bookworm`). A code name without a release number (`debian:sid`)
/// and a missing version (`debian`) leave `version_id` empty, as on Debian
/// testing. Returns `None` when the id is empty or contains characters that
/// os-release(5) does not allow in `ID` (only `a-z`, `0-9`, `.`, `_`, `-`),
/// or when the version is empty or contains whitespace.
pub fn parse_os_spec(spec: &str) -> Option<OsIdentity> {
    let (id, version) = match spec.trim().split_once(':') {
        Some((id, version)) => (id, Some(version)),
        None => (spec.trim(), None),
    };
    let id_valid = id
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
    if id.is_empty() || !id_valid {
        return None;
    }
    if version.is_some_and(|v| v.is_empty() || v.chars().any(char::is_whitespace)) {
        return None;
    }

    let mut identity = OsIdentity {
        id: id.to_string(),
        ..OsIdentity::default()
    };
    match version {
        Some(codename) if is_named_release(id, codename) => {
            let number = match id {
                "debian" => debian_release(codename),
                _ => ubuntu_release(codename),
            };
            identity.version_id = number.map(str::to_string);
            identity.codename = Some(codename.to_string());
        }
        Some(number) => identity.version_id = Some(number.to_string()),
        None => {}
    }
    identity.fill_codename();
    Some(identity)
}

/// Whether a Debian or Ubuntu version is a code name rather than a number.
fn is_named_release(id: &str, version: &str) -> bool {
    matches!(id, "debian" | "ubuntu") && !version.starts_with(|c: char| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(id: &str, id_like: &[&str]) -> OsIdentity {
        OsIdentity {
            id: id.to_string(),
            id_like: id_like.iter().map(|s| s.to_string()).collect(),
            ..OsIdentity::default()
        }
    }

    #[test]
    fn family_from_id() {
        assert_eq!(identity("ubuntu", &[]).family(), Family::Debian);
        assert_eq!(identity("rocky", &[]).family(), Family::RedHat);
        assert_eq!(identity("sle-micro", &[]).family(), Family::Suse);
        assert_eq!(identity("alpine", &[]).family(), Family::Alpine);
        assert_eq!(identity("wolfi", &[]).family(), Family::Other);
    }

    #[test]
    fn azure_linux_is_rpm_family() {
        assert_eq!(identity("mariner", &[]).family(), Family::RedHat);
        assert_eq!(identity("azurelinux", &[]).family(), Family::RedHat);
    }

    #[test]
    fn family_from_id_like() {
        assert_eq!(
            identity("linuxmint", &["ubuntu", "debian"]).family(),
            Family::Debian
        );
        assert_eq!(identity("raspbian", &["debian"]).family(), Family::Debian);
        assert_eq!(
            identity("eurolinux", &["rhel", "fedora"]).family(),
            Family::RedHat
        );
    }

    #[test]
    fn os_spec_with_number() {
        let parsed = parse_os_spec("debian:12").expect("valid spec");
        assert_eq!(parsed.id, "debian");
        assert_eq!(parsed.version_id.as_deref(), Some("12"));
        assert_eq!(parsed.codename.as_deref(), Some("bookworm"));
    }

    #[test]
    fn os_spec_with_codename() {
        let parsed = parse_os_spec("ubuntu:jammy").expect("valid spec");
        assert_eq!(parsed.version_id.as_deref(), Some("22.04"));
        assert_eq!(parsed.codename.as_deref(), Some("jammy"));
    }

    #[test]
    fn os_spec_unnumbered_codename() {
        let parsed = parse_os_spec("debian:sid").expect("valid spec");
        assert_eq!(parsed.version_id, None);
        assert_eq!(parsed.codename.as_deref(), Some("sid"));
    }

    #[test]
    fn os_spec_without_version() {
        let parsed = parse_os_spec("debian").expect("valid spec");
        assert_eq!(parsed.version_id, None);
    }

    #[test]
    fn os_spec_other_distribution() {
        let parsed = parse_os_spec("alpine:3.19").expect("valid spec");
        assert_eq!(parsed.version_id.as_deref(), Some("3.19"));
        assert_eq!(parsed.codename, None);
    }

    #[test]
    fn os_spec_invalid() {
        for spec in [
            "",
            ":12",
            "Debian:12",
            "debian:",
            "debian:1 2",
            "deb ian:12",
        ] {
            assert_eq!(parse_os_spec(spec), None, "{spec:?}");
        }
    }
}
