//! Property tests: every parser, advisory and enrichment, must return a
//! result, never panic, on arbitrary bytes and on real samples cut short or
//! with bytes changed.

mod support;

use std::io::{Cursor, Read};
use std::sync::OnceLock;

use proptest::prelude::*;
use vulnloop_advisory::Enrichment;
use vulnloop_feeds::{parse_enrichment_reader, parse_reader, FeedKind};
use vulnloop_version::DpkgVersion;

/// Uncompressed file names that select each parser and its plain layout.
const CASES: [(&str, FeedKind); 11] = [
    ("DSA-1-1.json", FeedKind::Osv),
    ("oval-definitions-bullseye.xml", FeedKind::DebianOval),
    ("com.ubuntu.jammy.usn.oval.xml", FeedKind::UbuntuOval),
    ("json", FeedKind::DebianTracker),
    (
        "security-support-ended.deb12",
        FeedKind::DebianSecuritySupport,
    ),
    ("list", FeedKind::DebianAdvisoryList),
    ("ALSA-2023:7205.json", FeedKind::Osv),
    ("main.json", FeedKind::AlpineSecdb),
    ("com.oracle.elsa-all.xml", FeedKind::OracleOval),
    ("updateinfo.xml", FeedKind::AmazonUpdateinfo),
    ("rhsa-2023_7435.json", FeedKind::RedHatCsaf),
];

/// Real, small, uncompressed samples of each format, in the order of `CASES`.
fn samples() -> &'static Vec<Vec<u8>> {
    static SAMPLES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let dir = support::format_samples();
        let read_sample = |relative: &str| {
            let path = support::sample(&dir, relative);
            let mut bytes = Vec::new();
            let opened = vulnloop_testdata::open_decompressed(&path);
            let read = opened.and_then(|mut reader| reader.read_to_end(&mut bytes));
            assert!(read.is_ok(), "cannot read {}", path.display());
            bytes
        };
        let osv = vulnloop_testdata::unpack(
            "feeds/debian12-changelog-osv/debian12-changelog-osv.tar.zst",
        );
        let record = osv
            .path()
            .join("debian12-changelog-osv/osv/DEB12-CHANGELOG-CVE-2024-53051.json");
        let lists = vulnloop_testdata::unpack(
            "feeds/debian/debian-security-support-12+2026.06.30-lists.tar.zst",
        );
        let ended = lists
            .path()
            .join("debian-security-support-12+2026.06.30/security-support-ended.deb12");
        let dsa =
            vulnloop_testdata::read_decompressed("feeds/debian/security-tracker-data-DSA-list.zst");
        let alma = vulnloop_testdata::unpack("feeds/almalinux-osv/almalinux8-osv.tar.zst");
        let alma_record = alma.path().join("almalinux8/ALSA-2023:7205.json");
        let alpine = vulnloop_testdata::unpack(
            "feeds/alpine-secdb/alpine-secdb-v3.2-to-v3.21-and-edge.tar.zst",
        );
        let alpine_branch = alpine.path().join("alpine/v3.2/main.json");
        let samples = vec![
            std::fs::read(record).unwrap_or_default(),
            read_sample(
                "pkg/fetch/debian/oval/testdata/fixtures/oval-definitions-bullseye.xml.bz2",
            ),
            read_sample(
                "pkg/fetch/ubuntu/oval/testdata/fixtures/oci.com.ubuntu.jammy.usn.oval.xml.bz2",
            ),
            read_sample("pkg/fetch/debian/tracker/api/testdata/fixtures/advisory.json"),
            std::fs::read(ended).unwrap_or_default(),
            dsa[..4096].to_vec(),
            std::fs::read(alma_record).unwrap_or_default(),
            std::fs::read(alpine_branch).unwrap_or_default(),
            read_sample("pkg/fetch/oracle/linux/testdata/fixtures/com.oracle.elsa-all.xml.bz2"),
            read_sample("pkg/fetch/amazon/testdata/fixtures/updateinfo_2023.xml.gz"),
            read_sample("pkg/fetch/redhat/csaf/testdata/fixtures/2023/rhsa-2023_7435.json"),
        ];
        assert!(
            samples.iter().all(|sample| !sample.is_empty()),
            "a sample is empty"
        );
        samples
    })
}

/// Runs one parser and checks what it produced.
fn check(bytes: &[u8], name: &str, kind: FeedKind) -> Result<(), TestCaseError> {
    let mut problems = Vec::new();
    let mut sink = |advisory: vulnloop_advisory::Advisory| {
        if advisory.id.is_empty() || advisory.affected.is_empty() {
            problems.push(format!("empty advisory {advisory:?}"));
        }
        for entry in &advisory.affected {
            let fixed = entry.status.fixed_version().unwrap_or("0");
            // dpkg's rules hold for Debian and Ubuntu; RPM and apk versions
            // must at least be one word.
            let valid = match entry.ecosystem.distro() {
                "debian" | "ubuntu" => fixed.parse::<DpkgVersion>().is_ok(),
                _ => !fixed.is_empty() && !fixed.contains(char::is_whitespace),
            };
            if !valid {
                problems.push(format!("{} has fixed version {fixed:?}", advisory.id));
            }
        }
    };
    let result = parse_reader(Box::new(Cursor::new(bytes.to_vec())), name, kind, &mut sink);
    prop_assert!(problems.is_empty(), "{name}: {problems:?}");
    if let Err(error) = result {
        prop_assert!(
            error.to_string().contains(name),
            "error without file name: {error}"
        );
    }
    Ok(())
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        for (name, kind) in CASES {
            check(&bytes, name, kind)?;
        }
    }

    #[test]
    fn damaged_samples_never_panic(
        case in 0..CASES.len(),
        cut in 0.0..1.0f64,
        flips in proptest::collection::vec((0.0..1.0f64, any::<u8>()), 0..8),
    ) {
        let mut bytes = samples()[case].clone();
        let length = (bytes.len() as f64 * cut) as usize;
        bytes.truncate(length.max(1).min(bytes.len()));
        for (position, value) in flips {
            if let Some(byte) = bytes.get_mut((length as f64 * position) as usize) {
                *byte = value;
            }
        }
        let (name, kind) = CASES[case];
        check(&bytes, name, kind)?;
    }
}

