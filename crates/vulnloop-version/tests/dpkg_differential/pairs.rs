//! Deterministic choice of version pairs to compare.
//!
//! Versions of the same package compared with each other are the comparisons
//! that matter to a scanner, so most pairs are neighbours within a package.
//! Random pairs within and across packages, and pairs of equal versions
//! spelled differently, cover the rest.

use std::collections::{BTreeMap, BTreeSet};

use vulnloop_version::DpkgVersion;

use super::corpus::Sample;

/// Random pairs of versions of one package.
const SAME_PACKAGE_RANDOM_PAIRS: usize = 1_500;
/// Random pairs of versions of any package.
const CROSS_PACKAGE_RANDOM_PAIRS: usize = 1_000;
/// One version in this many gets a pair with an equal spelling of itself.
const EQUAL_SPELLING_STRIDE: usize = 20;

/// Two versions to compare, and why they were chosen.
pub struct Pair {
    pub a: String,
    pub b: String,
    pub kind: &'static str,
}

/// A linear congruential generator (Knuth's MMIX constants): fixed seed, no
/// dependency, same pairs on every run.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, bound: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        // The high bits of an LCG are the random ones.
        ((self.0 >> 33) % bound as u64) as usize
    }
}

/// Draws the pairs from the samples that parse and have no white space, so
/// that a pair fits one line of the dpkg script.
pub fn draw_pairs(samples: &[Sample]) -> Vec<Pair> {
    let usable = |sample: &&Sample| {
        sample.version.parse::<DpkgVersion>().is_ok()
            && !sample.version.contains(char::is_whitespace)
    };
    let mut by_package: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut distinct: BTreeSet<&str> = BTreeSet::new();
    for sample in samples.iter().filter(usable) {
        distinct.insert(&sample.version);
        if let Some(package) = &sample.package {
            by_package
                .entry(package)
                .or_default()
                .insert(&sample.version);
        }
    }
    let packages: Vec<Vec<&str>> = by_package
        .into_values()
        .map(|set| set.into_iter().collect())
        .collect();
    let distinct: Vec<&str> = distinct.into_iter().collect();
    let mut lcg = Lcg(0x5eed_d9c6);

    let mut pairs = same_package_neighbours(&packages);
    pairs.extend(same_package_random(&packages, &mut lcg));
    pairs.extend(cross_package_random(&distinct, &mut lcg));
    pairs.extend(equal_spellings(&distinct));
    deduplicate(pairs)
}

fn pair(a: &str, b: &str, kind: &'static str) -> Pair {
    Pair {
        a: a.to_string(),
        b: b.to_string(),
        kind,
    }
}

/// Pairs each version of a package with the next one in string order.
fn same_package_neighbours(packages: &[Vec<&str>]) -> Vec<Pair> {
    packages
        .iter()
        .flat_map(|versions| versions.windows(2))
        .map(|window| pair(window[0], window[1], "same package, neighbours"))
        .collect()
}

fn same_package_random(packages: &[Vec<&str>], lcg: &mut Lcg) -> Vec<Pair> {
    let candidates: Vec<&Vec<&str>> = packages
        .iter()
        .filter(|versions| versions.len() > 2)
        .collect();
    if candidates.is_empty() {
        return Vec::new();
    }
    (0..SAME_PACKAGE_RANDOM_PAIRS)
        .map(|_| {
            let versions = candidates[lcg.below(candidates.len())];
            let a = versions[lcg.below(versions.len())];
            let b = versions[lcg.below(versions.len())];
            pair(a, b, "same package, random")
        })
        .collect()
}

fn cross_package_random(distinct: &[&str], lcg: &mut Lcg) -> Vec<Pair> {
    if distinct.is_empty() {
        return Vec::new();
    }
    (0..CROSS_PACKAGE_RANDOM_PAIRS)
        .map(|_| {
            let a = distinct[lcg.below(distinct.len())];
            let b = distinct[lcg.below(distinct.len())];
            pair(a, b, "any package, random")
        })
        .collect()
}

/// Pairs every `EQUAL_SPELLING_STRIDE`th version with an equal spelling:
/// an explicit `0:` epoch, a `-0` revision, or a leading zero.
fn equal_spellings(distinct: &[&str]) -> Vec<Pair> {
    distinct
        .iter()
        .step_by(EQUAL_SPELLING_STRIDE)
        .enumerate()
        .filter_map(|(index, version)| {
            let respelled = match index % 3 {
                0 if !version.contains(':') => format!("0:{version}"),
                1 if !version.contains('-') => format!("{version}-0"),
                _ if !version.contains(':') => format!("0{version}"),
                _ => return None,
            };
            Some(pair(version, &respelled, "equal spelling"))
        })
        .collect()
}

/// Drops repeated pairs, keeping the first, so each pair is checked once.
fn deduplicate(pairs: Vec<Pair>) -> Vec<Pair> {
    let mut seen = BTreeSet::new();
    pairs
        .into_iter()
        .filter(|pair| seen.insert((pair.a.clone(), pair.b.clone())))
        .collect()
}
