//! Differential tests: `RpmVersion` ordering against librpm, through
//! python3-rpm (`rpm.labelCompare` on our parsed parts, and `rpm.ver`, which
//! parses the text itself), on real EVRs and on hand-written edge cases.
//! python3-rpm must be installed for `/usr/bin/python3` (Debian: `apt-get
//! install python3-rpm`).

#[path = "rpm_differential/corpus.rs"]
mod corpus;
#[path = "rpm_differential/oracle.rs"]
mod oracle;
#[path = "rpm_differential/pairs.rs"]
mod pairs;

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use vulnloop_version::RpmVersion;

use corpus::real_versions;
use oracle::{librpm_verdicts, librpm_version};
use pairs::draw_pairs;

/// Minimum number of real pairs that librpm must judge for the test to pass.
const MIN_PAIRS: usize = 5_000;

/// Mismatches printed in full when a comparison test fails.
const SHOWN_MISMATCHES: usize = 50;

/// Hand-written cases with librpm's verdict, each also checked against librpm.
const EDGE_CASES: [(&str, &str, Ordering); 32] = [
    // `~` sorts before everything, the end included.
    ("1.0~rc1-1", "1.0-1", Ordering::Less),
    ("1.0~rc1-1", "1.0~rc2-1", Ordering::Less),
    ("1.0~~-1", "1.0~-1", Ordering::Less),
    ("1.0~rc1-1", "1.0~-1", Ordering::Greater),
    ("1.0-1~el9", "1.0-1", Ordering::Less),
    // `^` sorts after the end, before any other segment.
    ("1.0^git1-1", "1.0-1", Ordering::Greater),
    ("1.0^git1-1", "1.0.1-1", Ordering::Less),
    ("1.0^git1-1", "1.0a-1", Ordering::Less),
    ("1.0^-1", "1.0~-1", Ordering::Greater),
    ("1.0^^-1", "1.0^-1", Ordering::Greater),
    ("1.0^git1-1", "1.0^git2-1", Ordering::Less),
    ("1.0.-1", "1.0^-1", Ordering::Less),
    // Leading zeros are dropped from digit segments.
    ("1.01-1", "1.1-1", Ordering::Equal),
    ("1.001-1", "1.0-1", Ordering::Greater),
    ("1.00-1", "1.0-1", Ordering::Equal),
    ("0:1-1", "000:1-1", Ordering::Equal),
    ("1.10-1", "1.9-1", Ordering::Greater),
    (
        "1.99999999999999999999-1",
        "1.99999999999999999998-1",
        Ordering::Greater,
    ),
    // Digits are newer than letters; letters compare as bytes.
    ("1.1-1", "1.a-1", Ordering::Greater),
    ("1a-1", "1.1-1", Ordering::Less),
    ("1.0a-1", "1.0-1", Ordering::Greater),
    ("1.0A-1", "1.0a-1", Ordering::Less),
    ("1.0alpha-1", "1.0beta-1", Ordering::Less),
    ("2.0-1.el9", "2.0-1.el9_2", Ordering::Less),
    // Separators only split segments; their number and kind do not count.
    ("1.0-1", "1_0-1", Ordering::Equal),
    ("1..0-1", "1.0-1", Ordering::Equal),
    ("1.0.-1", "1.0-1", Ordering::Equal),
    ("1+0-1", "1.0-1", Ordering::Equal),
    ("1.\u{e4}0-1", "1.0-1", Ordering::Equal),
    // A missing release is older than any release (labelCompare's rule).
    ("1.0", "1.0-1", Ordering::Less),
    ("1.0", "1.0-~1", Ordering::Less),
    ("1:1.0", "1.0-1", Ordering::Greater),
];

fn verdict_name(ordering: Ordering) -> &'static str {
    match ordering {
        Ordering::Less => "lt",
        Ordering::Equal => "eq",
        Ordering::Greater => "gt",
    }
}

fn parse(text: &str) -> RpmVersion {
    text.parse()
        .unwrap_or_else(|error| panic!("real version does not parse: {error}"))
}

