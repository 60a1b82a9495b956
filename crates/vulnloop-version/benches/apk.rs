//! Parse and compare speed of apk versions, on the fixed versions of
//! Alpine's secdb (`feeds/alpine-secdb`, all branches).

#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vulnloop_version::{ApkVersion, Scheme};

/// Reads the `secfixes` keys of the `main` repository of Alpine edge, the
/// ones that parse.
fn secdb_versions() -> Vec<String> {
    let dir =
        vulnloop_testdata::unpack("feeds/alpine-secdb/alpine-secdb-v3.2-to-v3.21-and-edge.tar.zst");
    let text = std::fs::read(dir.path().join("alpine/edge/main.json")).unwrap();
    let secdb: serde_json::Value = serde_json::from_slice(&text).unwrap();
    let versions: Vec<String> = secdb["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|package| package["pkg"]["secfixes"].as_object())
        .flat_map(|fixes| fixes.keys().cloned())
        .filter(|version| version.parse::<ApkVersion>().is_ok())
        .collect();
    assert!(versions.len() > 1_000, "only {} versions", versions.len());
    versions
}

fn benches(c: &mut Criterion) {
    let versions = secdb_versions();
    let parsed: Vec<ApkVersion> = versions.iter().map(|text| text.parse().unwrap()).collect();
    let mut group = c.benchmark_group("apk");

    group.throughput(Throughput::Elements(versions.len() as u64));
    group.bench_function("parse secdb versions", |b| {
        b.iter(|| {
            for text in &versions {
                black_box(text.parse::<ApkVersion>().unwrap());
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
                black_box(Scheme::Apk.compare(&pair[0], &pair[1]).unwrap());
            }
        });
    });
    group.finish();
}

criterion_group!(apk, benches);
criterion_main!(apk);
