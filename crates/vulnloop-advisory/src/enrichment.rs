//! Facts about a CVE that rank a finding: CVSS, weakness, exploitation.
//!
//! These come from feeds keyed by CVE id (NVD, CVE JSON 5 with CISA's
//! additions, CISA KEV, FIRST EPSS), not from the vendor advisories that
//! decide whether a package is affected.

use serde::{Deserialize, Serialize};

use crate::Severity;

/// One record of an enrichment feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Enrichment {
    /// Details of one CVE from one source.
    Cve(CveRecord),
    /// One entry of CISA's Known Exploited Vulnerabilities catalog.
    Kev(KevEntry),
    /// One FIRST EPSS score.
    Epss(EpssScore),
}

impl Enrichment {
    /// Returns the CVE id the record is about.
    pub fn cve(&self) -> &str {
        match self {
            Enrichment::Cve(record) => &record.id,
            Enrichment::Kev(entry) => &entry.cve,
            Enrichment::Epss(score) => &score.cve,
        }
    }
}

/// Details of one CVE as one source publishes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CveRecord {
    /// CVE id (`CVE-2024-3094`).
    pub id: String,
    /// Source of the record: `nvd` or `cve5`.
    pub source: String,
    /// Publication date, RFC 3339 or `YYYY-MM-DD`.
    pub published: Option<String>,
    /// Last modification date, RFC 3339 or `YYYY-MM-DD`.
    pub modified: Option<String>,
    /// English description.
    pub description: Option<String>,
    /// CWE ids (`CWE-787`), without placeholders such as `NVD-CWE-noinfo`.
    pub cwes: Vec<String>,
    /// Reference URLs, in the order the source lists them, without duplicates.
    pub references: Vec<String>,
    /// CVSS vectors with their scores, one per scoring party and version.
    pub cvss: Vec<Cvss>,
}

/// A CVSS vector and its base score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cvss {
    /// CVSS version of the vector.
    pub version: CvssVersion,
    /// The vector string as published (`CVSS:3.1/AV:N/AC:L/…`).
    pub vector: String,
    /// Base score computed from the vector.
    pub base_score: f64,
    /// Scoring party: `nvd@nist.gov`, `CISA-ADP`, a CNA's short name.
    pub scored_by: String,
}

impl Cvss {
    /// Returns the qualitative rating of the base score in this version's scale.
    ///
    /// CVSS v2 has no *critical*; its ratings stop at *high* (7.0–10.0).
    pub fn severity(&self) -> Severity {
        let score = self.base_score;
        match self.version {
            CvssVersion::V2 => match score {
                s if s >= 7.0 => Severity::High,
                s if s >= 4.0 => Severity::Medium,
                _ => Severity::Low,
            },
            _ => match score {
                s if s >= 9.0 => Severity::Critical,
                s if s >= 7.0 => Severity::High,
                s if s >= 4.0 => Severity::Medium,
                s if s > 0.0 => Severity::Low,
                _ => Severity::Negligible,
            },
        }
    }
}

/// CVSS specification versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CvssVersion {
    #[serde(rename = "2.0")]
    V2,
    #[serde(rename = "3.0")]
    V3_0,
    #[serde(rename = "3.1")]
    V3_1,
    #[serde(rename = "4.0")]
    V4_0,
}

impl CvssVersion {
    /// The version number as written in vectors and output (`3.1`).
    pub fn as_str(self) -> &'static str {
        match self {
            CvssVersion::V2 => "2.0",
            CvssVersion::V3_0 => "3.0",
            CvssVersion::V3_1 => "3.1",
            CvssVersion::V4_0 => "4.0",
        }
    }

    /// Parses a name written by [`CvssVersion::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        [
            CvssVersion::V2,
            CvssVersion::V3_0,
            CvssVersion::V3_1,
            CvssVersion::V4_0,
        ]
        .into_iter()
        .find(|v| v.as_str() == text)
    }
}

