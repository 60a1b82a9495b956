//! The rpm database readers on real databases of each backend and on damaged ones.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use vulnloop_collect::{
    parse_header, read_rpm_database, HeaderError, RpmBackend, RpmDatabaseError, RpmPackages,
};
use vulnloop_inventory::{Package, PackageManager};

const GO_RPMDB: &str = "inventories/rpm/go-rpmdb-testdata.tar.zst";
const SYFT: &str = "inventories/linux/syft-testdata-dpkg-apk-rpm-osrelease.tar.zst";
const SYFT_REDHAT: &str = "syft-testdata/syft/pkg/cataloger/redhat/testdata/Packages";
const SYFT_COVERAGE: &str =
    "syft-testdata/cmd/syft/internal/test/integration/testdata/image-pkg-coverage/pkgs/var/lib/rpm/Packages";

/// The fields compared with `packages.csv`: name, version, arch, source name,
/// source version, vendor.
type Fields = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn unpack() -> tempfile::TempDir {
    vulnloop_testdata::unpack(GO_RPMDB)
}

fn database(dir: &Path, name: &str, file: &str) -> PathBuf {
    dir.join("go-rpmdb-testdata").join(name).join(file)
}

fn read(path: &Path, backend: RpmBackend) -> RpmPackages {
    read_rpm_database(path, backend, "/var/lib/rpm/db").unwrap()
}

fn fields(package: &Package) -> Fields {
    (
        package.name.clone(),
        package.version.clone(),
        package.arch.clone(),
        package.source_name.clone(),
        package.source_version.clone(),
        package.vendor.clone(),
    )
}

/// Counts each package's fields, so duplicates are compared too.
fn count(fields: impl Iterator<Item = Fields>) -> BTreeMap<Fields, usize> {
    let mut counts = BTreeMap::new();
    for field in fields {
        *counts.entry(field).or_insert(0) += 1;
    }
    counts
}

/// Reads `packages.csv` (`rpm -qa` output, fields separated by `¶`) into
/// the fields the reader should produce, without `gpg-pubkey` entries.
fn expected(csv: &Path) -> BTreeMap<Fields, usize> {
    let text = fs::read_to_string(csv).unwrap();
    let some = |value: &str| (!value.is_empty()).then(|| value.to_string());
    let rows = text
        .lines()
        .filter(|line| !line.is_empty())
        .filter_map(|line| {
            let columns: Vec<&str> = line.split('¶').collect();
            assert_eq!(columns.len(), 11, "{line}");
            let [epoch, name, version, release, arch, source_rpm, _, _, vendor, ..] = columns[..]
            else {
                unreachable!()
            };
            if name == "gpg-pubkey" {
                return None;
            }
            let evr = match epoch {
                "" => format!("{version}-{release}"),
                epoch => format!("{epoch}:{version}-{release}"),
            };
            let stem = source_rpm.strip_suffix(".src.rpm").unwrap();
            let (rest, source_release) = stem.rsplit_once('-').unwrap();
            let (source_name, source_version) = rest.rsplit_once('-').unwrap();
            Some((
                name.to_string(),
                evr,
                some(arch),
                Some(source_name.to_string()),
                Some(format!("{source_version}-{source_release}")),
                some(vendor),
            ))
        });
    count(rows)
}

fn assert_matches_csv(name: &str, file: &str, backend: RpmBackend, packages: usize) {
    let dir = unpack();
    let read = read(&database(dir.path(), name, file), backend);
    let expected = expected(&database(dir.path(), name, "packages.csv"));

    assert_eq!(read.problems, []);
    assert_eq!(read.packages.len(), packages);
    assert_eq!(expected.values().sum::<usize>(), packages);
    assert_eq!(count(read.packages.iter().map(fields)), expected);
}

#[test]
fn amazonlinux2023_sqlite_matches_csv() {
    assert_matches_csv(
        "amazonlinux2023-plain",
        "rpmdb.sqlite",
        RpmBackend::Sqlite,
        102,
    );
}

#[test]
fn sle15_ndb_matches_csv() {
    assert_matches_csv("sle15-bci", "Packages.db", RpmBackend::Ndb, 36);
}

