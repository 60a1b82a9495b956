//! Red Hat-style OVAL patch definitions: Red Hat's RHSA OVAL
//! (`com.redhat.rhsa-RHEL9.xml`), Rocky Linux's RLSA OVAL
//! (`org.rockylinux.rlsa-9.xml`) and Oracle Linux's ELSA OVAL
//! (`com.oracle.elsa-all.xml`, every release in one file).
//!
//! Each `patch` definition is one erratum (RHSA, RHBA, RHEA, RLSA or ELSA) and
//! becomes one advisory with its CVEs, vendor severity and one
//! [`PackageKind::Binary`] entry per package:
//!
//! - A package check is an `rpminfo_test` whose object names the binary
//!   package and whose state is `evr` "less than" the fixed EVR, read as
//!   [`Status::Fixed`] (an explicit `0:` epoch is dropped).
//! - The sibling "is signed with Red Hat … key" tests (a state with
//!   `signature_keyid`) are ignored: signature checks are the package
//!   manager's job, and the fixed version does not depend on them.
//! - A "Module NAME:STREAM is enabled" criterion puts the package checks of
//!   the same `AND` group (and the groups below it) in the channel
//!   `module:NAME:STREAM`.
//! - Oracle builds whose fixed version contains `ksplice` (user-space
//!   Ksplice packages such as `2:2.28-236.0.1.ksplice1.el8`) get the channel
//!   `ksplice`, and those containing `fips` get `fips`, because they only
//!   replace packages of the same build line.
//! - Release checks ("Red Hat Enterprise Linux 9 is installed"), kernel
//!   `uname_test`s and `rpmverifyfile_test`s carry no fixed version and are
//!   passed over.
//!
//! The release is the last number of the definition's first `<platform>`
//! (`Red Hat Enterprise Linux 9`, `Oracle Linux 8`), or of the advisory's `from` CPE
//! (`cpe:/o:rocky:rocky:9:GA`), which is all that Rocky's newer files give.
//! Red Hat lists CVEs in `<cve>` elements; Rocky lists none, so its CVE ids
//! are collected from the description text.

use std::collections::BTreeSet;

use vulnloop_advisory::{Advisory, Affected, Ecosystem, PackageKind, Severity, Status};

use crate::oval::{self, OvalIndex};
use crate::skipped::Skipped;
use crate::xml_node::Node;
use crate::{rpm, FeedError, FeedKind, FeedSummary};

/// A vendor's variant of the format: its feed kind, generator name and distribution id.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Vendor {
    kind: FeedKind,
    expected: &'static str,
    generator: &'static str,
    distro: &'static str,
    /// Whether `ksplice` and `fips` builds get their own channel (Oracle).
    build_channels: bool,
}

/// Red Hat's OVAL (`com.redhat.rhsa-RHEL9.xml`).
pub(crate) const RED_HAT: Vendor = Vendor {
    kind: FeedKind::RedHatOval,
    expected: "Red Hat OVAL XML",
    generator: "Red Hat OVAL Patch Definition Merger",
    distro: "rhel",
    build_channels: false,
};

/// Rocky Linux's OVAL (`org.rockylinux.rlsa-9.xml`).
pub(crate) const ROCKY: Vendor = Vendor {
    kind: FeedKind::RockyOval,
    expected: "Rocky Linux OVAL XML",
    generator: "Rocky OVAL Patch Definition Merger",
    distro: "rocky",
    build_channels: false,
};

/// Oracle Linux's OVAL (`com.oracle.elsa-all.xml`).
pub(crate) const ORACLE: Vendor = Vendor {
    kind: FeedKind::OracleOval,
    expected: "Oracle Linux OVAL XML",
    generator: "Oracle Errata System",
    distro: "ol",
    build_channels: true,
};

/// Parses a decompressed Red Hat, Rocky or Oracle OVAL document.
pub(crate) fn parse(
    bytes: &[u8],
    file: &str,
    vendor: Vendor,
    sink: &mut dyn FnMut(Advisory),
) -> Result<FeedSummary, FeedError> {
    let (generator, index) = oval::read_index(bytes, file, vendor.expected)?;
    if generator.product_name.as_deref() != Some(vendor.generator) {
        let product = generator.product_name.as_deref().unwrap_or("missing");
        let found = format!("the generator is {product:?}, not {:?}", vendor.generator);
        return Err(FeedError::not_feed(file, vendor.expected, found));
    }

    let mut skipped = Skipped::default();
    let mut records = 0;
    oval::for_each_definition(bytes, file, vendor.expected, |definition| {
        let id = oval::id_of(&definition).to_string();
        match advisory(&definition, &index, vendor, &mut skipped) {
            Ok(advisory) => {
                sink(advisory);
                records += 1;
            }
            Err(reason) => skipped.add(reason, &id),
        }
    })?;

    Ok(FeedSummary {
        kind: vendor.kind,
        snapshot: generator.timestamp.as_deref().map(oval::snapshot),
        records,
        skipped: skipped.into_lines(),
    })
}

