//! Feed parsers: Linux distribution vulnerability feeds into advisory
//! records, and CVE enrichment feeds into CVSS, CWE, KEV and EPSS facts.
//!
//! Advisory feeds (OSV, OVAL, CSAF, the Debian tracker and lists, Alpine
//! secdb, Amazon updateinfo) give one [`vulnloop_advisory::Advisory`] per
//! record, keeping the vendor's status and wording: [`parse_file`] or
//! [`parse_reader`] reads them.
//!
//! Enrichment feeds (NVD JSON 1.1, NVD CVE 2.0, CVE JSON 5, CISA KEV, FIRST
//! EPSS) give one [`vulnloop_advisory::Enrichment`] per record, with every
//! CVSS vector scored: [`parse_enrichment_file`] or
//! [`parse_enrichment_reader`] reads them. [`FeedKind::is_enrichment`]
//! distinguishes the two groups.
//!
//! [`detect`] recognizes the format of a file. Both groups decompress by
//! extension (`.zst`, `.gz`, `.bz2`) and walk tar archives entry by entry;
//! enrichment feeds may also be a `.zip` archive of one file. Large
//! enrichment files (NVD yearly feeds, CVE JSON 5 JSON Lines) are streamed
//! one record at a time.
//!
//! A record that cannot be read is skipped and listed in
//! [`FeedSummary::skipped`]; only a file that cannot be read as a whole
//! (wrong format, truncated, damaged) is a [`FeedError`].

mod alpine_secdb;
mod amazon_updateinfo;
mod app_constraint;
mod cisa_kev;
mod cve5;
mod cvss_score;
mod cvss_v2;
mod debian_advisory_list;
mod debian_oval;
mod debian_security_support;
mod debian_tracker;
mod detect;
mod dpkg;
mod enrichment;
mod epss;
mod error;
mod friendsofphp;
mod input;
mod json_stream;
mod nvd_cve2;
mod nvd_json11;
mod osv;
mod osv_app;
mod osv_ecosystem;
mod oval;
mod redhat_csaf;
mod redhat_oval;
mod rpm;
mod skipped;
mod suse_csaf;
mod ubuntu_oval;
mod wordfence;
mod xml_node;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use vulnloop_advisory::{Advisory, AppAdvisory, Enrichment};

pub use detect::detect;
pub use error::FeedError;

pub use vulnloop_advisory::{LIVEPATCH_MODULE_PREFIX, RUNNING_KERNEL_PREFIX};

/// Kinds of feed this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeedKind {
    /// OSV JSON records of the `Debian:N`, `Ubuntu:…`, `AlmaLinux:N` and
    /// `Rocky Linux:N` ecosystems.
    Osv,
    /// Debian OVAL, one file per release.
    DebianOval,
    /// Ubuntu USN OVAL, one file per release.
    UbuntuOval,
    /// The Debian security tracker's JSON document.
    DebianTracker,
    /// The lists of the `debian-security-support` package.
    DebianSecuritySupport,
    /// The security tracker's DSA and DLA lists (`data/DSA/list`, `data/DLA/list`).
    DebianAdvisoryList,
    /// Alpine secdb JSON, one file per branch and repository, or a tar archive of them.
    AlpineSecdb,
    /// Red Hat's RHSA OVAL, one file per major release.
    RedHatOval,
    /// Rocky Linux's RLSA OVAL, one file per major release.
    RockyOval,
    /// Oracle Linux's ELSA OVAL, one file for all releases.
    OracleOval,
    /// Amazon Linux `updateinfo.xml` of one repository.
    AmazonUpdateinfo,
    /// Red Hat CSAF 2.0: one security advisory or one per-CVE VEX document.
    RedHatCsaf,
    /// SUSE CSAF 2.0 security advisories, one file or a tar archive of them.
    SuseCsaf,
    /// NVD JSON 1.1 feeds (`nvdcve-1.1-2014.json.gz`, `-modified`, `-recent`,
    /// and `.json.zip` downloads), an enrichment feed.
    NvdJson11,
    /// NVD CVE API 2.0 response pages and NVD 2.0 feed files
    /// (`nvdcve-2.0-2024.json.gz`), an enrichment feed.
    NvdCve2,
    /// CVE JSON 5 records: JSON Lines, one `CVE-*.json` record, or a tar
    /// archive of records such as cvelistV5, an enrichment feed.
    Cve5,
    /// CISA's Known Exploited Vulnerabilities catalog, an enrichment feed.
    CisaKev,
    /// FIRST EPSS scores (`epss_scores-2024-01-31.csv.gz`), an enrichment feed.
    Epss,
    /// Wordfence Intelligence WordPress core, plugin and theme records
    /// (JSON Lines), an application feed.
    Wordfence,
    /// FriendsOfPHP Composer advisories (a tar archive of YAML), an application feed.
    FriendsOfPhp,
    /// OSV records of npm, PyPI, Maven and Packagist packages (GHSA), an application feed.
    OsvApplication,
    /// MSRC CVRF documents, one month each, or a tar archive of them: a
    /// Windows feed, read by `vulnloop-windows`.
    MsrcCvrf,
    /// The wesng definitions zip (CVE → KB → Windows product): a Windows
    /// feed, read by `vulnloop-windows`.
    Wesng,
}

