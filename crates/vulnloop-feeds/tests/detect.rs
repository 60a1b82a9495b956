//! `detect` on every file name of the shared feed directory (advisory and
//! enrichment feeds) and on the format samples.

mod support;

use std::path::Path;

use vulnloop_feeds::{detect, FeedKind};

/// Every file under the shared `feeds` directory, with the kind `detect` must return.
const FEEDS: [(&str, Option<FeedKind>); 42] = [
    (
        "debian/oval-definitions-bookworm.xml.bz2",
        Some(FeedKind::DebianOval),
    ),
    (
        "debian/debian-security-support-12+2026.06.30-lists.tar.zst",
        Some(FeedKind::DebianSecuritySupport),
    ),
    (
        "debian12-changelog-osv/debian12-changelog-osv.tar.zst",
        Some(FeedKind::Osv),
    ),
    (
        "ubuntu-oval/com.ubuntu.jammy.usn.oval.xml.zst",
        Some(FeedKind::UbuntuOval),
    ),
    (
        "ubuntu-oval/com.ubuntu.noble.usn.oval.xml.zst",
        Some(FeedKind::UbuntuOval),
    ),
    (
        "debian/security-tracker-data-DSA-list.zst",
        Some(FeedKind::DebianAdvisoryList),
    ),
    (
        "debian/security-tracker-data-DLA-list.zst",
        Some(FeedKind::DebianAdvisoryList),
    ),
    ("almalinux-osv/almalinux8-osv.tar.zst", Some(FeedKind::Osv)),
    ("almalinux-osv/almalinux9-osv.tar.zst", Some(FeedKind::Osv)),
    ("almalinux-osv/almalinux10-osv.tar.zst", Some(FeedKind::Osv)),
    (
        "alpine-secdb/alpine-secdb-v3.2-to-v3.21-and-edge.tar.zst",
        Some(FeedKind::AlpineSecdb),
    ),
    (
        "redhat-oval/com.redhat.rhsa-RHEL9.xml.zst",
        Some(FeedKind::RedHatOval),
    ),
    (
        "rocky-oval/org.rockylinux.rlsa-9.xml.zst",
        Some(FeedKind::RockyOval),
    ),
    (
        "rocky-oval/org.rockylinux.rlsa-8.xml.zst",
        Some(FeedKind::RockyOval),
    ),
    (
        "nvd-json-1.1/nvdcve-1.1-2002.json.gz",
        Some(FeedKind::NvdJson11),
    ),
    (
        "nvd-json-1.1/nvdcve-1.1-2003.json.gz",
        Some(FeedKind::NvdJson11),
    ),
    (
        "nvd-json-1.1/nvdcve-1.1-2004.json.gz",
        Some(FeedKind::NvdJson11),
    ),
    (
        "nvd-json-1.1/nvdcve-1.1-2005.json.gz",
        Some(FeedKind::NvdJson11),
    ),
    (
        "nvd-json-1.1/nvdcve-1.1-2006.json.gz",
        Some(FeedKind::NvdJson11),
    ),
    (
        "nvd-json-1.1/nvdcve-1.1-2007.json.gz",
        Some(FeedKind::NvdJson11),
    ),
    (
        "nvd-json-1.1/nvdcve-1.1-2008.json.gz",
        Some(FeedKind::NvdJson11),
    ),
    (
        "nvd-json-1.1/nvdcve-1.1-2009.json.gz",
        Some(FeedKind::NvdJson11),
    ),
    (
        "nvd-json-1.1/nvdcve-1.1-2010.json.gz",
        Some(FeedKind::NvdJson11),
    ),
    (
        "nvd-json-1.1/nvdcve-1.1-2011.json.gz",
        Some(FeedKind::NvdJson11),
    ),
    (
        "nvd-json-1.1/nvdcve-1.1-2012.json.gz",
        Some(FeedKind::NvdJson11),
    ),
    (
        "nvd-json-1.1/nvdcve-1.1-2013.json.gz",
        Some(FeedKind::NvdJson11),
    ),
    (
        "nvd-json-1.1/nvdcve-1.1-2014.json.gz",
        Some(FeedKind::NvdJson11),
    ),
    (
        "nvd-json-1.1/nvdcve-1.1-2015.json.gz",
        Some(FeedKind::NvdJson11),
    ),
    (
        "nvd-json-1.1/nvdcve-1.1-2016.json.gz",
        Some(FeedKind::NvdJson11),
    ),
    (
        "nvd-json-1.1/nvdcve-1.1-2017.json.gz",
        Some(FeedKind::NvdJson11),
    ),
    (
        "nvd-json-1.1/nvdcve-1.1-2019.snapshot-2020-03-01.json.zip",
        Some(FeedKind::NvdJson11),
    ),
    (
        "nvd-json-1.1/nvdcve-1.1-2021.partial-snapshot-2021-10-05.json.zip",
        Some(FeedKind::NvdJson11),
    ),
    (
        "nvd-json-1.1/nvdcve-1.1-2022.partial-snapshot-2022-11-04.json.gz",
        Some(FeedKind::NvdJson11),
    ),
    (
        "nvd-json-1.1/nvdcve-1.1-modified.json.gz",
        Some(FeedKind::NvdJson11),
    ),
    (
        "nvd-json-1.1/nvdcve-1.1-recent.json.gz",
        Some(FeedKind::NvdJson11),
    ),
    (
        "cve5-vulnrichment/cve5-vulnrichment.jsonl.zst",
        Some(FeedKind::Cve5),
    ),
    (
        "cisa-kev/known_exploited_vulnerabilities.json.gz",
        Some(FeedKind::CisaKev),
    ),
    ("cisa-kev/known_exploited_vulnerabilities_schema.json", None),
    (
        "wordpress-wordfence/wordfence-vulns-from-nuclei-wordfence-cve.jsonl.zst",
        Some(FeedKind::Wordfence),
    ),
    (
        "composer-friendsofphp/friendsofphp-security-advisories.tar.zst",
        Some(FeedKind::FriendsOfPhp),
    ),
    (
        "windows-msrc-cvrf/msrc-cvrf-snapshot-20260706T222806Z.tar",
        Some(FeedKind::MsrcCvrf),
    ),
    ("windows-wesng/wesng-definitions.zip", Some(FeedKind::Wesng)),
];

