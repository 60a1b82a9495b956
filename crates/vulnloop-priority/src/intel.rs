//! The enrichment facts of a finding: the CVEs of its advisory, merged.

use std::collections::BTreeMap;

use serde::Serialize;
use vulnloop_advisory::{CveFacts, Cvss, EpssScore, KevEntry};
use vulnloop_match::Finding;

/// Enrichment facts of a finding's CVEs.
///
/// An advisory may name several CVEs (a USN, an erratum). The finding is as
/// urgent as its most urgent CVE, so each fact is the strongest over them.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Intel {
    /// The preferred CVSS score of the CVE that scores highest, with that CVE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cvss: Option<CvssFact>,
    /// The KEV entry of a CVE that CISA lists (the earliest added).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kev: Option<KevEntry>,
    /// The highest EPSS score among the CVEs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epss: Option<EpssScore>,
    /// The earliest publication date of the CVEs, else the advisory's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// CWE ids of every CVE.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cwes: Vec<String>,
    /// Description of the first CVE that has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Reference URLs of the CVEs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// CVEs of the finding that no enrichment feed lists.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown_cves: Vec<String>,
}

/// A CVSS score and the CVE it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CvssFact {
    pub cve: String,
    #[serde(flatten)]
    pub cvss: Cvss,
    /// Rating of the score in its version's scale.
    pub rating: vulnloop_advisory::Severity,
}

/// Gathers the facts of a finding's CVEs from `facts` (keyed by CVE id).
pub fn intel_of(finding: &Finding, facts: &BTreeMap<String, CveFacts>) -> Intel {
    let mut intel = Intel::default();
    for cve in &finding.cves {
        let Some(known) = facts.get(cve) else {
            intel.unknown_cves.push(cve.clone());
            continue;
        };
        if let Some(cvss) = known.preferred_cvss() {
            let better = intel
                .cvss
                .as_ref()
                .is_none_or(|best| cvss.base_score > best.cvss.base_score);
            if better {
                intel.cvss = Some(CvssFact {
                    cve: cve.clone(),
                    cvss: cvss.clone(),
                    rating: cvss.severity(),
                });
            }
        }
        if let Some(kev) = &known.kev {
            if intel
                .kev
                .as_ref()
                .is_none_or(|first| kev.date_added < first.date_added)
            {
                intel.kev = Some(kev.clone());
            }
        }
        if let Some(epss) = &known.epss {
            if intel
                .epss
                .as_ref()
                .is_none_or(|best| epss.score > best.score)
            {
                intel.epss = Some(epss.clone());
            }
        }
        if let Some(published) = known.published() {
            if intel.published.as_deref().is_none_or(|p| published < p) {
                intel.published = Some(published.to_string());
            }
        }
        for record in &known.records {
            if intel.description.is_none() {
                intel.description.clone_from(&record.description);
            }
            for reference in &record.references {
                if !intel.references.contains(reference) {
                    intel.references.push(reference.clone());
                }
            }
        }
        intel
            .cwes
            .extend(known.cwes().into_iter().map(String::from));
    }
    intel.cwes.sort();
    intel.cwes.dedup();
    if intel.published.is_none() {
        intel.published.clone_from(&finding.published);
    }
    intel
}
