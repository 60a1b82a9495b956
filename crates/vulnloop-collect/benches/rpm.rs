//! Read time of the real rpm databases, one per backend and distribution.

#![allow(clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use vulnloop_collect::{read_rpm_database, RpmBackend};

const GO_RPMDB: &str = "inventories/rpm/go-rpmdb-testdata.tar.zst";

/// Databases in the archive: directory, file and backend.
const DATABASES: [(&str, &str, RpmBackend); 4] = [
    ("amazonlinux2023-plain", "rpmdb.sqlite", RpmBackend::Sqlite),
    ("cbl-mariner-2.0", "rpmdb.sqlite", RpmBackend::Sqlite),
    ("sle15-bci", "Packages.db", RpmBackend::Ndb),
    ("libuuid", "Packages", RpmBackend::BerkeleyDb),
];

fn read_databases(c: &mut Criterion) {
    let dir = vulnloop_testdata::unpack(GO_RPMDB);
    let mut group = c.benchmark_group("rpm");
    for (name, file, backend) in DATABASES {
        let path = dir.path().join("go-rpmdb-testdata").join(name).join(file);
        group.bench_function(name, |b| {
            b.iter(|| read_rpm_database(&path, backend, "/var/lib/rpm/db").unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, read_databases);
criterion_main!(benches);
