//! The official feed URLs that `vulnloop db update` reads by default.

/// One feed file published by a vendor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficialFeed {
    /// Download URL.
    pub url: String,
    /// File name the parser is chosen by.
    pub file_name: String,
}

/// A distribution feed: its URL and the file name its parser is chosen by.
struct StaticFeed {
    url: &'static str,
    file_name: &'static str,
}

const DISTRIBUTION_FEEDS: &[StaticFeed] = &[
    StaticFeed {
        url: "https://security-tracker.debian.org/tracker/data/json",
        file_name: "debian-security-tracker.json",
    },
    StaticFeed {
        url: "https://www.debian.org/security/oval/oval-definitions-bullseye.xml.bz2",
        file_name: "oval-definitions-bullseye.xml.bz2",
    },
    StaticFeed {
        url: "https://www.debian.org/security/oval/oval-definitions-bookworm.xml.bz2",
        file_name: "oval-definitions-bookworm.xml.bz2",
    },
    StaticFeed {
        url: "https://www.debian.org/security/oval/oval-definitions-trixie.xml.bz2",
        file_name: "oval-definitions-trixie.xml.bz2",
    },
    StaticFeed {
        url: "https://security-metadata.canonical.com/oval/com.ubuntu.focal.usn.oval.xml.bz2",
        file_name: "com.ubuntu.focal.usn.oval.xml.bz2",
    },
    StaticFeed {
        url: "https://security-metadata.canonical.com/oval/com.ubuntu.jammy.usn.oval.xml.bz2",
        file_name: "com.ubuntu.jammy.usn.oval.xml.bz2",
    },
    StaticFeed {
        url: "https://security-metadata.canonical.com/oval/com.ubuntu.noble.usn.oval.xml.bz2",
        file_name: "com.ubuntu.noble.usn.oval.xml.bz2",
    },
];

/// First year of NVD's yearly CVE files.
const NVD_FIRST_YEAR: i32 = 2002;

/// Returns the feeds read when no directory or mirror is given.
///
/// The list starts with the distributions' advisories. The enrichment feeds
/// follow: NVD's CVE 2.0 files for every year up to this one and its
/// `modified` file, CISA's KEV catalog and the current FIRST EPSS scores.
pub fn official_feeds() -> Vec<OfficialFeed> {
    let mut feeds: Vec<OfficialFeed> = DISTRIBUTION_FEEDS
        .iter()
        .map(|feed| OfficialFeed {
            url: feed.url.to_string(),
            file_name: feed.file_name.to_string(),
        })
        .collect();
    let this_year = chrono::Datelike::year(&chrono::Utc::now());
    let nvd_names = (NVD_FIRST_YEAR..=this_year)
        .map(|year| year.to_string())
        .chain(["modified".to_string()]);
    for name in nvd_names {
        let file_name = format!("nvdcve-2.0-{name}.json.gz");
        let url = format!("https://nvd.nist.gov/feeds/json/cve/2.0/{file_name}");
        feeds.push(OfficialFeed { url, file_name });
    }
    feeds.push(OfficialFeed {
        url: "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
            .into(),
        file_name: "known_exploited_vulnerabilities.json".into(),
    });
    feeds.push(OfficialFeed {
        url: "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz".into(),
        file_name: "epss_scores-current.csv.gz".into(),
    });
    feeds
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn every_official_feed_is_recognized() {
        for feed in official_feeds() {
            assert!(
                vulnloop_feeds::detect(Path::new(&feed.file_name)).is_some(),
                "{}",
                feed.file_name
            );
        }
    }

    #[test]
    fn nvd_files_cover_every_year() {
        let feeds = official_feeds();
        let names: Vec<&str> = feeds.iter().map(|f| f.file_name.as_str()).collect();
        assert!(names.contains(&"nvdcve-2.0-2002.json.gz"));
        assert!(names.contains(&"nvdcve-2.0-modified.json.gz"));
        assert!(names.contains(&"known_exploited_vulnerabilities.json"));
    }
}
