//! Parse time of a real dpkg database: the 759-package Debian 12 status file.

#![allow(clippy::unwrap_used)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use vulnloop_collect::{parse_status, StatusFile, STATUS_PATH};

const DEBIAN12: &str = "inventories/linux/debian12-build-machine-dpkg.tar.zst";

fn parse_debian12_status(c: &mut Criterion) {
    let dir = vulnloop_testdata::unpack(DEBIAN12);
    let bytes = std::fs::read(
        dir.path()
            .join("debian12-build-machine/var/lib/dpkg/status"),
    )
    .unwrap();

    let mut group = c.benchmark_group("dpkg");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("parse_status_debian12_759_packages", |b| {
        b.iter(|| parse_status(black_box(&bytes), STATUS_PATH, StatusFile::Database))
    });
    group.finish();
}

criterion_group!(benches, parse_debian12_status);
criterion_main!(benches);
