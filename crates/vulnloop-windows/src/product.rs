//! Product names normalized into one key, so that a host's
//! `Microsoft Windows Server 2019 Datacenter` and MSRC's `Windows Server 2019`
//! meet.
//!
//! A key names the family, the release where one family has several
//! (`windows-10-1809`), the service pack before Windows 8, and the
//! architecture where Microsoft ships per architecture:
//! `windows-10-1809-x64`, `windows-server-2019`, `windows-7-sp1-x64`,
//! `windows-server-2008-r2-sp1-x64`. Editions (Pro, Datacenter, LTSC) and
//! Server Core share the key of their release, because they get the same updates.

/// Windows 10 releases by build number (Microsoft's release information pages).
const WINDOWS_10: &[(u32, &str)] = &[
    (10240, "1507"),
    (10586, "1511"),
    (14393, "1607"),
    (15063, "1703"),
    (16299, "1709"),
    (17134, "1803"),
    (17763, "1809"),
    (18362, "1903"),
    (18363, "1909"),
    (19041, "2004"),
    (19042, "20H2"),
    (19043, "21H1"),
    (19044, "21H2"),
    (19045, "22H2"),
];

/// Windows 11 releases by build number.
const WINDOWS_11: &[(u32, &str)] = &[
    (22000, "21H2"),
    (22621, "22H2"),
    (22631, "23H2"),
    (26100, "24H2"),
    (26200, "25H2"),
];

/// Windows Server releases by build number, long-term and semi-annual.
const WINDOWS_SERVER: &[(u32, &str)] = &[
    (14393, "2016"),
    (16299, "1709"),
    (17134, "1803"),
    (17763, "2019"),
    (18362, "1903"),
    (18363, "1909"),
    (19041, "2004"),
    (19042, "20H2"),
    (20348, "2022"),
    (25398, "2022-23H2"),
    (26100, "2025"),
];

/// Returns the key of the Windows release under a product that Windows 10,
/// 11 and Server 2016 and later ship inside their cumulative update
/// (`Internet Explorer 11 on Windows Server 2019`): those fixes are the
/// release's own, and their supersedence links the release's updates.
/// Returns `None` for other products on Windows (.NET, which may not be
/// installed) and for older releases, where Internet Explorer has its own
/// updates per installed version.
pub fn bundled_product_key(name: &str) -> Option<String> {
    let lower = clean(name);
    let (component, release) = lower.split_once(" on ")?;
    if !component.starts_with("internet explorer") {
        return None;
    }
    let key = product_key(release, None, None, None)?;
    let bundled = key.starts_with("windows-10-")
        || key.starts_with("windows-11-")
        || ["2016", "2019", "2022", "2025"]
            .iter()
            .any(|year| key.starts_with(&format!("windows-server-{year}")));
    bundled.then_some(key)
}

/// Returns the marketing release of a Windows 10, 11 or Server build
/// (`1809`, `24H2`, `2019`), or `None` for other products and unknown builds.
pub fn release_of_build(product: &str, build: u32) -> Option<&'static str> {
    let lower = product.to_lowercase();
    let table = if lower.contains("server") {
        WINDOWS_SERVER
    } else if lower.contains("windows 11") || (lower.contains("windows 10") && build >= 22000) {
        // Early Windows 11 builds reported themselves as Windows 10 in some tools.
        WINDOWS_11
    } else if lower.contains("windows 10") {
        WINDOWS_10
    } else {
        return None;
    };
    table
        .iter()
        .find(|(known, _)| *known == build)
        .map(|(_, release)| *release)
}

