//! Debian OVAL (`oval-definitions-<codename>.xml.bz2`).
//!
//! The security tracker writes one `vulnerability` definition per CVE and
//! source package (title `CVE-1999-0199 glibc`), plus a few `patch`
//! definitions for DSAs (title `DSA-5418-1 chromium`). Each criteria tree
//! checks the release (`textfilecontent54_test` on `/etc/debian_version`),
//! the architecture (`uname_test`), and the package through a
//! `dpkginfo_test` whose object names the source package and whose state is
//! `evr` "less than" the fixed version.
//!
//! How the tracker's statuses reach this file, read from its OVAL generator
//! (`oval/parseJSON2Oval.py` in the security-tracker repository) and
//! confirmed on the bookworm file:
//!
//! - resolved with a version: `evr less than 0:<version>`, read as
//!   [`Status::Fixed`];
//! - open or undetermined (including `no-dsa`, ignored and postponed
//!   issues): the generator writes the version `0`, so the state is
//!   `evr less than 0:0`, which no installed version can satisfy. It is read
//!   as [`Status::Affected`] with a note, because the tracker had no fix;
//! - not affected (resolved with version `0`): the generator writes no
//!   definition, so this parser never produces [`Status::NotAffected`].

use vulnloop_advisory::{Advisory, Affected, Ecosystem, PackageKind, Status};

use crate::oval::{self, OvalIndex};
use crate::skipped::Skipped;
use crate::xml_node::Node;
use crate::{dpkg, FeedError, FeedKind, FeedSummary};

const EXPECTED: &str = "Debian OVAL XML";

/// The version the generator writes for a package with no fix in the release.
const NO_FIX_EVR: &str = "0:0";

/// The note on entries whose state is `less than 0:0`.
const NO_FIX_NOTE: &str = "no fixed version in this release when the OVAL file was generated \
     (open, no-dsa, postponed or undetermined in the Debian security tracker)";

/// Parses a decompressed Debian OVAL document.
pub(crate) fn parse(
    bytes: &[u8],
    file: &str,
    sink: &mut dyn FnMut(Advisory),
) -> Result<FeedSummary, FeedError> {
    let (generator, index) = oval::read_index(bytes, file, EXPECTED)?;
    if generator.product_name.as_deref() != Some("Debian") {
        let product = generator.product_name.as_deref().unwrap_or("missing");
        return Err(FeedError::not_feed(
            file,
            EXPECTED,
            format!("the generator is {product:?}, not \"Debian\""),
        ));
    }
    let file_release = release_from_file_name(file);

    let mut skipped = Skipped::default();
    let mut records = 0;
    oval::for_each_definition(bytes, file, EXPECTED, |definition| {
        let id = oval::id_of(&definition).to_string();
        match advisory(&definition, &index, file_release, &mut skipped) {
            Ok(advisory) => {
                sink(advisory);
                records += 1;
            }
            Err(reason) => skipped.add(reason, &id),
        }
    })?;

    Ok(FeedSummary {
        kind: FeedKind::DebianOval,
        snapshot: generator.timestamp.as_deref().map(oval::snapshot),
        records,
        skipped: skipped.into_lines(),
    })
}

/// Reads the release number from a name like `oval-definitions-bookworm.xml.bz2`.
fn release_from_file_name(file: &str) -> Option<&'static str> {
    let name = crate::input::base_name(file);
    let codename = name.strip_prefix("oval-definitions-")?.split('.').next()?;
    vulnloop_platform::debian_release(codename)
}

