//! Differential tests: our dpkg ordering and parser against `/usr/bin/dpkg`,
//! on real versions from the shared data.

#[path = "dpkg_differential/corpus.rs"]
mod corpus;
#[path = "dpkg_differential/oracle.rs"]
mod oracle;
#[path = "dpkg_differential/pairs.rs"]
mod pairs;

use std::cmp::Ordering;
use std::collections::BTreeMap;

use vulnloop_version::DpkgVersion;

use corpus::real_versions;
use oracle::{dpkg_check, dpkg_compare, dpkg_verdicts};
use pairs::draw_pairs;

/// Minimum number of pairs that dpkg must judge for the comparison test to pass.
const MIN_PAIRS: usize = 5_000;

/// Mismatches printed in full when a comparison test fails.
const SHOWN_MISMATCHES: usize = 50;

/// Versions dpkg rejects, each with an error or a warning. The empty string
/// is missing: `dpkg --compare-versions` reads it as the lowest version, while
/// `DpkgVersion` rejects it.
const INVALID_VERSIONS: [&str; 33] = [
    " ",
    "\t",
    "1.0 1",
    "1\t0",
    ":1.0",
    "a:1.0",
    "+:1.0",
    "-:1.0",
    "1a:1.0",
    "0x1:1.0",
    "1.0:2",
    "1.0-1:2",
    "-1:1.0",
    "2147483648:1.0",
    "99999999999999999999:1.0",
    "-99999999999999999999:1.0",
    "1:",
    "1:-1",
    "-1",
    "1.0-",
    "1:1.0-",
    "1.0-1-",
    "a1.0",
    "~1",
    "1::",
    "0:a",
    "\n1.0",
    "1.0\n",
    "1\n0",
    "1.0_1",
    "1.0-a_b",
    "1:1.0-1:2",
    "1.0\u{e4}",
];

/// Unusual spellings that dpkg accepts without a message, each paired with a
/// plain version to compare it with.
const EDGE_PAIRS: [(&str, &str); 16] = [
    (" 1.0\t", "1.0"),
    ("+1:1.0", "1:1.0"),
    (" +1:1.0", "1:1.0"),
    ("-0:1.0", "1.0"),
    ("+0:1.0", "1.0"),
    ("\n1:1.0", "1:1.0"),
    ("\u{b}2:1.0", "1:9.0"),
    ("\r1:1.0", "1:1.0"),
    ("2147483647:1", "1:1"),
    ("00001:1.0", "1:1.0"),
    ("1:2:3", "1:2"),
    ("0:1:2", "1:2"),
    ("1--1", "1-1"),
    ("1-~", "1"),
    ("1:1.0-+", "1:1.0"),
    ("1.0~", "1.0~~"),
];

fn verdict_name(ordering: Ordering) -> &'static str {
    match ordering {
        Ordering::Less => "lt",
        Ordering::Equal => "eq",
        Ordering::Greater => "gt",
    }
}

fn ours(a: &str, b: &str) -> Result<Ordering, String> {
    let a: DpkgVersion = a.parse().map_err(|error| format!("{error}"))?;
    let b: DpkgVersion = b.parse().map_err(|error| format!("{error}"))?;
    Ok(a.cmp(&b))
}

#[test]
fn real_versions_parse() {
    let samples = real_versions();
    let failures: Vec<String> = samples
        .iter()
        .filter_map(|sample| {
            let error = sample.version.parse::<DpkgVersion>().err()?;
            Some(format!("{} ({:?}): {error}", sample.origin, sample.package))
        })
        .collect();

    assert!(
        failures.is_empty(),
        "{} of {} real versions do not parse:\n{}",
        failures.len(),
        samples.len(),
        failures.join("\n")
    );
}

#[test]
fn real_versions_from_every_source() {
    let mut per_origin: BTreeMap<&str, usize> = BTreeMap::new();
    for sample in real_versions() {
        *per_origin.entry(sample.origin).or_default() += 1;
    }
    eprintln!("real versions per source: {per_origin:#?}");

    assert_eq!(per_origin.len(), 9, "sources with versions: {per_origin:?}");
}

#[test]
fn ordering_matches_dpkg_on_real_pairs() {
    let pairs = draw_pairs(real_versions());
    assert!(
        pairs.len() >= MIN_PAIRS,
        "only {} pairs drawn, expected at least {MIN_PAIRS}",
        pairs.len()
    );

    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for pair in &pairs {
        *kinds.entry(pair.kind).or_default() += 1;
    }
    let verdicts = dpkg_verdicts(&pairs);
    let mut mismatches = Vec::new();
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    for (pair, dpkg) in pairs.iter().zip(&verdicts) {
        *outcomes.entry(verdict_name(*dpkg)).or_default() += 1;
        let ours = ours(&pair.a, &pair.b);
        if ours.as_ref() != Ok(dpkg) {
            let ours = ours.map(verdict_name);
            mismatches.push(format!(
                "{} vs {} ({}): dpkg {}, vulnloop {ours:?}",
                pair.a,
                pair.b,
                pair.kind,
                verdict_name(*dpkg)
            ));
        }
    }
    eprintln!(
        "{} pairs checked against dpkg: {kinds:?}, dpkg verdicts {outcomes:?}",
        pairs.len()
    );

    assert!(
        mismatches.is_empty(),
        "{} of {} pairs differ from dpkg, first {SHOWN_MISMATCHES}:\n{}",
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
fn real_pairs_cover_every_outcome() {
    let pairs = draw_pairs(real_versions());
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    for pair in &pairs {
        if let Ok(ordering) = ours(&pair.a, &pair.b) {
            *outcomes.entry(verdict_name(ordering)).or_default() += 1;
        }
    }

    assert_eq!(outcomes.len(), 3, "pairs per outcome: {outcomes:?}");
}

#[test]
fn invalid_versions_rejected_like_dpkg() {
    let mut problems = Vec::new();
    for version in INVALID_VERSIONS {
        let dpkg = dpkg_check(version);
        let ours = version
            .parse::<DpkgVersion>()
            .err()
            .map(|error| error.reason.to_string());
        match (&dpkg.reason, &ours) {
            (None, _) => problems.push(format!(
                "{version:?}: dpkg accepts it (stderr {:?})",
                dpkg.stderr
            )),
            (Some(_), None) => {
                problems.push(format!("{version:?}: dpkg rejects it, vulnloop accepts it"))
            }
            (Some(theirs), Some(ours)) if theirs != ours => {
                problems.push(format!(
                    "{version:?}: dpkg says {theirs:?}, vulnloop says {ours:?}"
                ));
            }
            _ => {}
        }
    }

    assert!(
        problems.is_empty(),
        "invalid versions handled differently:\n{}",
        problems.join("\n")
    );
}

#[test]
fn edge_spellings_match_dpkg() {
    let mut problems = Vec::new();
    for (a, b) in EDGE_PAIRS {
        let (dpkg, stderr) = dpkg_compare(a, b);
        let ours = ours(a, b);
        if !stderr.is_empty() || dpkg.is_none() {
            problems.push(format!(
                "{a:?} vs {b:?}: dpkg did not compare cleanly: {stderr:?}"
            ));
        } else if dpkg != ours.as_ref().ok().copied() {
            let dpkg = dpkg.map(verdict_name);
            problems.push(format!(
                "{a:?} vs {b:?}: dpkg {dpkg:?}, vulnloop {:?}",
                ours.map(verdict_name)
            ));
        }
    }

    assert!(
        problems.is_empty(),
        "edge spellings compared differently:\n{}",
        problems.join("\n")
    );
}
