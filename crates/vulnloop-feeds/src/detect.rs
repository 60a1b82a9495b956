//! Tells which feed a file is, from its name and, for generic JSON names, its first bytes.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::input::{self, split_compression, Compression};
use crate::FeedKind;

/// Bytes read from the start of a file with a generic name to recognize it.
const SNIFF_BYTES: u64 = 64 * 1024;

/// The verdict of the file name alone.
enum Guess {
    Kind(FeedKind),
    /// The name (`advisory.json`, `json`, `list`, `updateinfo.xml`) fits several formats: look at the content.
    ReadContent,
}

/// Identifies a feed file by its name (and, where names are ambiguous, its first bytes).
///
/// Enrichment feeds are recognized too. NVD JSON 1.1 and 2.0 feed files go
/// by their `nvdcve-1.1-` and `nvdcve-2.0-` names, and the `.meta` files
/// beside them are not feeds. NVD API pages and single CVE JSON 5 records go
/// by content, and so do CVE JSON 5 JSON Lines (`.jsonl`). cvelistV5
/// archives, the KEV catalog (not its `_schema.json`) and
/// `epss_scores-*.csv` files go by name.
///
/// Returns `None` for files that are not a feed this crate reads, including
/// OVAL of other vendors, xz archives and zip archives of advisory feeds
/// (only enrichment feeds are read from a zip). A file that cannot be
/// opened gives `None` when its name alone does not decide.
pub fn detect(path: &Path) -> Option<FeedKind> {
    let name = path.file_name()?.to_str()?;
    let kind = match guess_from_name(name)? {
        Guess::Kind(kind) => kind,
        Guess::ReadContent => detect_from_content(path, name)?,
    };
    let zip = input::packing(name).ok()?.compression == Compression::Zip;
    (kind.is_enrichment() || kind == FeedKind::Wesng || !zip).then_some(kind)
}

fn guess_from_name(name: &str) -> Option<Guess> {
    let lower = name.to_ascii_lowercase();
    let packing = input::packing(&lower).ok()?;
    let (_, inner) = split_compression(&lower);
    let usn_name = inner.strip_prefix("oci.").unwrap_or(inner);
    if inner.ends_with("_schema.json") {
        // A JSON Schema, such as the KEV catalog's, describes a feed but is not one.
        return None;
    }

    let kind = if let Some(kind) = enrichment_kind_of_name(inner, packing.tar) {
        kind
    } else if let Some(kind) = windows_kind_of_name(&lower) {
        kind
    } else if inner.starts_with("oval-definitions-") && inner.ends_with(".xml") {
        FeedKind::DebianOval
    } else if usn_name.starts_with("com.ubuntu.") && usn_name.ends_with(".usn.oval.xml") {
        FeedKind::UbuntuOval
    } else if is_security_support_name(inner, packing.tar) {
        FeedKind::DebianSecuritySupport
    } else if let Some(kind) = application_kind_of_name(inner, packing.tar) {
        kind
    } else if packing.tar && inner.contains("osv") && is_osv_distribution(inner) {
        FeedKind::Osv
    } else if inner.starts_with("com.redhat.rhsa-") && inner.ends_with(".xml") {
        FeedKind::RedHatOval
    } else if inner.starts_with("org.rockylinux.rlsa-") && inner.ends_with(".xml") {
        FeedKind::RockyOval
    } else if inner.starts_with("com.oracle.elsa-") && inner.ends_with(".xml") {
        FeedKind::OracleOval
    } else if packing.tar && inner.starts_with("alpine-secdb") {
        FeedKind::AlpineSecdb
    } else if inner.contains("security-tracker") && inner.ends_with(".json") {
        // A saved download of the tracker document, such as `debian-security-tracker.json`.
        FeedKind::DebianTracker
    } else if inner.ends_with("dsa-list") || inner.ends_with("dla-list") {
        FeedKind::DebianAdvisoryList
    } else if inner.ends_with(".json") || inner == "json" || inner == "list" {
        return Some(Guess::ReadContent);
    } else if inner.ends_with(".jsonl") || inner.ends_with(".ndjson") {
        // JSON Lines of CVE JSON 5 records, recognized by the first line.
        return Some(Guess::ReadContent);
    } else if inner.contains("updateinfo") && inner.ends_with(".xml") {
        // Every yum repository names it so; only Amazon Linux's is read.
        return Some(Guess::ReadContent);
    } else {
        return None;
    };
    Some(Guess::Kind(kind))
}