fn advisory(
    definition: &Node,
    index: &OvalIndex,
    file_release: Option<&str>,
    skipped: &mut Skipped,
) -> Result<Advisory, String> {
    let metadata = definition
        .child("metadata")
        .ok_or("definition without <metadata>")?;
    let title = metadata
        .child_text("title")
        .ok_or("definition without a title")?;
    let id = title.split_whitespace().next().unwrap_or(title);
    let ecosystem = ecosystem(metadata, file_release)?;

    let mut advisory = Advisory::new(id, FeedKind::DebianOval.source_name());
    advisory.title = Some(title.to_string());
    advisory.url = Some(format!("https://security-tracker.debian.org/tracker/{id}"));
    advisory.published = metadata
        .child("debian")
        .and_then(|debian| debian.child_text("date"))
        .map(str::to_string);
    advisory.cves = oval::references(metadata)
        .into_iter()
        .filter(|reference| reference.source == "CVE")
        .map(|reference| reference.ref_id.to_string())
        .collect();
    advisory.normalize();

    let criteria = definition
        .child("criteria")
        .ok_or("definition without <criteria>")?;
    let mut criterions = Vec::new();
    criteria.descendants("criterion", &mut criterions);
    for criterion in criterions {
        match affected(criterion, index, &ecosystem) {
            Ok(Some(entry)) => advisory.affected.push(entry),
            Ok(None) => {}
            Err(reason) => skipped.add(format!("criterion skipped: {reason}"), id),
        }
    }
    if advisory.affected.is_empty() {
        return Err("definition has no dpkg package test that could be read".to_string());
    }
    Ok(advisory)
}

/// Reads the release from `<platform>Debian GNU/Linux 12</platform>`, or from the file name.
fn ecosystem(metadata: &Node, file_release: Option<&str>) -> Result<Ecosystem, String> {
    let platform = metadata
        .child("affected")
        .and_then(|affected| affected.child_text("platform"));
    let from_platform = platform.and_then(|platform| platform.strip_prefix("Debian GNU/Linux "));
    match from_platform.or(file_release) {
        Some(release) => Ok(Ecosystem::new("debian", release.trim())),
        None => Err(format!(
            "platform {platform:?} names no Debian release, and neither does the file name"
        )),
    }
}

/// Reads one criterion; the release and architecture tests give `None`.
fn affected(
    criterion: &Node,
    index: &OvalIndex,
    ecosystem: &Ecosystem,
) -> Result<Option<Affected>, String> {
    let test_ref = criterion
        .attribute("test_ref")
        .ok_or("criterion without test_ref")?;
    let test = index
        .get(test_ref)
        .ok_or_else(|| format!("missing test {test_ref}"))?;
    // NOTE: an architecture-specific section (a uname_test with a state)
    // would restrict the package test to one architecture, which the
    // advisory model cannot express. The bookworm and bullseye files only
    // have the architecture-independent section.
    if test.name != "dpkginfo_test" {
        return Ok(None);
    }
    if criterion.attribute("negate") == Some("true") {
        return Err(format!("negated package test {test_ref}"));
    }

    let object = index.follow(test, "object_ref")?;
    let package = object
        .child_text("name")
        .ok_or_else(|| format!("object of {test_ref} names no package"))?;
    let state = index.follow(test, "state_ref")?;
    let evr = state
        .child("evr")
        .ok_or_else(|| format!("state of {test_ref} has no evr"))?;
    if evr.attribute("operation") != Some("less than") {
        return Err(format!(
            "state of {test_ref} compares with {:?}, not \"less than\"",
            evr.attribute("operation")
        ));
    }

    let (status, note) = if evr.text == NO_FIX_EVR {
        (Status::Affected, Some(NO_FIX_NOTE.to_string()))
    } else {
        let fixed = dpkg::fixed_version(&evr.text)
            .map_err(|reason| format!("test {test_ref}: {reason}"))?;
        (Status::Fixed { fixed }, None)
    };
    Ok(Some(Affected {
        ecosystem: ecosystem.clone(),
        package: package.to_string(),
        kind: PackageKind::Source,
        status,
        channel: None,
        note,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_name_gives_release() {
        assert_eq!(
            release_from_file_name("/x/oval-definitions-bookworm.xml.bz2"),
            Some("12")
        );
        assert_eq!(
            release_from_file_name("oval-definitions-bullseye.xml"),
            Some("11")
        );
        assert_eq!(release_from_file_name("oval-definitions-sid.xml"), None);
    }
}
