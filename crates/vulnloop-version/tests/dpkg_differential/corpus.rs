//! Real Debian and Ubuntu versions from the shared data: dpkg status files,
//! OSV records and OVAL definitions.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// One version found in the data, with the package it belongs to when the
/// data names it.
pub struct Sample {
    pub origin: &'static str,
    pub package: Option<String>,
    pub version: String,
}

/// Status-file fields whose values are relations such as `libc6 (>= 2.36)`.
const RELATION_FIELDS: [&str; 9] = [
    "Depends",
    "Pre-Depends",
    "Recommends",
    "Suggests",
    "Enhances",
    "Breaks",
    "Conflicts",
    "Replaces",
    "Provides",
];

const STATUS_ARCHIVES: [(&str, &str); 3] = [
    (
        "inventories/linux/debian12-build-machine-dpkg.tar.zst",
        "debian12 build machine status",
    ),
    (
        "inventories/linux/trivy-testdata-dpkg-apk-osrelease.tar.zst",
        "trivy dpkg status",
    ),
    (
        "inventories/linux/syft-testdata-dpkg-apk-rpm-osrelease.tar.zst",
        "syft dpkg status",
    ),
];

const OSV_ARCHIVE: &str = "feeds/debian12-changelog-osv/debian12-changelog-osv.tar.zst";
const DEBIAN_OVAL: &str = "feeds/debian/oval-definitions-bookworm.xml.bz2";
const UBUNTU_OVALS: [(&str, &str); 2] = [
    (
        "feeds/ubuntu-oval/com.ubuntu.jammy.usn.oval.xml.zst",
        "ubuntu jammy oval",
    ),
    (
        "feeds/ubuntu-oval/com.ubuntu.noble.usn.oval.xml.zst",
        "ubuntu noble oval",
    ),
];

/// Returns every version in the data, read once per test binary.
pub fn real_versions() -> &'static [Sample] {
    static SAMPLES: OnceLock<Vec<Sample>> = OnceLock::new();
    SAMPLES.get_or_init(collect)
}

fn collect() -> Vec<Sample> {
    let mut samples = Vec::new();
    for (archive, origin) in STATUS_ARCHIVES {
        samples.extend(status_archive(archive, origin));
    }
    samples.extend(osv_archive());
    samples.extend(debian_oval());
    for (feed, origin) in UBUNTU_OVALS {
        samples.extend(ubuntu_oval(feed, origin));
    }
    samples
}

fn sample(origin: &'static str, package: Option<&str>, version: &str) -> Sample {
    Sample {
        origin,
        package: package.map(str::to_string),
        version: version.trim().to_string(),
    }
}

/// Lists the files under `dir`, recursively, in a stable order.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        let entries =
            fs::read_dir(&next).unwrap_or_else(|error| panic!("{}: {error}", next.display()));
        for entry in entries {
            let path = entry.expect("readable directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Returns whether `path` is a dpkg status file or a `status.d` entry.
fn is_status_file(path: &Path) -> bool {
    let text = path.to_string_lossy();
    let in_dpkg_dir = text.contains("/dpkg/") && !text.contains("/dpkg/info/");
    in_dpkg_dir || text.ends_with("/host-dpkg-status")
}

fn status_archive(archive: &str, origin: &'static str) -> Vec<Sample> {
    let dir = vulnloop_testdata::unpack(archive);
    let samples: Vec<Sample> = files_under(dir.path())
        .iter()
        .filter(|path| is_status_file(path))
        .flat_map(|path| status_samples(&read_text(path), origin))
        .collect();
    assert!(
        !samples.is_empty(),
        "no dpkg status versions found in {archive}"
    );
    samples
}

fn read_text(path: &Path) -> String {
    let bytes = fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Returns the `Version`, `Source` and relation versions of a status file.
fn status_samples(text: &str, origin: &'static str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for stanza in text.split("\n\n") {
        let fields = control_fields(stanza);
        let field = |name: &str| {
            fields
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        };
        let package = field("Package");

        if let Some(version) = field("Version") {
            samples.push(sample(origin, package, version));
            // A Source field without a version means the source version is the binary's.
            if let Some(source) = field("Source").filter(|source| !source.contains('(')) {
                samples.push(sample(origin, Some(source), version));
            }
        }
        if let Some((source, version)) = field("Source").and_then(name_and_version) {
            samples.push(sample(origin, Some(source), version));
        }
        for name in RELATION_FIELDS {
            for item in field(name)
                .into_iter()
                .flat_map(|value| value.split([',', '|']))
            {
                if let Some((package, version)) = name_and_version(item) {
                    samples.push(sample(origin, Some(package), version));
                }
            }
        }
    }
    samples
}

/// Splits a control stanza into fields, joining continuation lines.
fn control_fields(stanza: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in stanza.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
        } else if let Some((key, value)) = line.split_once(':') {
            fields.push((key.to_string(), value.trim().to_string()));
        }
    }
    fields
}

