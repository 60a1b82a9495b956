//! Shared parts of the enrichment feed parsers: the record counter and the
//! builder that fills a [`CveRecord`] the same way for every source.

use std::io::Read;

use vulnloop_advisory::{CveRecord, CvssVersion, Enrichment};

use crate::skipped::Skipped;
use crate::{
    cisa_kev, cve5, cvss_score, epss, nvd_cve2, nvd_json11, FeedError, FeedKind, FeedSummary,
};

/// CWE placeholders of NVD that name no weakness.
const CWE_PLACEHOLDERS: [&str; 2] = ["NVD-CWE-Other", "NVD-CWE-noinfo"];

/// Reads one decompressed enrichment feed of `kind`.
pub(crate) fn parse(
    reader: Box<dyn Read + '_>,
    name: &str,
    kind: FeedKind,
    tar: bool,
    sink: &mut dyn FnMut(Enrichment),
) -> Result<FeedSummary, FeedError> {
    let mut output = Output::new(sink);
    if tar && kind != FeedKind::Cve5 {
        return Err(FeedError::WrongLayout {
            file: name.to_string(),
            kind,
            reason: "this feed is a single file, not a tar archive",
        });
    }
    let snapshot = match kind {
        FeedKind::NvdJson11 => nvd_json11::parse(reader, name, &mut output)?,
        FeedKind::NvdCve2 => nvd_cve2::parse(reader, name, &mut output)?,
        FeedKind::Cve5 => cve5::parse(reader, name, tar, &mut output)?,
        FeedKind::CisaKev => cisa_kev::parse(reader, name, &mut output)?,
        FeedKind::Epss => epss::parse(reader, name, &mut output)?,
        _ => {
            return Err(FeedError::WrongLayout {
                file: name.to_string(),
                kind,
                reason: "this is an advisory feed; read it with parse_file or parse_reader",
            })
        }
    };
    Ok(FeedSummary {
        kind,
        snapshot,
        records: output.records,
        skipped: output.skipped.into_lines(),
    })
}

/// Destination of parsed records, with the counts for the summary.
pub(crate) struct Output<'a> {
    sink: &'a mut dyn FnMut(Enrichment),
    records: usize,
    pub(crate) skipped: Skipped,
}

impl<'a> Output<'a> {
    fn new(sink: &'a mut dyn FnMut(Enrichment)) -> Self {
        Output {
            sink,
            records: 0,
            skipped: Skipped::default(),
        }
    }

    pub(crate) fn emit(&mut self, record: Enrichment) {
        self.records += 1;
        (self.sink)(record);
    }
}

/// Builds a [`CveRecord`]: drops CWE placeholders and duplicate references,
/// and scores each CVSS vector.
pub(crate) struct CveBuilder {
    record: CveRecord,
}

impl CveBuilder {
    pub(crate) fn new(id: String, source: FeedKind) -> Self {
        CveBuilder {
            record: CveRecord {
                id,
                source: source.source_name().to_string(),
                published: None,
                modified: None,
                description: None,
                cwes: Vec::new(),
                references: Vec::new(),
                cvss: Vec::new(),
            },
        }
    }

    pub(crate) fn dates(&mut self, published: Option<String>, modified: Option<String>) {
        self.record.published = published.filter(|date| !date.is_empty());
        self.record.modified = modified.filter(|date| !date.is_empty());
    }

    /// Keeps the first non-empty English description.
    pub(crate) fn description<'t>(&mut self, texts: impl IntoIterator<Item = (&'t str, &'t str)>) {
        if self.record.description.is_some() {
            return;
        }
        self.record.description = texts
            .into_iter()
            .find(|(lang, value)| is_english(lang) && !value.trim().is_empty())
            .map(|(_, value)| value.to_string());
    }

    /// Adds a CWE id such as `CWE-787`, dropping other words such as `n/a` and NVD's placeholders.
    pub(crate) fn cwe(&mut self, cwe: &str) {
        let cwe = cwe.trim();
        if !cwe.starts_with("CWE-") || CWE_PLACEHOLDERS.contains(&cwe) {
            return;
        }
        if !self.record.cwes.iter().any(|known| known == cwe) {
            self.record.cwes.push(cwe.to_string());
        }
    }

    pub(crate) fn reference(&mut self, url: &str) {
        let url = url.trim();
        if !url.is_empty() && !self.record.references.iter().any(|known| known == url) {
            self.record.references.push(url.to_string());
        }
    }

    /// Scores a vector and adds it. A vector that does not parse is dropped and counted in `skipped`.
    pub(crate) fn cvss(
        &mut self,
        declared: CvssVersion,
        vector: &str,
        scored_by: &str,
        skipped: &mut Skipped,
    ) {
        match cvss_score::score(declared, vector, scored_by) {
            Ok(cvss) => {
                if !self.record.cvss.contains(&cvss) {
                    self.record.cvss.push(cvss);
                }
            }
            Err(reason) => skipped.add(
                "CVSS vector dropped because it does not parse",
                &format!("{}: {reason}", self.record.id),
            ),
        }
    }

    pub(crate) fn build(self) -> Enrichment {
        Enrichment::Cve(self.record)
    }
}

/// Returns whether a language tag is English: `en`, `en-US`, or the `eng` of CVE JSON 4.
fn is_english(lang: &str) -> bool {
    let lower = lang.to_ascii_lowercase();
    lower == "en" || lower == "eng" || lower.starts_with("en-") || lower.starts_with("en_")
}

/// Returns whether `id` looks like a CVE id (`CVE-2024-3094`).
pub(crate) fn is_cve_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("CVE-") else {
        return false;
    };
    let Some((year, number)) = rest.split_once('-') else {
        return false;
    };
    let digits = |text: &str| !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit());
    year.len() == 4 && digits(year) && number.len() >= 4 && digits(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_drops_placeholders_and_duplicates() {
        let mut builder = CveBuilder::new("CVE-2024-0001".into(), FeedKind::NvdJson11);
        let mut skipped = Skipped::default();
        for cwe in ["CWE-79", "NVD-CWE-noinfo", "NVD-CWE-Other", "CWE-79", "n/a"] {
            builder.cwe(cwe);
        }
        for url in ["https://a", "https://b", "https://a"] {
            builder.reference(url);
        }
        builder.cvss(
            CvssVersion::V2,
            "AV:N/AC:L/Au:N/C:P/I:P/A:P",
            "nvd@nist.gov",
            &mut skipped,
        );
        builder.cvss(
            CvssVersion::V3_1,
            "CVSS:3.1/AV:Q",
            "nvd@nist.gov",
            &mut skipped,
        );
        builder.description([("es", "hola"), ("en", "hello")]);
        let Enrichment::Cve(record) = builder.build() else {
            panic!("the builder made no CVE record");
        };
        assert_eq!(record.cwes, ["CWE-79"]);
        assert_eq!(record.references, ["https://a", "https://b"]);
        assert_eq!(record.cvss.len(), 1);
        assert_eq!(record.description.as_deref(), Some("hello"));
        assert_eq!(skipped.into_lines().len(), 1);
    }

    #[test]
    fn cve_ids_checked() {
        assert!(is_cve_id("CVE-2014-0160"));
        assert!(is_cve_id("CVE-2021-1234567"));
        assert!(!is_cve_id("CVE-14-0160"));
        assert!(!is_cve_id("GHSA-1"));
        assert!(!is_cve_id("CVE-2014-016"));
    }
}
