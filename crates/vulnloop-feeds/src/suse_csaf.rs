//! SUSE CSAF 2.0 security advisories (`suse-su-2015_0011-2.json`), alone or
//! in a tar archive of them.
//!
//! A document becomes one advisory with `document.tracking.id`
//! (`SUSE-SU-2015:0011-2`, `openSUSE-SU-2016:1623-1`), the CVEs of its
//! vulnerabilities and `document.aggregate_severity`. The product tree and
//! relationships are read as for Red Hat CSAF, with these differences:
//!
//! - SUSE advisories list the updated packages under the status
//!   `recommended`, read as [`Status::Fixed`]; `fixed` and `first_fixed`
//!   are read the same way. `known_affected` gives [`Status::Affected`],
//!   `known_not_affected` [`Status::NotAffected`] and `under_investigation`
//!   [`Status::Affected`] with a note.
//! - Components have no purl. The id is `NAME-VERSION-RELEASE.ARCH`
//!   (`bind-libs-9.9.4P2-0.6.1.x86_64`), a [`PackageKind::Binary`] package;
//!   source RPMs (`.src`, `.nosrc`) are passed over.
//! - The platform CPE gives the release: `cpe:/o:suse:sles:12:sp1` gives
//!   `sles:12.1`, `suse_sles` is the older spelling of `sles`, `sled` and
//!   `sles_sap` keep their ids, and `cpe:/o:opensuse:leap:15.5` gives
//!   `opensuse-leap:15.5`. `suse_sles_ltss` (Long Term Service Pack Support)
//!   gives `sles` with the note `LTSS`, because LTSS updates install on the
//!   same release. `packagehub` gives `sles` in the channel `package-hub`.
//!   Other products (SDK, Workstation Extension, Teradata editions) are
//!   skipped and counted.

use std::io::Read;

use vulnloop_advisory::{Advisory, Affected, Ecosystem, PackageKind, Severity, Status};

use crate::input;
use crate::redhat_csaf::{Products, RawDocument, RawVulnerability};
use crate::skipped::Skipped;
use crate::{rpm, FeedError, FeedKind, FeedSummary};

const EXPECTED: &str = "SUSE CSAF JSON";

/// Architectures that end a SUSE component id.
const ARCHES: [&str; 13] = [
    "noarch", "x86_64", "i586", "i686", "aarch64", "ppc64le", "ppc64", "ppc", "s390x", "s390",
    "ia64", "armv7hl", "src",
];

/// Parses one SUSE CSAF document, or every `.json` entry of a tar archive of them.
pub(crate) fn parse(
    reader: Box<dyn Read>,
    name: &str,
    tar: bool,
    sink: &mut dyn FnMut(Advisory),
) -> Result<FeedSummary, FeedError> {
    let mut records = 0;
    let mut newest: Option<String> = None;
    let mut skipped = Skipped::default();
    let mut emit = |advisory: Advisory| {
        if advisory.modified > newest {
            newest.clone_from(&advisory.modified);
        }
        records += 1;
        sink(advisory);
    };

    if tar {
        input::for_each_entry(reader, name, input::is_json_entry, |path, json| {
            let entry_name = format!("{name}: {path}");
            match parse_document(&json, &entry_name, &mut skipped) {
                Ok(advisory) => advisory.into_iter().for_each(&mut emit),
                Err(error) => skipped.add(error.to_string(), path),
            }
            Ok(())
        })?;
    } else {
        let json = input::read_all(reader, name)?;
        parse_document(&json, name, &mut skipped)?
            .into_iter()
            .for_each(&mut emit);
    }
    Ok(FeedSummary {
        kind: FeedKind::SuseCsaf,
        snapshot: newest,
        records,
        skipped: skipped.into_lines(),
    })
}

/// Reads one document; `None` when no product maps to a release.
fn parse_document(
    json: &[u8],
    name: &str,
    skipped: &mut Skipped,
) -> Result<Option<Advisory>, FeedError> {
    let raw: RawDocument =
        serde_json::from_slice(json).map_err(|error| FeedError::json(name, EXPECTED, error))?;
    let header = &raw.document;
    let id = header.tracking.id.as_str();
    let mut advisory = Advisory::new(id, FeedKind::SuseCsaf.source_name());
    advisory.title = header.title.clone();
    advisory.published = header.tracking.initial_release_date.clone();
    advisory.modified = header.tracking.current_release_date.clone();
    if let Some(severity) = &header.aggregate_severity {
        advisory.severity = Severity::from_vendor(&severity.text);
        advisory.severity_raw = Some(severity.text.clone());
    }
    advisory.cves = raw
        .vulnerabilities
        .iter()
        .filter_map(|vulnerability| vulnerability.cve.clone())
        .collect();
    advisory.normalize();

    let products = Products::new(&raw.product_tree);
    for vulnerability in &raw.vulnerabilities {
        for entry in vulnerability_entries(vulnerability, &products, id, skipped) {
            if !advisory.affected.contains(&entry) {
                advisory.affected.push(entry);
            }
        }
    }
    if advisory.affected.is_empty() {
        skipped.add("document has no product of a supported SUSE release", id);
        return Ok(None);
    }
    Ok(Some(advisory))
}

