//! Parses arbitrary bytes with every enrichment feed parser, as a plain
//! file of each format, a JSON Lines file and a tar archive of CVE JSON 5
//! records. Parsing must never panic, every error must name the file, and
//! every record must name a CVE id, with CVSS base scores from 0 to 10 and
//! EPSS values from 0 to 1.

#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use vulnloop_advisory::Enrichment;
use vulnloop_feeds::{parse_enrichment_reader, FeedKind};

/// Uncompressed file names that select each parser and its layout.
const CASES: [(&str, FeedKind); 7] = [
    ("nvdcve-1.1-2014.json", FeedKind::NvdJson11),
    ("nvdcve-2.0-2024.json", FeedKind::NvdCve2),
    ("cve5.jsonl", FeedKind::Cve5),
    ("CVE-2024-3094.json", FeedKind::Cve5),
    ("cvelistV5-main.tar", FeedKind::Cve5),
    ("known_exploited_vulnerabilities.json", FeedKind::CisaKev),
    ("epss_scores-2024-01-31.csv", FeedKind::Epss),
];

fuzz_target!(|bytes: &[u8]| {
    for (name, kind) in CASES {
        let reader = Box::new(Cursor::new(bytes.to_vec()));
        let mut check = |record: Enrichment| {
            assert!(record.cve().starts_with("CVE-"), "record without a CVE id from {name}");
            match &record {
                Enrichment::Cve(cve) => {
                    for cvss in &cve.cvss {
                        assert!((0.0..=10.0).contains(&cvss.base_score), "{} scores {}", cve.id, cvss.base_score);
                    }
                }
                Enrichment::Epss(score) => {
                    assert!((0.0..=1.0).contains(&score.score), "{} has EPSS {}", score.cve, score.score);
                }
                Enrichment::Kev(_) => {}
            }
        };
        match parse_enrichment_reader(reader, name, kind, &mut check) {
            Ok(summary) => assert_eq!(summary.kind, kind),
            Err(error) => assert!(error.to_string().contains(name), "error without file name: {error}"),
        }
    }
});
