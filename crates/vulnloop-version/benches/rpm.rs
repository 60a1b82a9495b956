//! Parse and compare speed of rpm EVRs, on the installed packages of five
//! real container images (`inventories/rpm/go-rpmdb-testdata`).

#![allow(clippy::unwrap_used)]

use std::fs;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vulnloop_version::{RpmVersion, Scheme};

/// Reads `[epoch:]version-release` of every line of the `packages.csv` files.
fn image_versions() -> Vec<String> {
    let dir = vulnloop_testdata::unpack("inventories/rpm/go-rpmdb-testdata.tar.zst");
    let images = [
        "amazonlinux2023-plain",
        "amazonlinux2-plain",
        "oraclelinux9-plain",
        "sle15-bci",
        "fedora35",
    ];
    let mut versions = Vec::new();
    for image in images {
        let path = dir
            .path()
            .join("go-rpmdb-testdata")
            .join(image)
            .join("packages.csv");
        for line in fs::read_to_string(&path).unwrap().lines() {
            let fields: Vec<&str> = line.split('¶').collect();
            let evr = match fields[0] {
                "" => format!("{}-{}", fields[2], fields[3]),
                epoch => format!("{epoch}:{}-{}", fields[2], fields[3]),
            };
            versions.push(evr);
        }
    }
    assert!(versions.len() > 500, "only {} EVRs", versions.len());
    versions
}

fn benches(c: &mut Criterion) {
    let versions = image_versions();
    let parsed: Vec<RpmVersion> = versions.iter().map(|text| text.parse().unwrap()).collect();
    let mut group = c.benchmark_group("rpm");

    group.throughput(Throughput::Elements(versions.len() as u64));
    group.bench_function("parse image versions", |b| {
        b.iter(|| {
            for text in &versions {
                black_box(text.parse::<RpmVersion>().unwrap());
            }
        });
    });

    group.throughput(Throughput::Elements(versions.len() as u64 - 1));
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
                black_box(Scheme::Rpm.compare(&pair[0], &pair[1]).unwrap());
            }
        });
    });
    group.finish();
}

criterion_group!(rpm, benches);
criterion_main!(rpm);
