//! Red Hat CSAF 2.0 documents: security advisories (`rhsa-2023_7435.json`)
//! and per-CVE VEX documents (`cve-2023-6212.json`), which share one format.
//!
//! A document becomes one advisory: the id is `document.tracking.id`
//! (`RHSA-2023:7435` or `CVE-2023-6212`), the CVEs are those of its
//! vulnerabilities and the severity is `document.aggregate_severity`.
//!
//! Product ids in `product_status` are `PLATFORM:COMPONENT` pairs that the
//! `relationships` resolve. The platform's CPE gives the release and channel:
//!
//! - `cpe:/o:redhat:enterprise_linux:7::server` and
//!   `cpe:/a:redhat:enterprise_linux:9::appstream` give `rhel:7` and `rhel:9`.
//! - `cpe:/a:redhat:rhel_eus:9.2::appstream` gives `rhel:9` in the channel
//!   `eus`, and likewise `rhel_aus`, `rhel_e4s` and `rhel_tus` give `aus`,
//!   `e4s` and `tus`: these update streams carry their own builds (`.el9_2`).
//! - A component whose purl has an `rpmmod=NAME:STREAM:…` qualifier is a
//!   module build and gets the channel `module:NAME:STREAM` instead.
//! - Platforms of other products (OpenShift, Satellite, RHEL ELS) are
//!   skipped and counted.
//!
//! The component's purl gives the package. A versioned binary RPM
//! (`pkg:rpm/redhat/firefox@115.5.0-1.el8_8?arch=x86_64`, with the epoch
//! from the `epoch` qualifier) is a [`PackageKind::Binary`] entry. Source
//! RPMs (`arch=src`) of fixed products are passed over, because the binaries
//! beside them carry the same fix. A component without a version is a
//! source package that the VEX names for an unfixed CVE, and it becomes a
//! [`PackageKind::Source`] entry.
//!
//! Statuses map as follows:
//!
//! - `fixed` and `first_fixed`: [`Status::Fixed`] at the component's EVR.
//! - `known_affected`: [`Status::WillNotFix`] when a `no_fix_planned`
//!   remediation names the product (its details, such as "Out of support
//!   scope", go to the note), else [`Status::Affected`] with the details of
//!   a `none_available` remediation, if any, in the note.
//! - `known_not_affected`: [`Status::NotAffected`].
//! - `under_investigation`: [`Status::Affected`] with the note
//!   `under investigation`.

use std::collections::HashMap;
use std::io::Read;

use serde::Deserialize;
use vulnloop_advisory::{Advisory, Affected, Ecosystem, PackageKind, Severity, Status};

use crate::input;
use crate::skipped::Skipped;
use crate::{rpm, FeedError, FeedKind, FeedSummary};

const EXPECTED: &str = "Red Hat CSAF JSON";

