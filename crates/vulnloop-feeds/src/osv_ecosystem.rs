//! OSV ecosystem names (`Debian:12`, `Ubuntu:Pro:18.04:LTS`, `AlmaLinux:9`,
//! `SUSE:Linux Enterprise Server 15 SP5`) mapped to release keys and channels.

use vulnloop_advisory::{Ecosystem, PackageKind};

/// Release key and channel that an OSV ecosystem string maps to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Placement {
    pub(crate) ecosystem: Ecosystem,
    pub(crate) channel: Option<String>,
    /// Whether the package names are binary (RPM) or source (Debian, Ubuntu) names.
    pub(crate) kind: PackageKind,
}

/// Maps an OSV ecosystem to a release key and channel; `None` for ecosystems not read.
pub(crate) fn placement(ecosystem: &str) -> Option<Placement> {
    let mut parts = ecosystem.split(':');
    match parts.next()? {
        "Debian" => {
            let release = parts.next().filter(|release| !release.is_empty())?;
            Some(Placement {
                ecosystem: Ecosystem::new("debian", release),
                channel: None,
                kind: PackageKind::Source,
            })
        }
        "Ubuntu" => ubuntu_placement(parts.collect()),
        "AlmaLinux" => rpm_placement("almalinux", parts.next()?, parts.next()),
        "Rocky Linux" => rpm_placement("rocky", parts.next()?, parts.next()),
        "SUSE" | "openSUSE" => suse_placement(ecosystem.split_once(':')?.1),
        _ => None,
    }
}

/// Reads `[Pro:[flavour:]]NN.NN[:LTS]`.
fn ubuntu_placement(parts: Vec<&str>) -> Option<Placement> {
    let release_at = parts.iter().position(|part| is_ubuntu_release(part))?;
    let release = parts[release_at];
    let channel = match parts[..release_at] {
        [] => None,
        ["Pro"] => Some("esm".to_string()),
        ["Pro", flavour] => Some(flavour.to_ascii_lowercase()),
        _ => return None,
    };
    Some(Placement {
        ecosystem: Ecosystem::new("ubuntu", release),
        channel,
        kind: PackageKind::Source,
    })
}

/// Places a SUSE product name such as `Linux Enterprise Server 15 SP5`.
fn suse_placement(product: &str) -> Option<Placement> {
    let (distro, channel, rest) = if let Some(rest) = product.strip_prefix("Leap ") {
        ("opensuse-leap", None, rest)
    } else if let Some(rest) = product.strip_prefix("Package Hub ") {
        ("sles", Some("package-hub".to_string()), rest)
    } else if let Some(rest) = product.strip_prefix("Linux Enterprise Server for SAP Applications ")
    {
        ("sles_sap", None, rest)
    } else if let Some(rest) = product.strip_prefix("Linux Enterprise Server ") {
        ("sles", None, rest)
    } else if let Some(rest) = product.strip_prefix("Linux Enterprise Desktop ") {
        ("sled", None, rest)
    } else {
        let module = product.strip_prefix("Linux Enterprise Module for ")?;
        let at = module.find(|c: char| c.is_ascii_digit())?;
        ("sles", None, &module[at..])
    };
    Some(Placement {
        ecosystem: Ecosystem::new(distro, &suse_release(rest)?),
        channel,
        kind: PackageKind::Binary,
    })
}

/// Turns `15 SP5` into `15.5`, `15` into `15` and keeps `15.5` (Leap).
fn suse_release(text: &str) -> Option<String> {
    let numeric = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
    let release = match text.trim().split_once(" SP") {
        Some((major, pack)) if numeric(major) && numeric(pack) => format!("{major}.{pack}"),
        Some(_) => return None,
        None => text.trim().to_string(),
    };
    let valid = release.split('.').all(numeric);
    valid.then_some(release)
}

/// Places a RHEL rebuild's ecosystem (`AlmaLinux:9`) under its major release.
fn rpm_placement(distro: &str, release: &str, extra: Option<&str>) -> Option<Placement> {
    let major = release.split('.').next()?;
    if extra.is_some() || major.is_empty() || !major.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    Some(Placement {
        ecosystem: Ecosystem::new(distro, major),
        channel: None,
        kind: PackageKind::Binary,
    })
}

fn is_ubuntu_release(part: &str) -> bool {
    match part.split_once('.') {
        Some((year, month)) => {
            !year.is_empty()
                && !month.is_empty()
                && year.bytes().all(|byte| byte.is_ascii_digit())
                && month.bytes().all(|byte| byte.is_ascii_digit())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ecosystem: &str) -> Option<(String, Option<String>)> {
        placement(ecosystem).map(|p| (p.ecosystem.to_string(), p.channel))
    }

    #[test]
    fn ecosystems_map_to_release_keys() {
        assert_eq!(key("Debian:12"), Some(("debian:12".into(), None)));
        assert_eq!(key("Ubuntu:22.04:LTS"), Some(("ubuntu:22.04".into(), None)));
        assert_eq!(key("Ubuntu:24.10"), Some(("ubuntu:24.10".into(), None)));
        assert_eq!(
            key("Ubuntu:Pro:18.04:LTS"),
            Some(("ubuntu:18.04".into(), Some("esm".into())))
        );
        assert_eq!(
            key("Ubuntu:Pro:FIPS-updates:20.04:LTS"),
            Some(("ubuntu:20.04".into(), Some("fips-updates".into())))
        );

        assert_eq!(key("AlmaLinux:9"), Some(("almalinux:9".into(), None)));
        assert_eq!(key("Rocky Linux:8"), Some(("rocky:8".into(), None)));
        assert_eq!(key("AlmaLinux"), None);
        assert_eq!(key("Fedora:39"), None);

        assert_eq!(
            key("SUSE:Linux Enterprise Server 15 SP5"),
            Some(("sles:15.5".into(), None))
        );
        assert_eq!(
            key("SUSE:Linux Enterprise Desktop 12"),
            Some(("sled:12".into(), None))
        );
        assert_eq!(
            key("SUSE:Linux Enterprise Module for Basesystem 15 SP4"),
            Some(("sles:15.4".into(), None))
        );
        assert_eq!(
            key("SUSE:Package Hub 12"),
            Some(("sles:12".into(), Some("package-hub".into())))
        );
        assert_eq!(
            key("openSUSE:Leap 15.5"),
            Some(("opensuse-leap:15.5".into(), None))
        );
        assert_eq!(key("openSUSE:Tumbleweed"), None);
        assert_eq!(
            key("SUSE:Linux Enterprise Software Development Kit 12"),
            None
        );

        assert_eq!(key("Debian"), None);
        assert_eq!(key("Ubuntu:LTS"), None);
    }
}
