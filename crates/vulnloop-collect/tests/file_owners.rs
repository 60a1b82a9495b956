//! File ownership on real rpm and apk databases: which installed package
//! lists a path, as runtime exposure needs it.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;

use rusqlite::Connection;
use vulnloop_collect::{
    read_file_paths, read_rpm_file_owners, record_apk_owners, FileOwners, RpmBackend,
};

const GO_RPMDB: &str = "inventories/rpm/go-rpmdb-testdata.tar.zst";
const TRIVY: &str = "inventories/linux/trivy-testdata-dpkg-apk-osrelease.tar.zst";
const SYFT: &str = "inventories/linux/syft-testdata-dpkg-apk-rpm-osrelease.tar.zst";
const SYFT_ALPINE: &str = "syft-testdata/syft/pkg/cataloger/alpine/testdata";

fn rpm_owners(dir: &Path, database: &str, backend: RpmBackend, paths: &[&str]) -> FileOwners {
    let file = dir.join("go-rpmdb-testdata").join(database);
    let mut owners = FileOwners::new(paths.iter().copied());
    let read = read_rpm_file_owners(&file, backend, "/var/lib/rpm/db", &mut owners).unwrap();
    assert_eq!(read.problems, []);
    owners
}

/// Opens the unpacked `rpmdb.sqlite` of Amazon Linux 2023 with its write-ahead log applied.
fn amazonlinux2023_connection(dir: &Path) -> Connection {
    Connection::open(dir.join("go-rpmdb-testdata/amazonlinux2023-plain/rpmdb.sqlite")).unwrap()
}

