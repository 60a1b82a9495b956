//! The official feed URLs that `vulnloop db update` reads by default.

/// One feed file published by a vendor.
#[derive(Debug, Clone, Copy)]
pub struct OfficialFeed {
    /// Download URL.
    pub url: &'static str,
    /// File name the parser is chosen by.
    pub file_name: &'static str,
}

const FEEDS: &[OfficialFeed] = &[
    OfficialFeed {
        url: "https://security-tracker.debian.org/tracker/data/json",
        file_name: "debian-security-tracker.json",
    },
    OfficialFeed {
        url: "https://www.debian.org/security/oval/oval-definitions-bullseye.xml.bz2",
        file_name: "oval-definitions-bullseye.xml.bz2",
    },
    OfficialFeed {
        url: "https://www.debian.org/security/oval/oval-definitions-bookworm.xml.bz2",
        file_name: "oval-definitions-bookworm.xml.bz2",
    },
    OfficialFeed {
        url: "https://www.debian.org/security/oval/oval-definitions-trixie.xml.bz2",
        file_name: "oval-definitions-trixie.xml.bz2",
    },
    OfficialFeed {
        url: "https://security-metadata.canonical.com/oval/com.ubuntu.focal.usn.oval.xml.bz2",
        file_name: "com.ubuntu.focal.usn.oval.xml.bz2",
    },
    OfficialFeed {
        url: "https://security-metadata.canonical.com/oval/com.ubuntu.jammy.usn.oval.xml.bz2",
        file_name: "com.ubuntu.jammy.usn.oval.xml.bz2",
    },
    OfficialFeed {
        url: "https://security-metadata.canonical.com/oval/com.ubuntu.noble.usn.oval.xml.bz2",
        file_name: "com.ubuntu.noble.usn.oval.xml.bz2",
    },
];

/// Returns the feeds read when no directory or mirror is given.
pub fn official_feeds() -> &'static [OfficialFeed] {
    FEEDS
}