/// Builds the advisory of one definition.
fn advisory(
    definition: &Node,
    index: &OvalIndex,
    vendor: Vendor,
    skipped: &mut Skipped,
) -> Result<Advisory, String> {
    let metadata = definition
        .child("metadata")
        .ok_or("definition without metadata")?;
    let references = oval::references(metadata);
    let erratum = references
        .iter()
        .find(|reference| reference.source != "CVE")
        .ok_or("definition without an erratum reference")?;
    let release = release(metadata).ok_or("definition names no release")?;

    let mut advisory = Advisory::new(erratum.ref_id, vendor.kind.source_name());
    advisory.url = erratum.ref_url.map(str::to_string);
    advisory.title = metadata.child_text("title").map(str::to_string);
    advisory.cves = cve_ids(metadata);
    advisory.normalize();
    if let Some(details) = metadata.child("advisory") {
        read_advisory_details(details, &mut advisory);
    }

    let ecosystem = Ecosystem::new(vendor.distro, &release);
    let criteria = definition
        .child("criteria")
        .ok_or("definition without criteria")?;
    let mut found = BTreeSet::new();
    collect_checks(criteria, index, None, &mut found, &mut |reason| {
        skipped.add(reason, erratum.ref_id)
    });
    if vendor.build_channels {
        found = found.into_iter().map(with_build_channel).collect();
    }
    advisory.affected = found
        .into_iter()
        .map(|check| Affected {
            ecosystem: ecosystem.clone(),
            package: check.package,
            kind: PackageKind::Binary,
            status: Status::Fixed { fixed: check.fixed },
            channel: check.channel,
            note: None,
        })
        .collect();
    if advisory.affected.is_empty() {
        return Err("definition has no package check with a fixed version".to_string());
    }
    Ok(advisory)
}

/// Reads severity and dates from `<advisory>`.
fn read_advisory_details(details: &Node, advisory: &mut Advisory) {
    if let Some(word) = details.child_text("severity") {
        advisory.severity = Severity::from_vendor(word);
        advisory.severity_raw = Some(word.to_string());
    }
    advisory.published = details
        .child("issued")
        .and_then(|issued| issued.attribute("date"))
        .map(str::to_string);
    advisory.modified = details
        .child("updated")
        .and_then(|updated| updated.attribute("date"))
        .map(str::to_string);
}

/// Reads the major release from `<platform>`, or from the advisory's `from` CPE.
fn release(metadata: &Node) -> Option<String> {
    let platform = metadata
        .child("affected")
        .and_then(|affected| affected.child_text("platform"))
        .and_then(|platform| platform.rsplit(' ').next());
    let from_cpe = || {
        let from = metadata.child("advisory")?.attribute("from")?;
        from.strip_prefix("cpe:/")?.split(':').nth(3)
    };
    let release = platform.or_else(from_cpe)?;
    let major = release.split('.').next()?;
    let numeric = !major.is_empty() && major.bytes().all(|byte| byte.is_ascii_digit());
    numeric.then(|| major.to_string())
}

/// Collects CVE ids from `<cve>` and CVE references, or else from the description.
fn cve_ids(metadata: &Node) -> Vec<String> {
    let mut cves: Vec<String> = oval::references(metadata)
        .iter()
        .filter(|reference| reference.source == "CVE")
        .map(|reference| reference.ref_id.to_string())
        .collect();
    if let Some(details) = metadata.child("advisory") {
        cves.extend(details.children_named("cve").map(|cve| cve.text.clone()));
    }
    if cves.is_empty() {
        let description = metadata.child_text("description").unwrap_or("");
        cves = cves_in_text(description);
    }
    cves
}

/// Finds words of the form `CVE-YYYY-NNNN` in free text.
fn cves_in_text(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|word| {
            let Some(rest) = word.strip_prefix("CVE-") else {
                return false;
            };
            let Some((year, number)) = rest.split_once('-') else {
                return false;
            };
            let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
            year.len() == 4 && number.len() >= 4 && digits(year) && digits(number)
        })
        .map(str::to_string)
        .collect()
}