/// Reads `name (version)` or `name:arch (>= version) [arch]`; `None` without a version.
fn name_and_version(item: &str) -> Option<(&str, &str)> {
    let (name, rest) = item.split_once('(')?;
    let (constraint, _) = rest.split_once(')')?;
    let version = constraint.trim().trim_start_matches(['<', '>', '=']).trim();
    let name = name.trim().split(':').next()?;
    Some((name, version))
}

/// Reads the OSV records (`introduced` and `fixed` events) and the host's status.
fn osv_archive() -> Vec<Sample> {
    let dir = vulnloop_testdata::unpack(OSV_ARCHIVE);
    let mut samples = Vec::new();
    for path in files_under(dir.path()) {
        if is_status_file(&path) {
            samples.extend(status_samples(
                &read_text(&path),
                "debian12 changelog osv host status",
            ));
        } else if path
            .extension()
            .is_some_and(|extension| extension == "json")
        {
            samples.extend(osv_record(&path));
        }
    }
    samples
}

fn osv_record(path: &Path) -> Vec<Sample> {
    let record: serde_json::Value = serde_json::from_str(&read_text(path))
        .unwrap_or_else(|error| panic!("invalid OSV JSON {}: {error}", path.display()));
    let mut samples = Vec::new();
    for affected in record["affected"].as_array().into_iter().flatten() {
        let package = affected["package"]["name"].as_str();
        for range in affected["ranges"].as_array().into_iter().flatten() {
            for event in range["events"].as_array().into_iter().flatten() {
                for key in ["introduced", "fixed", "last_affected"] {
                    if let Some(version) = event[key].as_str() {
                        samples.push(sample("debian12 changelog osv", package, version));
                    }
                }
            }
        }
    }
    samples
}

fn read_feed(relative: &str) -> String {
    String::from_utf8(vulnloop_testdata::read_decompressed(relative))
        .unwrap_or_else(|error| panic!("{relative} is not UTF-8: {error}"))
}

/// Reads the Debian OVAL test comments (`openssh DPKG is earlier than 1:3.9p1-1`)
/// for named versions, and every `debian_evr_string` value.
fn debian_oval() -> Vec<Sample> {
    let xml = read_feed(DEBIAN_OVAL);
    let mut samples: Vec<Sample> = attribute_values(&xml, "comment")
        .into_iter()
        .filter_map(|comment| comment.split_once(" is earlier than "))
        .map(|(package, version)| {
            let package = package.trim_end_matches(" DPKG");
            sample("debian bookworm oval test comment", Some(package), version)
        })
        .collect();
    samples.extend(
        evr_values(&xml).map(|(_, version)| sample("debian bookworm oval evr", None, version)),
    );
    samples
}

/// Reads every `debian_evr_string` value of an Ubuntu OVAL file. The
/// `ind:value` ones are the kernel versions of the release's kernel checks.
fn ubuntu_oval(feed: &str, origin: &'static str) -> Vec<Sample> {
    let xml = read_feed(feed);
    let samples: Vec<Sample> = evr_values(&xml)
        .map(|(element, version)| {
            let package = (element == "ind:value").then_some(origin);
            sample(origin, package, version)
        })
        .collect();
    assert!(!samples.is_empty(), "no debian_evr_string values in {feed}");
    samples
}

/// Returns the values of every `name="…"` attribute in `xml`.
fn attribute_values<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
    let marker = format!(" {name}=\"");
    xml.match_indices(&marker)
        .filter_map(|(at, _)| {
            let value = &xml[at + marker.len()..];
            value.find('"').map(|end| &value[..end])
        })
        .collect()
}

/// Yields `(element name, text)` for every state element (`evr`, `linux:evr`,
/// `ind:value`) with `datatype="debian_evr_string"`. Variables of that
/// datatype hold no version text and are skipped.
fn evr_values(xml: &str) -> impl Iterator<Item = (&str, &str)> {
    xml.match_indices(" datatype=\"debian_evr_string\"")
        .filter_map(|(at, _)| {
            let element_start = xml[..at].rfind('<')? + 1;
            let element = xml[element_start..at].split(' ').next()?;
            if !(element.ends_with("evr") || element.ends_with("value")) {
                return None;
            }
            let after_tag = &xml[at..];
            let text_start = after_tag.find('>')? + 1;
            let text = &after_tag[text_start..];
            let text_end = text.find('<')?;
            Some((element, &text[..text_end]))
        })
}