#[test]
fn amazonlinux2023_epoch_kept() {
    let dir = unpack();
    let read = read(
        &database(dir.path(), "amazonlinux2023-plain", "rpmdb.sqlite"),
        RpmBackend::Sqlite,
    );
    let with_epoch = read
        .packages
        .iter()
        .filter(|package| package.version.contains(':'))
        .count();
    assert_eq!(with_epoch, 3);
}

#[test]
fn packages_carry_manager_and_origin() {
    let dir = unpack();
    let read = read(
        &database(dir.path(), "sle15-bci", "Packages.db"),
        RpmBackend::Ndb,
    );
    for package in &read.packages {
        assert_eq!(package.manager, PackageManager::Rpm);
        assert_eq!(package.origin, "/var/lib/rpm/db");
    }
}

#[test]
fn mariner_sqlite_count() {
    let dir = unpack();
    let read = read(
        &database(dir.path(), "cbl-mariner-2.0", "rpmdb.sqlite"),
        RpmBackend::Sqlite,
    );
    assert_eq!(read.problems, []);
    assert_eq!(read.packages.len(), 129);
    let bash = read
        .packages
        .iter()
        .find(|package| package.name == "bash")
        .unwrap();
    assert_eq!(bash.vendor.as_deref(), Some("Microsoft Corporation"));
    assert_eq!(bash.source_name.as_deref(), Some("bash"));
}

#[test]
fn libuuid_bdb_single_package() {
    let dir = unpack();
    let read = read(
        &database(dir.path(), "libuuid", "Packages"),
        RpmBackend::BerkeleyDb,
    );
    assert_eq!(read.problems, []);
    let names: Vec<&str> = read
        .packages
        .iter()
        .map(|package| package.name.as_str())
        .collect();
    assert_eq!(names, ["libuuid"]);
    assert_eq!(read.packages[0].source_name.as_deref(), Some("util-linux"));
}

#[test]
fn syft_bdb_databases() {
    let dir = vulnloop_testdata::unpack(SYFT);
    for relative in [SYFT_REDHAT, SYFT_COVERAGE] {
        let read = read(&dir.path().join(relative), RpmBackend::BerkeleyDb);
        assert_eq!(read.problems, [], "{relative}");
        let names: Vec<&str> = read
            .packages
            .iter()
            .map(|package| package.name.as_str())
            .collect();
        assert_eq!(names, ["dive"], "{relative}");
        assert_eq!(read.packages[0].version, "0.9.2-1", "{relative}");
        assert_eq!(
            read.packages[0].source_name.as_deref(),
            Some("dive"),
            "{relative}"
        );
    }
}

/// Copies a database into a temporary directory after `edit` changes its bytes.
fn edited(source: &Path, edit: impl FnOnce(&mut Vec<u8>)) -> (tempfile::TempDir, PathBuf) {
    let mut bytes = fs::read(source).unwrap();
    edit(&mut bytes);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(source.file_name().unwrap());
    fs::write(&path, bytes).unwrap();
    (dir, path)
}

#[test]
fn truncated_bdb_is_error() {
    let dir = unpack();
    let source = database(dir.path(), "libuuid", "Packages");
    let (_tmp, path) = edited(&source, |bytes| bytes.truncate(bytes.len() - 100));
    let error =
        read_rpm_database(&path, RpmBackend::BerkeleyDb, "/var/lib/rpm/Packages").unwrap_err();
    assert!(matches!(error, RpmDatabaseError::Corrupt { .. }), "{error}");
    assert!(error.to_string().contains("truncated"), "{error}");
}

#[test]
fn truncated_bdb_at_page_boundary_is_error() {
    let dir = unpack();
    let source = database(dir.path(), "libuuid", "Packages");
    let (_tmp, path) = edited(&source, |bytes| bytes.truncate(bytes.len() - 4096));
    let error =
        read_rpm_database(&path, RpmBackend::BerkeleyDb, "/var/lib/rpm/Packages").unwrap_err();
    assert!(matches!(error, RpmDatabaseError::Corrupt { .. }), "{error}");
}