/// One entry of CISA's Known Exploited Vulnerabilities catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KevEntry {
    /// CVE id.
    pub cve: String,
    /// Vendor or project, as CISA names it.
    pub vendor: Option<String>,
    /// Product, as CISA names it.
    pub product: Option<String>,
    /// CISA's name for the vulnerability.
    pub name: Option<String>,
    /// Date CISA added it to the catalog (`YYYY-MM-DD`).
    pub date_added: String,
    /// Date by which US federal agencies must act (`YYYY-MM-DD`).
    pub due_date: Option<String>,
    /// `Some(true)` when CISA lists use in ransomware campaigns,
    /// `Some(false)` for `Unknown`, `None` when the entry has no value.
    pub known_ransomware_use: Option<bool>,
    /// Action CISA requires of agencies.
    pub required_action: Option<String>,
}

/// One FIRST EPSS score: the probability of exploitation activity in the next 30 days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpssScore {
    /// CVE id.
    pub cve: String,
    /// Probability, 0 to 1.
    pub score: f64,
    /// Rank among all scored CVEs, 0 to 1; early files do not have it.
    pub percentile: Option<f64>,
    /// Score date (`YYYY-MM-DD`), from the file's header or name.
    pub date: Option<String>,
}

/// Everything known about one CVE, merged from the enrichment sources.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CveFacts {
    /// CVE id.
    pub id: String,
    /// Details, one record per source (NVD, CVE JSON 5).
    pub records: Vec<CveRecord>,
    /// The KEV entry, when CISA lists the CVE.
    pub kev: Option<KevEntry>,
    /// The EPSS score, when one is known.
    pub epss: Option<EpssScore>,
}

impl CveFacts {
    /// The score to rank by: the highest of the best-ranked CVSS version
    /// that any source gives (3.1, 3.0, then 4.0, then 2.0).
    ///
    /// The version decides before the score: a v3.1 score of 7.5 is
    /// preferred to a v2 score of 10.0 for the same CVE.
    pub fn preferred_cvss(&self) -> Option<&Cvss> {
        self.records
            .iter()
            .flat_map(|record| record.cvss.iter())
            .max_by(|a, b| {
                version_rank(a.version)
                    .cmp(&version_rank(b.version))
                    .then(a.base_score.total_cmp(&b.base_score))
            })
    }

    /// Returns the earliest publication date any source gives.
    pub fn published(&self) -> Option<&str> {
        self.records
            .iter()
            .filter_map(|r| r.published.as_deref())
            .min()
    }

    /// CWE ids of every source, without duplicates.
    pub fn cwes(&self) -> Vec<&str> {
        let mut cwes: Vec<&str> = self
            .records
            .iter()
            .flat_map(|r| r.cwes.iter().map(String::as_str))
            .collect();
        cwes.sort_unstable();
        cwes.dedup();
        cwes
    }
}

/// Orders versions for [`CveFacts::preferred_cvss`]: 3.x over 4.0 over 2.0.
///
/// CVSS 4.0 scores are still rare and scored by few parties, and NVD's 3.x
/// score is what most users compare against, so 3.x ranks first.
fn version_rank(version: CvssVersion) -> u8 {
    match version {
        CvssVersion::V2 => 0,
        CvssVersion::V4_0 => 1,
        CvssVersion::V3_0 => 2,
        CvssVersion::V3_1 => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cvss(version: CvssVersion, score: f64) -> Cvss {
        Cvss {
            version,
            vector: String::new(),
            base_score: score,
            scored_by: "test".into(),
        }
    }

    #[test]
    fn ratings_follow_each_version_scale() {
        assert_eq!(cvss(CvssVersion::V2, 10.0).severity(), Severity::High);
        assert_eq!(cvss(CvssVersion::V3_1, 9.0).severity(), Severity::Critical);
        assert_eq!(cvss(CvssVersion::V3_1, 6.9).severity(), Severity::Medium);
        assert_eq!(
            cvss(CvssVersion::V4_0, 0.0).severity(),
            Severity::Negligible
        );
    }

    #[test]
    fn newer_version_preferred_over_higher_old_score() {
        let record = CveRecord {
            id: "CVE-1".into(),
            source: "nvd".into(),
            published: None,
            modified: None,
            description: None,
            cwes: vec![],
            references: vec![],
            cvss: vec![
                cvss(CvssVersion::V2, 10.0),
                cvss(CvssVersion::V3_1, 7.5),
                cvss(CvssVersion::V3_1, 5.0),
            ],
        };
        let facts = CveFacts {
            id: "CVE-1".into(),
            records: vec![record],
            ..CveFacts::default()
        };
        assert_eq!(facts.preferred_cvss().map(|c| c.base_score), Some(7.5));
    }
}
