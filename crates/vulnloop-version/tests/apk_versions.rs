//! apk version ordering on hand-checked pairs and real versions.
//!
//! apk-tools is not packaged by Debian, so there is no differential test
//! against the real `apk version -t`. In its place, `ApkVersion` (a token
//! list compared in order) is checked against a statement-by-statement port
//! of apk-tools' comparison in `apk_versions/reference.rs`, and both against
//! a table of pairs whose verdicts follow from apk-tools' rules.

#[path = "apk_versions/corpus.rs"]
mod corpus;
#[path = "apk_versions/reference.rs"]
mod reference;

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use vulnloop_version::ApkVersion;

use reference::{apk_compare, apk_validate};

use Ordering::{Equal, Greater, Less};

/// Ordered pairs. Most come from Alpine's secdb and apk databases.
const PAIRS: [(&str, &str, Ordering); 57] = [
    // Letters after the last number (openssl).
    ("1.1.1k-r0", "1.1.1l-r0", Less),
    ("1.0.2u-r0", "1.1.1a-r0", Less),
    ("1.1.1w-r1", "3.0.1-r0", Less),
    ("1.0.2h-r1", "1.0.2h-r4", Less),
    ("1.2", "1.2a", Less),
    ("1.2a", "1.2.1", Less),
    ("1.2z", "1.3", Less),
    // Package releases.
    ("1.24.2-r12", "1.24.2-r2", Greater),
    ("1.35.0-r7", "1.35.0-r17", Less),
    ("7.36.0", "7.36.0-r0", Less),
    ("8.1.1365", "8.1.1365-r0", Less),
    ("1.2-r5", "1.2.1", Less),
    ("1.2-r0", "1.2-r00", Equal),
    ("6.8_p1-r10", "6.8_p1-r9", Greater),
    // Numbers and leading zeros after a dot (vim).
    ("7.4.712-r2", "7.4.943-r4", Less),
    ("7.4.1831-r2", "7.4.943-r5", Greater),
    ("8.0.0056-r0", "8.0.0329-r0", Less),
    ("9.0.0050-r0", "9.0.0224-r0", Less),
    ("9.0.0999-r0", "9.0.1167-r0", Less),
    ("1.01", "1.1", Less),
    ("1.001", "1.01", Less),
    ("1.0", "1.00", Greater),
    ("1.0", "1.0.0", Less),
    ("1.10", "1.9", Greater),
    ("10", "9", Greater),
    ("20220614-r0", "3.0.3-r0", Greater),
    ("0", "1.0.2h-r0", Less),
    // Pre-release suffixes.
    ("1.2.2_pre2-r0", "1.2.2-r0", Less),
    ("2.9.11_pre20061021-r2", "2.9.11-r0", Less),
    ("0.8_alpha-r1", "0.8-r0", Less),
    ("0.99_beta19-r3", "0.99_beta20-r0", Less),
    ("1.0.0_beta8-r1", "1.0.0_rc6-r1", Less),
    ("1.0.0_rc9", "1.0.0_rc10", Less),
    ("1.0.0_rc95-r0", "1.0.0_rc10-r0", Greater),
    ("1.2_alpha", "1.2_beta", Less),
    ("1.2_beta2", "1.2_pre1", Less),
    ("1.2_pre3", "1.2_rc1", Less),
    ("1.2_rc", "1.2_rc0", Less),
    ("1.2_rc0", "1.2_rc00", Equal),
    ("1.2_rc1-r3", "1.2-r0", Less),
    ("1.2_rc1_alpha", "1.2_rc1", Less),
    // Post-release suffixes.
    ("1.2", "1.2_cvs", Less),
    ("1.2_cvs", "1.2_svn", Less),
    ("1.2_svn", "1.2_git", Less),
    ("1.2_git", "1.2_hg", Less),
    ("1.2_hg", "1.2_p", Less),
    ("1.2_p1", "1.2_p2", Less),
    ("1.2_p1", "1.2.1", Less),
    ("1.2_p1-r0", "1.2-r5", Greater),
    ("1.2-r5", "1.2_p1", Less),
    ("1.2_rc1_p2", "1.2_rc1", Greater),
    ("1.9.12_p2-r0", "1.9.12-r1", Greater),
    ("1.9.5_p2-r0", "1.9.5p2-r0", Less),
    ("11.0.4_p11-r0", "11.0.5_p10-r0", Less),
    ("0_git20231012-r0", "0.1-r0", Less),
    ("13.2.1_git20231014-r0", "13.2.1-r0", Greater),
    ("1.2.4_git20230717-r4", "1.2.4-r4", Greater),
];

