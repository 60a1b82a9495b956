use std::fmt;

use serde::{Deserialize, Serialize};

/// A distribution release that advisories are scoped to, written `debian:12`.
///
/// The distribution id is the lowercase `ID` of os-release and the release is
/// its `VERSION_ID` (`12`, `22.04`, `3.19`). Advisories and inventories meet
/// on this key, so every feed parser must map its own release naming
/// (`bookworm`, `Debian GNU/Linux 12`, `Ubuntu:22.04:LTS`) to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Ecosystem(String);

impl Ecosystem {
    /// Builds the key from a distribution id and a release number.
    pub fn new(distro: &str, release: &str) -> Self {
        Self(format!("{}:{}", distro.to_ascii_lowercase(), release))
    }

    /// Parses a key written as `distro:release`.
    pub fn parse(text: &str) -> Option<Self> {
        let (distro, release) = text.split_once(':')?;
        if distro.is_empty() || release.is_empty() {
            return None;
        }
        Some(Self::new(distro, release))
    }

    /// Returns the distribution id, such as `debian`.
    pub fn distro(&self) -> &str {
        self.0.split_once(':').map_or(self.0.as_str(), |(d, _)| d)
    }

    /// Returns the release, such as `12`.
    pub fn release(&self) -> &str {
        self.0.split_once(':').map_or("", |(_, r)| r)
    }

    /// Returns the key as stored, `distro:release`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_lowercases_distro() {
        let key = Ecosystem::new("Debian", "12");
        assert_eq!(key.as_str(), "debian:12");
        assert_eq!(key.distro(), "debian");
        assert_eq!(key.release(), "12");
    }

    #[test]
    fn parse_rejects_missing_parts() {
        assert_eq!(
            Ecosystem::parse("ubuntu:22.04"),
            Some(Ecosystem::new("ubuntu", "22.04"))
        );
        assert_eq!(Ecosystem::parse("ubuntu"), None);
        assert_eq!(Ecosystem::parse(":22.04"), None);
        assert_eq!(Ecosystem::parse("ubuntu:"), None);
    }
}
