//! Acceptance tests of `vulnloop scan` on Ubuntu USN OVAL data.

mod common;

use std::collections::BTreeSet;

use common::{build_db, feed_dir, findings, scan_json};
use vulnloop_advisory::{Advisory, PackageKind};
use vulnloop_testdata::dpkg_compare;

/// Parses a USN OVAL file with the feed parser.
fn usns(relative: &str) -> Vec<Advisory> {
    let path = vulnloop_testdata::data_file(relative);
    let kind = vulnloop_feeds::detect(&path).expect("detected as Ubuntu OVAL");
    let mut advisories = Vec::new();
    vulnloop_feeds::parse_file(&path, kind, &mut |advisory| advisories.push(advisory))
        .expect("the USN OVAL parses");
    advisories
}

/// Installs one binary of each of a few USNs just below its fixed version and
/// checks that the scan reports exactly the USNs that apply by the real dpkg
/// ordering.
fn lowered_binaries_report_their_usns(relative: &str, os_release: &str) {
    let advisories = usns(relative);
    let chosen: Vec<(String, String)> = advisories
        .iter()
        .filter(|a| !a.cves.is_empty())
        .filter_map(|a| {
            let affected = a.affected.iter().find(|f| {
                f.kind == PackageKind::Binary
                    && !f.package.starts_with("linux")
                    && !f.package.contains(':')
            })?;
            Some((
                affected.package.clone(),
                format!("{}~", affected.status.fixed_version()?),
            ))
        })
        .step_by(25)
        .take(6)
        .collect();
    assert!(
        chosen.len() >= 5,
        "too few USNs with binary packages: {chosen:?}"
    );
    let mut status = String::new();
    let mut seen_names = BTreeSet::new();
    for (name, version) in &chosen {
        if seen_names.insert(name.clone()) {
            status.push_str(&format!(
                "Package: {name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {version}\n\n"
            ));
        }
    }
    let installed: Vec<(String, String)> = chosen
        .iter()
        .filter(|(name, _)| seen_names.contains(name))
        .cloned()
        .collect();

    let mut candidates = Vec::new();
    for advisory in &advisories {
        for affected in &advisory.affected {
            for (name, version) in &installed {
                if affected.kind == PackageKind::Binary && &affected.package == name {
                    if let Some(fixed) = affected.status.fixed_version() {
                        candidates.push((
                            advisory.id.clone(),
                            name.clone(),
                            version.clone(),
                            fixed.to_string(),
                        ));
                    }
                }
            }
        }
    }
    let pairs: Vec<(String, String)> = candidates
        .iter()
        .map(|(_, _, v, f)| (v.clone(), f.clone()))
        .collect();
    let expected: BTreeSet<(String, String)> = candidates
        .iter()
        .zip(dpkg_compare(&pairs))
        .filter(|(_, verdict)| verdict.is_lt())
        .map(|((id, name, _, _), _)| (name.clone(), id.clone()))
        .collect();

    let feeds = feed_dir(&[relative]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());
    let root = common::rootfs(os_release, &status);
    let (code, report) = scan_json(root.path(), &db, &[]);
    let seen: BTreeSet<(String, String)> = findings(&report)
        .into_iter()
        .map(|f| (f.package, f.id))
        .collect();

    assert_eq!(code, 1, "coverage: {}", report["coverage"]);
    assert_eq!(seen, expected);
    let first = &report["packages"][0]["findings"][0];
    assert!(
        !first["cves"].as_array().unwrap().is_empty(),
        "a USN finding lists its CVEs: {first}"
    );
}

#[test]
fn jammy_usns_reported_for_lowered_binaries() {
    lowered_binaries_report_their_usns(
        "feeds/ubuntu-oval/com.ubuntu.jammy.usn.oval.xml.zst",
        "NAME=\"Ubuntu\"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"22.04\"\nVERSION_CODENAME=jammy\nPRETTY_NAME=\"Ubuntu 22.04.3 LTS\"\n",
    );
}

#[test]
fn noble_usns_reported_for_lowered_binaries() {
    lowered_binaries_report_their_usns(
        "feeds/ubuntu-oval/com.ubuntu.noble.usn.oval.xml.zst",
        "NAME=\"Ubuntu\"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"24.04\"\nVERSION_CODENAME=noble\nPRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\n",
    );
}