/// Uncompressed file names that select each enrichment parser and its plain layout.
const ENRICHMENT_CASES: [(&str, FeedKind); 6] = [
    ("nvdcve-1.1-recent.json", FeedKind::NvdJson11),
    ("nvdcve-2.0-2002.json", FeedKind::NvdCve2),
    ("cve5.jsonl", FeedKind::Cve5),
    ("CVE-2023-0001.json", FeedKind::Cve5),
    ("known_exploited_vulnerabilities.json", FeedKind::CisaKev),
    ("epss_scores-2023-03-07.csv", FeedKind::Epss),
];

/// Real, small, uncompressed samples of each enrichment format, in the order of `ENRICHMENT_CASES`.
fn enrichment_samples() -> &'static Vec<Vec<u8>> {
    static SAMPLES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let dir = support::format_samples();
        let read_sample = |relative: &str| {
            let path = support::sample(&dir, relative);
            let mut bytes = Vec::new();
            let opened = vulnloop_testdata::open_decompressed(&path);
            let read = opened.and_then(|mut reader| reader.read_to_end(&mut bytes));
            assert!(read.is_ok(), "cannot read {}", path.display());
            bytes
        };
        // The NVD 1.1 header with its first three items.
        let recent =
            vulnloop_testdata::read_decompressed("feeds/nvd-json-1.1/nvdcve-1.1-recent.json.gz");
        let mut nvd: serde_json::Value = serde_json::from_slice(&recent).unwrap_or_default();
        if let Some(items) = nvd
            .get_mut("CVE_Items")
            .and_then(|items| items.as_array_mut())
        {
            items.truncate(3);
        }
        let cve5 = vulnloop_testdata::read_decompressed(
            "feeds/cve5-vulnrichment/cve5-vulnrichment.jsonl.zst",
        );
        let three_lines: Vec<u8> = cve5
            .split_inclusive(|byte| *byte == b'\n')
            .take(3)
            .flatten()
            .copied()
            .collect();
        let single = cve5
            .split(|byte| *byte == b'\n')
            .next()
            .unwrap_or_default()
            .to_vec();
        let samples = vec![
            serde_json::to_vec_pretty(&nvd).unwrap_or_default(),
            read_sample("pkg/fetch/nvd/feed/cve/v2/testdata/fixtures/nvdcve-2.0-2002.json.gz"),
            three_lines,
            single,
            read_sample(
                "pkg/fetch/cisa/kev/testdata/fixtures/known_exploited_vulnerabilities.json",
            ),
            read_sample("pkg/fetch/epss/testdata/fixtures/epss_scores-2023-03-07.csv.gz"),
        ];
        assert!(
            samples.iter().all(|sample| sample.len() > 100),
            "a sample is nearly empty"
        );
        samples
    })
}

/// Runs one enrichment parser and checks what it produced.
fn check_enrichment(bytes: &[u8], name: &str, kind: FeedKind) -> Result<(), TestCaseError> {
    let mut problems = Vec::new();
    let mut sink = |record: Enrichment| {
        if !record.cve().starts_with("CVE-") {
            problems.push(format!("record without a CVE id: {record:?}"));
        }
        match &record {
            Enrichment::Cve(cve) => {
                for cvss in &cve.cvss {
                    if !(0.0..=10.0).contains(&cvss.base_score) {
                        problems.push(format!("{} scores {}", cve.id, cvss.base_score));
                    }
                }
            }
            Enrichment::Epss(score) if !(0.0..=1.0).contains(&score.score) => {
                problems.push(format!("{} has EPSS {}", score.cve, score.score));
            }
            _ => {}
        }
    };
    let result =
        parse_enrichment_reader(Box::new(Cursor::new(bytes.to_vec())), name, kind, &mut sink);
    prop_assert!(problems.is_empty(), "{name}: {problems:?}");
    if let Err(error) = result {
        prop_assert!(
            error.to_string().contains(name),
            "error without file name: {error}"
        );
    }
    Ok(())
}

proptest! {
    #[test]
    fn enrichment_arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        for (name, kind) in ENRICHMENT_CASES {
            check_enrichment(&bytes, name, kind)?;
        }
    }

    #[test]
    fn enrichment_damaged_samples_never_panic(
        case in 0..ENRICHMENT_CASES.len(),
        cut in 0.0..1.0f64,
        flips in proptest::collection::vec((0.0..1.0f64, any::<u8>()), 0..8),
    ) {
        let mut bytes = enrichment_samples()[case].clone();
        let length = (bytes.len() as f64 * cut) as usize;
        bytes.truncate(length.max(1).min(bytes.len()));
        for (position, value) in flips {
            if let Some(byte) = bytes.get_mut((length as f64 * position) as usize) {
                *byte = value;
            }
        }
        let (name, kind) = ENRICHMENT_CASES[case];
        check_enrichment(&bytes, name, kind)?;
    }
}
