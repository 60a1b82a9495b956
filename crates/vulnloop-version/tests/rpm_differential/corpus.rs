//! Real rpm EVRs from the shared data, with the package each belongs to.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use vulnloop_testdata::{read_decompressed, unpack};

/// Versions of each package, per source, as `[epoch:]version-release`.
pub type Corpus = BTreeMap<&'static str, BTreeMap<String, BTreeSet<String>>>;

/// Reads every source of real EVRs.
pub fn real_versions() -> Corpus {
    let mut corpus = Corpus::new();
    corpus.insert("go-rpmdb packages.csv", rpmdb_packages());
    for release in ["8", "9", "10"] {
        let name: &'static str = match release {
            "8" => "almalinux8 OSV",
            "9" => "almalinux9 OSV",
            _ => "almalinux10 OSV",
        };
        corpus.insert(name, almalinux_fixed(release));
    }
    corpus.insert(
        "RHEL 9 OVAL",
        oval_evrs("feeds/redhat-oval/com.redhat.rhsa-RHEL9.xml.zst"),
    );
    corpus.insert(
        "Rocky 8 OVAL",
        oval_evrs("feeds/rocky-oval/org.rockylinux.rlsa-8.xml.zst"),
    );
    corpus.insert(
        "Rocky 9 OVAL",
        oval_evrs("feeds/rocky-oval/org.rockylinux.rlsa-9.xml.zst"),
    );
    corpus
}

fn files_named(dir: &Path, suffix: &str, found: &mut Vec<PathBuf>) {
    let entries =
        fs::read_dir(dir).unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            files_named(&path, suffix, found);
        } else if path.to_string_lossy().ends_with(suffix) {
            found.push(path);
        }
    }
}

/// Reads `EPOCH¶NAME¶VERSION¶RELEASE¶…` lines, the `rpm -qa` ground truth.
fn rpmdb_packages() -> BTreeMap<String, BTreeSet<String>> {
    let dir = unpack("inventories/rpm/go-rpmdb-testdata.tar.zst");
    let mut files = Vec::new();
    files_named(dir.path(), "packages.csv", &mut files);
    assert_eq!(files.len(), 5, "packages.csv files: {files:?}");

    let mut packages: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let text = fs::read_to_string(&file).expect("readable packages.csv");
        for line in text.lines() {
            let fields: Vec<&str> = line.split('¶').collect();
            let [epoch, name, version, release, ..] = fields[..] else {
                panic!("short line in {}: {line:?}", file.display());
            };
            let evr = if epoch.is_empty() {
                format!("{version}-{release}")
            } else {
                format!("{epoch}:{version}-{release}")
            };
            packages.entry(name.to_string()).or_default().insert(evr);
        }
    }
    packages
}

/// Reads `affected[].ranges[].events[].fixed` of the AlmaLinux OSV records.
fn almalinux_fixed(release: &str) -> BTreeMap<String, BTreeSet<String>> {
    let dir = unpack(&format!(
        "feeds/almalinux-osv/almalinux{release}-osv.tar.zst"
    ));
    let mut files = Vec::new();
    files_named(dir.path(), ".json", &mut files);

    let mut packages: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let text = fs::read(&file).expect("readable OSV file");
        let record: serde_json::Value = serde_json::from_slice(&text)
            .unwrap_or_else(|error| panic!("invalid JSON in {}: {error}", file.display()));
        for affected in record["affected"].as_array().into_iter().flatten() {
            let Some(name) = affected["package"]["name"].as_str() else {
                continue;
            };
            let events = affected["ranges"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|range| range["events"].as_array().into_iter().flatten());
            for fixed in events.filter_map(|event| event["fixed"].as_str()) {
                packages
                    .entry(name.to_string())
                    .or_default()
                    .insert(fixed.to_string());
            }
        }
    }
    packages
}

/// Joins OVAL `rpminfo_test`s to their object's package name and their
/// state's `evr`, by scanning the XML line by line.
fn oval_evrs(relative: &str) -> BTreeMap<String, BTreeSet<String>> {
    let text = String::from_utf8(read_decompressed(relative)).expect("UTF-8 OVAL");
    let mut names: BTreeMap<&str, &str> = BTreeMap::new();
    let mut evrs: BTreeMap<&str, &str> = BTreeMap::new();
    let mut tests: Vec<(&str, &str)> = Vec::new();
    let (mut id, mut object_ref) = ("", "");

    for line in text.lines().map(str::trim) {
        if line.starts_with("<red-def:rpminfo_") {
            id = attribute(line, "id").unwrap_or("");
        } else if let Some(name) = element_text(line, "<red-def:name>") {
            names.insert(id, name);
        } else if line.starts_with("<red-def:evr ") {
            if let Some(evr) = line
                .split_once('>')
                .and_then(|(_, rest)| rest.split_once('<'))
            {
                evrs.insert(id, evr.0);
            }
        } else if let Some(reference) = attribute(line, "object_ref") {
            object_ref = reference;
        } else if let Some(state_ref) = attribute(line, "state_ref") {
            tests.push((object_ref, state_ref));
        }
    }

    let mut packages: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (object, state) in tests {
        if let (Some(name), Some(evr)) = (names.get(object), evrs.get(state)) {
            packages
                .entry(name.to_string())
                .or_default()
                .insert(evr.to_string());
        }
    }
    packages
}

fn attribute<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let start = line.find(&format!(" {name}=\""))? + name.len() + 3;
    let length = line[start..].find('"')?;
    Some(&line[start..start + length])
}

fn element_text<'a>(line: &'a str, open: &str) -> Option<&'a str> {
    line.strip_prefix(open)?
        .split_once('<')
        .map(|(text, _)| text)
}