#[test]
fn every_shared_feed_file_is_classified() {
    let feeds = vulnloop_testdata::data_file("feeds");
    let mut files = Vec::new();
    collect_files(&feeds, &mut files);
    assert!(
        files.len() >= 60,
        "only {} files under {}",
        files.len(),
        feeds.display()
    );

    for path in files {
        let relative = path
            .strip_prefix(&feeds)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let expected = FEEDS
            .iter()
            .find(|(name, _)| *name == relative)
            .and_then(|(_, kind)| *kind);
        assert_eq!(detect(&path), expected, "{relative}");
    }
}

#[test]
fn listed_feed_files_exist() {
    for (relative, _) in FEEDS {
        let path = vulnloop_testdata::data_file(&format!("feeds/{relative}"));
        assert!(path.is_file(), "{}", path.display());
    }
}

#[test]
fn format_samples_are_classified_by_content() {
    let dir = support::format_samples();
    let cases = [
        (
            "pkg/fetch/debian/tracker/api/testdata/fixtures/advisory.json",
            Some(FeedKind::DebianTracker),
        ),
        (
            "pkg/fetch/debian/oval/testdata/fixtures/oval-definitions-bullseye.xml.bz2",
            Some(FeedKind::DebianOval),
        ),
        (
            "pkg/fetch/ubuntu/oval/testdata/fixtures/oci.com.ubuntu.jammy.usn.oval.xml.bz2",
            Some(FeedKind::UbuntuOval),
        ),
        (
            "pkg/fetch/ubuntu/oval/testdata/fixtures/oci.com.ubuntu.jammy.cve.oval.xml.bz2",
            None,
        ),
        ("pkg/fetch/debian/osv/testdata/fixtures/all.zip", None),
        (
            "pkg/fetch/ubuntu/osv/testdata/fixtures/happy/osv-all.tar.xz",
            None,
        ),
        (
            "pkg/fetch/ubuntu/cve/testdata/fixtures/happy/0_1.json",
            None,
        ),
        (
            "pkg/fetch/nvd/api/cve/testdata/fixtures/3_items/0-3.json",
            Some(FeedKind::NvdCve2),
        ),
        (
            "pkg/fetch/nvd/api/cpematch/testdata/fixtures/3_items/0-3.json",
            None,
        ),
        (
            "pkg/fetch/cisa/kev/testdata/fixtures/known_exploited_vulnerabilities.json",
            Some(FeedKind::CisaKev),
        ),
        (
            "pkg/fetch/redhat/vex/v1/testdata/fixtures/2023/cve-2023-6212.json",
            Some(FeedKind::RedHatCsaf),
        ),
    ];
    for (relative, expected) in cases {
        let path = support::sample(&dir, relative);
        assert_eq!(detect(&path), expected, "{relative}");
    }
}

fn collect_files(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        panic!("cannot list {}", dir.display())
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, files);
        } else {
            files.push(path);
        }
    }
}
