//! Parsing the MSRC corpus, and parsing and matching one Windows inventory.
//!
//! Run with `cargo bench -p vulnloop-windows`; the numbers of the last run
//! are in docs/benchmarks.md.

#![allow(clippy::unwrap_used)]

use std::fs::File;
use std::io::BufReader;

use criterion::{criterion_group, criterion_main, Criterion};
use vulnloop_windows::systeminfo::SystemInfo;
use vulnloop_windows::{match_windows, msrc, windows_inventory, WindowsFix};

const MSRC: &str = "feeds/windows-msrc-cvrf/msrc-cvrf-snapshot-20260706T222806Z.tar";

fn read_msrc(keep: &mut dyn FnMut(WindowsFix)) -> msrc::MsrcSummary {
    let path = vulnloop_testdata::data_file(MSRC);
    msrc::parse_reader(
        Box::new(BufReader::new(File::open(path).unwrap())),
        "msrc.tar",
        keep,
    )
    .unwrap()
}

fn msrc_corpus(c: &mut Criterion) {
    let mut group = c.benchmark_group("msrc");
    group.sample_size(10);
    group.bench_function("parse_corpus", |b| {
        b.iter(|| {
            let mut fixes = 0usize;
            read_msrc(&mut |_| fixes += 1);
            fixes
        })
    });
    group.finish();
}

fn windows_inventory_scan(c: &mut Criterion) {
    let mut fixes = Vec::new();
    read_msrc(&mut |fix| {
        if fix.product_key == "windows-server-2019" {
            fixes.push(fix);
        }
    });
    let samples =
        vulnloop_testdata::unpack("inventories/windows/wesng-validation-systeminfo-qfe.tar.zst");
    let bytes = std::fs::read(
        samples
            .path()
            .join("srv_2019_rtm_datacenter_en-us_systeminfo.txt"),
    )
    .unwrap();

    c.bench_function("systeminfo/parse_server_2019", |b| {
        b.iter(|| SystemInfo::parse(&bytes, "sample").unwrap())
    });
    c.bench_function("match/server_2019", |b| {
        b.iter(|| {
            let host = SystemInfo::parse(&bytes, "sample").unwrap().to_host();
            let inventory = windows_inventory(host, None, "sample");
            match_windows(&inventory, &fixes, &[], Vec::new())
                .findings
                .len()
        })
    });
}

criterion_group!(benches, msrc_corpus, windows_inventory_scan);
criterion_main!(benches);
