//! The files that name a Linux distribution, and a parser for each format.

use crate::identity::OsIdentity;
use crate::os_release::OsRelease;

/// The format of a release file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseFormat {
    /// os-release(5): `ID`, `VERSION_ID`, `VERSION_CODENAME`, `PRETTY_NAME`.
    OsRelease,
    /// `/etc/lsb-release`: `DISTRIB_ID`, `DISTRIB_RELEASE`, `DISTRIB_CODENAME`.
    LsbRelease,
    /// `/etc/debian_version`: `12.7`, or `trixie/sid` on testing and unstable.
    DebianVersion,
    /// `/etc/redhat-release` and `/etc/system-release`: `Rocky Linux release 8.10 (Green Obsidian)`.
    ReleaseLine,
    /// `/etc/alpine-release`: `3.19.1`.
    AlpineRelease,
    /// `/etc/system-release-cpe`: `cpe:/o:centos:linux:6:GA`.
    SystemReleaseCpe,
}

/// A release file at its absolute path inside the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReleaseFile {
    /// Absolute path inside the scanned system (`/etc/os-release`).
    pub path: &'static str,
    /// How to read it.
    pub format: ReleaseFormat,
}

/// Release files in the order detection trusts them, most trusted first.
///
/// `/etc/os-release` overrides `/usr/lib/os-release` as os-release(5)
/// specifies. The older files come after both because they carry less.
pub const RELEASE_FILES: &[ReleaseFile] = &[
    ReleaseFile {
        path: "/etc/os-release",
        format: ReleaseFormat::OsRelease,
    },
    ReleaseFile {
        path: "/usr/lib/os-release",
        format: ReleaseFormat::OsRelease,
    },
    ReleaseFile {
        path: "/etc/lsb-release",
        format: ReleaseFormat::LsbRelease,
    },
    ReleaseFile {
        path: "/etc/debian_version",
        format: ReleaseFormat::DebianVersion,
    },
    ReleaseFile {
        path: "/etc/redhat-release",
        format: ReleaseFormat::ReleaseLine,
    },
    ReleaseFile {
        path: "/etc/alpine-release",
        format: ReleaseFormat::AlpineRelease,
    },
    ReleaseFile {
        path: "/etc/system-release",
        format: ReleaseFormat::ReleaseLine,
    },
    ReleaseFile {
        path: "/etc/system-release-cpe",
        format: ReleaseFormat::SystemReleaseCpe,
    },
];

impl ReleaseFormat {
    /// Parses a release file, or returns `None` when it does not name a distribution.
    pub fn parse(self, text: &str) -> Option<OsIdentity> {
        match self {
            Self::OsRelease => parse_os_release(text),
            Self::LsbRelease => parse_lsb_release(text),
            Self::DebianVersion => parse_debian_version(text),
            Self::ReleaseLine => parse_release_line(text),
            Self::AlpineRelease => parse_alpine_release(text),
            Self::SystemReleaseCpe => parse_system_release_cpe(text),
        }
    }
}

/// Parses os-release(5) text. A file without `ID` names no distribution.
///
/// os-release(5) lets readers assume `ID=linux` when `ID` is missing, but
/// that id matches no advisory, so this returns `None` and detection goes on
/// to the older files.
pub fn parse_os_release(text: &str) -> Option<OsIdentity> {
    let release = OsRelease::parse(text);
    let id = release.get("ID")?.to_ascii_lowercase();
    let codename = release
        .get("VERSION_CODENAME")
        .or_else(|| release.get("UBUNTU_CODENAME"));
    Some(OsIdentity {
        id,
        id_like: release
            .get("ID_LIKE")
            .map(|like| {
                like.split_whitespace()
                    .map(str::to_ascii_lowercase)
                    .collect()
            })
            .unwrap_or_default(),
        version_id: release.get("VERSION_ID").map(str::to_string),
        codename: codename.map(str::to_string),
        pretty_name: release.get("PRETTY_NAME").map(str::to_string),
    })
}

