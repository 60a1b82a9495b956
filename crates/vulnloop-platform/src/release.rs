//! Code names of Debian and Ubuntu releases.

/// Debian releases: (version, code name). Testing and unstable have no number.
const DEBIAN: &[(&str, &str)] = &[
    ("7", "wheezy"),
    ("8", "jessie"),
    ("9", "stretch"),
    ("10", "buster"),
    ("11", "bullseye"),
    ("12", "bookworm"),
    ("13", "trixie"),
    ("14", "forky"),
    ("15", "duke"),
];

/// Ubuntu releases: (version, code name).
const UBUNTU: &[(&str, &str)] = &[
    ("14.04", "trusty"),
    ("16.04", "xenial"),
    ("18.04", "bionic"),
    ("20.04", "focal"),
    ("20.10", "groovy"),
    ("21.04", "hirsute"),
    ("21.10", "impish"),
    ("22.04", "jammy"),
    ("22.10", "kinetic"),
    ("23.04", "lunar"),
    ("23.10", "mantic"),
    ("24.04", "noble"),
    ("24.10", "oracular"),
    ("25.04", "plucky"),
    ("25.10", "questing"),
    ("26.04", "resolute"),
];

/// Returns the Debian release number for a code name (`bookworm` → `12`).
pub fn debian_release(codename: &str) -> Option<&'static str> {
    lookup(DEBIAN, |(_, name)| *name == codename).map(|(version, _)| version)
}

/// Returns the Debian code name for a release number (`12` → `bookworm`).
///
/// Point releases (`12.7`) map like their major release.
pub fn debian_codename(version: &str) -> Option<&'static str> {
    let major = version.split('.').next().unwrap_or(version);
    lookup(DEBIAN, |(number, _)| *number == major).map(|(_, name)| name)
}

/// Returns the Ubuntu release number for a code name (`jammy` → `22.04`).
pub fn ubuntu_release(codename: &str) -> Option<&'static str> {
    lookup(UBUNTU, |(_, name)| *name == codename).map(|(version, _)| version)
}

/// Returns the Ubuntu code name for a release number (`22.04` → `jammy`).
pub fn ubuntu_codename(version: &str) -> Option<&'static str> {
    lookup(UBUNTU, |(number, _)| *number == version).map(|(_, name)| name)
}

fn lookup(
    table: &'static [(&'static str, &'static str)],
    matches: impl Fn(&(&str, &str)) -> bool,
) -> Option<(&'static str, &'static str)> {
    table.iter().copied().find(|entry| matches(entry))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_names_map_both_ways() {
        assert_eq!(debian_release("bookworm"), Some("12"));
        assert_eq!(debian_codename("12"), Some("bookworm"));
        assert_eq!(debian_codename("12.7"), Some("bookworm"));
        assert_eq!(debian_release("sid"), None);
    }

    #[test]
    fn ubuntu_names_map_both_ways() {
        assert_eq!(ubuntu_release("noble"), Some("24.04"));
        assert_eq!(ubuntu_codename("22.04"), Some("jammy"));
        assert_eq!(ubuntu_codename("22"), None);
    }
}
