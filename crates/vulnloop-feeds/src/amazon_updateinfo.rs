//! Amazon Linux `updateinfo.xml`: the errata list of a yum repository
//! (Amazon Linux AMI, Amazon Linux 2 and its extras, 2022 and 2023).
//!
//! Each `<update>` is one ALAS advisory and becomes one advisory with the
//! CVEs of its `type="cve"` references and the vendor severity
//! (`critical`, `important`, `medium`, `low`). Every `<package>` of its
//! `<pkglist>` is a binary package that the update brings, read as
//! [`Status::Fixed`] at `[epoch:]version-release` (a zero epoch is dropped);
//! the architectures collapse into one entry per package and EVR.
//!
//! The release and channel come from the collection's `short` name:
//!
//! - `amazon-linux-2` gives `amzn:2`, `amazon-linux-2023` gives `amzn:2023`
//!   and `amazon-linux-2022` gives `amzn:2022`.
//! - `amazon-linux-ami` (Amazon Linux 1) gives `amzn:1`. NOTE: hosts of that
//!   release report `VERSION_ID` as the AMI release (`2018.03`), so the
//!   inventory must map it to `1` for these advisories to match.
//! - A repository of its own after `---` is the channel, in the feed's
//!   spelling: `amazon-linux-2---kernel-5.15` gives the channel `kernel-5.15`
//!   (an Amazon Linux 2 Extras topic), and AL2023 has `kernel-livepatch` and
//!   `nvidia`.
//!
//! Dates are written without a time zone (`2023-02-17 20:41:00`), so only
//! the date is kept.

use std::collections::BTreeSet;

use quick_xml::events::Event;
use vulnloop_advisory::{Advisory, Affected, Ecosystem, PackageKind, Severity, Status};

use crate::skipped::Skipped;
use crate::xml_node::{local_name, Node, XmlReader};
use crate::{rpm, FeedError, FeedKind, FeedSummary};

const EXPECTED: &str = "Amazon Linux updateinfo XML";

/// Parses a decompressed `updateinfo.xml` document.
pub(crate) fn parse(
    bytes: &[u8],
    file: &str,
    sink: &mut dyn FnMut(Advisory),
) -> Result<FeedSummary, FeedError> {
    let mut xml = XmlReader::new(bytes, file);
    expect_root(&mut xml, file)?;

    let mut skipped = Skipped::default();
    let mut records = 0;
    let mut newest: Option<String> = None;
    loop {
        match xml.next()? {
            Event::Start(start) if local_name(&start) == "update" => {
                let update = xml.read_node(&start)?;
                let id = update.child_text("id").unwrap_or("?").to_string();
                match advisory(&update) {
                    Ok(advisory) => {
                        if advisory.modified > newest {
                            newest.clone_from(&advisory.modified);
                        }
                        records += 1;
                        sink(advisory);
                    }
                    Err(reason) => skipped.add(reason, &id),
                }
            }
            Event::Start(start) => xml.skip(&start)?,
            Event::End(_) => break,
            Event::Eof => return Err(xml.error("the file ends before </updates>")),
            _ => {}
        }
    }
    Ok(FeedSummary {
        kind: FeedKind::AmazonUpdateinfo,
        snapshot: newest,
        records,
        skipped: skipped.into_lines(),
    })
}

/// Reads up to the root element and checks that it is `<updates>`.
fn expect_root(xml: &mut XmlReader<'_>, file: &str) -> Result<(), FeedError> {
    loop {
        let event = xml
            .next()
            .map_err(|error| FeedError::not_feed(file, EXPECTED, error.to_string()))?;
        match event {
            Event::Start(start) if local_name(&start) == "updates" => return Ok(()),
            Event::Start(start) | Event::Empty(start) => {
                let found = format!("the root element is <{}>", local_name(&start));
                return Err(FeedError::not_feed(file, EXPECTED, found));
            }
            Event::Text(_) | Event::CData(_) => {
                let found = format!("text instead of an XML root element at line {}", xml.line());
                return Err(FeedError::not_feed(file, EXPECTED, found));
            }
            Event::Eof => {
                return Err(FeedError::not_feed(
                    file,
                    EXPECTED,
                    "the file has no XML element",
                ))
            }
            _ => {}
        }
    }
}