/// Recognizes the names of enrichment feeds whose name decides.
fn enrichment_kind_of_name(inner: &str, tar: bool) -> Option<FeedKind> {
    let kind = if inner.starts_with("nvdcve-1.1-") && inner.ends_with(".json") {
        FeedKind::NvdJson11
    } else if inner.starts_with("nvdcve-2.0-") && inner.ends_with(".json") {
        FeedKind::NvdCve2
    } else if inner == "known_exploited_vulnerabilities.json" {
        FeedKind::CisaKev
    } else if inner.starts_with("epss_scores") && inner.ends_with(".csv") {
        FeedKind::Epss
    } else if tar && inner.starts_with("cvelistv5") {
        FeedKind::Cve5
    } else {
        return None;
    };
    Some(kind)
}

/// Recognizes application feeds by name: Wordfence JSON Lines
/// (`wordfence-vulns….jsonl`), the FriendsOfPHP archive
/// (`friendsofphp-security-advisories.tar.zst`) and OSV archives of
/// application ecosystems (`npm-osv.tar.zst`, `ghsa-osv.tar.zst`).
fn application_kind_of_name(inner: &str, tar: bool) -> Option<FeedKind> {
    let osv_ecosystem = [
        "npm",
        "pypi",
        "maven",
        "packagist",
        "ghsa",
        "github-advisory",
    ]
    .iter()
    .any(|prefix| inner.starts_with(prefix));
    if inner.contains("wordfence") && (inner.ends_with(".jsonl") || inner.ends_with(".ndjson")) {
        Some(FeedKind::Wordfence)
    } else if tar && inner.contains("friendsofphp") {
        Some(FeedKind::FriendsOfPhp)
    } else if tar && inner.contains("osv") && osv_ecosystem {
        Some(FeedKind::OsvApplication)
    } else {
        None
    }
}

/// Recognizes a tar archive of MSRC CVRF documents named `msrc-cvrf…`
/// (`.tar` or `.tar.zst`) and the wesng definitions saved as `wesng….zip`.
/// wesng publishes them as `definitions.zip`, a name too generic to go by.
fn windows_kind_of_name(lower: &str) -> Option<FeedKind> {
    if lower.starts_with("msrc-cvrf") && (lower.ends_with(".tar") || lower.ends_with(".tar.zst")) {
        Some(FeedKind::MsrcCvrf)
    } else if lower.starts_with("wesng") && lower.ends_with(".zip") {
        Some(FeedKind::Wesng)
    } else {
        None
    }
}

/// Recognizes the archive names of the OSV distributions this crate reads.
fn is_osv_distribution(inner: &str) -> bool {
    ["debian", "ubuntu", "almalinux", "rocky", "suse", "opensuse"]
        .iter()
        .any(|distribution| inner.starts_with(distribution))
}

/// Recognizes the list archive (`debian-security-support-12+….tar.zst`) and the lists themselves.
fn is_security_support_name(inner: &str, tar: bool) -> bool {
    let archive = tar && inner.starts_with("debian-security-support-");
    archive
        || inner.starts_with("security-support-ended")
        || inner.starts_with("security-support-limited")
}

/// Reads the start of a file with a generic name and recognizes OSV records,
/// Alpine secdb, Red Hat or SUSE CSAF, the security tracker's document, a DSA
/// or DLA list, Amazon Linux's updateinfo, or an enrichment feed: NVD JSON
/// 1.1 or 2.0, CVE JSON 5 records and the KEV catalog.
fn detect_from_content(path: &Path, name: &str) -> Option<FeedKind> {
    let file = File::open(path).ok()?;
    let packing = input::packing(name).ok()?;
    let reader = Box::new(BufReader::new(file));
    let head = input::with_decompressed(reader, name, packing.compression, |reader| {
        let mut head = Vec::new();
        let read = reader.take(SNIFF_BYTES).read_to_end(&mut head);
        read.map_err(|error| crate::FeedError::read(name, error))?;
        Ok(head)
    })
    .ok()?;
    let head = String::from_utf8_lossy(&head);
    kind_of_json(&head)
        .or_else(|| kind_of_list(&head))
        .or_else(|| kind_of_updateinfo(&head))
}

