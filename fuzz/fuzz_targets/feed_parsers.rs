//! Parses arbitrary bytes with every feed parser, as a plain file of each
//! format and as a tar archive of OSV records. Parsing must never panic,
//! every error must name the file, and every advisory that comes out must
//! have an id, at least one affected entry and fixed versions that dpkg
//! accepts.

#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use vulnloop_feeds::{parse_reader, FeedKind};
use vulnloop_version::DpkgVersion;

/// Uncompressed file names that select each parser and its plain layout.
const CASES: [(&str, FeedKind); 7] = [
    ("DSA-1-1.json", FeedKind::Osv),
    ("debian-osv.tar", FeedKind::Osv),
    ("oval-definitions-bookworm.xml", FeedKind::DebianOval),
    ("com.ubuntu.jammy.usn.oval.xml", FeedKind::UbuntuOval),
    ("json", FeedKind::DebianTracker),
    ("security-support-ended.deb12", FeedKind::DebianSecuritySupport),
    ("list", FeedKind::DebianAdvisoryList),
];

fuzz_target!(|bytes: &[u8]| {
    for (name, kind) in CASES {
        let reader = Box::new(Cursor::new(bytes.to_vec()));
        let mut check = |advisory: vulnloop_advisory::Advisory| {
            assert!(!advisory.id.is_empty(), "advisory without id from {name}");
            assert!(!advisory.affected.is_empty(), "{} from {name} has no entry", advisory.id);
            for entry in &advisory.affected {
                if let Some(fixed) = entry.status.fixed_version() {
                    assert!(fixed.parse::<DpkgVersion>().is_ok(), "{} has fixed version {fixed:?}", advisory.id);
                }
            }
        };
        match parse_reader(reader, name, kind, &mut check) {
            Ok(summary) => assert_eq!(summary.kind, kind),
            Err(error) => assert!(error.to_string().contains(name), "error without file name: {error}"),
        }
    }
});