/// One package check: the package is affected below `fixed`.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Check {
    package: String,
    fixed: String,
    channel: Option<String>,
}

/// Walks a criteria tree and collects the package checks, with the module
/// stream that an enclosing or sibling "Module … is enabled" criterion names.
fn collect_checks(
    criteria: &Node,
    index: &OvalIndex,
    module: Option<&str>,
    found: &mut BTreeSet<Check>,
    skip: &mut dyn FnMut(String),
) {
    let own_module = criteria
        .children_named("criterion")
        .find_map(|criterion| module_stream(criterion, index));
    let module = own_module.as_deref().or(module);

    for child in &criteria.children {
        match child.name.as_str() {
            "criteria" => collect_checks(child, index, module, found, skip),
            "criterion" => match package_check(child, index) {
                Ok(Some((package, fixed))) => {
                    let channel = module.map(|stream| format!("module:{stream}"));
                    found.insert(Check {
                        package,
                        fixed,
                        channel,
                    });
                }
                Ok(None) => {}
                Err(reason) => skip(reason),
            },
            _ => {}
        }
    }
}

/// Puts Oracle Ksplice and FIPS builds in their channel, unless a module stream already scopes them.
fn with_build_channel(mut check: Check) -> Check {
    if check.channel.is_none() {
        if check.fixed.contains("ksplice") {
            check.channel = Some("ksplice".to_string());
        } else if check.fixed.contains("fips") {
            check.channel = Some("fips".to_string());
        }
    }
    check
}

/// Returns `NAME:STREAM` when a criterion checks that a module stream is enabled.
fn module_stream(criterion: &Node, index: &OvalIndex) -> Option<String> {
    let comment = criterion.attribute("comment").or_else(|| {
        let test = index.get(criterion.attribute("test_ref")?)?;
        test.attribute("comment")
    })?;
    let stream = comment
        .strip_prefix("Module ")?
        .strip_suffix(" is enabled")?;
    Some(stream.trim().to_string())
}

/// Reads a criterion's `rpminfo_test` as (binary package, fixed EVR).
///
/// Returns `None` for tests that are not an EVR "less than" check: release
/// and signature checks, kernel and module tests.
fn package_check(criterion: &Node, index: &OvalIndex) -> Result<Option<(String, String)>, String> {
    let Some(test_ref) = criterion.attribute("test_ref") else {
        return Err("criterion without test_ref".to_string());
    };
    let Some(test) = index.get(test_ref) else {
        return Err(format!("criterion refers to the missing test {test_ref}"));
    };
    if test.name != "rpminfo_test" {
        return Ok(None);
    }
    let object = index.follow(test, "object_ref")?;
    let Some(state) = index.follow(test, "state_ref").ok() else {
        return Ok(None);
    };
    let Some(evr) = state.child("evr") else {
        return Ok(None);
    };
    if evr.attribute("operation") != Some("less than") {
        return Ok(None);
    }
    let package = object
        .child_text("name")
        .ok_or_else(|| format!("object {} has no package name", oval::id_of(object)))?;
    let fixed = rpm::fixed_version(&evr.text).map_err(|reason| format!("{package}: {reason}"))?;
    Ok(Some((package.to_string(), fixed)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ksplice_and_fips_builds_get_channels() {
        let check = |fixed: &str, channel: Option<&str>| {
            let check = Check {
                package: "glibc".to_string(),
                fixed: fixed.to_string(),
                channel: channel.map(str::to_string),
            };
            with_build_channel(check).channel
        };
        assert_eq!(
            check("2:2.28-236.0.1.ksplice1.el8", None).as_deref(),
            Some("ksplice")
        );
        assert_eq!(
            check("1.1.1k-7.0.1.el8_fips", None).as_deref(),
            Some("fips")
        );
        assert_eq!(check("2.28-236.0.1.el8", None), None);
        assert_eq!(
            check("1.0-1.module+el8.ksplice1", Some("module:x:1")).as_deref(),
            Some("module:x:1")
        );
    }

    #[test]
    fn description_cves_are_found() {
        let text =
            "* gzip: arbitrary-file-write vulnerability (CVE-2022-1271)\nCVE-22-1 CVE-2023-12345.";
        assert_eq!(cves_in_text(text), ["CVE-2022-1271", "CVE-2023-12345"]);
    }
}
