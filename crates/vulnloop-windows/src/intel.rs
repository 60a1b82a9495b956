//! One fix statement of a Microsoft feed: this KB fixes this CVE on this product.

use serde::{Deserialize, Serialize};

/// Feed a [`WindowsFix`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FixSource {
    /// The MSRC CVRF documents.
    MsrcCvrf,
    /// The wesng definitions (compiled from MSRC, bulletins and NVD).
    Wesng,
}

impl FixSource {
    /// Returns the source name stored in the database (`msrc-cvrf`, `wesng`).
    pub fn as_str(self) -> &'static str {
        match self {
            FixSource::MsrcCvrf => "msrc-cvrf",
            FixSource::Wesng => "wesng",
        }
    }

    /// Parses a stored source name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "msrc-cvrf" => Some(FixSource::MsrcCvrf),
            "wesng" => Some(FixSource::Wesng),
            _ => None,
        }
    }
}

/// A KB that fixes a CVE on one Windows product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowsFix {
    pub source: FixSource,
    /// CVE id, or the advisory id for records without one (`ADV990001`).
    pub cve: String,
    /// Normalized product, see [`crate::product::product_key`].
    pub product_key: String,
    /// Product name as the feed spells it.
    pub product: String,
    /// KB number without the `KB` prefix (`5034127`).
    pub kb: String,
    /// Build the update brings (`10.0.17763.5329`), when MSRC states it.
    pub fixed_build: Option<String>,
    /// KB numbers this update supersedes.
    pub supersedes: Vec<String>,
    /// Whether installing it requires a restart, when stated.
    pub restart_required: Option<bool>,
    /// MSRC remediation sub-type (`Security Update`, `Monthly Rollup`, `Security Only`).
    pub subtype: Option<String>,
    /// Vendor severity (`Critical`, `Important`, `Moderate`, `Low`).
    pub severity: Option<String>,
    /// Impact (`Remote Code Execution`).
    pub impact: Option<String>,
    /// Vulnerability title.
    pub title: Option<String>,
    /// Release date of the document or row (`YYYY-MM-DD`).
    pub released: Option<String>,
    /// MSRC document id (`2024-Jan`) or wesng file name.
    pub document: String,
    /// Download page.
    pub url: Option<String>,
}

impl WindowsFix {
    /// Returns the revision (UBR) of the fixed build when it has the host's
    /// `major.minor.build` (`10.0.17763`).
    pub fn fixed_revision_on(&self, version: &str) -> Option<u32> {
        let fixed = self.fixed_build.as_deref()?;
        let (prefix, revision) = fixed.rsplit_once('.')?;
        (prefix == version).then(|| revision.parse().ok()).flatten()
    }
}

/// Returns the Microsoft Update Catalog search page of a KB number, which
/// MSRC gives as the URL of most remediations.
pub fn catalog_url(kb: &str) -> String {
    format!("https://catalog.update.microsoft.com/v7/site/Search.aspx?q=KB{kb}")
}

/// Returns the KB numbers (six or seven digits, or older four and five
/// digit ones) in a free-form list such as `5033371; 5034000` or `KB4010250`.
pub(crate) fn kb_numbers(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|part| part.len() >= 4 && part.len() <= 8)
        .map(str::to_string)
        .collect()
}
