//! Parses arbitrary bytes with the RPM-family and Alpine feed parsers
//! (AlmaLinux and SUSE OSV, Alpine secdb, Red Hat, Rocky and Oracle OVAL,
//! Amazon updateinfo, Red Hat and SUSE CSAF). Parsing must never panic, every error
//! must name the file, and every advisory that comes out must have an id,
//! at least one affected entry and fixed versions without whitespace.

#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use vulnloop_feeds::{parse_reader, FeedKind};

/// Uncompressed file names that select each parser and its plain layout.
const CASES: [(&str, FeedKind); 11] = [
    ("ALSA-2023:7205.json", FeedKind::Osv),
    ("almalinux9-osv.tar", FeedKind::Osv),
    ("main.json", FeedKind::AlpineSecdb),
    ("com.redhat.rhsa-RHEL9.xml", FeedKind::RedHatOval),
    ("org.rockylinux.rlsa-9.xml", FeedKind::RockyOval),
    ("com.oracle.elsa-all.xml", FeedKind::OracleOval),
    ("updateinfo.xml", FeedKind::AmazonUpdateinfo),
    ("rhsa-2023_7435.json", FeedKind::RedHatCsaf),
    ("cve-2023-6212.json", FeedKind::RedHatCsaf),
    ("suse-su-403.json", FeedKind::SuseCsaf),
    ("csaf.tar", FeedKind::SuseCsaf),
];

fuzz_target!(|bytes: &[u8]| {
    for (name, kind) in CASES {
        let reader = Box::new(Cursor::new(bytes.to_vec()));
        let mut check = |advisory: vulnloop_advisory::Advisory| {
            assert!(!advisory.id.is_empty(), "advisory without id from {name}");
            assert!(!advisory.affected.is_empty(), "{} from {name} has no entry", advisory.id);
            for entry in &advisory.affected {
                if let Some(fixed) = entry.status.fixed_version() {
                    let one_word = !fixed.is_empty() && !fixed.contains(char::is_whitespace);
                    assert!(one_word, "{} has fixed version {fixed:?}", advisory.id);
                }
            }
        };
        match parse_reader(reader, name, kind, &mut check) {
            Ok(summary) => assert_eq!(summary.kind, kind),
            Err(error) => assert!(error.to_string().contains(name), "error without file name: {error}"),
        }
    }
});
