//! The apk database reader on the real `installed` files of trivy and syft.

#![allow(clippy::unwrap_used)]

use std::fs;

use vulnloop_collect::{parse_apk_installed, APK_INSTALLED_PATH};
use vulnloop_inventory::PackageManager;

const TRIVY: &str = "inventories/linux/trivy-testdata-dpkg-apk-osrelease.tar.zst";
const SYFT: &str = "inventories/linux/syft-testdata-dpkg-apk-rpm-osrelease.tar.zst";
const SYFT_ALPINE: &str = "syft-testdata/syft/pkg/cataloger/alpine/testdata";

fn trivy_installed() -> Vec<u8> {
    let dir = vulnloop_testdata::unpack(TRIVY);
    fs::read(dir.path().join("trivy-testdata/apk/installed")).unwrap()
}

#[test]
fn trivy_packages_and_problem() {
    let parsed = parse_apk_installed(&trivy_installed(), APK_INSTALLED_PATH);
    assert_eq!(parsed.packages.len(), 14);
    assert_eq!(parsed.problems.len(), 1);
    assert!(
        parsed.problems[0]
            .message
            .contains("invalidPackageWithoutAVersion"),
        "{}",
        parsed.problems[0].message
    );
}

#[test]
fn trivy_musl_fields() {
    let bytes = trivy_installed();
    let parsed = parse_apk_installed(&bytes, APK_INSTALLED_PATH);
    let musl = parsed
        .packages
        .iter()
        .find(|package| package.name == "musl")
        .unwrap();
    let line = String::from_utf8(bytes)
        .unwrap()
        .lines()
        .position(|line| line.starts_with("C:"))
        .unwrap()
        + 1;
    assert_eq!(musl.manager, PackageManager::Apk);
    assert_eq!(musl.version, "1.1.14-r10");
    assert_eq!(musl.arch.as_deref(), Some("x86_64"));
    assert_eq!(musl.source_name.as_deref(), Some("musl"));
    assert_eq!(musl.repository, None);
    assert_eq!(musl.origin, format!("/lib/apk/db/installed:{line}"));
}

#[test]
fn syft_installed_counts() {
    let dir = vulnloop_testdata::unpack(SYFT);
    for (name, expected) in [("multiple-1", 4), ("multiple-2", 14)] {
        let path = dir
            .path()
            .join(SYFT_ALPINE)
            .join(name)
            .join("lib/apk/db/installed");
        let bytes = fs::read(path).unwrap();
        let records = String::from_utf8_lossy(&bytes)
            .lines()
            .filter(|line| line.starts_with("P:"))
            .count();
        let parsed = parse_apk_installed(&bytes, APK_INSTALLED_PATH);
        assert_eq!(parsed.problems, [], "{name}");
        assert_eq!(records, expected, "{name}");
        assert_eq!(parsed.packages.len(), expected, "{name}");
        for package in &parsed.packages {
            assert!(package.arch.is_some(), "{name}: {package:?}");
            assert!(package.source_name.is_some(), "{name}: {package:?}");
        }
    }
}

#[test]
fn missing_blank_line_is_problem() {
    let text = "P:a\nV:1.0-r0\nP:b\nV:2.0-r0\n";
    let parsed = parse_apk_installed(text.as_bytes(), APK_INSTALLED_PATH);
    assert_eq!(parsed.packages, []);
    assert_eq!(parsed.problems.len(), 1);
    assert!(
        parsed.problems[0].message.contains("blank line"),
        "{}",
        parsed.problems[0].message
    );
}

#[test]
fn malformed_line_is_problem() {
    let text = "P:a\nV:1.0-r0\ngarbage\n\n";
    let parsed = parse_apk_installed(text.as_bytes(), APK_INSTALLED_PATH);
    assert_eq!(parsed.packages.len(), 1);
    assert_eq!(parsed.problems.len(), 1);
    assert_eq!(parsed.problems[0].location, "/lib/apk/db/installed:3");
}