#[test]
fn truncated_ndb_is_error() {
    let dir = unpack();
    let source = database(dir.path(), "sle15-bci", "Packages.db");
    let (_tmp, path) = edited(&source, |bytes| bytes.truncate(bytes.len() / 2));
    let error = read_rpm_database(&path, RpmBackend::Ndb, "/var/lib/rpm/Packages.db").unwrap_err();
    assert!(
        error.to_string().contains("/var/lib/rpm/Packages.db"),
        "{error}"
    );
}

#[test]
fn truncated_sqlite_is_error() {
    let dir = unpack();
    let source = database(dir.path(), "amazonlinux2023-plain", "rpmdb.sqlite");
    let (_tmp, path) = edited(&source, |bytes| bytes.truncate(1000));
    let error =
        read_rpm_database(&path, RpmBackend::Sqlite, "/var/lib/rpm/rpmdb.sqlite").unwrap_err();
    assert!(matches!(error, RpmDatabaseError::Sqlite { .. }), "{error}");
}

#[test]
fn ndb_wrong_magic_is_error() {
    let dir = unpack();
    let source = database(dir.path(), "sle15-bci", "Packages.db");
    let (_tmp, path) = edited(&source, |bytes| bytes[0..4].copy_from_slice(b"XXXX"));
    let error = read_rpm_database(&path, RpmBackend::Ndb, "/var/lib/rpm/Packages.db").unwrap_err();
    assert!(error.to_string().contains("magic"), "{error}");
}

#[test]
fn bdb_wrong_magic_is_error() {
    let dir = unpack();
    let source = database(dir.path(), "libuuid", "Packages");
    let (_tmp, path) = edited(&source, |bytes| bytes[12..16].copy_from_slice(b"XXXX"));
    let error =
        read_rpm_database(&path, RpmBackend::BerkeleyDb, "/var/lib/rpm/Packages").unwrap_err();
    assert!(error.to_string().contains("magic"), "{error}");
}

#[test]
fn ndb_checksum_mismatch_is_error() {
    let dir = unpack();
    let source = database(dir.path(), "sle15-bci", "Packages.db");
    // Byte 4096 + 100 lies inside the first blob, which starts after the slot page.
    let (_tmp, path) = edited(&source, |bytes| bytes[4196] ^= 0xff);
    let error = read_rpm_database(&path, RpmBackend::Ndb, "/var/lib/rpm/Packages.db").unwrap_err();
    assert!(error.to_string().contains("Adler-32"), "{error}");
}

/// Returns the first header blob of the SLE 15 database, cut out of its NDB blob.
fn real_blob() -> Vec<u8> {
    static BLOB: OnceLock<Vec<u8>> = OnceLock::new();
    BLOB.get_or_init(|| {
        let dir = unpack();
        let bytes = fs::read(database(dir.path(), "sle15-bci", "Packages.db")).unwrap();
        let length = u32::from_le_bytes(bytes[4096 + 12..4096 + 16].try_into().unwrap()) as usize;
        bytes[4096 + 16..4096 + 16 + length].to_vec()
    })
    .clone()
}

#[test]
fn real_blob_parses() {
    let header = parse_header(&real_blob()).unwrap();
    assert!(!header.name.is_empty());
    assert!(!header.release.is_empty());
}

#[test]
fn blob_offset_outside_is_error() {
    let mut blob = real_blob();
    let entries = u32::from_be_bytes(blob[0..4].try_into().unwrap()) as usize;
    // Point every entry but the region tag far past the data store.
    for index in 1..entries {
        let at = 8 + index * 16 + 8;
        blob[at..at + 4].copy_from_slice(&0x00ff_ff00u32.to_be_bytes());
    }
    let error = parse_header(&blob).unwrap_err();
    assert!(matches!(error, HeaderError::BadEntry { .. }), "{error}");
    assert!(error.to_string().contains("outside"), "{error}");
}

#[test]
fn blob_region_trailer_outside_is_error() {
    let mut blob = real_blob();
    blob[16..20].copy_from_slice(&u32::MAX.to_be_bytes());
    let error = parse_header(&blob).unwrap_err();
    assert!(matches!(error, HeaderError::BadRegion { .. }), "{error}");
}

#[test]
fn blob_truncated_is_error() {
    let blob = real_blob();
    let error = parse_header(&blob[..blob.len() / 2]).unwrap_err();
    assert!(matches!(error, HeaderError::Truncated { .. }), "{error}");
}