/// Builds the advisory of one `<update>`.
fn advisory(update: &Node) -> Result<Advisory, String> {
    let id = update.child_text("id").ok_or("update without an id")?;
    let mut advisory = Advisory::new(id, FeedKind::AmazonUpdateinfo.source_name());
    advisory.title = update.child_text("title").map(str::to_string);
    advisory.published = date(update, "issued");
    advisory.modified = date(update, "updated").or_else(|| advisory.published.clone());
    if let Some(word) = update.child_text("severity") {
        advisory.severity = Severity::from_vendor(word);
        advisory.severity_raw = Some(word.to_string());
    }
    let references = update
        .child("references")
        .map(|references| references.children_named("reference"));
    for reference in references.into_iter().flatten() {
        if reference.attribute("type") == Some("cve") {
            advisory
                .cves
                .extend(reference.attribute("id").map(str::to_string));
        }
    }
    advisory.normalize();

    let collections = update
        .child("pkglist")
        .map(|list| list.children_named("collection"));
    for collection in collections.into_iter().flatten() {
        advisory.affected.extend(collection_entries(collection)?);
    }
    if advisory.affected.is_empty() {
        return Err("update lists no package".to_string());
    }
    Ok(advisory)
}

/// Returns the date part of `<issued date="2023-02-17 20:41:00"/>`.
fn date(update: &Node, element: &str) -> Option<String> {
    let text = update.child(element)?.attribute("date")?;
    let day = text.split([' ', 'T']).next()?;
    (!day.is_empty()).then(|| day.to_string())
}

/// Reads the packages of one `<collection>`, one entry per package and EVR.
fn collection_entries(collection: &Node) -> Result<Vec<Affected>, String> {
    let short = collection
        .attribute("short")
        .ok_or("collection without a short name")?;
    let (ecosystem, channel) = placement(short)
        .ok_or_else(|| format!("collection {short} is not an Amazon Linux release"))?;

    let mut seen = BTreeSet::new();
    for package in collection.children_named("package") {
        let name = package.attribute("name").ok_or("package without a name")?;
        let evr = package_evr(package).map_err(|reason| format!("{name}: {reason}"))?;
        seen.insert((name.to_string(), evr));
    }
    let entries = seen.into_iter().map(|(package, fixed)| Affected {
        ecosystem: ecosystem.clone(),
        package,
        kind: PackageKind::Binary,
        status: Status::Fixed { fixed },
        channel: channel.clone(),
        note: None,
    });
    Ok(entries.collect())
}

fn package_evr(package: &Node) -> Result<String, String> {
    let version = package.attribute("version").ok_or("no version")?;
    let release = package.attribute("release").ok_or("no release")?;
    let evr = match package.attribute("epoch") {
        Some(epoch) => format!("{epoch}:{version}-{release}"),
        None => format!("{version}-{release}"),
    };
    rpm::fixed_version(&evr)
}

/// Maps a collection short name to the release key and channel.
fn placement(short: &str) -> Option<(Ecosystem, Option<String>)> {
    let rest = short.strip_prefix("amazon-linux-")?;
    let (release, channel) = match rest.split_once("---") {
        Some((release, channel)) if !channel.is_empty() => (release, Some(channel.to_string())),
        Some(_) => return None,
        None => (rest, None),
    };
    let release = match release {
        "ami" => "1",
        number if !number.is_empty() && number.bytes().all(|byte| byte.is_ascii_digit()) => number,
        _ => return None,
    };
    Some((Ecosystem::new("amzn", release), channel))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(short: &str) -> Option<(String, Option<String>)> {
        placement(short).map(|(ecosystem, channel)| (ecosystem.to_string(), channel))
    }

    #[test]
    fn collections_map_to_release_and_channel() {
        assert_eq!(key("amazon-linux-2"), Some(("amzn:2".into(), None)));
        assert_eq!(key("amazon-linux-ami"), Some(("amzn:1".into(), None)));
        assert_eq!(
            key("amazon-linux-2---kernel-5.15"),
            Some(("amzn:2".into(), Some("kernel-5.15".into())))
        );
        assert_eq!(key("amazon-linux-latest"), None);
        assert_eq!(key("fedora-39"), None);
    }
}