impl FeedKind {
    /// Every kind, in a fixed order.
    pub const ALL: [FeedKind; 23] = [
        FeedKind::Osv,
        FeedKind::DebianOval,
        FeedKind::UbuntuOval,
        FeedKind::DebianTracker,
        FeedKind::DebianSecuritySupport,
        FeedKind::DebianAdvisoryList,
        FeedKind::AlpineSecdb,
        FeedKind::RedHatOval,
        FeedKind::RockyOval,
        FeedKind::OracleOval,
        FeedKind::AmazonUpdateinfo,
        FeedKind::RedHatCsaf,
        FeedKind::SuseCsaf,
        FeedKind::NvdJson11,
        FeedKind::NvdCve2,
        FeedKind::Cve5,
        FeedKind::CisaKev,
        FeedKind::Epss,
        FeedKind::Wordfence,
        FeedKind::FriendsOfPhp,
        FeedKind::OsvApplication,
        FeedKind::MsrcCvrf,
        FeedKind::Wesng,
    ];

    /// Returns the name stored as [`Advisory::source`] or
    /// [`vulnloop_advisory::CveRecord::source`] for this feed. Both NVD
    /// formats are `nvd`.
    pub fn source_name(self) -> &'static str {
        match self {
            FeedKind::Osv => "osv",
            FeedKind::DebianOval => "debian-oval",
            FeedKind::UbuntuOval => "ubuntu-oval",
            FeedKind::DebianTracker => "debian-tracker",
            FeedKind::DebianSecuritySupport => "debian-security-support",
            FeedKind::DebianAdvisoryList => "debian-advisory-list",
            FeedKind::AlpineSecdb => "alpine-secdb",
            FeedKind::RedHatOval => "redhat-oval",
            FeedKind::RockyOval => "rocky-oval",
            FeedKind::OracleOval => "oracle-oval",
            FeedKind::AmazonUpdateinfo => "amazon-updateinfo",
            FeedKind::RedHatCsaf => "redhat-csaf",
            FeedKind::SuseCsaf => "suse-csaf",
            FeedKind::NvdJson11 | FeedKind::NvdCve2 => "nvd",
            FeedKind::Cve5 => "cve5",
            FeedKind::CisaKev => "cisa-kev",
            FeedKind::Epss => "epss",
            FeedKind::Wordfence => "wordfence",
            FeedKind::FriendsOfPhp => "friendsofphp",
            FeedKind::OsvApplication => "osv-applications",
            FeedKind::MsrcCvrf => "msrc-cvrf",
            FeedKind::Wesng => "wesng",
        }
    }

    /// Returns whether this feed gives [`AppAdvisory`] records (read with
    /// [`parse_app_file`]) about web applications and libraries.
    pub fn is_application(self) -> bool {
        matches!(
            self,
            FeedKind::Wordfence | FeedKind::FriendsOfPhp | FeedKind::OsvApplication
        )
    }

    /// Returns whether this feed gives [`Enrichment`] records (read with
    /// [`parse_enrichment_file`]) rather than advisories (read with [`parse_file`]).
    pub fn is_enrichment(self) -> bool {
        matches!(
            self,
            FeedKind::NvdJson11
                | FeedKind::NvdCve2
                | FeedKind::Cve5
                | FeedKind::CisaKev
                | FeedKind::Epss
        )
    }
}