/// Returns the product key of a product name: MSRC's, wesng's or a host's.
///
/// `build` is the host's build, which gives the release of Windows 10, 11
/// and Server when the name does not state it. `service_pack` and
/// `architecture` complete a host's key, because `systeminfo` states them in
/// other fields. Returns `None` for names that are not a Windows release
/// (`Microsoft .NET Framework 4.8 on Windows Server 2019`, Office).
pub fn product_key(
    name: &str,
    build: Option<u32>,
    service_pack: Option<&str>,
    architecture: Option<&str>,
) -> Option<String> {
    let cleaned = clean(name);
    if cleaned.contains(" on windows") {
        return None;
    }
    // Hosts may translate the vendor (`Майкрософт Windows Server 2012 R2`).
    let start = cleaned.find("windows ")?;
    if start > 0
        && !cleaned[..start]
            .chars()
            .all(|c| c.is_alphabetic() || c == ' ')
    {
        return None;
    }
    let lower = cleaned[start..].to_string();
    let arch = architecture
        .map(str::to_ascii_lowercase)
        .or_else(|| arch_in_name(&lower));
    let sp = service_pack
        .and_then(service_pack_number)
        .or_else(|| service_pack_in_name(&lower));

    if let Some(rest) = lower.strip_prefix("windows server") {
        return server_key(rest, build, sp, arch);
    }
    let family = [
        "windows 11",
        "windows 10",
        "windows 8.1",
        "windows rt 8.1",
        "windows 7",
        "windows vista",
        "windows xp",
    ]
    .into_iter()
    .find(|family| {
        lower.starts_with(family)
            && !lower[family.len()..].starts_with(|c: char| c.is_ascii_alphanumeric())
    })?;
    let family_slug = family.replace(' ', "-");
    let release = match family {
        "windows 10" | "windows 11" => Some(client_release(&lower, family, build)?),
        _ => None,
    };
    let mut key = family_slug;
    if let Some(release) = release {
        key.push('-');
        key.push_str(&release.to_ascii_lowercase());
    }
    if matches!(family, "windows 7" | "windows vista" | "windows xp") {
        key.push_str(&format!("-sp{}", sp.unwrap_or(0)));
    }
    if family != "windows rt 8.1" {
        key.push('-');
        key.push_str(arch.as_deref().unwrap_or("x86"));
    }
    Some(key)
}

fn server_key(
    rest: &str,
    build: Option<u32>,
    sp: Option<u8>,
    arch: Option<String>,
) -> Option<String> {
    let rest = rest.trim_start_matches([',', ' ']);
    let year = ["2003", "2008", "2012", "2016", "2019", "2022", "2025"]
        .into_iter()
        .find(|year| rest.starts_with(year));
    let Some(year) = year else {
        // Semi-annual channel: `Windows Server, version 1909`, or a host's
        // `Windows Server Datacenter` whose build gives the release.
        let stated = rest
            .strip_prefix("version ")
            .and_then(|v| v.split_whitespace().next());
        let release = stated.map(str::to_string).or_else(|| {
            build
                .and_then(|b| release_of_build("server", b))
                .map(str::to_string)
        })?;
        return Some(format!("windows-server-{}", release.to_ascii_lowercase()));
    };
    let r2 = rest[year.len()..].trim_start().starts_with("r2");
    let mut key = format!("windows-server-{year}");
    if r2 {
        key.push_str("-r2");
    }
    match year {
        "2003" | "2008" => {
            key.push_str(&format!("-sp{}", sp.unwrap_or(0)));
            key.push('-');
            key.push_str(arch.as_deref().unwrap_or("x86"));
        }
        "2022" if rest.contains("23h2") || build == Some(25398) => key.push_str("-23h2"),
        _ => {}
    }
    Some(key)
}

/// Returns the release a Windows 10 or 11 name states (`Version 1809`), or
/// the one the build gives; MSRC's names without a version are the first release.
fn client_release(lower: &str, family: &str, build: Option<u32>) -> Option<String> {
    if let Some(start) = lower.find("version ") {
        return lower[start + "version ".len()..]
            .split_whitespace()
            .next()
            .map(str::to_string);
    }
    if let Some(build) = build {
        return release_of_build(family, build).map(str::to_string);
    }
    Some(
        if family == "windows 10" {
            "1507"
        } else {
            "21h2"
        }
        .to_string(),
    )
}

fn arch_in_name(lower: &str) -> Option<String> {
    if lower.contains("x64") {
        Some("x64".into())
    } else if lower.contains("arm64") {
        Some("arm64".into())
    } else if lower.contains("itanium") {
        Some("itanium".into())
    } else if lower.contains("32-bit") || lower.contains("x86") {
        Some("x86".into())
    } else {
        None
    }
}

fn service_pack_in_name(lower: &str) -> Option<u8> {
    let start = lower.find("service pack ")?;
    service_pack_number(&lower[start..])
}