#[test]
fn real_versions_parse() {
    let mut failures = Vec::new();
    let mut count = 0;
    for (source, packages) in real_versions() {
        for (package, version) in packages
            .iter()
            .flat_map(|(p, vs)| vs.iter().map(move |v| (p, v)))
        {
            count += 1;
            if let Err(error) = version.parse::<RpmVersion>() {
                failures.push(format!("{source} ({package}): {error}"));
            }
        }
    }

    assert!(
        failures.is_empty(),
        "{} of {count} versions do not parse:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn ordering_matches_librpm_on_real_pairs() {
    let mut merged: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut per_source = BTreeMap::new();
    for (source, packages) in real_versions() {
        per_source.insert(source, packages.values().map(BTreeSet::len).sum::<usize>());
        for (package, versions) in packages {
            merged.entry(package).or_default().extend(versions);
        }
    }
    let pairs = draw_pairs(&merged);
    let parsed: Vec<(RpmVersion, RpmVersion)> = pairs
        .iter()
        .map(|pair| (parse(&pair.a), parse(&pair.b)))
        .collect();

    let started = std::time::Instant::now();
    let verdicts = librpm_verdicts(&parsed);
    eprintln!(
        "librpm {}: {} pairs judged in {:?}; versions per source {per_source:?}",
        librpm_version(),
        pairs.len(),
        started.elapsed()
    );

    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    let mut mismatches = Vec::new();
    for ((pair, (a, b)), librpm) in pairs.iter().zip(&parsed).zip(&verdicts) {
        *kinds.entry(pair.kind).or_default() += 1;
        *outcomes
            .entry(verdict_name(librpm.label_compare))
            .or_default() += 1;
        let ours = a.cmp(b);
        if ours != librpm.label_compare || ours != librpm.ver {
            mismatches.push(format!(
                "{} vs {} ({}): librpm labelCompare {}, rpm.ver {}, vulnloop {}",
                pair.a,
                pair.b,
                pair.kind,
                verdict_name(librpm.label_compare),
                verdict_name(librpm.ver),
                verdict_name(ours)
            ));
        }
    }
    eprintln!("pair kinds {kinds:?}, librpm verdicts {outcomes:?}");

    assert!(
        pairs.len() >= MIN_PAIRS,
        "only {} pairs drawn, expected at least {MIN_PAIRS}",
        pairs.len()
    );
    assert_eq!(outcomes.len(), 3, "pairs cover lt, eq and gt: {outcomes:?}");
    assert!(
        mismatches.is_empty(),
        "{} of {} pairs differ from librpm, first {SHOWN_MISMATCHES}:\n{}",
        mismatches.len(),
        pairs.len(),
        mismatches
            .iter()
            .take(SHOWN_MISMATCHES)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn edge_cases_match_expected() {
    for (a, b, expected) in EDGE_CASES {
        let ours = parse(a).cmp(&parse(b));
        assert_eq!(verdict_name(ours), verdict_name(expected), "{a} vs {b}");
    }
}

#[test]
fn edge_cases_match_label_compare() {
    let parsed: Vec<(RpmVersion, RpmVersion)> = EDGE_CASES
        .iter()
        .map(|(a, b, _)| (parse(a), parse(b)))
        .collect();
    let verdicts = librpm_verdicts(&parsed);
    for ((a, b, expected), librpm) in EDGE_CASES.iter().zip(verdicts) {
        assert_eq!(
            verdict_name(librpm.label_compare),
            verdict_name(*expected),
            "labelCompare on {a} vs {b}"
        );
    }
}

#[test]
fn edge_cases_match_rpm_ver() {
    let parsed: Vec<(RpmVersion, RpmVersion)> = EDGE_CASES
        .iter()
        .map(|(a, b, _)| (parse(a), parse(b)))
        .collect();
    let verdicts = librpm_verdicts(&parsed);
    for ((a, b, expected), librpm) in EDGE_CASES.iter().zip(verdicts) {
        assert_eq!(
            verdict_name(librpm.ver),
            verdict_name(*expected),
            "rpm.ver on {a} vs {b}"
        );
    }
}