/// Returns the possible owners of `path` according to rpm's own indexes:
/// packages whose `Basenames` index has the file name and whose `Dirnames`
/// index has the directory. The indexes do not pair a file name with its
/// directory, so a package with that file name elsewhere is included too.
fn indexed_owners(connection: &Connection, path: &str) -> Vec<String> {
    let split = path.rfind('/').unwrap() + 1;
    let (dirname, basename) = path.split_at(split);
    let mut statement = connection
        .prepare(
            "SELECT DISTINCT n.key FROM Basenames b \
             JOIN Dirnames d ON d.hnum = b.hnum JOIN Name n ON n.hnum = b.hnum \
             WHERE b.key = ?1 AND d.key = ?2 ORDER BY n.key",
        )
        .unwrap();
    let rows = statement
        .query_map([basename, dirname], |row| row.get(0))
        .unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

#[test]
fn amazonlinux2023_owners_match_rpm_indexes() {
    let dir = vulnloop_testdata::unpack(GO_RPMDB);
    let paths = [
        "/usr/bin/bash",
        "/lib64/libc.so.6",
        "/usr/lib64/libcrypto.so.3",
        "/usr/bin/python3.9",
        "/usr/bin/no-such-program",
    ];
    let owners = rpm_owners(
        dir.path(),
        "amazonlinux2023-plain/rpmdb.sqlite",
        RpmBackend::Sqlite,
        &paths,
    );
    let connection = amazonlinux2023_connection(dir.path());

    for path in paths {
        let possible = indexed_owners(&connection, path);
        for owner in owners.owners(path) {
            assert!(
                possible.contains(owner),
                "{path}: {owner} not in {possible:?}"
            );
        }
    }
    assert_eq!(indexed_owners(&connection, "/usr/bin/bash"), ["bash"]);
    assert_eq!(owners.owners("/usr/bin/bash"), ["bash"]);
    assert_eq!(owners.owners("/lib64/libc.so.6"), ["glibc"]);
    assert_eq!(owners.owners("/usr/lib64/libcrypto.so.3"), ["openssl-libs"]);
    assert!(owners.owners("/usr/bin/no-such-program").is_empty());
}

/// Amazon Linux 2023 links `/lib64` to `/usr/lib64`, and glibc still lists
/// `/lib64/libc.so.6`, while a process maps `/usr/lib64/libc.so.6`.
#[test]
fn amazonlinux2023_owner_through_usr_merge() {
    let dir = vulnloop_testdata::unpack(GO_RPMDB);
    let file = dir
        .path()
        .join("go-rpmdb-testdata/amazonlinux2023-plain/rpmdb.sqlite");
    let aliases = [
        ("/bin", "/usr/bin"),
        ("/lib64", "/usr/lib64"),
        ("/sbin", "/usr/sbin"),
    ];
    let mut owners = FileOwners::with_aliases(
        ["/usr/lib64/libc.so.6", "/usr/lib64/ld-linux-x86-64.so.2"],
        &aliases,
    );

    read_rpm_file_owners(
        &file,
        RpmBackend::Sqlite,
        "/var/lib/rpm/rpmdb.sqlite",
        &mut owners,
    )
    .unwrap();

    assert_eq!(owners.owners("/usr/lib64/libc.so.6"), ["glibc"]);
    assert_eq!(owners.owners("/usr/lib64/ld-linux-x86-64.so.2"), ["glibc"]);
}

/// Every path read from each header has its file name in rpm's `Basenames`
/// index at the same position, and its directory in the `Dirnames` index.
#[test]
fn amazonlinux2023_file_paths_match_rpm_indexes() {
    let dir = vulnloop_testdata::unpack(GO_RPMDB);
    let connection = amazonlinux2023_connection(dir.path());
    let mut packages = connection
        .prepare("SELECT hnum, blob FROM Packages")
        .unwrap();
    let blobs: Vec<(u32, Vec<u8>)> = packages
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut basenames = connection
        .prepare("SELECT key, idx FROM Basenames WHERE hnum = ?1 ORDER BY idx")
        .unwrap();
    let mut dirnames = connection
        .prepare("SELECT key FROM Dirnames WHERE hnum = ?1")
        .unwrap();

    let mut total = 0;
    for (hnum, blob) in blobs {
        let mut paths = Vec::new();
        read_file_paths(&blob, |path| paths.push(path.to_string())).unwrap();
        let indexed: Vec<(String, u32)> = basenames
            .query_map([hnum], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let directories: Vec<String> = dirnames
            .query_map([hnum], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();

        assert_eq!(paths.len(), indexed.len(), "package record {hnum}");
        for (position, path) in paths.iter().enumerate() {
            let split = path.rfind('/').unwrap() + 1;
            let (dirname, basename) = path.split_at(split);
            assert_eq!(
                indexed[position],
                (basename.to_string(), position as u32),
                "package record {hnum}"
            );
            assert!(
                directories.iter().any(|directory| directory == dirname),
                "{path} of record {hnum}"
            );
        }
        total += paths.len();
    }
    let indexed_total: usize = connection
        .query_row("SELECT count(*) FROM Basenames", [], |row| row.get(0))
        .unwrap();
    assert_eq!(total, indexed_total);
}

#[test]
fn sle15_ndb_owners() {
    let dir = vulnloop_testdata::unpack(GO_RPMDB);
    let owners = rpm_owners(
        dir.path(),
        "sle15-bci/Packages.db",
        RpmBackend::Ndb,
        &["/usr/bin/bash", "/usr/bin/rpm", "/etc/os-release"],
    );
    assert_eq!(owners.owners("/usr/bin/bash"), ["bash"]);
    assert_eq!(owners.owners("/usr/bin/rpm"), ["rpm-ndb"]);
}

#[test]
fn berkeley_db_owners() {
    let dir = vulnloop_testdata::unpack(GO_RPMDB);
    let owners = rpm_owners(
        dir.path(),
        "libuuid/Packages",
        RpmBackend::BerkeleyDb,
        &["/usr/lib64/libuuid.so.1", "/lib64/libuuid.so.1"],
    );
    let found: Vec<&String> = owners
        .owners("/usr/lib64/libuuid.so.1")
        .iter()
        .chain(owners.owners("/lib64/libuuid.so.1"))
        .collect();
    assert_eq!(found, ["libuuid"]);
}

#[test]
fn apk_trivy_owners() {
    let dir = vulnloop_testdata::unpack(TRIVY);
    let bytes = fs::read(dir.path().join("trivy-testdata/apk/installed")).unwrap();
    let paths = [
        "/lib/libc.musl-x86_64.so.1",
        "/lib/ld-musl-x86_64.so.1",
        "/bin/busybox",
        "/bin/sh",
        "/etc/hosts",
        "/etc/network/if-up.d",
        "/lib",
    ];
    let mut owners = FileOwners::new(paths);

    record_apk_owners(&bytes, &mut owners);

    assert_eq!(owners.owners("/lib/libc.musl-x86_64.so.1"), ["musl"]);
    assert_eq!(owners.owners("/lib/ld-musl-x86_64.so.1"), ["musl"]);
    assert_eq!(owners.owners("/bin/busybox"), ["busybox"]);
    assert_eq!(owners.owners("/bin/sh"), ["busybox"]);
    assert_eq!(owners.owners("/etc/hosts"), ["alpine-baselayout"]);
    // Directories (`F:` lines) are not files a process maps.
    assert!(owners.owners("/etc/network/if-up.d").is_empty());
    assert!(owners.owners("/lib").is_empty());
}

#[test]
fn apk_syft_owners() {
    let dir = vulnloop_testdata::unpack(SYFT);
    let alpine = dir.path().join(SYFT_ALPINE);
    let first = fs::read(alpine.join("multiple-1/lib/apk/db/installed")).unwrap();
    let second = fs::read(alpine.join("multiple-2/lib/apk/db/installed")).unwrap();

    let mut owners = FileOwners::new(["/bin/sh", "/lib/ld-musl-x86_64.so.1"]);
    record_apk_owners(&first, &mut owners);
    assert_eq!(owners.owners("/bin/sh"), ["busybox-binsh"]);
    assert_eq!(owners.owners("/lib/ld-musl-x86_64.so.1"), ["musl"]);

    let paths = [
        "/lib/libcrypto.so.1.1",
        "/usr/lib/libcrypto.so.1.1",
        "/etc/ssl/misc/CA.pl",
        "/usr/lib/engines-1.1/afalg.so",
        "/lib/libssl.so.1.1",
    ];
    let mut owners = FileOwners::new(paths);
    record_apk_owners(&second, &mut owners);
    assert_eq!(owners.owners("/lib/libcrypto.so.1.1"), ["libcrypto1.1"]);
    assert_eq!(owners.owners("/usr/lib/libcrypto.so.1.1"), ["libcrypto1.1"]);
    assert_eq!(owners.owners("/etc/ssl/misc/CA.pl"), ["libcrypto1.1"]);
    assert_eq!(
        owners.owners("/usr/lib/engines-1.1/afalg.so"),
        ["libcrypto1.1"]
    );
    assert_eq!(owners.owners("/lib/libssl.so.1.1"), ["libssl1.1"]);
}
