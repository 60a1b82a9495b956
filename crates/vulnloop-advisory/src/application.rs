//! Advisories about web applications and libraries: WordPress core,
//! plugins and themes, Composer, npm, PyPI and Maven packages.
//!
//! Unlike distribution advisories, which state one fixed version per
//! release, these give version ranges, often several per advisory (one per
//! maintained branch), and some give only a last affected version.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};
use vulnloop_inventory::AppEcosystem;

use crate::Severity;

/// One advisory about one package of an application ecosystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppAdvisory {
    /// Feed the record came from (`wordfence`, `friendsofphp`).
    pub source: String,
    /// Record id in that feed.
    pub id: String,
    /// CVE ids, possibly none.
    pub cves: Vec<String>,
    pub title: Option<String>,
    pub severity: Severity,
    /// Severity as the feed spelled it, or its CVSS score.
    pub severity_raw: Option<String>,
    pub url: Option<String>,
    /// Last modification or publication date, when the feed has one.
    pub modified: Option<String>,
    pub ecosystem: AppEcosystem,
    /// Package name as the ecosystem spells it.
    pub package: String,
    /// The affected versions: a version is affected when it is in any range.
    pub ranges: Vec<VersionRange>,
}

/// Versions that satisfy every bound (`>= 6.2, < 6.2.1`); no bound means every version.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct VersionRange {
    pub bounds: Vec<Bound>,
}

/// One comparison of a range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bound {
    pub operator: Operator,
    pub version: String,
}

/// Comparison operators of version constraints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Operator {
    #[serde(rename = "<")]
    Less,
    #[serde(rename = "<=")]
    LessOrEqual,
    #[serde(rename = ">")]
    Greater,
    #[serde(rename = ">=")]
    GreaterOrEqual,
    #[serde(rename = "=")]
    Equal,
}

impl Operator {
    /// Returns the operator as written in constraints (`<=`).
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Less => "<",
            Operator::LessOrEqual => "<=",
            Operator::Greater => ">",
            Operator::GreaterOrEqual => ">=",
            Operator::Equal => "=",
        }
    }

    /// Parses `<`, `<=`, `>`, `>=`, `=` or `==`.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "<" => Operator::Less,
            "<=" => Operator::LessOrEqual,
            ">" => Operator::Greater,
            ">=" => Operator::GreaterOrEqual,
            "=" | "==" => Operator::Equal,
            _ => return None,
        })
    }

    fn holds(self, order: Ordering) -> bool {
        match self {
            Operator::Less => order == Ordering::Less,
            Operator::LessOrEqual => order != Ordering::Greater,
            Operator::Greater => order == Ordering::Greater,
            Operator::GreaterOrEqual => order != Ordering::Less,
            Operator::Equal => order == Ordering::Equal,
        }
    }
}

impl VersionRange {
    /// Returns whether `version` is in the range, comparing with `compare`.
    pub fn contains<E>(
        &self,
        version: &str,
        compare: impl Fn(&str, &str) -> Result<Ordering, E>,
    ) -> Result<bool, E> {
        for bound in &self.bounds {
            if !bound.operator.holds(compare(version, &bound.version)?) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Returns the first version outside the range above it: the `<` bound.
    pub fn fixed(&self) -> Option<&str> {
        self.upper(Operator::Less)
    }

    /// Returns the last affected version when the range ends with `<=`.
    pub fn last_affected(&self) -> Option<&str> {
        self.upper(Operator::LessOrEqual)
    }

    fn upper(&self, operator: Operator) -> Option<&str> {
        self.bounds
            .iter()
            .find(|bound| bound.operator == operator)
            .map(|bound| bound.version.as_str())
    }
}

impl std::fmt::Display for VersionRange {
    /// Writes `>= 6.2, < 6.2.1`, or `*` for every version.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.bounds.is_empty() {
            return f.write_str("*");
        }
        let parts: Vec<String> = self
            .bounds
            .iter()
            .map(|b| format!("{} {}", b.operator.as_str(), b.version))
            .collect();
        f.write_str(&parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(a: &str, b: &str) -> Result<Ordering, ()> {
        let parse = |v: &str| {
            v.split('.')
                .map(|p| p.parse::<u32>().unwrap_or(0))
                .collect::<Vec<_>>()
        };
        Ok(parse(a).cmp(&parse(b)))
    }

    fn range(bounds: &[(Operator, &str)]) -> VersionRange {
        VersionRange {
            bounds: bounds
                .iter()
                .map(|(operator, version)| Bound {
                    operator: *operator,
                    version: version.to_string(),
                })
                .collect(),
        }
    }

    #[test]
    fn bounded_range_contains() {
        let range = range(&[(Operator::GreaterOrEqual, "6.2"), (Operator::Less, "6.2.1")]);
        assert_eq!(range.contains("6.2", numeric), Ok(true));
        assert_eq!(range.contains("6.2.1", numeric), Ok(false));
        assert_eq!(range.contains("6.1.9", numeric), Ok(false));
        assert_eq!(range.fixed(), Some("6.2.1"));
        assert_eq!(range.to_string(), ">= 6.2, < 6.2.1");
    }

    #[test]
    fn empty_range_is_everything() {
        assert_eq!(VersionRange::default().contains("1.0", numeric), Ok(true));
        assert_eq!(VersionRange::default().to_string(), "*");
    }
}