#[test]
fn blob_huge_count_is_error() {
    let mut blob = real_blob();
    blob[0..4].copy_from_slice(&u32::MAX.to_be_bytes());
    let error = parse_header(&blob).unwrap_err();
    assert!(matches!(error, HeaderError::TooLarge { .. }), "{error}");
}

#[test]
fn bad_blob_in_sqlite_becomes_problem() {
    let dir = unpack();
    let source = database(dir.path(), "amazonlinux2023-plain", "rpmdb.sqlite");
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("rpmdb.sqlite");
    fs::copy(&source, &path).unwrap();
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection
        .execute("UPDATE Packages SET blob = substr(blob, 1, 100) WHERE hnum = (SELECT min(hnum) FROM Packages)", [])
        .unwrap();
    drop(connection);

    let read = read_rpm_database(&path, RpmBackend::Sqlite, "/var/lib/rpm/rpmdb.sqlite").unwrap();
    assert_eq!(read.packages.len(), 101);
    assert_eq!(read.problems.len(), 1);
    assert!(
        read.problems[0].message.contains("package record"),
        "{}",
        read.problems[0].message
    );
}

mod proptests {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parse_header_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = vulnloop_collect::parse_header(&bytes);
        }

        #[test]
        fn edited_real_blob_never_panics(position in 0usize..4096, value in any::<u8>()) {
            let mut blob = super::real_blob();
            let index = position % blob.len();
            blob[index] = value;
            let _ = vulnloop_collect::parse_header(&blob);
        }
    }
}

#[test]
fn sqlite_at_rest_writes_nothing() {
    let dir = unpack();
    let source = database(dir.path(), "amazonlinux2023-plain", "rpmdb.sqlite");
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("rpmdb.sqlite");
    fs::copy(&source, &path).unwrap();

    let read = read_rpm_database(&path, RpmBackend::Sqlite, "/var/lib/rpm/rpmdb.sqlite").unwrap();
    let names: Vec<String> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(read.packages.len(), 102);
    assert_eq!(names, ["rpmdb.sqlite"]);
}

#[test]
fn sqlite_wal_content_read() {
    let dir = unpack();
    let source = database(dir.path(), "amazonlinux2023-plain", "rpmdb.sqlite");
    let work = tempfile::tempdir().unwrap();
    let live = work.path().join("rpmdb.sqlite");
    fs::copy(&source, &live).unwrap();

    // Delete one package in a WAL transaction, then copy the files while the
    // connection is open, as an image snapshot taken during a transaction would.
    let connection = rusqlite::Connection::open(&live).unwrap();
    connection
        .pragma_update(None, "journal_mode", "WAL")
        .unwrap();
    connection
        .pragma_update(None, "wal_autocheckpoint", 0)
        .unwrap();
    connection
        .pragma_update(None, "foreign_keys", false)
        .unwrap();
    connection
        .execute(
            "DELETE FROM Packages WHERE hnum = (SELECT min(hnum) FROM Packages)",
            [],
        )
        .unwrap();
    let image = tempfile::tempdir().unwrap();
    let path = image.path().join("rpmdb.sqlite");
    fs::copy(&live, &path).unwrap();
    fs::copy(
        work.path().join("rpmdb.sqlite-wal"),
        image.path().join("rpmdb.sqlite-wal"),
    )
    .unwrap();
    drop(connection);

    let read = read_rpm_database(&path, RpmBackend::Sqlite, "/var/lib/rpm/rpmdb.sqlite").unwrap();
    assert_eq!(read.packages.len(), 101);
    assert!(!image.path().join("rpmdb.sqlite-shm").exists());
}

#[test]
fn ndb_free_slot_skipped() {
    let dir = unpack();
    let source = database(dir.path(), "sle15-bci", "Packages.db");
    // The first slot sits at byte 32; a block offset of 0 at byte 40 frees it.
    let (_tmp, path) = edited(&source, |bytes| bytes[40..44].copy_from_slice(&[0; 4]));
    let read = read_rpm_database(&path, RpmBackend::Ndb, "/var/lib/rpm/Packages.db").unwrap();
    assert_eq!(read.problems, []);
    assert_eq!(read.packages.len(), 35);
}