impl FeedKind {
    /// Returns whether this feed contains Windows fix statements, which
    /// `vulnloop-windows` reads into tables of their own.
    pub fn is_windows(self) -> bool {
        matches!(self, FeedKind::MsrcCvrf | FeedKind::Wesng)
    }
}

impl std::fmt::Display for FeedKind {
    /// Writes the source name, such as `debian-oval`.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.source_name())
    }
}

/// Summary of one parsed feed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedSummary {
    /// The format that was read.
    pub kind: FeedKind,
    /// Generator timestamp or newest modified date, RFC 3339 or `YYYY-MM-DD`.
    pub snapshot: Option<String>,
    /// Advisories or enrichment records handed to the sink.
    pub records: usize,
    /// Records skipped, one line per reason with a count and example ids.
    pub skipped: Vec<String>,
}

/// Parses one feed file (compressed or not, a tar archive of OSV JSON files
/// included) and hands each advisory to `sink`.
pub fn parse_file(
    path: &Path,
    kind: FeedKind,
    sink: &mut dyn FnMut(Advisory),
) -> Result<FeedSummary, FeedError> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|error| FeedError::read(&name, error))?;
    parse_reader(Box::new(BufReader::new(file)), &name, kind, sink)
}

/// Parses a feed from a reader that yields the file's bytes, for downloads.
///
/// `name` is the file name: its extension picks the decompressor, and errors
/// and skipped records name it.
pub fn parse_reader(
    reader: Box<dyn Read>,
    name: &str,
    kind: FeedKind,
    sink: &mut dyn FnMut(Advisory),
) -> Result<FeedSummary, FeedError> {
    if kind.is_enrichment() {
        return Err(enrichment_kind_error(name, kind));
    }
    let packing = input::packing(name)?;
    let reader = input::decompress(reader, name, packing.compression)?;
    let single_file = |reason| FeedError::WrongLayout {
        file: name.to_string(),
        kind,
        reason,
    };

    let summary = match kind {
        FeedKind::Osv => osv::parse(reader, name, packing.tar, sink)?,
        FeedKind::AlpineSecdb => alpine_secdb::parse(reader, name, packing.tar, sink)?,
        FeedKind::SuseCsaf => suse_csaf::parse(reader, name, packing.tar, sink)?,
        FeedKind::DebianSecuritySupport => {
            debian_security_support::parse(reader, name, packing.tar, sink)?
        }
        _ if packing.tar => {
            return Err(single_file("this feed is a single file, not a tar archive"))
        }
        FeedKind::DebianTracker => debian_tracker::parse(reader, name, sink)?,
        FeedKind::DebianAdvisoryList => debian_advisory_list::parse(reader, name, sink)?,
        FeedKind::DebianOval => debian_oval::parse(&input::read_all(reader, name)?, name, sink)?,
        FeedKind::UbuntuOval => ubuntu_oval::parse(&input::read_all(reader, name)?, name, sink)?,
        FeedKind::RedHatOval => {
            let bytes = input::read_all(reader, name)?;
            redhat_oval::parse(&bytes, name, redhat_oval::RED_HAT, sink)?
        }
        FeedKind::RockyOval => {
            let bytes = input::read_all(reader, name)?;
            redhat_oval::parse(&bytes, name, redhat_oval::ROCKY, sink)?
        }
        FeedKind::OracleOval => {
            let bytes = input::read_all(reader, name)?;
            redhat_oval::parse(&bytes, name, redhat_oval::ORACLE, sink)?
        }
        FeedKind::RedHatCsaf => redhat_csaf::parse(reader, name, sink)?,
        FeedKind::AmazonUpdateinfo => {
            amazon_updateinfo::parse(&input::read_all(reader, name)?, name, sink)?
        }
        FeedKind::NvdJson11
        | FeedKind::NvdCve2
        | FeedKind::Cve5
        | FeedKind::CisaKev
        | FeedKind::Epss => return Err(enrichment_kind_error(name, kind)),
        FeedKind::Wordfence | FeedKind::FriendsOfPhp | FeedKind::OsvApplication => {
            return Err(FeedError::WrongLayout {
                file: name.to_string(),
                kind,
                reason:
                    "this is an application feed; read it with parse_app_file or parse_app_reader",
            })
        }
        FeedKind::MsrcCvrf | FeedKind::Wesng => {
            return Err(FeedError::WrongLayout {
                file: name.to_string(),
                kind,
                reason: "this is a Windows feed; read it with vulnloop-windows",
            })
        }
    };
    tracing::debug!(
        feed = kind.source_name(),
        file = name,
        records = summary.records,
        skipped = summary.skipped.len(),
        "read feed file"
    );
    Ok(summary)
}