/// secdb keys that apk-tools rejects too: a hyphen not followed by `r`.
const INVALID_SECDB_KEYS: [&str; 5] = [
    "1.11-20-r0",
    "10.0.11-0",
    "2021-03-27-r5",
    "4.10-1-r1",
    "57-1-r2",
];

fn parse(text: &str) -> ApkVersion {
    text.parse()
        .unwrap_or_else(|error| panic!("valid version rejected: {error}"))
}

fn all_versions() -> BTreeMap<String, BTreeSet<String>> {
    let mut versions = corpus::secdb_fixed();
    for (package, installed) in corpus::installed() {
        versions.entry(package).or_default().extend(installed);
    }
    versions
}

#[test]
fn pairs_ordered_as_expected() {
    for (a, b, expected) in PAIRS {
        assert_eq!(parse(a).cmp(&parse(b)), expected, "{a} vs {b}");
    }
}

#[test]
fn pairs_reversed_ordered_opposite() {
    for (a, b, expected) in PAIRS {
        assert_eq!(parse(b).cmp(&parse(a)), expected.reverse(), "{b} vs {a}");
    }
}

#[test]
fn pairs_match_reference_port() {
    for (a, b, expected) in PAIRS {
        assert_eq!(apk_compare(a, b), expected, "reference port on {a} vs {b}");
    }
}

#[test]
fn real_versions_parse() {
    let versions = all_versions();
    let distinct: BTreeSet<&String> = versions.values().flatten().collect();
    let mut failures = Vec::new();
    for version in &distinct {
        let ours = version.parse::<ApkVersion>();
        let known_invalid = INVALID_SECDB_KEYS.contains(&version.as_str());
        if ours.is_ok() == known_invalid {
            failures.push(format!("{version}: {ours:?}"));
        }
    }
    eprintln!(
        "{} distinct real versions over {} packages",
        distinct.len(),
        versions.len()
    );

    assert!(
        distinct.len() >= 4_000,
        "only {} real versions",
        distinct.len()
    );
    assert!(
        failures.is_empty(),
        "unexpected parse results:\n{}",
        failures.join("\n")
    );
}

#[test]
fn validity_matches_reference_port() {
    let versions = all_versions();
    for version in versions.values().flatten() {
        assert_eq!(
            version.parse::<ApkVersion>().is_ok(),
            apk_validate(version),
            "validity of {version:?}"
        );
    }
}

#[test]
fn real_pairs_match_reference_port() {
    let versions = all_versions();
    let mut mismatches = Vec::new();
    let mut count = 0;
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for package_versions in versions.values() {
        let valid: Vec<&String> = package_versions
            .iter()
            .filter(|version| apk_validate(version))
            .collect();
        // Every pair within a package: secdb packages have few fixed versions.
        for a in &valid {
            for b in &valid {
                count += 1;
                let expected = apk_compare(a, b);
                *outcomes.entry(format!("{expected:?}")).or_default() += 1;
                let ours = parse(a).cmp(&parse(b));
                if ours != expected {
                    mismatches.push(format!(
                        "{a} vs {b}: apk-tools port {expected:?}, ApkVersion {ours:?}"
                    ));
                }
            }
        }
    }
    eprintln!("{count} same-package pairs checked, outcomes {outcomes:?}");

    assert!(count >= 5_000, "only {count} pairs");
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
