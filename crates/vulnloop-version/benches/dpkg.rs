//! Parse and compare speed of dpkg versions, on the installed versions of a
//! real Debian 12 host (`inventories/linux/debian12-build-machine-dpkg`).

#![allow(clippy::unwrap_used)]

use std::fs;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vulnloop_version::{DpkgVersion, Scheme};

/// Reads the `Version:` fields of the Debian 12 build machine's dpkg status.
fn host_versions() -> Vec<String> {
    let dir = vulnloop_testdata::unpack("inventories/linux/debian12-build-machine-dpkg.tar.zst");
    let status = dir
        .path()
        .join("debian12-build-machine/var/lib/dpkg/status");
    let text = fs::read_to_string(&status).unwrap();
    let versions: Vec<String> = text
        .lines()
        .filter_map(|line| line.strip_prefix("Version: "))
        .map(str::to_string)
        .collect();
    assert!(
        !versions.is_empty(),
        "no Version: fields in {}",
        status.display()
    );
    versions
}

fn bench_parse(c: &mut Criterion, versions: &[String]) {
    let mut group = c.benchmark_group("dpkg");
    group.throughput(Throughput::Elements(versions.len() as u64));
    group.bench_function("parse host versions", |b| {
        b.iter(|| {
            for text in versions {
                black_box(text.parse::<DpkgVersion>().unwrap());
            }
        });
    });
    group.finish();
}

/// Compares each parsed version with its neighbour in the status file.
fn bench_compare(c: &mut Criterion, versions: &[String]) {
    let parsed: Vec<DpkgVersion> = versions.iter().map(|text| text.parse().unwrap()).collect();
    let mut group = c.benchmark_group("dpkg");
    group.throughput(Throughput::Elements(parsed.len() as u64 - 1));
    group.bench_function("compare parsed neighbours", |b| {
        b.iter(|| {
            for pair in parsed.windows(2) {
                black_box(pair[0].cmp(&pair[1]));
            }
        });
    });
    group.bench_function("Scheme::compare on text", |b| {
        b.iter(|| {
            for pair in versions.windows(2) {
                black_box(Scheme::Dpkg.compare(&pair[0], &pair[1]).unwrap());
            }
        });
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let versions = host_versions();
    bench_parse(c, &versions);
    bench_compare(c, &versions);
}

criterion_group!(dpkg, benches);
criterion_main!(dpkg);
