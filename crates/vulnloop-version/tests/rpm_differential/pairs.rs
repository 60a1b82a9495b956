//! Deterministic choice of EVR pairs to compare.
//!
//! Neighbouring versions of one package are the comparisons a scanner makes,
//! so they come first. Random pairs within a package and across packages,
//! and respellings of one version (explicit `0:` epoch, no release), follow.

use std::collections::{BTreeMap, BTreeSet};

/// Random pairs of versions of one package.
const SAME_PACKAGE_RANDOM_PAIRS: usize = 2_000;
/// Random pairs of versions of any package.
const CROSS_PACKAGE_RANDOM_PAIRS: usize = 1_500;
/// One version in this many gets a pair with a respelling of itself.
const RESPELLING_STRIDE: usize = 10;

/// Two EVRs to compare, and why they were chosen.
pub struct Pair {
    pub a: String,
    pub b: String,
    pub kind: &'static str,
}

/// A linear congruential generator (Knuth's MMIX constants): a fixed seed
/// gives the same pairs on every run.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, bound: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % bound as u64) as usize
    }
}

fn pair(a: &str, b: &str, kind: &'static str) -> Pair {
    Pair {
        a: a.to_string(),
        b: b.to_string(),
        kind,
    }
}

/// Draws pairs from the versions of each package, keyed by package name
/// across all sources.
pub fn draw_pairs(packages: &BTreeMap<String, BTreeSet<String>>) -> Vec<Pair> {
    let packages: Vec<Vec<&str>> = packages
        .values()
        .map(|versions| versions.iter().map(String::as_str).collect())
        .collect();
    let distinct: Vec<&str> = packages
        .iter()
        .flatten()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut lcg = Lcg(0x05ee_d0e1);

    let mut pairs: Vec<Pair> = packages
        .iter()
        .flat_map(|versions| versions.windows(2))
        .map(|window| pair(window[0], window[1], "same package, neighbours"))
        .collect();

    let several: Vec<&Vec<&str>> = packages
        .iter()
        .filter(|versions| versions.len() > 2)
        .collect();
    for _ in 0..SAME_PACKAGE_RANDOM_PAIRS {
        let versions = several[lcg.below(several.len())];
        let (a, b) = (
            versions[lcg.below(versions.len())],
            versions[lcg.below(versions.len())],
        );
        pairs.push(pair(a, b, "same package, random"));
    }
    for _ in 0..CROSS_PACKAGE_RANDOM_PAIRS {
        let (a, b) = (
            distinct[lcg.below(distinct.len())],
            distinct[lcg.below(distinct.len())],
        );
        pairs.push(pair(a, b, "any package, random"));
    }
    pairs.extend(respellings(&distinct));
    deduplicate(pairs)
}

/// Pairs versions with an explicit `0:` epoch, a missing release, or a
/// zero-padded first number.
fn respellings(distinct: &[&str]) -> Vec<Pair> {
    distinct
        .iter()
        .step_by(RESPELLING_STRIDE)
        .enumerate()
        .filter_map(|(index, version)| {
            let respelled = match index % 3 {
                0 if !version.contains(':') => format!("0:{version}"),
                1 => version.split_once('-')?.0.to_string(),
                _ if !version.contains(':') => format!("0{version}"),
                _ => return None,
            };
            Some(pair(version, &respelled, "respelling"))
        })
        .collect()
}

fn deduplicate(pairs: Vec<Pair>) -> Vec<Pair> {
    let mut seen = BTreeSet::new();
    pairs
        .into_iter()
        .filter(|pair| seen.insert((pair.a.clone(), pair.b.clone())))
        .collect()
}