/// Parses `/etc/lsb-release` (Ubuntu and some derivatives).
pub fn parse_lsb_release(text: &str) -> Option<OsIdentity> {
    let release = OsRelease::parse(text);
    let id = release.get("DISTRIB_ID")?.to_ascii_lowercase();
    Some(OsIdentity {
        id,
        id_like: Vec::new(),
        version_id: release.get("DISTRIB_RELEASE").map(str::to_string),
        codename: release.get("DISTRIB_CODENAME").map(str::to_string),
        pretty_name: release.get("DISTRIB_DESCRIPTION").map(str::to_string),
    })
}

/// Parses `/etc/debian_version`.
///
/// A point release (`12.7`) gives the major release as `version_id`, the
/// form os-release uses on Debian. Testing and unstable write `trixie/sid`
/// and have no release number, so `version_id` stays `None` and the code
/// name is the part before the slash. The file does not tell testing from
/// unstable, so `pretty_name` names both.
pub fn parse_debian_version(text: &str) -> Option<OsIdentity> {
    let line = first_line(text)?;
    let mut identity = OsIdentity {
        id: "debian".to_string(),
        ..OsIdentity::default()
    };

    if line.starts_with(|c: char| c.is_ascii_digit()) {
        let major = line.split('.').next().unwrap_or(line);
        if !major.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        identity.version_id = Some(major.to_string());
    } else {
        let codename = line.split('/').next().unwrap_or(line);
        if codename.is_empty() || !codename.bytes().all(|b| b.is_ascii_lowercase()) {
            return None;
        }
        identity.codename = Some(codename.to_string());
        identity.pretty_name = Some(format!("Debian testing or unstable ({line})"));
    }
    identity.fill_codename();
    Some(identity)
}

/// Distribution names in `redhat-release` style lines, with their os-release ids.
///
/// Longer names come first where one name starts with another.
const RELEASE_LINE_NAMES: &[(&str, &str)] = &[
    ("Red Hat Enterprise Linux", "rhel"),
    ("CentOS", "centos"),
    ("AlmaLinux", "almalinux"),
    ("Rocky Linux", "rocky"),
    ("Scientific Linux", "scientific"),
    ("Oracle Linux", "ol"),
    ("Fedora", "fedora"),
    ("Amazon Linux", "amzn"),
    ("CloudLinux", "cloudlinux"),
    ("EuroLinux", "eurolinux"),
];

/// Parses a `/etc/redhat-release` or `/etc/system-release` line such as
/// `CentOS release 5.7 (Final)`.
///
/// The whole line becomes `pretty_name`. The word in parentheses is not used
/// as a code name, because CentOS writes `Final` or `Core` there.
pub fn parse_release_line(text: &str) -> Option<OsIdentity> {
    let line = first_line(text)?;
    let (name, rest) = line.split_once(" release ")?;
    let (_, id) = RELEASE_LINE_NAMES
        .iter()
        .find(|(prefix, _)| name.starts_with(prefix))?;
    let version = rest.split_whitespace().next()?;
    Some(OsIdentity {
        id: id.to_string(),
        id_like: Vec::new(),
        version_id: Some(version.to_string()),
        codename: None,
        pretty_name: Some(line.to_string()),
    })
}

/// Parses `/etc/alpine-release`, which holds only the version.
pub fn parse_alpine_release(text: &str) -> Option<OsIdentity> {
    let version = first_line(text)?;
    if !version.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some(OsIdentity {
        id: "alpine".to_string(),
        version_id: Some(version.to_string()),
        ..OsIdentity::default()
    })
}

/// CPE vendors in `/etc/system-release-cpe`, with their os-release ids.
const CPE_VENDORS: &[(&str, &str)] = &[
    ("redhat", "rhel"),
    ("centos", "centos"),
    ("almalinux", "almalinux"),
    ("rocky", "rocky"),
    ("scientificlinux", "scientific"),
    ("oracle", "ol"),
    ("fedoraproject", "fedora"),
    ("amazon", "amzn"),
];