fn service_pack_number(text: &str) -> Option<u8> {
    text.to_ascii_lowercase()
        .strip_prefix("service pack ")?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Lower-cases a name and drops trademark signs and the letters a code
/// page conversion leaves of them (`Microsoftr`, `Serverr`).
fn clean(name: &str) -> String {
    let lower = name
        .to_lowercase()
        .replace(['®', '™'], "")
        .replace("(r)", "")
        .replace("(tm)", "");
    lower
        .split_whitespace()
        .map(|word| match word {
            "microsoftr" => "microsoft",
            "windowsr" => "windows",
            "serverr" => "server",
            "vistat" | "vistar" => "vista",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msrc_and_host_names_meet() {
        let cases = [
            (
                product_key("Windows Server 2019", None, None, None),
                product_key(
                    "Microsoft Windows Server 2019 Datacenter",
                    Some(17763),
                    None,
                    Some("x64"),
                ),
            ),
            (
                product_key(
                    "Windows Server 2019  (Server Core installation)",
                    None,
                    None,
                    None,
                ),
                product_key("Windows Server 2019", None, None, None),
            ),
            (
                product_key(
                    "Windows 10 Version 1809 for x64-based Systems",
                    None,
                    None,
                    None,
                ),
                product_key(
                    "Microsoft Windows 10 Enterprise LTSC",
                    Some(17763),
                    None,
                    Some("x64"),
                ),
            ),
            (
                product_key(
                    "Windows 7 for x64-based Systems Service Pack 1",
                    None,
                    None,
                    None,
                ),
                product_key(
                    "Microsoft Windows 7 Enterprise",
                    Some(7601),
                    Some("Service Pack 1"),
                    Some("x64"),
                ),
            ),
            (
                product_key(
                    "Windows Server 2008 R2 for x64-based Systems Service Pack 1",
                    None,
                    None,
                    None,
                ),
                product_key(
                    "Microsoft Windows Server 2008 R2 Standard",
                    Some(7601),
                    Some("Service Pack 1"),
                    Some("x64"),
                ),
            ),
            (
                product_key("Windows 10 for x64-based Systems", None, None, None),
                product_key("Microsoft Windows 10 Pro", Some(10240), None, Some("x64")),
            ),
            (
                product_key(
                    "Windows 11 Version 24H2 for x64-based Systems",
                    None,
                    None,
                    None,
                ),
                product_key(
                    "Microsoft Windows 11 Enterprise LTSC",
                    Some(26100),
                    None,
                    Some("x64"),
                ),
            ),
            (
                product_key(
                    "Windows Server 2012 R2 (Server Core installation)",
                    None,
                    None,
                    None,
                ),
                product_key(
                    "Microsoft Windows Server 2012 R2 Standard",
                    Some(9600),
                    None,
                    Some("x64"),
                ),
            ),
            (
                product_key("Windows 8.1 for x64-based systems", None, None, None),
                product_key(
                    "Microsoft Windows 8.1 Enterprise",
                    Some(9600),
                    None,
                    Some("x64"),
                ),
            ),
            (
                product_key(
                    "Windows Server, version 1909 (Server Core installation)",
                    None,
                    None,
                    None,
                ),
                product_key(
                    "Microsoft Windows Server Datacenter",
                    Some(18363),
                    None,
                    Some("x64"),
                ),
            ),
        ];
        for (msrc, host) in cases {
            assert!(msrc.is_some(), "{host:?}");
            assert_eq!(msrc, host);
        }
    }

    #[test]
    fn keys_spelled_out() {
        assert_eq!(
            product_key("Windows Server 2019", None, None, None).as_deref(),
            Some("windows-server-2019")
        );
        assert_eq!(
            product_key(
                "Windows 10 Version 1809 for x64-based Systems",
                None,
                None,
                None
            )
            .as_deref(),
            Some("windows-10-1809-x64")
        );
        assert_eq!(
            product_key(
                "Windows Server 2008 for 32-bit Systems Service Pack 2",
                None,
                None,
                None
            )
            .as_deref(),
            Some("windows-server-2008-sp2-x86")
        );
        assert_eq!(
            product_key(
                "Microsoft .NET Framework 3.5 on Windows Server 2019",
                None,
                None,
                None
            ),
            None
        );
        assert_eq!(product_key("Microsoft Office 2019", None, None, None), None);
        assert_eq!(
            bundled_product_key("Internet Explorer 11 on Windows Server 2019").as_deref(),
            Some("windows-server-2019")
        );
        assert_eq!(
            bundled_product_key(
                "Internet Explorer 11 on Windows 7 for x64-based Systems Service Pack 1"
            ),
            None
        );
        assert_eq!(
            bundled_product_key("Microsoft .NET Framework 4.8 on Windows Server 2019"),
            None
        );
    }

    #[test]
    fn builds_give_releases() {
        assert_eq!(
            release_of_build("Microsoft Windows 10 Pro", 19045),
            Some("22H2")
        );
        assert_eq!(
            release_of_build("Microsoft Windows Server 2022 Standard", 20348),
            Some("2022")
        );
        assert_eq!(
            release_of_build("Microsoft Windows 7 Enterprise", 7601),
            None
        );
    }
}