fn vulnerability_entries(
    vulnerability: &RawVulnerability,
    products: &Products<'_>,
    id: &str,
    skipped: &mut Skipped,
) -> Vec<Affected> {
    let mut statuses: Vec<_> = vulnerability.product_status.iter().collect();
    statuses.sort();
    let mut entries = Vec::new();
    for (status_name, product_ids) in statuses {
        let (fixing, status, note) = match status_name.as_str() {
            "recommended" | "fixed" | "first_fixed" => (true, Status::Affected, None),
            "known_affected" => (false, Status::Affected, None),
            "known_not_affected" => (false, Status::NotAffected, None),
            "under_investigation" => (false, Status::Affected, Some("under investigation")),
            _ => continue,
        };
        for product_id in product_ids {
            match entry(products, product_id, fixing, &status, note) {
                Ok(Some(entry)) => entries.push(entry),
                Ok(None) => {}
                Err(reason) => skipped.add(reason, id),
            }
        }
    }
    entries
}

/// Builds the entry of one `PLATFORM:COMPONENT` product id.
fn entry(
    products: &Products<'_>,
    product_id: &str,
    fixing: bool,
    status: &Status,
    note: Option<&str>,
) -> Result<Option<Affected>, String> {
    let (cpe, component) = products.resolve(product_id)?;
    let Some(platform) = placement(cpe) else {
        return Err(format!(
            "platform CPE {cpe} is not a supported SUSE release"
        ));
    };
    let (name, evr, arch) =
        split_component(component).ok_or_else(|| format!("invalid package id {component}"))?;
    if arch == "src" || arch == "nosrc" {
        return Ok(None);
    }
    let status = match fixing {
        true => Status::Fixed {
            fixed: rpm::fixed_version(evr).map_err(|reason| format!("{name}: {reason}"))?,
        },
        false => status.clone(),
    };
    let note = note.or(platform.note).map(str::to_string);
    Ok(Some(Affected {
        ecosystem: platform.ecosystem,
        package: name.to_string(),
        kind: PackageKind::Binary,
        status,
        channel: platform.channel.map(str::to_string),
        note,
    }))
}

/// Splits `bind-libs-9.9.4P2-0.6.1.x86_64` into name, `version-release` and arch.
fn split_component(id: &str) -> Option<(&str, &str, &str)> {
    let (rest, arch) = id.rsplit_once('.')?;
    if !ARCHES.contains(&arch) && arch != "nosrc" {
        return None;
    }
    let (name_version, _release) = rest.rsplit_once('-')?;
    let (name, _version) = name_version.rsplit_once('-')?;
    let evr = &rest[name.len() + 1..];
    (!name.is_empty()).then_some((name, evr, arch))
}

/// Release key, channel and note of a SUSE platform.
#[derive(Debug, PartialEq, Eq)]
struct Platform {
    ecosystem: Ecosystem,
    channel: Option<&'static str>,
    note: Option<&'static str>,
}

/// Maps a platform CPE such as `cpe:/o:suse:sles:12:sp1`.
fn placement(cpe: &str) -> Option<Platform> {
    let parts: Vec<&str> = cpe.strip_prefix("cpe:/")?.split(':').collect();
    let (vendor, product, version) = (*parts.get(1)?, *parts.get(2)?, *parts.get(3)?);
    let update = parts.get(4).copied().filter(|part| !part.is_empty());
    if parts.len() > 5 {
        return None;
    }
    if vendor == "opensuse" && product == "leap" && update.is_none() {
        return Some(platform("opensuse-leap", version.to_string(), None, None));
    }
    if vendor != "suse" {
        return None;
    }
    let release = match update {
        Some(pack) => format!("{version}.{}", pack.strip_prefix("sp")?),
        None => version.to_string(),
    };
    if !release
        .split('.')
        .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    Some(match product {
        "sles" | "suse_sles" => platform("sles", release, None, None),
        "suse_sles_ltss" | "sles-ltss" => platform("sles", release, None, Some("LTSS")),
        "sles_sap" => platform("sles_sap", release, None, None),
        "sled" => platform("sled", release, None, None),
        "packagehub" => platform("sles", release, Some("package-hub"), None),
        _ => return None,
    })
}

fn platform(
    distro: &str,
    release: String,
    channel: Option<&'static str>,
    note: Option<&'static str>,
) -> Platform {
    Platform {
        ecosystem: Ecosystem::new(distro, &release),
        channel,
        note,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_ids_split() {
        assert_eq!(
            split_component("bind-libs-9.9.4P2-0.6.1.x86_64"),
            Some(("bind-libs", "9.9.4P2-0.6.1", "x86_64"))
        );
        assert_eq!(split_component("bind.weird"), None);
    }

    #[test]
    fn cpes_map_to_releases() {
        let key = |cpe| placement(cpe).map(|p| (p.ecosystem.to_string(), p.channel, p.note));
        assert_eq!(
            key("cpe:/o:suse:sles:12:sp1"),
            Some(("sles:12.1".into(), None, None))
        );
        assert_eq!(
            key("cpe:/o:suse:suse_sles_ltss:11:sp2"),
            Some(("sles:11.2".into(), None, Some("LTSS")))
        );
        assert_eq!(
            key("cpe:/o:suse:packagehub:12"),
            Some(("sles:12".into(), Some("package-hub"), None))
        );
        assert_eq!(
            key("cpe:/o:opensuse:leap:15.5"),
            Some(("opensuse-leap:15.5".into(), None, None))
        );
        assert_eq!(key("cpe:/o:suse:sles:11:sp1:teradata"), None);
        assert_eq!(key("cpe:/o:suse:sle-sdk:12"), None);
    }
}