/// Parses `/etc/system-release-cpe` in CPE 2.2 (`cpe:/o:centos:linux:6:GA`)
/// or CPE 2.3 (`cpe:2.3:o:amazon:amazon_linux:2`) form.
pub fn parse_system_release_cpe(text: &str) -> Option<OsIdentity> {
    let line = first_line(text)?;
    let parts: Vec<&str> = if let Some(rest) = line.strip_prefix("cpe:2.3:") {
        rest.split(':').skip(1).collect()
    } else {
        line.strip_prefix("cpe:/")?.split(':').skip(1).collect()
    };
    let vendor = parts.first()?;
    let (_, id) = CPE_VENDORS.iter().find(|(name, _)| name == vendor)?;
    let version = parts.get(2).filter(|v| !matches!(**v, "" | "*" | "-"));
    Some(OsIdentity {
        id: id.to_string(),
        version_id: version.map(|v| v.to_string()),
        ..OsIdentity::default()
    })
}

fn first_line(text: &str) -> Option<&str> {
    text.lines().map(str::trim).find(|line| !line.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_version_point_release() {
        let identity = parse_debian_version("12.7\n").expect("identifies debian");
        assert_eq!(identity.version_id.as_deref(), Some("12"));
        assert_eq!(identity.codename.as_deref(), Some("bookworm"));
    }

    #[test]
    fn debian_version_testing() {
        let identity = parse_debian_version("bookworm/sid\n").expect("identifies debian");
        assert_eq!(identity.version_id, None);
        assert_eq!(identity.codename.as_deref(), Some("bookworm"));
        assert_eq!(
            identity.pretty_name.as_deref(),
            Some("Debian testing or unstable (bookworm/sid)")
        );
    }

    #[test]
    fn debian_version_garbage() {
        assert_eq!(parse_debian_version("12x.1\n"), None);
        assert_eq!(parse_debian_version("\n"), None);
        assert_eq!(parse_debian_version("Trixie!\n"), None);
    }

    #[test]
    fn lsb_release_ubuntu() {
        let text = "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=18.04\nDISTRIB_CODENAME=bionic\n\
                    DISTRIB_DESCRIPTION=\"Ubuntu 18.04.6 LTS\"\n";
        let identity = parse_lsb_release(text).expect("identifies ubuntu");
        assert_eq!(identity.id, "ubuntu");
        assert_eq!(identity.version_id.as_deref(), Some("18.04"));
        assert_eq!(identity.codename.as_deref(), Some("bionic"));
        assert_eq!(identity.pretty_name.as_deref(), Some("Ubuntu 18.04.6 LTS"));
    }

    #[test]
    fn release_line_amazon() {
        let identity =
            parse_release_line("Amazon Linux release 2 (Karoo)\n").expect("identifies amzn");
        assert_eq!(identity.id, "amzn");
        assert_eq!(identity.version_id.as_deref(), Some("2"));
    }

    #[test]
    fn release_line_unknown_name() {
        assert_eq!(parse_release_line("Foo Linux release 1.0\n"), None);
        assert_eq!(parse_release_line("CentOS 7\n"), None);
    }

    #[test]
    fn cpe_2_3() {
        let identity =
            parse_system_release_cpe("cpe:2.3:o:amazon:amazon_linux:2\n").expect("identifies amzn");
        assert_eq!(identity.id, "amzn");
        assert_eq!(identity.version_id.as_deref(), Some("2"));
    }

    #[test]
    fn cpe_unknown_vendor() {
        assert_eq!(parse_system_release_cpe("cpe:/o:acme:linux:1\n"), None);
        assert_eq!(parse_system_release_cpe("not a cpe\n"), None);
    }

    #[test]
    fn alpine_release() {
        let identity = parse_alpine_release("3.19.1\n").expect("identifies alpine");
        assert_eq!(identity.version_id.as_deref(), Some("3.19.1"));
        assert_eq!(parse_alpine_release("edge\n"), None);
    }
}