#[derive(Debug, Deserialize)]
pub(crate) struct RawDocument {
    pub(crate) document: RawHeader,
    #[serde(default)]
    pub(crate) product_tree: RawProductTree,
    #[serde(default)]
    pub(crate) vulnerabilities: Vec<RawVulnerability>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawHeader {
    pub(crate) title: Option<String>,
    pub(crate) aggregate_severity: Option<RawText>,
    pub(crate) tracking: RawTracking,
    #[serde(default)]
    pub(crate) references: Vec<RawReference>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawText {
    pub(crate) text: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawTracking {
    pub(crate) id: String,
    pub(crate) initial_release_date: Option<String>,
    pub(crate) current_release_date: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawReference {
    pub(crate) category: Option<String>,
    pub(crate) url: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawProductTree {
    #[serde(default)]
    pub(crate) branches: Vec<RawBranch>,
    #[serde(default)]
    pub(crate) relationships: Vec<RawRelationship>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawBranch {
    pub(crate) product: Option<RawProduct>,
    #[serde(default)]
    pub(crate) branches: Vec<RawBranch>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawProduct {
    pub(crate) product_id: String,
    pub(crate) product_identification_helper: Option<RawHelper>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawHelper {
    pub(crate) cpe: Option<String>,
    pub(crate) purl: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawRelationship {
    pub(crate) full_product_name: RawFullName,
    pub(crate) product_reference: String,
    pub(crate) relates_to_product_reference: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawFullName {
    pub(crate) product_id: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawVulnerability {
    pub(crate) cve: Option<String>,
    #[serde(default)]
    pub(crate) product_status: HashMap<String, Vec<String>>,
    #[serde(default)]
    pub(crate) remediations: Vec<RawRemediation>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawRemediation {
    pub(crate) category: String,
    pub(crate) details: Option<String>,
    #[serde(default)]
    pub(crate) product_ids: Vec<String>,
}

/// Parses one Red Hat CSAF advisory or VEX document.
pub(crate) fn parse(
    reader: Box<dyn Read>,
    name: &str,
    sink: &mut dyn FnMut(Advisory),
) -> Result<FeedSummary, FeedError> {
    let json = input::read_all(reader, name)?;
    let raw: RawDocument =
        serde_json::from_slice(&json).map_err(|error| FeedError::json(name, EXPECTED, error))?;
    let mut skipped = Skipped::default();
    let advisory = advisory(&raw, &mut skipped);

    let snapshot = raw.document.tracking.current_release_date.clone();
    let records = match advisory {
        Some(advisory) => {
            sink(advisory);
            1
        }
        None => 0,
    };
    Ok(FeedSummary {
        kind: FeedKind::RedHatCsaf,
        snapshot,
        records,
        skipped: skipped.into_lines(),
    })
}

/// Builds the document's advisory; `None` when no product maps to a RHEL release.
fn advisory(raw: &RawDocument, skipped: &mut Skipped) -> Option<Advisory> {
    let header = &raw.document;
    let id = header.tracking.id.as_str();
    let mut advisory = Advisory::new(id, FeedKind::RedHatCsaf.source_name());
    advisory.title = header.title.clone();
    advisory.published = header.tracking.initial_release_date.clone();
    advisory.modified = header.tracking.current_release_date.clone();
    advisory.url = header
        .references
        .iter()
        .find(|reference| reference.category.as_deref() == Some("self"))
        .map(|reference| reference.url.clone());
    if let Some(severity) = &header.aggregate_severity {
        advisory.severity = Severity::from_vendor(&severity.text);
        advisory.severity_raw = Some(severity.text.clone());
    }
    advisory.cves = raw
        .vulnerabilities
        .iter()
        .filter_map(|v| v.cve.clone())
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
        skipped.add("document has no product of a RHEL release", id);
        return None;
    }
    Some(advisory)
}

/// Turns the product statuses of one vulnerability into entries.
fn vulnerability_entries(
    vulnerability: &RawVulnerability,
    products: &Products<'_>,
    id: &str,
    skipped: &mut Skipped,
) -> Vec<Affected> {
    let mut entries = Vec::new();
    let mut statuses: Vec<(&String, &Vec<String>)> = vulnerability.product_status.iter().collect();
    statuses.sort();
    for (status_name, product_ids) in statuses {
        for product_id in product_ids {
            let Some(status) = status(status_name, product_id, &vulnerability.remediations) else {
                continue;
            };
            match products.entry(product_id, status) {
                Ok(Some(entry)) => entries.push(entry),
                Ok(None) => {}
                Err(reason) => skipped.add(reason, id),
            }
        }
    }
    entries
}

/// Maps a CSAF product status to the model; `None` for statuses not read
/// (`first_affected`, `last_affected`, `recommended`).
fn status(
    name: &str,
    product_id: &str,
    remediations: &[RawRemediation],
) -> Option<(Status, Option<String>)> {
    let remediation = |category: &str| {
        remediations
            .iter()
            .find(|r| r.category == category && r.product_ids.iter().any(|id| id == product_id))
    };
    // The fixed EVR comes from the component, which `Products::entry` reads.
    let placeholder = Status::Fixed {
        fixed: String::new(),
    };
    Some(match name {
        "fixed" | "first_fixed" => (placeholder, None),
        "known_not_affected" => (Status::NotAffected, None),
        "under_investigation" => (Status::Affected, Some("under investigation".to_string())),
        "known_affected" => match remediation("no_fix_planned") {
            Some(found) => (Status::WillNotFix, found.details.clone()),
            None => (
                Status::Affected,
                remediation("none_available").and_then(|r| r.details.clone()),
            ),
        },
        _ => return None,
    })
}

/// Product lookups: platforms by id, components by id, relationships by full id.
pub(crate) struct Products<'a> {
    cpes: HashMap<&'a str, &'a str>,
    purls: HashMap<&'a str, &'a str>,
    relationships: HashMap<&'a str, (&'a str, &'a str)>,
}

impl<'a> Products<'a> {
    pub(crate) fn new(tree: &'a RawProductTree) -> Self {
        let mut products = Products {
            cpes: HashMap::new(),
            purls: HashMap::new(),
            relationships: HashMap::new(),
        };
        let mut stack: Vec<&RawBranch> = tree.branches.iter().collect();
        while let Some(branch) = stack.pop() {
            stack.extend(&branch.branches);
            let Some(product) = &branch.product else {
                continue;
            };
            let Some(helper) = &product.product_identification_helper else {
                continue;
            };
            if let Some(cpe) = &helper.cpe {
                products.cpes.insert(&product.product_id, cpe);
            }
            if let Some(purl) = &helper.purl {
                products.purls.insert(&product.product_id, purl);
            }
        }
        for relationship in &tree.relationships {
            products.relationships.insert(
                &relationship.full_product_name.product_id,
                (
                    &relationship.relates_to_product_reference,
                    &relationship.product_reference,
                ),
            );
        }
        products
    }

    /// Resolves a `PLATFORM:COMPONENT` product id to the platform's CPE and the component id.
    pub(crate) fn resolve(&self, product_id: &str) -> Result<(&'a str, &'a str), String> {
        let (platform, component) = self
            .relationships
            .get(product_id)
            .ok_or_else(|| format!("product {product_id} has no relationship"))?;
        let cpe = self
            .cpes
            .get(platform)
            .ok_or_else(|| format!("platform {platform} has no CPE"))?;
        Ok((cpe, component))
    }

    /// Builds the entry of one `PLATFORM:COMPONENT` product id; `Ok(None)` for source RPMs of fixes.
    fn entry(
        &self,
        product_id: &str,
        (status, note): (Status, Option<String>),
    ) -> Result<Option<Affected>, String> {
        let (cpe, component) = self.resolve(product_id)?;
        let (ecosystem, platform_channel) =
            placement(cpe).ok_or_else(|| format!("platform CPE {cpe} is not a RHEL release"))?;
        let purl = self
            .purls
            .get(component)
            .ok_or_else(|| format!("component {component} has no purl"))?;
        let package = Purl::parse(purl).ok_or_else(|| format!("invalid RPM purl {purl}"))?;

        let fixing = matches!(status, Status::Fixed { .. });
        let (kind, status) = match (&package.version, fixing) {
            (_, true) if package.arch == Some("src") => return Ok(None),
            (Some(version), true) => {
                let evr = match package.epoch {
                    Some(epoch) => format!("{epoch}:{version}"),
                    None => version.clone(),
                };
                let fixed = rpm::fixed_version(&evr)
                    .map_err(|reason| format!("{}: {reason}", package.name))?;
                (PackageKind::Binary, Status::Fixed { fixed })
            }
            (None, true) => return Err(format!("fixed component {component} has no version")),
            (Some(_), false) if package.arch != Some("src") => (PackageKind::Binary, status),
            _ => (PackageKind::Source, status),
        };
        Ok(Some(Affected {
            ecosystem,
            package: package.name,
            kind,
            status,
            channel: package.module.or(platform_channel),
            note,
        }))
    }
}

/// Maps a platform CPE to the release key and update-stream channel.
fn placement(cpe: &str) -> Option<(Ecosystem, Option<String>)> {
    let mut parts = cpe.strip_prefix("cpe:/")?.split(':');
    let (_part, vendor, product, version) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if vendor != "redhat" {
        return None;
    }
    let channel = match product {
        "enterprise_linux" => None,
        "rhel_eus" | "rhel_aus" | "rhel_e4s" | "rhel_tus" => {
            Some(product["rhel_".len()..].to_string())
        }
        _ => return None,
    };
    let major = version.split('.').next()?;
    let numeric = !major.is_empty() && major.bytes().all(|byte| byte.is_ascii_digit());
    numeric.then(|| (Ecosystem::new("rhel", major), channel))
}

/// The parts of an RPM package URL that matter here.
#[derive(Debug, PartialEq, Eq)]
struct Purl<'a> {
    name: String,
    version: Option<String>,
    epoch: Option<&'a str>,
    arch: Option<&'a str>,
    /// `module:NAME:STREAM` from the `rpmmod` qualifier.
    module: Option<String>,
}

impl<'a> Purl<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let rest = text.strip_prefix("pkg:rpm/")?;
        let (path, qualifiers) = rest.split_once('?').unwrap_or((rest, ""));
        let last = path.rsplit('/').next()?;
        let (name, version) = match last.split_once('@') {
            Some((name, version)) => (name, Some(percent_decode(version))),
            None => (last, None),
        };
        let qualifier = |key: &str| {
            qualifiers
                .split('&')
                .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
        };
        let module = qualifier("rpmmod").and_then(|value| {
            let decoded = percent_decode(value);
            let mut parts = decoded.split(':');
            Some(format!("module:{}:{}", parts.next()?, parts.next()?))
        });
        let epoch = qualifier("epoch").filter(|epoch| *epoch != "0");
        Some(Purl {
            name: percent_decode(name),
            version,
            epoch,
            arch: qualifier("arch"),
            module,
        })
    }
}

/// Decodes `%XX` escapes; invalid escapes are kept as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = bytes
            .get(index + 1..index + 3)
            .filter(|_| bytes[index] == b'%')
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                index += 3;
            }
            None => {
                decoded.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpes_map_to_release_and_stream() {
        let key = |cpe| placement(cpe).map(|(e, c)| (e.to_string(), c));
        assert_eq!(
            key("cpe:/o:redhat:enterprise_linux:7::server"),
            Some(("rhel:7".into(), None))
        );
        assert_eq!(
            key("cpe:/a:redhat:rhel_eus:9.2::appstream"),
            Some(("rhel:9".into(), Some("eus".into())))
        );
        assert_eq!(key("cpe:/a:redhat:openshift:4.14::el9"), None);
    }

    #[test]
    fn statuses_map_with_remediations() {
        let remediations = vec![RawRemediation {
            category: "no_fix_planned".to_string(),
            details: Some("Out of support scope".to_string()),
            product_ids: vec!["rhel6:firefox".to_string()],
        }];
        let status_of =
            |name, product| status(name, product, &remediations).map(|(status, _)| status);
        assert_eq!(
            status_of("known_affected", "rhel6:firefox"),
            Some(Status::WillNotFix)
        );
        assert_eq!(
            status_of("known_affected", "rhel7:firefox"),
            Some(Status::Affected)
        );
        assert_eq!(
            status_of("known_not_affected", "rhel7:firefox"),
            Some(Status::NotAffected)
        );
        assert_eq!(
            status_of("under_investigation", "rhel7:firefox"),
            Some(Status::Affected)
        );
        assert_eq!(status_of("last_affected", "rhel7:firefox"), None);
    }

    #[test]
    fn purl_reads_epoch_arch_and_module() {
        let purl = Purl::parse("pkg:rpm/redhat/libstdc%2B%2B@8.5.0-1.module%2Bel8?arch=x86_64&epoch=1&rpmmod=nodejs:18:8090020231019152822:a75119d5");
        let Some(purl) = purl else {
            panic!("purl not read")
        };
        assert_eq!(purl.name, "libstdc++");
        assert_eq!(purl.version.as_deref(), Some("8.5.0-1.module+el8"));
        assert_eq!(purl.epoch, Some("1"));
        assert_eq!(purl.arch, Some("x86_64"));
        assert_eq!(purl.module.as_deref(), Some("module:nodejs:18"));
        let source = Purl::parse("pkg:rpm/redhat/firefox?arch=src");
        assert_eq!(source.and_then(|p| p.version), None);
    }
}