fn enrichment_kind_error(name: &str, kind: FeedKind) -> FeedError {
    FeedError::WrongLayout {
        file: name.to_string(),
        kind,
        reason: "this is an enrichment feed; read it with parse_enrichment_file or \
                 parse_enrichment_reader",
    }
}

/// Parses one application feed file (Wordfence, FriendsOfPHP, OSV of
/// application ecosystems) and hands each advisory to `sink`.
pub fn parse_app_file(
    path: &Path,
    kind: FeedKind,
    sink: &mut dyn FnMut(AppAdvisory),
) -> Result<FeedSummary, FeedError> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|error| FeedError::read(&name, error))?;
    parse_app_reader(Box::new(BufReader::new(file)), &name, kind, sink)
}

/// Parses an application feed from a reader that yields the file's bytes.
pub fn parse_app_reader(
    reader: Box<dyn Read>,
    name: &str,
    kind: FeedKind,
    sink: &mut dyn FnMut(AppAdvisory),
) -> Result<FeedSummary, FeedError> {
    let packing = input::packing(name)?;
    let reader = input::decompress(reader, name, packing.compression)?;
    let summary =
        match kind {
            FeedKind::Wordfence if !packing.tar => wordfence::parse(reader, name, sink)?,
            FeedKind::FriendsOfPhp => friendsofphp::parse(reader, name, packing.tar, sink)?,
            FeedKind::OsvApplication => osv_app::parse(reader, name, packing.tar, sink)?,
            _ => return Err(FeedError::WrongLayout {
                file: name.to_string(),
                kind,
                reason:
                    "not an application feed in this layout; Wordfence is JSON Lines, FriendsOfPHP \
                         and OSV are files or tar archives",
            }),
        };
    tracing::debug!(
        feed = kind.source_name(),
        file = name,
        records = summary.records,
        skipped = summary.skipped.len(),
        "read application feed file"
    );
    Ok(summary)
}

/// Parses one enrichment feed file (compressed or not, a `.zip` of one file
/// or a tar archive of CVE JSON 5 records included) and hands each record
/// to `sink`.
pub fn parse_enrichment_file(
    path: &Path,
    kind: FeedKind,
    sink: &mut dyn FnMut(Enrichment),
) -> Result<FeedSummary, FeedError> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|error| FeedError::read(&name, error))?;
    parse_enrichment_reader(Box::new(BufReader::new(file)), &name, kind, sink)
}

/// Parses an enrichment feed from a reader that yields the file's bytes.
///
/// `name` is the file name: its extension picks the decompressor and the
/// layout (`.jsonl`, `.tar`), and errors and skipped records name it. An
/// advisory kind is rejected with [`FeedError::WrongLayout`].
pub fn parse_enrichment_reader(
    reader: Box<dyn Read>,
    name: &str,
    kind: FeedKind,
    sink: &mut dyn FnMut(Enrichment),
) -> Result<FeedSummary, FeedError> {
    let packing = input::packing(name)?;
    let summary = input::with_decompressed(reader, name, packing.compression, |reader| {
        enrichment::parse(reader, name, kind, packing.tar, sink)
    })?;
    tracing::debug!(
        feed = kind.source_name(),
        file = name,
        records = summary.records,
        skipped = summary.skipped.len(),
        "read enrichment feed file"
    );
    Ok(summary)
}
