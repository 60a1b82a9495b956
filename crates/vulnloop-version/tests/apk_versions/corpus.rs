//! Real apk versions: fixed versions from Alpine's secdb and installed
//! versions from apk databases.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use vulnloop_testdata::unpack;

/// Versions of each package, as keyed in the source.
pub type Versions = BTreeMap<String, BTreeSet<String>>;

fn json_files(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    let entries =
        fs::read_dir(dir).unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            json_files(&path, found);
        } else if path
            .extension()
            .is_some_and(|extension| extension == "json")
        {
            found.push(path);
        }
    }
}

/// Reads the keys of `packages[].pkg.secfixes` from every secdb branch file.
pub fn secdb_fixed() -> Versions {
    let dir = unpack("feeds/alpine-secdb/alpine-secdb-v3.2-to-v3.21-and-edge.tar.zst");
    let mut files = Vec::new();
    json_files(dir.path(), &mut files);
    assert!(files.len() >= 40, "only {} secdb files", files.len());

    let mut versions = Versions::new();
    for file in files {
        let text = fs::read(&file).expect("readable secdb file");
        let secdb: serde_json::Value = serde_json::from_slice(&text)
            .unwrap_or_else(|error| panic!("invalid JSON in {}: {error}", file.display()));
        for package in secdb["packages"].as_array().into_iter().flatten() {
            let package = &package["pkg"];
            let Some(name) = package["name"].as_str() else {
                continue;
            };
            for fixed in package["secfixes"]
                .as_object()
                .into_iter()
                .flat_map(|fixes| fixes.keys())
            {
                versions
                    .entry(name.to_string())
                    .or_default()
                    .insert(fixed.clone());
            }
        }
    }
    versions
}

/// Reads the `P:` and `V:` lines of the apk databases in the trivy and syft
/// test data.
pub fn installed() -> Versions {
    let trivy = unpack("inventories/linux/trivy-testdata-dpkg-apk-osrelease.tar.zst");
    let syft = unpack("inventories/linux/syft-testdata-dpkg-apk-rpm-osrelease.tar.zst");
    let databases = [
        trivy.path().join("trivy-testdata/apk/installed"),
        syft.path().join(
            "syft-testdata/syft/pkg/cataloger/alpine/testdata/multiple-1/lib/apk/db/installed",
        ),
        syft.path().join(
            "syft-testdata/syft/pkg/cataloger/alpine/testdata/multiple-2/lib/apk/db/installed",
        ),
    ];

    let mut versions = Versions::new();
    for database in databases {
        let text = fs::read_to_string(&database)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", database.display()));
        let mut name = None;
        for line in text.lines() {
            if let Some(package) = line.strip_prefix("P:") {
                name = Some(package.to_string());
            } else if let (Some(version), Some(package)) = (line.strip_prefix("V:"), &name) {
                versions
                    .entry(package.clone())
                    .or_default()
                    .insert(version.to_string());
            }
        }
    }
    versions
}