/// Recognizes Amazon Linux's `updateinfo.xml` by its collection names or ALAS ids.
fn kind_of_updateinfo(head: &str) -> Option<FeedKind> {
    let amazon = head.contains("short=\"amazon-linux") || head.contains("<id>ALAS");
    (head.contains("<updates") && amazon).then_some(FeedKind::AmazonUpdateinfo)
}

/// Recognizes a DSA or DLA list from its first line, such as `[29 Mar 2023] DSA-5380-1 …`.
fn kind_of_list(head: &str) -> Option<FeedKind> {
    let first = head.lines().find(|line| !line.trim().is_empty())?;
    let (_, after_date) = first.strip_prefix('[')?.split_once("] ")?;
    let advisory = after_date.starts_with("DSA-") || after_date.starts_with("DLA-");
    advisory.then_some(FeedKind::DebianAdvisoryList)
}

/// Recognizes a JSON document from its first bytes.
fn kind_of_json(head: &str) -> Option<FeedKind> {
    if !head.trim_start().starts_with('{') {
        return None;
    }
    let has = |needle: &str| head.contains(needle);
    let osv_ecosystems = [
        "\"Debian:",
        "\"Ubuntu:",
        "\"AlmaLinux:",
        "\"Rocky Linux:",
        "\"SUSE:",
        "\"openSUSE:",
    ];
    if has("\"affected\"") && osv_ecosystems.iter().any(|ecosystem| has(ecosystem)) {
        return Some(FeedKind::Osv);
    }
    if has("\"csaf_version\"") && has("access.redhat.com") {
        return Some(FeedKind::RedHatCsaf);
    }
    if has("\"csaf_version\"") && has("www.suse.com") {
        return Some(FeedKind::SuseCsaf);
    }
    if has("\"NVD_CVE\"") && has("\"vulnerabilities\"") {
        return Some(FeedKind::NvdCve2);
    }
    if has("\"CVE_Items\"") || has("\"CVE_data_numberOfCVEs\"") {
        return Some(FeedKind::NvdJson11);
    }
    // A long record can push `cveMetadata` past the sniffed bytes, but `dataType` comes first.
    let cve_record = has("\"dataType\"") && has("\"CVE_RECORD\"");
    if cve_record || (has("\"cveMetadata\"") && has("\"containers\"")) {
        return Some(FeedKind::Cve5);
    }
    if has("\"catalogVersion\"") && has("\"cveID\"") {
        return Some(FeedKind::CisaKev);
    }
    if has("\"distroversion\"") && has("\"secfixes\"") {
        return Some(FeedKind::AlpineSecdb);
    }
    if has("\"releases\"")
        && has("\"status\"")
        && (has("\"CVE-") || has("\"TEMP-"))
        && !has("\"affected\"")
    {
        return Some(FeedKind::DebianTracker);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_decides_generic_names() {
        let osv = r#"{"id": "DSA-1", "affected": [{"package": {"ecosystem": "Debian:12"}}]}"#;
        assert_eq!(kind_of_json(osv), Some(FeedKind::Osv));
        let tracker = r#"{"pkg": {"CVE-2020-1": {"releases": {"bookworm": {"status": "open"}}}}}"#;
        assert_eq!(kind_of_json(tracker), Some(FeedKind::DebianTracker));
        let alma = r#"{"id": "ALSA-1", "affected": [{"package": {"ecosystem": "AlmaLinux:9"}}]}"#;
        assert_eq!(kind_of_json(alma), Some(FeedKind::Osv));
        let fedora = r#"{"id": "FEDORA-1", "affected": [{"package": {"ecosystem": "Fedora:39"}}]}"#;
        assert_eq!(kind_of_json(fedora), None);
        let red_hat = r#"{"document": {"csaf_version": "2.0", "references": [{"url": "https://access.redhat.com/errata/RHSA-2023:7435"}]}}"#;
        assert_eq!(kind_of_json(red_hat), Some(FeedKind::RedHatCsaf));
        let suse = r#"{"document": {"csaf_version": "2.0", "publisher": {"namespace": "https://www.suse.com/"}}}"#;
        assert_eq!(kind_of_json(suse), Some(FeedKind::SuseCsaf));
        let secdb = r#"{"distroversion": "v3.21", "packages": [{"pkg": {"secfixes": {}}}]}"#;
        assert_eq!(kind_of_json(secdb), Some(FeedKind::AlpineSecdb));
        assert_eq!(kind_of_json("<xml/>"), None);
        let nvd = r#"{"resultsPerPage": 3, "format": "NVD_CVE", "vulnerabilities": [{"cve": {}}]}"#;
        assert_eq!(kind_of_json(nvd), Some(FeedKind::NvdCve2));
        let cve5 = r#"{"dataType": "CVE_RECORD", "cveMetadata": {"cveId": "CVE-2023-0001"}}"#;
        assert_eq!(kind_of_json(cve5), Some(FeedKind::Cve5));
        let kev = r#"{"title": "CISA Catalog", "catalogVersion": "2022.08.18", "vulnerabilities": [{"cveID": "CVE-2022-1"}]}"#;
        assert_eq!(kind_of_json(kev), Some(FeedKind::CisaKev));
    }

    #[test]
    fn names_decide_without_reading() {
        let kind = |name: &str| match guess_from_name(name) {
            Some(Guess::Kind(kind)) => Some(kind),
            _ => None,
        };
        assert_eq!(
            kind("debian-security-tracker.json"),
            Some(FeedKind::DebianTracker)
        );
        assert_eq!(
            kind("com.ubuntu.focal.usn.oval.xml.bz2"),
            Some(FeedKind::UbuntuOval)
        );
        assert_eq!(
            kind("oval-definitions-trixie.xml.bz2"),
            Some(FeedKind::DebianOval)
        );
        assert_eq!(
            kind("security-support-limited"),
            Some(FeedKind::DebianSecuritySupport)
        );
        assert_eq!(kind("almalinux9-osv.tar.zst"), Some(FeedKind::Osv));
        assert_eq!(
            kind("com.redhat.rhsa-RHEL9.xml.zst"),
            Some(FeedKind::RedHatOval)
        );
        assert_eq!(
            kind("org.rockylinux.rlsa-8.xml.bz2"),
            Some(FeedKind::RockyOval)
        );
        assert_eq!(
            kind("com.oracle.elsa-all.xml.bz2"),
            Some(FeedKind::OracleOval)
        );
        assert_eq!(kind("com.redhat.cve-RHEL9.xml"), None);
        assert_eq!(kind("nvdcve-1.1-2014.json.gz"), Some(FeedKind::NvdJson11));
        assert_eq!(
            kind("nvdcve-1.1-2019.snapshot-2020-03-01.json.zip"),
            Some(FeedKind::NvdJson11)
        );
        assert_eq!(kind("nvdcve-1.1-modified.meta"), None);
        assert_eq!(kind("nvdcve-2.0-2021.json.gz"), Some(FeedKind::NvdCve2));
        assert!(matches!(
            guess_from_name("cve5-vulnrichment.jsonl.zst"),
            Some(Guess::ReadContent)
        ));
        assert_eq!(kind("cvelistV5-main.tar.gz"), Some(FeedKind::Cve5));
        assert_eq!(
            kind("known_exploited_vulnerabilities.json.gz"),
            Some(FeedKind::CisaKev)
        );
        assert!(guess_from_name("known_exploited_vulnerabilities_schema.json").is_none());
        assert_eq!(kind("epss_scores-2023-03-07.csv.gz"), Some(FeedKind::Epss));
        assert_eq!(
            kind("msrc-cvrf-snapshot-20260706T222806Z.tar"),
            Some(FeedKind::MsrcCvrf)
        );
        assert_eq!(kind("wesng-definitions.zip"), Some(FeedKind::Wesng));
        assert!(matches!(
            guess_from_name("advisory.json"),
            Some(Guess::ReadContent)
        ));
    }

    #[test]
    fn updateinfo_content_decides_vendor() {
        let amazon = "<?xml version=\"1.0\"?>\n<updates>\n<update><id>ALAS2-2018-939</id>";
        assert_eq!(kind_of_updateinfo(amazon), Some(FeedKind::AmazonUpdateinfo));
        let rocky = "<?xml version=\"1.0\"?>\n<updates>\n<update><id>RLSA-2022:1</id>";
        assert_eq!(kind_of_updateinfo(rocky), None);
    }

    #[test]
    fn list_content_decides_generic_names() {
        let list = "[29 Mar 2023] DSA-5380-1 xorg-server - security update\n\t{CVE-2023-1393}\n";
        assert_eq!(kind_of_list(list), Some(FeedKind::DebianAdvisoryList));
        assert_eq!(kind_of_list("[bookworm] - openssl 3.0.8-1\n"), None);
    }
}
